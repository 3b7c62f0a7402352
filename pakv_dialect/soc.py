"""SPEC section 4 as data: which chips run the operator, with what, on what hardware.

The verifier, the host API, the lowering (UB capacity, core count) and the cost model
all read this one table. Hardware figures are public approximations: the lowering and
any cost model take them as parameters, never as measured truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pakv_dialect.dtypes import ElementKind


class TensorFormat(StrEnum):
    """Storage formats of a KV cache (aclFormat names)."""

    ND = "ND"
    FRACTAL_NZ = "FRACTAL_NZ"


_LEGACY_KV = frozenset({"int8", "fp16", "bf16"})
_ALL_KV = frozenset(
    {
        "int8", "uint8", "int16", "uint16", "int32", "uint32",
        "fp16", "bf16", "fp32", "hifloat8", "fp8_e5m2", "fp8_e4m3fn",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SocInfo:
    """One row of SPEC section 4."""

    name: str
    product: str
    supported: bool
    kv_dtypes: frozenset[str]
    index_dtypes: frozenset[str]
    formats: frozenset[TensorFormat]
    ub_bytes: int
    """Unified Buffer per vector core."""
    ub_usable_bytes: int
    """What a kernel may plan into (the rest is reserved by the runtime)."""
    vector_cores: int
    """Vector cores a kernel is launched on (one representative variant)."""
    hbm_bytes_per_s: float
    has_data_copy_pad: bool = True
    """Whether AscendC offers ``DataCopyPad`` (byte-length DMA) here. Its documented
    support table lists Atlas A2/A3, 200I/500 A2 and Ascend 950, not the Atlas training
    and inference series: on those, only 32-byte multiples can be copied."""

    def supports_kv_dtype(self, kind: ElementKind) -> bool:
        return kind.name in self.kv_dtypes

    def supports_index_dtype(self, kind: ElementKind) -> bool:
        return kind.name in self.index_dtypes

    @property
    def distinguishes_nz_format(self) -> bool:
        """Whether a PA_NZ cache must carry FRACTAL_NZ (and a Norm cache ND)."""
        return TensorFormat.FRACTAL_NZ in self.formats


KIB = 1024

SOCS: dict[str, SocInfo] = {
    soc.name: soc
    for soc in (
        SocInfo(
            "Ascend910_95", "Ascend 950 (PR/DT)", True, _ALL_KV,
            frozenset({"int32", "int64"}),
            frozenset({TensorFormat.ND, TensorFormat.FRACTAL_NZ}),
            256 * KIB, 248 * KIB, 64, 1.6e12,
        ),
        SocInfo(
            "Ascend910_93", "Atlas A3 training / inference", True, _LEGACY_KV,
            frozenset({"int32"}), frozenset({TensorFormat.ND}),
            192 * KIB, 192 * KIB, 48, 1.6e12,
        ),
        SocInfo(
            "Ascend910B", "Atlas A2 training, 800I A2, A200I A2 Box", True, _LEGACY_KV,
            frozenset({"int32"}), frozenset({TensorFormat.ND}),
            192 * KIB, 192 * KIB, 40, 1.6e12,
        ),
        SocInfo(
            "Ascend310B", "Atlas 200I/500 A2 inference", True, _LEGACY_KV,
            frozenset({"int32"}), frozenset({TensorFormat.ND}),
            256 * KIB, 256 * KIB, 1, 0.05e12,
        ),
        SocInfo(
            "Ascend310P", "Atlas inference series", True, _LEGACY_KV,
            frozenset({"int32"}), frozenset({TensorFormat.ND}),
            256 * KIB, 256 * KIB, 8, 0.2e12, has_data_copy_pad=False,
        ),
        SocInfo(
            "Ascend910", "Atlas training series", True, _LEGACY_KV,
            frozenset({"int32"}), frozenset({TensorFormat.ND}),
            256 * KIB, 256 * KIB, 32, 1.2e12, has_data_copy_pad=False,
        ),
        SocInfo(
            "Ascend310", "Atlas 200/300/500 inference", False, frozenset(),
            frozenset(), frozenset(), 256 * KIB, 256 * KIB, 2, 0.05e12,
        ),
    )
}  # fmt: skip
"""Every known SoC by name. Ascend310 is known and answers "not supported"."""

DEFAULT_SOC = "Ascend910B"


class SocError(ValueError):
    """An unknown SoC, or one that does not run the operator."""


def soc_info(name: str) -> SocInfo:
    """The table row for ``name``; raises SocError when unknown or unsupported."""
    soc = SOCS.get(name)
    if soc is None:
        raise SocError(f"unknown SoC '{name}': expected one of {', '.join(SOCS)}")
    if not soc.supported:
        raise SocError(f"GatherPaKvCache is not supported on this SoC: {name}")
    return soc
