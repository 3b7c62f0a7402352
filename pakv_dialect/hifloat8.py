"""HiFloat8, Huawei's 8-bit float: the xDSL type and its decoding to float32.

Neither MLIR's builtin types nor ml_dtypes know HiFloat8. The gather moves its bits;
a fused dequantisation (SPEC section 7) decodes them to float32, exactly, with
:data:`HIFLOAT8_TO_FLOAT32`, a 256-entry table built here from the format's definition.

The definition (Luo et al., "Ascend HiFloat8 Format for Deep Learning", arXiv
2409.16626, section 2; the same fields in the English Wikipedia draft "HiFloat8"):
a byte is ``sign | dot | exponent | mantissa``. The *dot* field is a prefix code
right after the sign bit that says how many exponent bits follow (D):

===========  ===  ==========================  =============
dot bits     D    exponents E                 mantissa bits
===========  ===  ==========================  =============
``11``       4    +-8 .. +-15                 1
``10``       3    +-4 .. +-7                  2
``01``       2    +-2, +-3                    3
``001``      1    +-1                         3
``0001``     0    0                           3
``0000``     -    denormal: 2^(M - 23)         3 (M)
===========  ===  ==========================  =============

The D exponent bits are sign-magnitude: the first is the exponent's sign (1 is
negative), the other D - 1 are the magnitude below an implicit leading 1 (so D bits
give magnitudes 2^(D-1) .. 2^D - 1, and E = 0 only with D = 0). A normal value is
``(-1)^S * 2^E * 1.M``: 7 exponents with 3 mantissa bits, 8 with 2 and 16 with 1, as
the paper's abstract counts (31 binades, 2^-15 .. 2^15). The denormal mode (dot
``0000``) spends the mantissa bits on 7 more binades, 2^-22 .. 2^-16 (38 in all).
Special values: one zero, ``0x00``; one NaN, ``0x80`` (the denormal pattern with the
sign set and M = 0); +-infinity, ``0x6F`` / ``0xEF``, the pattern that would read
+-1.5 * 2^15 (so the largest finite value is 2^15 = 32768, ``0x6E``).

The infinity pattern is the one fact the abstract does not spell out; it is the one
Huawei's open implementation of the type uses (en_dtypes ``hifloat.h``:
``infinity() = 0b0'11'0111'1``, ``max() = 0b0'11'0111'0`` = 32768), and the AscendC
documentation lists ``hifloat8_t -> float`` among the conversions without precision
loss (asc-devkit ``docs/zh/api/SIMD-API/基础API/数据结构/precision_conversion.md``).
NaN decodes to float32's canonical quiet NaN, ``0x7FC00000``.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition


@irdl_attr_definition
class HiFloat8Type(ParametrizedAttribute, TypeAttribute):
    """``!pakv.hifloat8``: one byte, Huawei HiFloat8 encoding."""

    name = "pakv.hifloat8"


HIFLOAT8_NAN = 0x80
"""The one NaN bit pattern."""
HIFLOAT8_INFINITY = 0x6F
"""+infinity; ``0xEF`` is -infinity."""

_DOT_CODES: tuple[tuple[str, int], ...] = (("11", 4), ("10", 3), ("01", 2), ("001", 1), ("0001", 0))
"""The normal-mode dot prefixes (after the sign bit) and the exponent width each selects."""


def decode_hifloat8(byte: int) -> float:
    """The value of one HiFloat8 bit pattern, from the definition in the module docstring."""
    if not 0 <= byte <= 0xFF:
        raise ValueError(f"a HiFloat8 pattern is one byte, got {byte}")
    sign = -1.0 if byte & 0x80 else 1.0
    bits = f"{byte & 0x7F:07b}"
    if byte & 0x7F == HIFLOAT8_INFINITY:
        return sign * float("inf")
    for prefix, width in _DOT_CODES:
        if not bits.startswith(prefix):
            continue
        rest = bits[len(prefix) :]
        exponent_bits, mantissa_bits = rest[:width], rest[width:]
        exponent = 0
        if width:
            magnitude = int("1" + exponent_bits[1:], 2)
            exponent = -magnitude if exponent_bits[0] == "1" else magnitude
        fraction = int(mantissa_bits, 2) / (1 << len(mantissa_bits))
        return sign * (1.0 + fraction) * 2.0**exponent
    mantissa = int(bits[4:], 2)  # dot 0000: the denormal mode
    if mantissa == 0:
        return float("nan") if byte & 0x80 else 0.0
    return sign * 2.0 ** (mantissa - 23)


def _table() -> np.ndarray:
    values = np.array([decode_hifloat8(byte) for byte in range(256)], dtype=np.float32)
    values[np.isnan(values)] = np.uint32(0x7FC00000).view(np.float32)
    values.setflags(write=False)
    return values


HIFLOAT8_TO_FLOAT32: np.ndarray = _table()
"""Float32 value of every HiFloat8 pattern (index = the byte): exact, built once."""
