"""The Compute stage in AscendC: the vector instructions of a fused consumer.

``ascend.vcast`` prints as ``Cast`` (through ``CastTile``: the tile's bytes reread as
the two element types), ``ascend.vscalar`` as ``Muls`` / ``Adds`` / ``Maxs`` / ``Mins``
(a subtraction adds the negated scalar: AscendC has ``Subs`` on Ascend 950 only, and
IEEE-754 defines ``x - s`` as ``x + (-s)``), ``ascend.vrows`` as one ``Mul`` / ``Add`` /
``Sub`` per row
against the per-channel vector. Every operand is a ``LocalTensor<uint8_t>`` position in
a planned UB buffer, reread as ``float`` (the work tiles) or as a cast's types.

The checks before printing (:func:`plan_vector_op`): the SoC's ``Cast`` must take the
(source, target, round mode) the lowering chose (``SocInfo.casts``, from the AscendC
docs), and every count must provably fit its parameter (``Cast``'s ``uint32_t``, the
arithmetic's ``int32_t``); a kernel that breaks either is refused where it stands.
"""

from __future__ import annotations

from xdsl.ir import Attribute, Operation, SSAValue

from pakv_dialect import ascend
from pakv_dialect.dtypes import kv_kind_of_type
from pakv_dialect.soc import CastRound, SocInfo
from runtime.ascendc.errors import emit_error
from runtime.ascendc.facts import KernelFacts

INT32_MAX = (1 << 31) - 1
UINT32_MAX = (1 << 32) - 1

_ROWS_API = {"add": "Add", "sub": "Sub", "mul": "Mul"}

CAST_TILE = """\
// Compute (V): convert `count` elements of a tile from U to T (AscendC Cast with `mode`;
// runtime.ascendc.plan proved the count fits Cast's uint32_t).
template <typename T, typename U>
__aicore__ inline void CastTile(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    RoundMode mode, uint64_t count)
{
    Cast(dst.ReinterpretCast<T>(), src.ReinterpretCast<U>(), mode, count);
}
"""

SCALAR_TILE = """\
// Compute (V): `count` floats of a tile times / plus a scalar (Muls / Adds; a subtraction
// adds the negated scalar). The count fits the APIs' int32_t (runtime.ascendc.plan).
__aicore__ inline void MulsTile(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    float scalar, uint64_t count)
{
    Muls(dst.ReinterpretCast<float>(), src.ReinterpretCast<float>(), scalar, count);
}
__aicore__ inline void AddsTile(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    float scalar, uint64_t count)
{
    Adds(dst.ReinterpretCast<float>(), src.ReinterpretCast<float>(), scalar, count);
}
"""

CLAMP_TILE = """\
// Compute (V): a quantising body's clamp, `count` floats of a tile bounded by a scalar
// (Maxs / Mins; the count fits their int32_t: runtime.ascendc.plan).
__aicore__ inline void MaxsTile(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    float scalar, uint64_t count)
{
    Maxs(dst.ReinterpretCast<float>(), src.ReinterpretCast<float>(), scalar, count);
}
__aicore__ inline void MinsTile(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    float scalar, uint64_t count)
{
    Mins(dst.ReinterpretCast<float>(), src.ReinterpretCast<float>(), scalar, count);
}
"""

SCALAR_HELPERS = {"mul": "MulsTile", "add": "AddsTile", "sub": "AddsTile", "max": "MaxsTile",
                  "min": "MinsTile"}  # fmt: skip
"""The helper each ``ascend.vscalar`` kind prints through (a subtraction adds the
negated scalar)."""


def rows_helper(kind: str) -> str:
    """``MulRows`` and the like: one vector instruction per row of a tile."""
    api = _ROWS_API[kind]
    return f"""\
// Compute (V): each of `rows` rows of `cols` floats, `pitch` floats apart, {api.lower()} the
// per-channel vector ({api} per row; cols fits its int32_t: runtime.ascendc.plan).
__aicore__ inline void {api}Rows(const LocalTensor<uint8_t>& dst, const LocalTensor<uint8_t>& src,
    const LocalTensor<uint8_t>& vec, uint64_t rows, uint64_t cols, uint64_t pitch)
{{
    for (uint64_t r = 0; r < rows; ++r) {{
        {api}(dst.ReinterpretCast<float>()[r * pitch], src.ReinterpretCast<float>()[r * pitch],
            vec.ReinterpretCast<float>(), cols);
    }}
}}
"""


def helper_texts(helpers: set[str]) -> list[str]:
    """The C++ of the compute helpers a kernel uses (``KernelPlan.compute_helpers``)."""
    texts: list[str] = []
    if "CastTile" in helpers:
        texts.append(CAST_TILE)
    if "ScalarTile" in helpers:
        texts.append(SCALAR_TILE)
    if "ClampTile" in helpers:
        texts.append(CLAMP_TILE)
    for kind in ("add", "sub", "mul"):
        if f"{_ROWS_API[kind]}Rows" in helpers:
            texts.append(rows_helper(kind))
    return texts


def _fits(op: Operation, facts: KernelFacts, value: SSAValue, bound: int, what: str) -> None:
    if not facts.fits(value, bound):
        upper = facts.upper_bound(value)
        given = "unbounded" if upper is None else f"up to {upper}"
        raise emit_error(op, f"{what} ({given}) is not provably at most {bound}")


def plan_vector_op(op: Operation, soc: SocInfo, facts: KernelFacts) -> str:
    """Check one compute instruction for ``soc`` (module docstring); returns the helper
    it prints through."""
    match op:
        case ascend.VCastOp():
            source, target = kv_kind_of_type(op.from_type), kv_kind_of_type(op.to_type)
            assert source is not None and target is not None
            mode = CastRound(op.mode.data.value)
            if mode not in soc.cast_modes(source.name, target.name):
                raise emit_error(
                    op,
                    f"{soc.name} has no AscendC Cast from {source.ascendc} to {target.ascendc} "
                    f"with {mode.value} (AscendC Cast docs)",
                )
            _fits(op, facts, op.count, UINT32_MAX, "a Cast count")
            return "CastTile"
        case ascend.VScalarOp():
            _fits(op, facts, op.count, INT32_MAX, f"a {op.kind.data.value} count")
            return "ClampTile" if op.kind.data.value in ("max", "min") else "ScalarTile"
        case ascend.VRowsOp():
            _fits(op, facts, op.cols, INT32_MAX, f"a per-channel {op.kind.data.value} row")
            return f"{_ROWS_API[op.kind.data.value]}Rows"
        case _:
            raise emit_error(op, "not a compute instruction")


def round_mode(op: ascend.VCastOp) -> str:
    return f"RoundMode::{op.mode.data.value}"


def element_type(ty: Attribute) -> str:
    kind = kv_kind_of_type(ty)
    assert kind is not None
    return kind.ascendc
