"""Per-element bodies: the consumer a fused op applies to every gathered element.

A body is a single block ``^bb0(%x: <source element>, %p0: f32, ...)`` ending in
``pakv.yield``: ``%x`` is one element of the stream, each ``%pi`` the element of one
parameter tensor (a scale or an offset) at the same position, broadcast per tensor or
per channel. ``pakv.gather`` carries one per stream (``key_map``, ``value_map``),
``pakv.map`` one for a whole token-major tensor; the scatter's quantisation will be
the same kind of body. Everything about bodies lives here, once: the ops a body may
hold (:data:`BODY_OPS`), the analysis that turns a body into an
:class:`ElementwiseProgram` (and says, at the op, why a body is not one), the
parameter shapes, and the check that a SoC can run the program's conversions.

What a body may compute is SPEC section 7's consumer: a chain that starts at ``%x``,
converts it (``arith.extf`` / ``truncf`` / ``sitofp`` / ``uitofp``, ``pakv.extf`` for
HiFloat8, which arith does not know), does float32 arithmetic with the parameters
(``arith.subf`` value minus parameter, ``mulf``, ``addf``; no fastmath flags: each op
rounds to nearest even on its own, never contracted into an FMA) and converts the
result to fp16, bf16 or fp32. Each op uses the previous op's result, once: a chain,
which the lowering runs as one vector instruction per op on a whole tile.

A body may also quantise (SPEC section 8, the scatter's write side): from fp16 / bf16
tokens, ``x_f * inv_scale (+ offset)`` in float32, then a *saturating conversion* to
int8 or fp8, which upstream MLIR spells as a clamp followed by the conversion, each op
meaning exactly what SPEC section 8 asks::

    int8:  %r = math.roundeven %y : f32                    round half to even
           %l = arith.maximumf %r, %c_m128 : f32           clamp to [-128, 127]
           %h = arith.minimumf %l, %c_127 : f32            (NaN propagates)
           %q = arith.fptosi %h : f32 to i8                exact: an integer in range
    fp8:   %l = arith.maximumf %y, %c_m448 : f32           clamp to the largest finite
           %h = arith.minimumf %l, %c_448 : f32            value (e5m2: 57344)
           %q = arith.truncf %h : f32 to f8E4M3FN          round to nearest even

The clamp's bounds are ``arith.constant`` ops of the body (the only values that are not
in the chain); min and max may come in either order, and the bounds must lie inside
the target's range (``dtypes.SATURATION_BOUNDS``), so the conversion never overflows
(``fptosi`` out of range is poison in MLIR, ``truncf`` to fp8 would give NaN or inf).
NaN: ``maximumf`` / ``minimumf`` propagate it; ``truncf`` keeps it (SPEC section 8:
NaN stays NaN); ``fptosi`` of NaN is poison in MLIR, which this project refines to 0
(SPEC section 8 leaves it open; ``runtime.interpreter`` and every kernel agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import AnyFloat, AnyFloatConstr, Float32Type, FloatAttr, MemRefType
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.casts import CastStep, cast_path, holds
from pakv_dialect.dtypes import (
    DEQUANT_SOURCE_KINDS,
    FLOAT_RESULT_KINDS,
    QUANT_RESULT_KINDS,
    SATURATION_BOUNDS,
    ElementKind,
    kv_kind_of_type,
)
from pakv_dialect.hifloat8 import HiFloat8Type
from pakv_dialect.soc import CastRound, SocInfo

BODY_PARENTS = (
    "pakv.gather", "pakv.scatter", "pakv.map", "ascend.copy_run", "ascend.map_run",
)  # fmt: skip
"""The ops whose regions are bodies."""


@irdl_op_definition
class YieldOp(IRDLOperation):
    """``pakv.yield %r : f16``: the value a body produces for its element."""

    name = "pakv.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[values])

    def verify_(self) -> None:
        parent = self.parent_op()
        if parent is not None and parent.name not in BODY_PARENTS:
            raise VerifyException(
                f"pakv.yield ends the body of {' or '.join(BODY_PARENTS)}, not {parent.name}"
            )


@irdl_op_definition
class ExtFOp(IRDLOperation):
    """``pakv.extf %x : !pakv.hifloat8 to f32``: ``arith.extf`` for HiFloat8, a float
    type arith does not know (exact: ``pakv_dialect.hifloat8`` defines the values)."""

    name = "pakv.extf"
    input = operand_def(HiFloat8Type)
    result = result_def(AnyFloatConstr)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `to` type($result)"

    def __init__(self, value: SSAValue, target: AnyFloat):
        super().__init__(operands=[value], result_types=[target])

    def verify_(self) -> None:
        kind = kv_kind_of_type(self.result.type)
        if kind is None or kind.name not in ("fp16", "fp32"):
            raise VerifyException(
                f"pakv.extf converts HiFloat8 to f16 or f32 (exactly), got {self.result.type}"
            )


CONVERSIONS: dict[type[Operation], str] = {
    arith.ExtFOp: "extf",
    arith.TruncFOp: "truncf",
    arith.SIToFPOp: "sitofp",
    arith.UIToFPOp: "uitofp",
    arith.FPToSIOp: "fptosi",
    ExtFOp: "pakv.extf",
}
"""Body ops that convert the element (each one RNE conversion)."""

ARITHMETIC: dict[type[Operation], Literal["sub", "mul", "add"]] = {
    arith.SubfOp: "sub",
    arith.MulfOp: "mul",
    arith.AddfOp: "add",
}
"""Body ops that combine the element with a parameter, in float32."""

SYMBOLS = {"sub": "-", "mul": "*", "add": "+"}
"""How the arithmetic kinds print."""

CLAMPS: dict[type[Operation], Literal["max", "min"]] = {
    arith.MaximumfOp: "max",
    arith.MinimumfOp: "min",
}
"""Body ops that bound the element by a constant (a saturating conversion's clamp)."""

BODY_OPS: frozenset[type[Operation]] = frozenset(
    {*CONVERSIONS, *ARITHMETIC, *CLAMPS, math.RoundEvenOp, arith.ConstantOp, YieldOp}
)
"""Every op a body may hold (the terminator included)."""

_F32 = Float32Type()


@dataclass(frozen=True)
class Convert:
    """Convert the element from ``source`` to ``target`` (one rounding, RNE)."""

    source: ElementKind
    target: ElementKind
    op: str
    """The body op's name, for messages."""


@dataclass(frozen=True)
class Arith:
    """``element = element <kind> parameter[param]`` in float32 (``sub``: minus it)."""

    kind: Literal["sub", "mul", "add"]
    param: int


@dataclass(frozen=True)
class Round:
    """``math.roundeven``: the float32 element rounded to an integer, ties to even."""


@dataclass(frozen=True)
class Clamp:
    """``element = max(element, bound)`` (``max``) or ``min(element, bound)`` in float32,
    NaN propagating (``arith.maximumf`` / ``minimumf``)."""

    kind: Literal["max", "min"]
    bound: float


Step = Convert | Arith | Round | Clamp


@dataclass(frozen=True)
class ElementwiseProgram:
    """What a body computes: the element's kind, the steps in order, the result's kind."""

    source: ElementKind
    result: ElementKind
    steps: tuple[Step, ...]
    params: int
    """How many parameter tensors the body reads."""

    def describe(self) -> str:
        """One line: ``int8 -> fp16 -> fp32, - p1, * p0 -> fp16``."""
        parts = [self.source.name]
        for step in self.steps:
            match step:
                case Convert():
                    parts.append(f"-> {step.target.name}")
                case Arith():
                    parts.append(f"{SYMBOLS[step.kind]} p{step.param}")
                case Round():
                    parts.append("roundeven")
                case Clamp():
                    parts.append(f"{step.kind} {step.bound:g}")
        return " ".join(parts)

    @property
    def quantises(self) -> bool:
        """The body ends in a saturating conversion to int8 or fp8 (SPEC section 8)."""
        return self.result.name in QUANT_RESULT_KINDS


class BodyError(VerifyException):
    """A body that is not a supported elementwise program; ``op`` is where (or None)."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(message)
        self.op = op


def _kind(ty: Attribute, what: str, op: Operation | None) -> ElementKind:
    kind = kv_kind_of_type(ty)
    if kind is None:
        raise BodyError(f"{what} has type {ty}, which no stream holds", op)
    return kind


def _check_conversion(op: Operation, source: ElementKind, target: ElementKind) -> None:
    """The conversion op matches its types (signedness, widening or narrowing)."""
    name = CONVERSIONS[type(op)]
    signed = {"int8", "int16", "int32"}
    unsigned = {"uint8", "uint16", "uint32"}
    if name == "sitofp" and source.name not in signed:
        raise BodyError(
            f"arith.sitofp reads its operand as signed; {source.ir_type} takes arith.uitofp", op
        )
    if name == "uitofp" and source.name not in unsigned:
        raise BodyError(
            f"arith.uitofp reads {source.ir_type} as unsigned, which is not its value: a "
            "signed integer takes arith.sitofp",
            op,
        )
    if name == "extf" and not holds(target.name, source.name):
        raise BodyError(f"arith.extf must widen: {target.ir_type} does not hold every "
                        f"{source.ir_type}", op)  # fmt: skip
    if name == "truncf" and holds(target.name, source.name):
        raise BodyError(
            f"arith.truncf must narrow: {target.ir_type} holds every {source.ir_type} "
            "(use arith.extf)",
            op,
        )
    if name == "fptosi" and target.name != "int8":
        raise BodyError(f"arith.fptosi quantises to i8 (SPEC section 8), got {target.ir_type}", op)
    if target.name not in FLOAT_RESULT_KINDS and target.name not in QUANT_RESULT_KINDS:
        raise BodyError(f"{op.name} converts to {target.ir_type}: a body computes in "
                        "f16, bf16 or f32 and quantises to i8 or f8", op)  # fmt: skip


def _check_saturating(steps: Sequence[Step], target: ElementKind, op: Operation) -> None:
    """A conversion to int8 / fp8 saturates: the steps before it clamp the float32
    element into the target's range (int8: after rounding it to an integer), so the
    conversion itself never overflows (module docstring)."""
    low, high = SATURATION_BOUNDS[target.name]
    integer = target.name == "int8"
    shape = "math.roundeven, then " if integer else ""
    form = (
        f"{shape}arith.maximumf and arith.minimumf with constant bounds inside [{low:g}, {high:g}]"
    )
    tail = list(steps[-3:] if integer else steps[-2:])
    if integer and (not tail or not isinstance(tail.pop(0), Round)):
        tail = []
    clamps = [step for step in tail if isinstance(step, Clamp)]
    kinds = {step.kind for step in clamps}
    if len(clamps) != 2 or kinds != {"max", "min"}:
        raise BodyError(
            f"{op.name} to {target.ir_type} must saturate (SPEC section 8): precede it by {form}",
            op,
        )
    lower = next(step.bound for step in clamps if step.kind == "max")
    upper = next(step.bound for step in clamps if step.kind == "min")
    if not low <= lower <= upper <= high:
        raise BodyError(
            f"{op.name} to {target.ir_type}: the clamp [{lower:g}, {upper:g}] must lie inside "
            f"[{low:g}, {high:g}], or the conversion overflows",
            op,
        )


def analyze_body(block: Block, params: int) -> ElementwiseProgram:
    """The program of a body block (module docstring), or a :class:`BodyError` at the
    op that is not one.

    ``block`` has ``1 + params`` arguments: the element, then one f32 per parameter.
    """
    if len(block.args) != 1 + params:
        raise BodyError(
            f"the body takes the element and {params} parameter(s) "
            f"({1 + params} block arguments), got {len(block.args)}"
        )
    for arg in block.args[1:]:
        if arg.type != _F32:
            raise BodyError(f"body argument #{arg.index} is a parameter: f32, got {arg.type}")
    element = block.args[0]
    source = _kind(element.type, "the body's element", None)
    if source.name not in DEQUANT_SOURCE_KINDS:
        raise BodyError(
            f"a body dequantises {', '.join(DEQUANT_SOURCE_KINDS)} (SPEC section 7), got "
            f"{source.ir_type}: int32, uint32 and fp32 are not exact in float32 or have "
            "nothing to gain"
        )
    current: SSAValue = element
    kind = source
    steps: list[Step] = []
    for op in block.ops:
        if isinstance(op, arith.ConstantOp):
            continue  # a clamp's bound (checked where it is used)
        if type(op) not in BODY_OPS:
            raise BodyError(
                f"{op.name} is not supported in a fused body (supported: "
                f"{', '.join(sorted({o.name for o in BODY_OPS}))})",
                op,
            )
        if not current.has_one_use() or current.get_user_of_unique_use() is not op:
            raise BodyError(
                "a body is a chain: each value is used once, by the next op "
                f"({op.name} does not use the previous result alone)",
                op,
            )
        if isinstance(op, YieldOp):
            if len(op.values) != 1:
                raise BodyError("pakv.yield yields exactly one value", op)
            return _finish(source, kind, steps, params, op)
        if type(op) in CONVERSIONS:
            target = _kind(op.results[0].type, f"the result of {op.name}", op)
            _check_conversion(op, kind, target)
            if target.name in QUANT_RESULT_KINDS:
                _check_saturating(steps, target, op)
            steps.append(Convert(kind, target, op.name))
            current, kind = op.results[0], target
            continue
        if isinstance(op, math.RoundEvenOp):
            _check_float32(op, kind)
            steps.append(Round())
        elif type(op) in CLAMPS:
            steps.append(_clamp(op, current, kind))
        else:
            steps.append(_arith(op, current, kind))
        current = op.results[0]
    raise BodyError("a body ends with pakv.yield")


def _check_float32(op: Operation, kind: ElementKind) -> None:
    """The op computes in float32 with IEEE semantics (no fastmath flags)."""
    flags = op.properties.get("fastmath")
    if flags is not None and flags != arith.FastMathFlagsAttr("none"):
        raise BodyError(
            f"{op.name} has fastmath flags {flags}: SPEC section 7 rounds every float32 "
            "op on its own (no contraction, no reassociation)",
            op,
        )
    if kind.name != "fp32":
        raise BodyError(
            f"{op.name} computes in {kind.ir_type}: SPEC section 7's arithmetic is float32 "
            "(convert the element to f32 first)",
            op,
        )


def _clamp(op: Operation, current: SSAValue, kind: ElementKind) -> Clamp:
    """``arith.maximumf`` / ``minimumf`` of the element and an f32 ``arith.constant``."""
    _check_float32(op, kind)
    lhs, rhs = op.operands
    other = rhs if lhs is current else lhs
    constant = other.owner
    if not isinstance(constant, arith.ConstantOp) or not isinstance(constant.value, FloatAttr):
        raise BodyError(f"{op.name} bounds the element by an f32 arith.constant of the body", op)
    bound = float(constant.value.value.data)  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
    if bound != bound:
        raise BodyError(f"{op.name} bounds the element by NaN", op)
    return Clamp(CLAMPS[type(op)], bound)


def _arith(op: Operation, current: SSAValue, kind: ElementKind) -> Arith:
    _check_float32(op, kind)
    lhs, rhs = op.operands
    other = rhs if lhs is current else lhs
    if not isinstance(other, BlockArgument) or other.index == 0:
        raise BodyError(f"{op.name} combines the element with a parameter (a body "
                        "argument after the element)", op)  # fmt: skip
    step = Arith(ARITHMETIC[type(op)], other.index - 1)
    if step.kind == "sub" and rhs is current:
        raise BodyError(
            "arith.subf subtracts a parameter from the element (SPEC section 7: x - offset); "
            "parameter minus element is not supported",
            op,
        )
    return step


def _finish(
    source: ElementKind, kind: ElementKind, steps: list[Step], params: int, op: YieldOp
) -> ElementwiseProgram:
    if kind.name not in FLOAT_RESULT_KINDS and kind.name not in QUANT_RESULT_KINDS:
        raise BodyError(
            f"a body yields f16, bf16 or f32 (SPEC section 7) or i8 / f8 (SPEC section 8), "
            f"got {kind.ir_type}",
            op,
        )
    return ElementwiseProgram(source, kind, tuple(steps), params)


# --------------------------------------------------------------------------- checks


def check_params(what: str, params: Sequence[SSAValue], inner_shape: Sequence[int]) -> None:
    """Each parameter is a float32 memref, one value per tensor (0-d) or one per
    channel (the token's inner dims, ``inner_shape``)."""
    for index, value in enumerate(params):
        ty = value.type
        if not isinstance(ty, MemRefType) or ty.get_element_type() != _F32:
            raise VerifyException(
                f"{what} parameter #{index} must be a memref of f32 (SPEC section 7: scales "
                f"and offsets are float32), got {ty}"
            )
        shape = tuple(ty.get_shape())  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
        if shape and shape != tuple(inner_shape):
            raise VerifyException(
                f"{what} parameter #{index} must be per tensor (memref<f32>) or per channel "
                f"(memref<{'x'.join(map(str, inner_shape))}xf32>, the token's inner dims), "
                f"got {ty}"
            )


def check_body(
    what: str, block: Block, source: Attribute, result: Attribute, params: int
) -> ElementwiseProgram:
    """The body's program, checked against the stream's element types."""
    try:
        program = analyze_body(block, params)
    except BodyError as e:
        raise VerifyException(f"{what}: {e}") from e
    for side, expected, got in (
        ("element", source, program.source.ir_type),
        ("result", result, program.result.ir_type),
    ):
        if expected != got:
            raise VerifyException(f"{what}: the body's {side} is {got}, the stream's is {expected}")
    return program


def hardware_casts(program: ElementwiseProgram, soc: SocInfo) -> list[tuple[CastStep, ...]]:
    """Each conversion of ``program`` as ``soc``'s ``Cast`` instructions
    (``pakv_dialect.casts``), or a VerifyException naming the one it cannot run."""
    paths: list[tuple[CastStep, ...]] = []
    for step in program.steps:
        if isinstance(step, Round) and CastRound.RINT not in soc.cast_modes("fp32", "fp32"):
            raise VerifyException(
                f"math.roundeven: {soc.name} has no AscendC Cast from float to float with "
                "CAST_RINT (AscendC Cast docs)"
            )
        if not isinstance(step, Convert):
            continue
        # fptosi reads an integer in int8's range (the saturating form): exact in half.
        values = "int8" if step.op == "arith.fptosi" else step.source.name
        path = cast_path(soc, step.source.name, step.target.name, values=values)
        if path is None:
            raise VerifyException(
                f"{step.op} {step.source.ir_type} to {step.target.ir_type}: {soc.name} has no "
                f"AscendC Cast from {step.source.ascendc} to {step.target.ascendc}, directly or "
                "through an exact intermediate type (AscendC Cast docs)"
            )
        paths.append(path)
    return paths
