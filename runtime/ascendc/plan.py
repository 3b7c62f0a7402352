"""What the AscendC target decides about a kernel before printing a line of it.

The GM tensors (kernel arguments, typed by ``pakv_dialect.dtypes``), the UB buffers
(``ascend.ub_alloc`` at planned offsets), the event ids each ``HardEvent`` kind needs,
and for every DMA op which copy helper prints it. The copy rule (SPEC section 5):
each DMA op names its form (``pakv_dialect.dma``; the lowering chose it), and prints as
that form's call: ``blocks`` as ``DataCopy`` (by element count for one burst, with
``DataCopyParams`` otherwise), ``bytes`` as ``DataCopyPad`` with ``DataCopyExtParams``,
exact for any byte length. The choice is static and no run-time branch is printed.

The printer does not decide the form again; it proves the op's own: every value that
ends in a parameter field must provably fit it, in the field's width and unit
(``DMA_FORMS``, the one table the verifier and the machine model read too; a
``blocks``-form length or gap must provably be a 32-byte multiple, or ``DataCopy``
would round it down), or the target refuses the op with a located error. The same goes
for SoC capabilities (``SocInfo.ascendc_apis``, ``SocInfo.event_ids``): an op the SoC
has no API for (the ``bytes`` form without ``DataCopyPad``) is refused where it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import BlockArgument, Operation, SSAValue

from pakv_dialect import ascend
from pakv_dialect.dma import DMA_FORMS, DmaForm, value_words
from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.soc import AscendCApi, SocInfo, soc_info
from pakv_dialect.tiling import GATHER_ABI, TilingAbi
from runtime.ascendc.compute import plan_vector_op
from runtime.ascendc.errors import AscendCEmitError, emit_error
from runtime.ascendc.facts import KernelFacts, constant_of
from runtime.ascendc.identifiers import check_printed_names


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


class CopyForm(Enum):
    """The AscendC call a DMA op prints as: its form, and for ``blocks`` whether one burst."""

    COUNT = "DataCopy(dst, src, count)"
    """The ``blocks`` form, one burst: AscendC sets ``DataCopyParams.blockLen`` from the
    element count, so the length is still a uint16 count of 32-byte blocks."""
    BLOCKS = "DataCopy with DataCopyParams"
    """The ``blocks`` form: lengths and gaps counted in 32-byte blocks."""
    PAD = "DataCopyPad with DataCopyExtParams"
    """The ``bytes`` form: any byte lengths; GM gaps in bytes, UB gaps in 32-byte blocks."""


@dataclass(frozen=True)
class CopyVariant:
    """How one ``ascend.load``/``ascend.store`` is printed: which helper it calls."""

    to_ub: bool
    single: bool
    """One burst: the call carries no burst count and no gaps."""
    form: CopyForm

    @property
    def aligned(self) -> bool:
        """``DataCopy`` (lengths in 32-byte blocks) rather than ``DataCopyPad``."""
        return self.form != CopyForm.PAD

    @property
    def helper(self) -> str:
        name = "CopyIn" if self.to_ub else "CopyOut"
        if not self.single:
            name += "Bursts"
        return name + ("Aligned" if self.aligned else "")


def _misfit(
    op: ascend.LoadOp | ascend.StoreOp, values: dict[str, SSAValue], facts: KernelFacts
) -> str | None:
    """Why the op's form cannot carry ``values`` (the first that does not provably fit)."""
    spec = DMA_FORMS[op.dma_form]
    to_ub = isinstance(op, ascend.LoadOp)
    for name, value in values.items():
        field = spec.fields[name]
        if field.unit > 1 and not facts.is_multiple_of(value, field.unit):
            return (
                f"the {value_words(name)} is not provably a multiple of {field.unit} bytes, "
                f"which {field.describe(to_ub)} needs"
            )
        if not facts.fits(value, field.max_value):
            upper = facts.upper_bound(value)
            bound = "unbounded" if upper is None else f"up to {upper}"
            return (
                f"the {value_words(name)} ({bound}) does not provably fit {field.describe(to_ub)}"
            )
    return None


def copy_variant(
    op: ascend.LoadOp | ascend.StoreOp, soc: SocInfo, facts: KernelFacts
) -> CopyVariant:
    """How one DMA op prints (module docstring): the call of its own form.

    One burst whose gaps are constants prints without them (the verifier checked those
    constants); gaps the program computes are kept (they are part of what it says), so
    the burst helper is used. Every value is proven to fit its field: the printed
    helpers assign the values to the fields unconverted, so a value that did not fit
    would be truncated on the device (and is refused by the host stand-in).
    """
    to_ub = isinstance(op, ascend.LoadOp)
    single = constant_of(op.n_burst) == 1 and all(
        constant_of(v) is not None for v in (op.gm_gap, op.ub_gap)
    )
    form = op.dma_form
    if form == DmaForm.bytes and not soc.has_data_copy_pad:
        raise emit_error(
            op,
            f"{soc.name} has no DataCopyPad, which this DMA's bytes form needs (its lengths "
            f"are not all 32-byte multiples): plan 32-byte aligned bursts for this SoC",
        )
    values = {"n_burst": op.n_burst, "burst_len": op.burst_len}
    if not single:
        values |= {"gm_gap": op.gm_gap, "ub_gap": op.ub_gap}
    misfit = _misfit(op, values, facts)
    if misfit is not None:
        raise emit_error(op, f"the {form} form (as the op says) does not fit: {misfit}")
    if form == DmaForm.bytes:
        return CopyVariant(to_ub, single, CopyForm.PAD)
    return CopyVariant(to_ub, single, CopyForm.COUNT if single else CopyForm.BLOCKS)


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
    tiling: TilingAbi = GATHER_ABI
    """The kernel's tiling ABI (its ``ascend.tiling``)."""
    copies: set[str] = field(default_factory=set[str])
    """The copy helpers the kernel calls (``CopyVariant.helper``)."""
    transposes: bool = False
    zero_fills: bool = False
    transposed_loads: bool = False
    """The kernel loads with Ascend 950's 3-D copy (``ascend.load_transposed``)."""
    compute_helpers: set[str] = field(default_factory=set[str])
    """The Compute stage's helpers the kernel prints through (``runtime.ascendc.compute``)."""

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


FLAG_APIS = frozenset({AscendCApi.SET_WAIT_FLAG, AscendCApi.ALLOC_EVENT_ID})
"""What the printed flags need: ``SetFlag``/``WaitFlag`` and ids from ``AllocEventID``."""


def require_apis(op: Operation, soc: SocInfo, needed: frozenset[AscendCApi], why: str) -> None:
    """Refuse ``op`` when ``soc`` lacks an AscendC API it prints as."""
    missing = soc.missing_apis(needed)
    if missing:
        names = ", ".join(api.value for api in missing)
        raise emit_error(
            op,
            f"{soc.name} has no {names} (AscendC API docs): the ascendc target cannot print "
            f"{why} for it; the lowered kernel still runs in the interpreter",
        )


def require_fits(op: Operation, facts: KernelFacts, value: SSAValue, bound: int, what: str) -> None:
    """Refuse ``op`` when ``value`` is not provably at most ``bound``."""
    if not facts.fits(value, bound):
        upper = facts.upper_bound(value)
        given = "unbounded" if upper is None else f"up to {upper}"
        raise emit_error(op, f"{what} ({given}) is not provably at most {bound}")


UINT16_MAX = (1 << 16) - 1


def _require_transpose_fits(op: ascend.TransposeBlocksOp, facts: KernelFacts) -> None:
    """TransposeBlocks (``runtime.ascendc.printer``) copies a 1 x n tile as one burst of
    ``rows * cols`` blocks (a uint16 blockLen) and otherwise issues one copy per line of
    the shorter side with the longer side as its blockCount (at most 4095)."""
    rows, cols = facts.upper_bound(op.rows), facts.upper_bound(op.cols)
    if rows is not None and cols is not None and rows * cols <= UINT16_MAX:
        if min(rows, cols) <= 1 or max(rows, cols) <= ascend.MAX_BURSTS:
            return
    sides = " x ".join("unbounded" if side is None else str(side) for side in (rows, cols))
    raise emit_error(
        op,
        f"a transpose of up to {sides} blocks does not provably fit DataCopyParams "
        f"(blockCount at most {ascend.MAX_BURSTS}, blockLen at most {UINT16_MAX} blocks)",
    )


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
    try:
        plan.tiling = ascend.kernel_tiling_abi(kernel)
    except KeyError as e:
        raise AscendCEmitError(f"@{kernel.sym_name.data} names no known tiling ABI: {e}") from None
    check_printed_names(kernel, [t.param for t in plan.gm.values()])
    facts, soc = plan.facts, plan.soc
    for op in kernel.body.walk():
        match op:
            case ascend.UbAllocOp():
                plan.ub[op.buffer] = _ub_view(op)
            case ascend.LoadOp() | ascend.StoreOp():
                plan.copies.add(copy_variant(op, soc, facts).helper)
            case ascend.TransposeBlocksOp():
                require_apis(op, soc, frozenset({AscendCApi.UB_TO_UB_DATA_COPY}), "the transpose")
                _require_transpose_fits(op, facts)
                plan.transposes = True
            case ascend.LoadTransposedOp():
                require_apis(op, soc, frozenset({AscendCApi.ND_DMA}), "the 3-D copy")
                for value, what in ((op.rows, "row groups"), (op.cols, "rows per group")):
                    require_fits(op, facts, value, UINT16_MAX, f"a 3-D copy's {what}")
                plan.transposed_loads = True
            case ascend.FillZeroOp():
                # ZeroFill passes the length as Duplicate's int32_t count of half words.
                require_fits(op, facts, op.bytes, (1 << 31) - ascend.UB_ALIGN, "a zero fill length")
                plan.zero_fills = True
            case ascend.SetFlagOp() | ascend.WaitFlagOp():
                require_apis(op, soc, FLAG_APIS, "event flags")
                bound = facts.upper_bound(op.event)
                if bound is None or not facts.is_non_negative(op.event):
                    raise emit_error(op, "event number is not provably in a fixed range")
                kind = hard_event(op)
                plan.events[kind] = max(plan.events.get(kind, 0), bound + 1)
                if plan.events[kind] > soc.event_ids:
                    raise emit_error(
                        op, f"{kind} needs more than the {soc.event_ids} event ids of {soc.name}"
                    )
            case ascend.VCastOp() | ascend.VScalarOp() | ascend.VRowsOp():
                plan.compute_helpers.add(plan_vector_op(op, soc, facts))
            case ascend.CoreTokensOp() | ascend.CoreBatchesOp():
                raise emit_error(op, "run ascend-distribute-tokens before -t ascendc")
            case ascend.CopyRunOp() | ascend.MapRunOp() | ascend.ZeroRunOp():
                raise emit_error(op, "run ascend-tile-runs before -t ascendc")
            case _:
                pass
    return plan
