"""The Compute stage of a tile: a stream's body as vector instructions on UB tiles.

A tile's life is CopyIn (MTE2) -> Compute (V) -> CopyOut (MTE3). For a stream with a
consumer (fused into the gather, or an unfused consumer's own kernel), Compute runs
the body's program (``pakv_dialect.elementwise``) on the whole tile, one vector
instruction per step, so no Python and no device loop runs per element:

* a conversion is one ``ascend.vcast`` per ``Cast`` the SoC needs for it
  (``pakv_dialect.casts``: int8 -> float on Atlas A2 is int8 -> half -> float, both
  exact); a conversion never writes over its source (AscendC forbids overlapping
  operands of different widths), so each writes the other slot of the float32
  ``work`` buffer, or the ``output`` tile when it is the last step;
* a quantising body's ``math.roundeven`` is an ``ascend.vcast`` of float32 to float32
  with ``CAST_RINT`` (to the other work slot), its clamp two ``ascend.vscalar`` ``max`` /
  ``min`` with constant bounds (``Maxs`` / ``Mins``), and its conversion to int8 the
  exact float -> half -> int8 path (the value is an integer in range by then);
* float32 arithmetic with a per-tensor parameter is ``ascend.vscalar`` (``Muls``,
  ``Adds``) over the tile; with a per-channel one, ``ascend.vrows`` (``Mul``, ``Add``,
  ``Sub`` row by row against the parameter vector that was loaded into UB once per
  core); both work in place, or into the output when they are the last step;
* a stream without a consumer in a kernel whose other stream has one is copied from
  the tile to the output (a 1 x n ``ascend.transpose_blocks``).

The same code serves the fused gather (Norm and PA_NZ, whose tile is transposed to
token-major first), its zero tokens (computed from zeros, as the unfused program
would) and the unfused consumer's kernel (``ascend.map_run``): that is what makes the
fused and unfused programs compute alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import Float32Type, FloatAttr
from xdsl.ir import SSAValue

from pakv_dialect.ascend import (
    UB_ALIGN,
    CastMode,
    TransposeBlocksOp,
    VCastOp,
    VectorKind,
    VRowsOp,
    VScalarOp,
)
from pakv_dialect.dtypes import ElementKind, kv_kind_named
from pakv_dialect.elementwise import Clamp, Convert, ElementwiseProgram, Round, hardware_casts
from pakv_dialect.soc import SocInfo
from passes.kernel_builder import KernelBuilder, Value


@dataclass(frozen=True)
class HwCast:
    """One ``Cast``: ``source`` elements to ``target`` with ``mode``."""

    source: ElementKind
    target: ElementKind
    mode: CastMode


@dataclass(frozen=True)
class HwArith:
    """Float32 ``element <kind> parameter[param]``."""

    kind: VectorKind
    param: int


@dataclass(frozen=True)
class HwClamp:
    """Float32 ``max(element, bound)`` or ``min(element, bound)`` (AscendC ``Maxs`` /
    ``Mins``): a saturating conversion's clamp."""

    kind: VectorKind
    bound: float


HwStep = HwCast | HwArith | HwClamp


def _kind(name: str) -> ElementKind:
    kind = kv_kind_named(name)
    assert kind is not None, name
    return kind


@dataclass(frozen=True)
class StreamCompute:
    """A stream's Compute stage on one SoC: its instructions and its parameters."""

    source: ElementKind
    result: ElementKind
    steps: tuple[HwStep, ...]
    params: tuple[SSAValue, ...]
    """The GM tensors the body reads, by parameter index."""

    @property
    def intermediates(self) -> int:
        """Values held in the work buffer between conversions (all but the last step's)."""
        casts = sum(isinstance(step, HwCast) for step in self.steps)
        last_is_cast = bool(self.steps) and isinstance(self.steps[-1], HwCast)
        return casts - (1 if last_is_cast else 0)


def stream_compute(
    program: ElementwiseProgram | None,
    source: ElementKind,
    params: Sequence[SSAValue],
    soc: SocInfo,
) -> StreamCompute:
    """``program`` (None: a plain copy of ``source``) as ``soc``'s vector instructions.

    A conversion that rereads an integer's bits as the other signedness needs no
    instruction: the next ``Cast`` just reads the tile as that type.
    """
    if program is None:
        return StreamCompute(source, source, (), tuple(params))
    paths = iter(hardware_casts(program, soc))
    steps: list[HwStep] = []
    fp32 = _kind("fp32")
    for step in program.steps:
        if isinstance(step, Round):  # Cast float -> float, CAST_RINT: to an integer
            steps.append(HwCast(fp32, fp32, CastMode.CAST_RINT))
            continue
        if isinstance(step, Clamp):
            steps.append(HwClamp(VectorKind(step.kind), step.bound))
            continue
        if not isinstance(step, Convert):
            steps.append(HwArith(VectorKind(step.kind), step.param))
            continue
        reading = step.source
        for cast in next(paths):
            if cast.round is None:
                reading = _kind(cast.target)
                continue
            mode = CastMode(cast.round.value)
            steps.append(HwCast(reading, _kind(cast.target), mode))
            reading = _kind(cast.target)
    return StreamCompute(program.source, program.result, tuple(steps), tuple(params))


@dataclass(frozen=True)
class UbPosition:
    """A byte position in UB: ``offset`` bytes into slot ``slot`` of ``buffer``."""

    buffer: SSAValue
    slot: Value
    offset: Value = 0


ParamValue = SSAValue | UbPosition
"""A parameter in the kernel: a per-tensor f32 scalar read from GM, or the UB position
of a per-channel vector (the whole token's channels, loaded once per core)."""


class ComputeStage:
    """Emits one stream's Compute stage on tiles, with ``kb``, into ``work`` slots."""

    def __init__(
        self,
        kb: KernelBuilder,
        compute: StreamCompute,
        work: SSAValue,
        params: Mapping[SSAValue, ParamValue],
    ):
        self.kb = kb
        self.compute = compute
        self.work = work
        self.params = params

    def _operands(self, at: UbPosition) -> tuple[SSAValue, SSAValue, SSAValue]:
        kb = self.kb
        return at.buffer, kb.value(at.slot), kb.value(at.offset)

    def _next(self, at: UbPosition) -> UbPosition:
        """A work slot that ``at`` is not in."""
        if at.buffer is self.work:
            other = 1 if isinstance(at.slot, int) and at.slot == 0 else 0
            return UbPosition(self.work, other)
        return UbPosition(self.work, 0)

    def emit(
        self,
        source: UbPosition,
        output: UbPosition,
        *,
        rows: Value,
        cols: Value,
        pitch: Value,
        channel0: Value,
    ) -> None:
        """Compute ``rows`` rows of ``cols`` elements (``pitch`` elements apart, every
        buffer alike) from ``source`` into ``output``; the rows' first channel is
        ``channel0`` (per-channel parameters are read from there on)."""
        kb = self.kb
        count = kb.mul(rows, pitch)
        steps = self.compute.steps
        if not steps:
            # Whole 32-byte blocks, the last one partly: a row chunk's bytes need not
            # be a multiple of 32 (the slots are, so the copy stays inside them).
            blocks = kb.ceildivu(kb.value(kb.mul(count, self.compute.source.size)), UB_ALIGN)
            kb.insert(
                TransposeBlocksOp(
                    source.buffer,
                    kb.value(source.slot),
                    output.buffer,
                    kb.value(output.slot),
                    kb.const(1),
                    blocks,
                )
            )
            return
        at = source
        last = len(steps) - 1
        for index, step in enumerate(steps):
            final = index == last
            if isinstance(step, HwCast):
                target = output if final else self._next(at)
                kb.insert(
                    VCastOp(
                        self._operands(at),
                        self._operands(target),
                        kb.value(count),
                        step.source.ir_type,
                        step.target.ir_type,
                        step.mode,
                    )
                )
                at = target
                continue
            target = output if final else at
            assert at.buffer is self.work or final, "arithmetic runs on float32 work tiles"
            if isinstance(step, HwClamp):
                bound = kb.insert(
                    arith.ConstantOp(FloatAttr(step.bound, Float32Type())),
                    f"{step.kind.value}_bound",
                ).result
                kb.insert(
                    VScalarOp(
                        step.kind, self._operands(at), bound, self._operands(target),
                        kb.value(count),
                    )
                )  # fmt: skip
                at = target
                continue
            param = self.params[self.compute.params[step.param]]
            if isinstance(param, UbPosition):
                vector = UbPosition(
                    param.buffer, param.slot, kb.add(param.offset, kb.mul(channel0, 4))
                )
                kb.insert(
                    VRowsOp(
                        step.kind,
                        self._operands(at),
                        self._operands(vector),
                        self._operands(target),
                        kb.value(rows),
                        kb.value(cols),
                        kb.value(pitch),
                    )
                )
            else:
                kb.insert(
                    VScalarOp(
                        step.kind,
                        self._operands(at),
                        param,
                        self._operands(target),
                        kb.value(count),
                    )
                )
            at = target
