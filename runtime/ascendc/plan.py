"""What the AscendC target decides about a kernel before printing a line of it.

The GM tensors (kernel arguments, typed by ``pakv_dialect.dtypes``), the UB buffers
(``ascend.ub_alloc`` at planned offsets), the event ids each ``HardEvent`` kind needs,
and for every DMA op which copy helper prints it. The copy rule (SPEC section 5):
``DataCopy`` only when every length of the copy is provably a multiple of 32 bytes
(``runtime.ascendc.facts``), otherwise ``DataCopyPad``, which is exact for any byte
length, so the choice is static and no run-time branch is printed.

Every value that ends in an AscendC parameter field must provably fit it, in the
field's width and unit (:data:`FORM_FIELDS`): ``DataCopyParams`` holds lengths and gaps
as uint16 counts of 32-byte blocks, ``DataCopyExtParams`` a byte length below 2^21 and
uint32 gaps. When the ``DataCopy`` form cannot be proven to fit (a PA_NZ row gap of
65537 blocks), the copy takes the ``DataCopyPad`` form; when no form the SoC offers
fits, the target refuses the op with a located error. The same goes for SoC
capabilities (``SocInfo.ascendc_apis``, ``SocInfo.event_ids``): an op the SoC has no
API for is refused where it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import BlockArgument, Operation, SSAValue

from pakv_dialect import ascend
from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.soc import AscendCApi, SocInfo, soc_info
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
    """The AscendC call a DMA op prints as."""

    COUNT = "DataCopy(dst, src, count)"
    """One burst whose length is a multiple of 32 bytes; ``count`` is a uint32_t."""
    BLOCKS = "DataCopy with DataCopyParams"
    """Bursts whose lengths and gaps are multiples of 32 bytes, counted in blocks."""
    PAD = "DataCopyPad with DataCopyExtParams"
    """Any byte lengths; GM gaps in bytes, UB gaps in 32-byte blocks."""


UB_BLOCK = ascend.UB_ALIGN


@dataclass(frozen=True)
class DmaField:
    """An AscendC DMA parameter as the hardware sees it: its width and unit."""

    name: str
    bits: int
    unit: int
    """Bytes per count: 32 for a field counted in blocks, 1 for bytes."""
    limit: int | None = None
    """A tighter bound than the width, in counts (DataCopyPad's 21-bit lenBurst)."""

    @property
    def max_bytes(self) -> int:
        counts = (1 << self.bits) - 1 if self.limit is None else self.limit
        return counts * self.unit

    def describe(self) -> str:
        unit = "32-byte blocks" if self.unit == UB_BLOCK else "bytes"
        return f"{self.name} (uint{self.bits} in {unit}: at most {self.max_bytes} bytes)"


FORM_FIELDS: dict[CopyForm, dict[str, DmaField]] = {
    # DataCopy's count parameter is a uint32_t of elements: one byte each at the least.
    CopyForm.COUNT: {"length": DmaField("DataCopy count", 32, 1)},
    # asc-devkit include/basic_api/kernel_struct_data_copy.h: four uint16_t fields.
    CopyForm.BLOCKS: {
        "length": DmaField("DataCopyParams.blockLen", 16, UB_BLOCK),
        "gm_gap": DmaField("DataCopyParams.{gm}Stride", 16, UB_BLOCK),
        "ub_gap": DmaField("DataCopyParams.{ub}Stride", 16, UB_BLOCK),
    },
    # The same header: uint32_t blockLen and strides; the copy_gm_to_ubuf_align intrinsic
    # (hiascend.com cceapi_0092) takes lenBurst in [0, 2^21 - 1] bytes and gaps in
    # [0, 2^32 - 1], in 32-byte units on the UB side and bytes on the GM side.
    CopyForm.PAD: {
        "length": DmaField("DataCopyExtParams.blockLen", 32, 1, limit=(1 << 21) - 1),
        "gm_gap": DmaField("DataCopyExtParams.{gm}Stride", 32, 1),
        "ub_gap": DmaField("DataCopyExtParams.{ub}Stride", 32, UB_BLOCK),
    },
}
"""The fields each form puts a DMA op's lengths in (the burst count is chunked by
MAX_BURSTS in every form)."""

_WHAT = {"length": "burst length", "gm_gap": "GM gap", "ub_gap": "UB gap"}


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


def _field(form: CopyForm, role: str, to_ub: bool) -> DmaField:
    field = FORM_FIELDS[form][role]
    gm, ub = ("src", "dst") if to_ub else ("dst", "src")
    return replace(field, name=field.name.format(gm=gm, ub=ub))


def _misfit(
    form: CopyForm, values: dict[str, SSAValue], to_ub: bool, facts: KernelFacts
) -> str | None:
    """Why ``form`` cannot carry ``values`` (the first that does not provably fit)."""
    for role, value in values.items():
        field = _field(form, role, to_ub)
        if not facts.fits(value, field.max_bytes):
            upper = facts.upper_bound(value)
            bound = "unbounded" if upper is None else f"up to {upper} bytes"
            return f"the {_WHAT[role]} ({bound}) does not provably fit {field.describe()}"
    return None


def copy_variant(
    op: ascend.LoadOp | ascend.StoreOp, soc: SocInfo, facts: KernelFacts
) -> CopyVariant:
    """The static copy choice for one DMA op (module docstring).

    One burst whose gaps are constants prints without them; gaps the program computes
    are kept (they are part of what it says), so the burst form is used. A form is
    taken only when every length provably fits its field; the printed helpers assign
    the values to the fields unconverted, so a value that did not fit would be
    truncated on the device (and is refused by the host stand-in).
    """
    to_ub = isinstance(op, ascend.LoadOp)
    single = constant_of(op.n_burst) == 1 and all(
        constant_of(v) is not None for v in (op.gm_gap, op.ub_gap)
    )
    values = {"length": op.burst_len}
    if not single:
        values |= {"gm_gap": op.gm_gap, "ub_gap": op.ub_gap}
    aligned = all(facts.is_multiple_of(v, ascend.UB_ALIGN) for v in values.values())
    forms = [CopyForm.COUNT if single else CopyForm.BLOCKS] if aligned else []
    if soc.has_data_copy_pad:
        forms.append(CopyForm.PAD)
    if not forms:
        raise emit_error(
            op,
            f"burst length not provably a multiple of {ascend.UB_ALIGN} bytes, and "
            f"{soc.name} has no DataCopyPad: plan 32-byte aligned bursts for this SoC",
        )
    misfits: list[str] = []
    for form in forms:
        misfit = _misfit(form, values, to_ub, facts)
        if misfit is None:
            return CopyVariant(to_ub, single, form)
        misfits.append(misfit)
    pad = "" if soc.has_data_copy_pad else f"; {soc.name} has no DataCopyPad"
    raise emit_error(op, f"no AscendC copy form fits: {'; '.join(misfits)}{pad}")


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
    transposed_loads: bool = False
    """The kernel loads with Ascend 950's 3-D copy (``ascend.load_transposed``)."""

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
    check_printed_names(kernel, [t.param for t in plan.gm.values()])
    facts, soc = plan.facts, plan.soc
    for op in kernel.body.walk():
        match op:
            case ascend.UbAllocOp():
                plan.ub[op.buffer] = _ub_view(op)
            case ascend.LoadOp() | ascend.StoreOp():
                variant = copy_variant(op, soc, facts)
                splits = not variant.single and not facts.fits(op.n_burst, ascend.MAX_BURSTS)
                plan.copies[variant.helper] = plan.copies.get(variant.helper, False) or splits
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
            case ascend.CoreTokensOp() | ascend.CoreBatchesOp():
                raise emit_error(op, "run ascend-distribute-tokens before -t ascendc")
            case ascend.CopyRunOp() | ascend.ZeroRunOp():
                raise emit_error(op, "run ascend-tile-runs before -t ascendc")
            case _:
                pass
    return plan
