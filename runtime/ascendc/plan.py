"""What the AscendC target decides about a kernel before printing a line of it.

The GM tensors (kernel arguments, typed by ``pakv_dialect.dtypes``), the UB buffers
(``ascend.ub_alloc`` at planned offsets), the event ids each ``HardEvent`` kind needs,
and for every DMA op which copy helper prints it. The copy rule (SPEC section 5):
``DataCopy`` only when every length of the copy is provably a multiple of 32 bytes
(``runtime.ascendc.facts``), otherwise ``DataCopyPad``, which is exact for any byte
length, so the choice is static and no run-time branch is printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import BlockArgument, Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from pakv_dialect import ascend
from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.soc import SocInfo, soc_info
from runtime.ascendc.facts import KernelFacts, constant_of
from runtime.ascendc.identifiers import check_printed_names

MAX_EVENT_IDS = 8
"""Event ids per ``HardEvent`` kind (SetFlag/WaitFlag take ids 0..7)."""


class AscendCEmitError(DiagnosticException):
    """The lowered program holds something the AscendC target cannot print."""


def emit_error(op: Operation, message: str) -> AscendCEmitError:
    return AscendCEmitError(f"{op.name}: {message}")


def camel(snake: str) -> str:
    """``key_cache`` -> ``keyCache``; ``key tile`` -> ``keyTile``."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", snake) if w] or ["v"]
    head, *rest = words
    name = head[0].lower() + head[1:] + "".join(w[0].upper() + w[1:] for w in rest)
    return f"v{name}" if name[0].isdigit() else name


def pascal(snake: str) -> str:
    name = camel(snake)
    return name[0].upper() + name[1:]


def screaming(snake: str) -> str:
    """``key tile`` -> ``KEY_TILE``."""
    return "_".join(w.upper() for w in re.split(r"[^0-9A-Za-z]+", snake) if w)


def hard_event(op: ascend.SetFlagOp | ascend.WaitFlagOp) -> str:
    """The AscendC ``HardEvent`` of a flag op: ``MTE2_MTE3`` (MTE3 waits for MTE2)."""
    return f"{op.set_pipe.data.value}_{op.wait_pipe.data.value}"


def events_member(kind: str) -> str:
    """``MTE2_MTE3`` -> ``mte2ToMte3Events_``: the member holding that kind's ids."""
    source, target = kind.split("_")
    return f"{source.lower()}To{target.capitalize()}Events_"


@dataclass(frozen=True)
class GmParam:
    """One kernel parameter: a GM tensor, as the printed kernel binds it (a ``GlobalTensor``)."""

    role: str
    """The argument's name hint (an operand role of ``pakv.gather``)."""
    kind: ElementKind
    memref: MemRefType

    @property
    def param(self) -> str:
        return camel(self.role)

    @property
    def member(self) -> str:
        return self.param + "Gm_"


@dataclass(frozen=True)
class UbView:
    """One ``ascend.ub_alloc``: a ``LocalTensor<uint8_t>`` view at its planned offset."""

    purpose: str
    slots: int
    slot_bytes: int
    offset: int

    @property
    def member(self) -> str:
        return camel(self.purpose) + "_"

    @property
    def slot_constant(self) -> str:
        return screaming(self.purpose) + "_SLOT_BYTES"


@dataclass(frozen=True)
class CopyVariant:
    """How one ``ascend.load``/``ascend.store`` is printed: which helper it calls."""

    to_ub: bool
    single: bool
    """One burst: the call carries no burst count and no gaps."""
    aligned: bool
    """Every length provably a multiple of 32 bytes: ``DataCopy``, else ``DataCopyPad``."""

    @property
    def helper(self) -> str:
        name = "CopyIn" if self.to_ub else "CopyOut"
        if not self.single:
            name += "Bursts"
        return name + ("Aligned" if self.aligned else "")


def copy_variant(
    op: ascend.LoadOp | ascend.StoreOp, soc: SocInfo, facts: KernelFacts
) -> CopyVariant:
    """The static copy choice for one DMA op (module docstring).

    One burst whose gaps are constants prints without them; gaps the program computes
    are kept (they are part of what it says), so the burst form is used.
    """
    single = constant_of(op.n_burst) == 1 and all(
        constant_of(v) is not None for v in (op.gm_gap, op.ub_gap)
    )
    lengths = [op.burst_len] if single else [op.burst_len, op.gm_gap, op.ub_gap]
    aligned = all(facts.is_multiple_of(v, ascend.UB_ALIGN) for v in lengths)
    if not aligned and not soc.has_data_copy_pad:
        raise emit_error(
            op,
            f"burst length not provably a multiple of {ascend.UB_ALIGN} bytes, and "
            f"{soc.name} has no DataCopyPad: plan 32-byte aligned bursts for this SoC",
        )
    return CopyVariant(isinstance(op, ascend.LoadOp), single, aligned)


@dataclass
class KernelPlan:
    """Everything about one kernel that is decided before ``Process`` is printed."""

    func: func.FuncOp
    soc: SocInfo
    facts: KernelFacts
    gm: dict[SSAValue, GmParam]
    """Kernel arguments in order."""
    ub: dict[SSAValue, UbView] = field(default_factory=dict[SSAValue, UbView])
    events: dict[str, int] = field(default_factory=dict[str, int])
    """HardEvent kind -> how many event ids of that kind the kernel uses."""
    copies: dict[str, bool] = field(default_factory=dict[str, bool])
    """Copy helper name -> whether it must split bursts above MAX_BURSTS."""
    transposes: bool = False
    zero_fills: bool = False

    @property
    def name(self) -> str:
        return self.func.sym_name.data

    @property
    def class_name(self) -> str:
        return "Kernel" + pascal(self.name)

    @property
    def ub_bytes(self) -> int:
        ends = [b.offset + b.slots * b.slot_bytes for b in self.ub.values()]
        return ascend.align_up(max(ends, default=ascend.UB_ALIGN))


def _gm_param(arg: BlockArgument) -> GmParam:
    ty = arg.type
    if not isinstance(ty, MemRefType) or ascend.memory_space_of(ty) != ascend.AddressSpace.gm:
        raise AscendCEmitError(f"kernel argument {arg.index} must be a GM memref, got {ty}")
    element = ty.get_element_type()
    kind = kv_kind_of_type(element) or index_kind_of_type(element)
    if kind is None:
        raise AscendCEmitError(f"kernel argument {arg.index} has no AscendC type: {element}")
    return GmParam(arg.name_hint or f"gm{arg.index}", kind, ty)  # pyright: ignore[reportUnknownArgumentType]


def _ub_view(op: ascend.UbAllocOp) -> UbView:
    offset = op.planned_offset
    if offset is None:
        raise emit_error(op, f"'{op.purpose.data}' has no planned offset: run ascend-plan-ub first")
    return UbView(op.purpose.data, op.slots, op.slot_bytes, offset)


def plan_printing(kernel: func.FuncOp) -> KernelPlan:
    soc_name = ascend.function_soc(kernel)
    if soc_name is None:
        raise AscendCEmitError(f"@{kernel.sym_name.data} has no {ascend.SOC_ATTR} attribute")
    plan = KernelPlan(
        kernel,
        soc_info(soc_name),
        KernelFacts(kernel),
        {a: _gm_param(a) for a in kernel.body.block.args},
    )
    check_printed_names(kernel, [t.param for t in plan.gm.values()])
    facts = plan.facts
    for op in kernel.body.walk():
        match op:
            case ascend.UbAllocOp():
                plan.ub[op.buffer] = _ub_view(op)
            case ascend.LoadOp() | ascend.StoreOp():
                variant = copy_variant(op, plan.soc, facts)
                splits = not variant.single and not facts.fits(op.n_burst, ascend.MAX_BURSTS)
                plan.copies[variant.helper] = plan.copies.get(variant.helper, False) or splits
            case ascend.TransposeBlocksOp():
                plan.transposes = True
            case ascend.FillZeroOp():
                plan.zero_fills = True
            case ascend.SetFlagOp() | ascend.WaitFlagOp():
                bound = facts.upper_bound(op.event)
                if bound is None or not facts.is_non_negative(op.event):
                    raise emit_error(op, "event number is not provably in a fixed range")
                kind = hard_event(op)
                plan.events[kind] = max(plan.events.get(kind, 0), bound + 1)
                if plan.events[kind] > MAX_EVENT_IDS:
                    raise emit_error(op, f"{kind} needs more than {MAX_EVENT_IDS} event ids")
            case ascend.CoreTokensOp():
                raise emit_error(op, "run ascend-distribute-tokens before -t ascendc")
            case ascend.CopyRunOp() | ascend.ZeroRunOp():
                raise emit_error(op, "run ascend-tile-runs before -t ascendc")
            case _:
                pass
    return plan
