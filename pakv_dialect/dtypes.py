"""The element-type table: one row per KV dtype the operator knows.

Every layer needs the same facts about a dtype: its name in the operator document
(SPEC section 4), its xDSL type, the numpy dtype that stores it on the host, its size,
and the AscendC type name. They live here, once. The data is only ever moved as raw
bits, so the numpy dtype is a *storage* dtype: HiFloat8 has no numpy type and is
stored as uint8.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float8E4M3FNType,
    Float8E5M2Type,
    Float16Type,
    Float32Type,
    IntegerType,
    Signedness,
)
from xdsl.ir import Attribute

from pakv_dialect.hifloat8 import HIFLOAT8_TO_FLOAT32, HiFloat8Type


@dataclass(frozen=True)
class ElementKind:
    """What every layer needs to know about one element type."""

    name: str
    """The operator document's name (SPEC section 4), e.g. ``"fp16"``."""
    ir_type: Attribute
    """The xDSL element type used in ``pakv.gather``'s memrefs."""
    storage: np.dtype[np.generic]
    """The numpy dtype that holds the bits on the host."""
    ascendc: str
    """The AscendC C++ type name."""

    @property
    def size(self) -> int:
        """Bytes per element."""
        return self.storage.itemsize

    @property
    def elements_per_nz_row(self) -> int:
        """``ea`` of SPEC section 1: how many elements one 32-byte NZ row holds."""
        return 32 // self.size


def _kind(name: str, ir_type: Attribute, storage: object, ascendc: str) -> ElementKind:
    dtype: np.dtype[np.generic] = np.dtype(storage)  # pyright: ignore[reportCallIssue, reportArgumentType]
    return ElementKind(name, ir_type, dtype, ascendc)


KV_ELEMENT_KINDS: tuple[ElementKind, ...] = (
    _kind("int8", IntegerType(8), np.int8, "int8_t"),
    _kind("uint8", IntegerType(8, Signedness.UNSIGNED), np.uint8, "uint8_t"),
    _kind("int16", IntegerType(16), np.int16, "int16_t"),
    _kind("uint16", IntegerType(16, Signedness.UNSIGNED), np.uint16, "uint16_t"),
    _kind("int32", IntegerType(32), np.int32, "int32_t"),
    _kind("uint32", IntegerType(32, Signedness.UNSIGNED), np.uint32, "uint32_t"),
    _kind("fp16", Float16Type(), np.float16, "half"),
    _kind("bf16", BFloat16Type(), ml_dtypes.bfloat16, "bfloat16_t"),
    _kind("fp32", Float32Type(), np.float32, "float"),
    _kind("fp8_e5m2", Float8E5M2Type(), ml_dtypes.float8_e5m2, "fp8_e5m2_t"),
    _kind("fp8_e4m3fn", Float8E4M3FNType(), ml_dtypes.float8_e4m3fn, "fp8_e4m3fn_t"),
    _kind("hifloat8", HiFloat8Type(), np.uint8, "hifloat8_t"),
)
"""KV-cache element types, in the order of SPEC section 4.

Integers are signless (``i8``) when signed and explicitly unsigned (``ui8``) otherwise,
matching how MLIR front ends spell ``int8_t`` and ``uint8_t``.
"""

INDEX_ELEMENT_KINDS: tuple[ElementKind, ...] = (
    _kind("int32", IntegerType(32), np.int32, "int32_t"),
    _kind("int64", IntegerType(64), np.int64, "int64_t"),
)
"""Element types of blockTables, seqLens and seqOffset."""

_KV_BY_IR = {kind.ir_type: kind for kind in KV_ELEMENT_KINDS}
_KV_BY_NAME = {kind.name: kind for kind in KV_ELEMENT_KINDS}
_INDEX_BY_IR = {kind.ir_type: kind for kind in INDEX_ELEMENT_KINDS}
_INDEX_BY_NAME = {kind.name: kind for kind in INDEX_ELEMENT_KINDS}


def kv_kind_of_type(ir_type: Attribute) -> ElementKind | None:
    """The KV element kind of an xDSL type, or None when the operator does not take it."""
    return _KV_BY_IR.get(ir_type)


def kv_kind_named(name: str) -> ElementKind | None:
    """The KV element kind with this SPEC name, or None."""
    return _KV_BY_NAME.get(name)


def index_kind_of_type(ir_type: Attribute) -> ElementKind | None:
    """The index element kind of an xDSL type, or None."""
    return _INDEX_BY_IR.get(ir_type)


def index_kind_named(name: str) -> ElementKind | None:
    """The index element kind with this SPEC name, or None."""
    return _INDEX_BY_NAME.get(name)


def kv_kind_of_numpy(dtype: np.dtype[np.generic]) -> ElementKind | None:
    """The KV element kind stored as this numpy dtype (uint8 means uint8, never HiFloat8)."""
    for kind in KV_ELEMENT_KINDS:
        if kind.storage == dtype and kind.name != "hifloat8":
            return kind
    return None


def index_kind_of_numpy(dtype: np.dtype[np.generic]) -> ElementKind | None:
    """The index element kind stored as this numpy dtype."""
    for kind in INDEX_ELEMENT_KINDS:
        if kind.storage == dtype:
            return kind
    return None


# --------------------------------------------------------------------------- values

FLOAT_RESULT_KINDS: tuple[str, ...] = ("fp16", "bf16", "fp32")
"""Element types a fused consumer may produce (SPEC section 7: fp16 / bf16 / fp32)."""

QUANT_RESULT_KINDS: tuple[str, ...] = ("int8", "fp8_e4m3fn", "fp8_e5m2")
"""Element types a quantising body produces (SPEC section 8), each through a saturating
conversion (``pakv_dialect.elementwise``)."""

SATURATION_BOUNDS: dict[str, tuple[float, float]] = {
    "int8": (-128.0, 127.0),
    "fp8_e4m3fn": (-448.0, 448.0),
    "fp8_e5m2": (-57344.0, 57344.0),
}
"""SPEC section 8: the range a quantised value saturates to (int8's, and the largest
finite fp8_e4m3fn / fp8_e5m2 values)."""

DEQUANT_SOURCE_KINDS: tuple[str, ...] = (
    "int8", "uint8", "int16", "uint16", "fp16", "bf16", "fp8_e5m2", "fp8_e4m3fn", "hifloat8",
)  # fmt: skip
"""Source element types SPEC section 7 dequantises: exactly representable in float32.
int32, uint32 and fp32 are not (not exact in float32, or nothing to gain)."""


def kind_named(name: str) -> ElementKind:
    """The element kind called ``name`` (KV or index table); KeyError if there is none."""
    kind = _KV_BY_NAME.get(name) or _INDEX_BY_NAME.get(name)
    if kind is None:
        raise KeyError(name)
    return kind


def convert_values(values: np.ndarray, source: ElementKind, target: ElementKind) -> np.ndarray:
    """``values`` (stored as ``source``) converted to ``target``'s storage dtype.

    The value conversion of ``arith.sitofp``/``uitofp``/``extf``/``truncf`` and of
    AscendC ``Cast``: exact where ``target`` holds the value, else rounded to nearest
    even (numpy for fp16 and the integers, ml_dtypes for bf16 and fp8); overflow gives
    +-inf, NaN stays NaN, -0.0 stays -0.0. HiFloat8 decodes through
    ``HIFLOAT8_TO_FLOAT32`` (exact, and exact again into fp16); nothing converts *to*
    HiFloat8 here (a fused gather never produces it).
    """
    if target.name == "hifloat8":
        raise ValueError("conversion to hifloat8 is not supported")
    if source.name == "hifloat8":
        values = HIFLOAT8_TO_FLOAT32[values.view(np.uint8)]
        if target.name == "fp32":
            return values
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(target.storage)


def cast_values(values: np.ndarray, source: ElementKind, target: ElementKind) -> np.ndarray:
    """AscendC ``Cast`` of ``values`` (stored as ``source``) to ``target``, with a mode
    that rounds to nearest even (``CAST_RINT``, or ``CAST_NONE``, which rounds alike when
    it must: precision_conversion.md), one vectorised numpy call per step.

    The conversions of :func:`convert_values`, plus what a quantising body needs: float
    to float rounds to an integer (``np.rint``: ties to even); a conversion to int8 or
    fp8 saturates on overflow (precision_conversion.md: overflow saturates by default)
    to ``SATURATION_BOUNDS``, NaN stays NaN in fp8; NaN to int8, which the docs leave
    open, gives 0 (the project's refinement of ``arith.fptosi``'s poison, see
    ``pakv_dialect.elementwise``)."""
    if source.name == target.name:
        with np.errstate(invalid="ignore"):
            return np.rint(values)
    if target.name not in SATURATION_BOUNDS:
        return convert_values(values, source, target)
    low, high = SATURATION_BOUNDS[target.name]
    wide = convert_values(values, source, kind_named("fp32"))
    if target.name == "int8":
        wide = np.nan_to_num(np.rint(wide), nan=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(wide, np.float32(low), np.float32(high)).astype(target.storage)
