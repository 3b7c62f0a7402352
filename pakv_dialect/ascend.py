"""The ``ascend`` dialect: what one Ascend vector core does, op by op.

The lowering of ``pakv.gather`` produces this dialect; the interpreter runtime executes
it and the AscendC target prints it. Spelling follows Huawei's HIVM dialect where HIVM
has a word for the concept (``load``/``store`` on MTE2/MTE3, ``set_flag``/``wait_flag``,
``pointer_cast``-style UB buffers at planned offsets, ``#..address_space<gm|ub>``).

Memory model
------------
* Global memory (GM) operands are memrefs in ``#ascend.address_space<gm>``, typed as the
  tensors they hold. All GM offsets, lengths and gaps in DMA ops are in **bytes**: the
  MTE engines move bytes, and one byte-based convention serves every dtype and layout.
* The Unified Buffer (UB) is carved by ``ascend.ub_alloc`` into buffers of ``slots``
  equal slots of ``slot_bytes`` each (``memref<slots x slot_bytes x i8, ub>``), placed at
  a byte ``offset`` that the UB planning pass assigns. Several slots are how a buffer is
  multi-buffered: tile ``n`` uses slot ``n % slots``.
* A UB byte range is addressed as (buffer, slot, byte offset inside the slot).
* Each DMA names its instruction form (``as blocks``: DataCopy with DataCopyParams;
  ``as bytes``: DataCopyPad with DataCopyExtParams), whose parameter fields every value
  must fit in width and unit (``pakv_dialect.dma``: the one table of those fields).
* A GM memref may be a strided view along its first axis (a cache, SPEC section 9:
  ``pakv_dialect.layouts``); GM byte offsets count from its first element.

Pipes and synchronisation
-------------------------
Ops run on pipes: scalar reads on S, GM->UB copies on MTE2, UB->GM copies on MTE3, UB
compute (zero fill, block transpose) on V. Pipes run concurrently on hardware, so a
consumer on one pipe must wait for its producer on another. The model is HIVM's and
AscendC's explicit event flags: ``ascend.set_flag[P, Q, e]`` (pipe P signals event e to
pipe Q once P's earlier work is done) and ``ascend.wait_flag[P, Q, e]`` (Q blocks until
then). Every wait consumes exactly one earlier set of the same (P, Q, e). The
interpreter checks the model: a UB range read on one pipe while its last writer on
another pipe is not yet covered by a wait is reported, and so is a write over a range
that another pipe may still be reading.

Runs, and this core's share
---------------------------
Three ops are intermediate forms of the lowering that neither the interpreter nor the
AscendC target runs: ``ascend.core_tokens`` (this core's share of the tokens, until
``ascend-distribute-tokens`` computes it) and the run level, ``ascend.copy_run`` (a run
of tokens in one cache block, copied between the cache and the token-major tensor, in
the gather's direction or the scatter's) and ``ascend.zero_run`` (a run of zero
tokens), until ``ascend-tile-runs`` expands them into tiles of the ops above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from math import prod

from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    Float32Type,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
)
from xdsl.dialects.func import FuncOp
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, Region, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    opt_region_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import (
    MemoryAllocEffect,
    MemoryReadEffect,
    MemoryWriteEffect,
    OpTrait,
    Pure,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from pakv_dialect.dma import DMA_FORMS, DMA_VALUES, DmaForm, DmaFormAttr, value_words
from pakv_dialect.dma import MAX_BURSTS as MAX_BURSTS
from pakv_dialect.dtypes import kv_kind_of_type
from pakv_dialect.elementwise import ElementwiseProgram, check_body, check_params
from pakv_dialect.layouts import GM as GM
from pakv_dialect.layouts import UB as UB
from pakv_dialect.layouts import AddressSpace as AddressSpace
from pakv_dialect.layouts import AddressSpaceAttr as AddressSpaceAttr
from pakv_dialect.layouts import block_stride, cache_layout_error
from pakv_dialect.layouts import memory_space_of as memory_space_of
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode, CacheModeAttr
from pakv_dialect.soc import SOCS
from pakv_dialect.tiling import GATHER_ABI, TILING_ABIS, TilingAbi

UB_ALIGN = 32
"""UB addresses and sizes are multiples of 32 bytes (one "block")."""

KERNEL_ATTR = "ascend.kernel"
"""Unit attribute marking a function as a device kernel."""

SOC_ATTR = "ascend.soc"
"""String attribute on a kernel function: the SoC it was compiled for."""

SYNC_ATTR = "ascend.sync"
"""String attribute on a kernel function: how ``ascend-insert-sync`` orders its pipes,
``flags`` (event flags per UB slot) or ``barrier`` (``ascend.pipe_barrier`` after every
op that touches the UB); absent means ``flags``. Set by ``ascend-tile-runs`` from the
plan's choices."""

CORES_ATTR = "ascend.cores"
"""Index attribute on a kernel function: launch it on at most this many vector cores
(the host's tiling reads it; absent: all of the SoC's)."""

LAUNCH_ATTR = "ascend.launch"
"""String attribute on a kernel function: how the host sizes its launch
(:class:`LaunchKind`)."""

ROLES_ATTR = "ascend.roles"
"""Array attribute on a kernel function: the role of each of its arguments (the
``pakv.gather`` operand roles, or ``source``, ``param_<i>``, ``target`` of a consumer)."""


class LaunchKind(StrEnum):
    """How a kernel's tiling is computed from its arguments (``runtime`` launches)."""

    gather = "gather"
    """``GatherTiling`` of the gather's tensors, the total from ``seq_lens``."""
    gather_cumsum = "gather_cumsum"
    """The same, ``seq_lens`` holding running totals."""
    map = "map"
    """Every row of the consumer's tensor: ``num_tokens`` = total = its dim 0."""
    scatter = "scatter"
    """``ScatterTiling`` of the scatter's tensors: ``num_tokens`` from ``slot_mapping``."""


def kernel_launch(func: FuncOp) -> tuple[LaunchKind, tuple[str, ...]] | None:
    """How ``func`` is launched and its arguments' roles, when the lowering said."""
    kind = func.attributes.get(LAUNCH_ATTR)
    roles = func.attributes.get(ROLES_ATTR)
    if not isinstance(kind, StringAttr) or not isinstance(roles, ArrayAttr):
        return None
    names = tuple(r.data for r in roles.data if isinstance(r, StringAttr))
    return LaunchKind(kind.data), names


TILING_ATTR = "ascend.tiling"
"""Optional string attribute on a kernel function: the name of its tiling ABI
(``pakv_dialect.tiling.TILING_ABIS``); a kernel without it uses the gather's."""

NOTE_ATTR = "ascend.note"
"""Optional string attribute on an op of a lowered kernel: a short note on the stage the
op begins (this core's tokens, the sequence walk, a tile loop...), which the AscendC
target prints as a comment above it. Nothing else reads it."""


def align_up(size: int, alignment: int = UB_ALIGN) -> int:
    return -(-size // alignment) * alignment


class Pipe(StrEnum):
    """The hardware pipes of a vector core that an op can occupy."""

    S = "S"
    V = "V"
    MTE2 = "MTE2"
    MTE3 = "MTE3"


@irdl_attr_definition
class PipeAttr(EnumAttribute[Pipe], SpacedOpaqueSyntaxAttribute):
    """``#ascend<pipe MTE2>`` in generic form; the flag ops print their pipes bare
    (``ascend.set_flag[MTE2, MTE3, %e]``)."""

    name = "ascend.pipe"


def ub_buffer_type(slots: int, slot_bytes: int) -> MemRefType:
    return MemRefType(IntegerType(8), [slots, slot_bytes], memory_space=UB)


def function_soc(func: FuncOp) -> str | None:
    """The SoC a kernel function was compiled for (its ``ascend.soc``), when it says."""
    soc = func.attributes.get(SOC_ATTR)
    return soc.data if isinstance(soc, StringAttr) else None


def function_cores(func: FuncOp) -> int:
    """The most vector cores a kernel asks to run on (its ``ascend.cores``); 0: all."""
    cores = func.attributes.get(CORES_ATTR)
    return cores.value.data if isinstance(cores, IntegerAttr) else 0


def kernel_tiling_abi(func: FuncOp) -> TilingAbi:
    """The tiling ABI of a kernel function (its ``ascend.tiling``; the gather's when it
    names none). KeyError for a name no ABI has."""
    name = func.attributes.get(TILING_ATTR)
    return TILING_ABIS[name.data if isinstance(name, StringAttr) else GATHER_ABI.name]


def kernel_soc(op: Operation) -> str | None:
    """The SoC of the kernel function that contains ``op``, when it says."""
    func = op.parent_op()
    while func is not None and not isinstance(func, FuncOp):
        func = func.parent_op()
    return None if func is None else function_soc(func)


def constant_value(value: SSAValue) -> int | None:
    """The integer behind ``value`` when an ``arith.constant`` defines it."""
    if isinstance(value.owner, ConstantOp) and isinstance(value.owner.value, IntegerAttr):
        return value.owner.value.value.data
    return None


def _check_space(what: str, value: SSAValue, space: AddressSpace) -> None:
    if memory_space_of(value.type) != space:
        raise VerifyException(
            f"{what} must be a memref in #ascend.address_space<{space}>, got {value.type}"
        )


@dataclass(frozen=True)
class OnPipe(OpTrait):
    """The hardware pipe the op occupies: the one fact the sync pass (which pipes a
    buffer's flags join), the machine model (whose issue counter an op advances) and
    ``pakv explain`` (which track a DMA is on) read about an op's timing."""

    pipe: Pipe


class UbRole(Enum):
    """What an op does to a UB slot."""

    WRITE = "written"
    READ = "read"


@dataclass(frozen=True)
class UbSlotUse:
    """One UB slot an op touches: ``buffer`` (an ``ub_alloc`` result) at slot ``slot``,
    read or written on ``pipe``."""

    buffer: SSAValue
    slot: SSAValue
    role: UbRole
    pipe: Pipe


@dataclass(frozen=True)
class UsesUbSlots(OpTrait):
    """Which (UB buffer, slot) operand pairs the op reads and writes, by operand name.

    With :class:`OnPipe` this says everything synchronisation needs about an op:
    ``ub_slot_uses`` turns the two into :class:`UbSlotUse` records, in the order
    reads, then writes (a transpose reads its source before it writes its target).
    """

    reads: tuple[tuple[str, str], ...] = ()
    writes: tuple[tuple[str, str], ...] = ()


def op_pipe(op: Operation) -> Pipe | None:
    """The pipe ``op`` runs on (its :class:`OnPipe`), or None for scalar bookkeeping."""
    trait = op.get_trait(OnPipe)
    return None if trait is None else trait.pipe


def ub_slot_uses(op: Operation) -> list[UbSlotUse]:
    """The UB slots ``op`` itself reads or writes (not those of nested ops)."""
    uses = op.get_trait(UsesUbSlots)
    pipe = op_pipe(op)
    if uses is None or pipe is None:
        return []
    return [
        UbSlotUse(getattr(op, buffer), getattr(op, slot), role, pipe)
        for role, pairs in ((UbRole.READ, uses.reads), (UbRole.WRITE, uses.writes))
        for buffer, slot in pairs
    ]


@irdl_op_definition
class GetBlockIdxOp(IRDLOperation):
    """This core's index in ``[0, get_block_num)`` (AscendC ``GetBlockIdx()``)."""

    name = "ascend.get_block_idx"
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__(result_types=[IndexType()])


@irdl_op_definition
class GetBlockNumOp(IRDLOperation):
    """How many cores run the kernel (AscendC ``GetBlockNum()``)."""

    name = "ascend.get_block_num"
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__(result_types=[IndexType()])


@irdl_op_definition
class GetTilingOp(IRDLOperation):
    """One field of the kernel's tiling data, computed by the host at launch.

    Runtime sizes (batch, table width, tokens to split, ...) reach the kernel this way,
    as in AscendC's ``GET_TILING_DATA``: one compiled kernel serves every shape that
    its dynamic dimensions admit.
    """

    name = "ascend.get_tiling"
    field = prop_def(StringAttr)
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "$field attr-dict"

    def __init__(self, field: str):
        super().__init__(properties={"field": StringAttr(field)}, result_types=[IndexType()])


@irdl_op_definition
class UbAllocOp(IRDLOperation):
    """A UB buffer of ``slots`` x ``slot_bytes`` at a planned byte ``offset``.

    Like HIVM's ``pointer_cast``: no allocator runs on the device; the UB planning pass
    assigns ``offset``. ``purpose`` says what the buffer holds (shown by ``pakv explain``
    and printed as the AscendC buffer's name).
    """

    name = "ascend.ub_alloc"
    purpose = prop_def(StringAttr)
    offset = opt_prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)
    traits = traits_def(MemoryAllocEffect())
    assembly_format = "$purpose (`at` $offset^)? attr-dict `:` type($buffer)"

    def __init__(self, purpose: str, slots: int, slot_bytes: int, offset: int | None = None):
        properties: dict[str, Attribute] = {"purpose": StringAttr(purpose)}
        if offset is not None:
            properties["offset"] = IntegerAttr(offset, 64)
        super().__init__(properties=properties, result_types=[ub_buffer_type(slots, slot_bytes)])

    @property
    def slots(self) -> int:
        return self.buffer_type.get_shape()[0]

    @property
    def slot_bytes(self) -> int:
        return self.buffer_type.get_shape()[1]

    @property
    def size(self) -> int:
        return self.slots * self.slot_bytes

    @property
    def buffer_type(self) -> MemRefType:
        ty = self.buffer.type
        assert isinstance(ty, MemRefType)
        return ty  # pyright: ignore[reportUnknownVariableType]

    @property
    def planned_offset(self) -> int | None:
        return None if self.offset is None else self.offset.value.data

    def verify_(self) -> None:
        ty = self.buffer_type
        if memory_space_of(ty) != AddressSpace.ub or ty.get_num_dims() != 2:
            raise VerifyException(
                f"ub_alloc must produce memref<slots x slot_bytes x i8, "
                f"#ascend.address_space<ub>>, got {ty}"
            )
        if ty.get_element_type() != IntegerType(8):
            raise VerifyException(f"ub_alloc element type must be i8, got {ty.get_element_type()}")
        if self.slots < 1 or self.slot_bytes < 1:
            raise VerifyException(f"ub_alloc '{self.purpose.data}' must not be empty, got {ty}")
        if self.slot_bytes % UB_ALIGN:
            raise VerifyException(
                f"ub_alloc '{self.purpose.data}' slot size must be a multiple of "
                f"{UB_ALIGN} bytes, got {self.slot_bytes}"
            )
        offset = self.planned_offset
        if offset is None:
            return
        if offset < 0 or offset % UB_ALIGN:
            raise VerifyException(
                f"ub_alloc '{self.purpose.data}' offset must be a non-negative multiple of "
                f"{UB_ALIGN} bytes, got {offset}"
            )
        soc_name = kernel_soc(self)
        if soc_name in SOCS:
            capacity = SOCS[soc_name].ub_usable_bytes
            if offset + self.size > capacity:
                raise VerifyException(
                    f"ub_alloc '{self.purpose.data}' occupies [{offset}, {offset + self.size}) "
                    f"bytes, past the {capacity}-byte UB of {soc_name}"
                )


@irdl_op_definition
class LoadScalarOp(IRDLOperation):
    """Read one element of a GM tensor on the scalar pipe (AscendC ``GetValue``)."""

    name = "ascend.load_scalar"
    traits = traits_def(OnPipe(Pipe.S), MemoryReadEffect())
    source = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def(IntegerType | Float32Type)
    """An index tensor's element, or a fused consumer's per-tensor f32 parameter."""
    assembly_format = "$source `[` $indices `]` attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue, indices: list[SSAValue]):
        ty = source.type
        assert isinstance(ty, MemRefType)
        super().__init__(
            operands=[source, indices],
            result_types=[ty.get_element_type()],  # pyright: ignore[reportUnknownMemberType]
        )

    def verify_(self) -> None:
        _check_space("load_scalar source", self.source, AddressSpace.gm)
        ty = self.source.type
        assert isinstance(ty, MemRefType)
        if len(self.indices) != ty.get_num_dims():
            raise VerifyException(
                f"load_scalar needs {ty.get_num_dims()} indices, got {len(self.indices)}"
            )
        if ty.get_element_type() != self.result.type:
            raise VerifyException(
                f"load_scalar result must be {ty.get_element_type()}, got {self.result.type}"
            )


@irdl_op_definition
class RunLengthOp(IRDLOperation):
    """How many elements of a 1-D GM index tensor continue a run: the largest ``k <=
    limit`` with ``source[begin + i] == start + i`` for every ``i < k`` (the elements
    read as signed integers, sign-extended to ``index``).

    The scatter's walk asks this once per run: its tokens move as one burst as long as
    their slots are consecutive (``runtime`` semantics: SPEC section 8). On the device it
    is a loop of scalar reads (AscendC ``GetValue``) that stops at the first element off
    the run; the interpreter answers with one vectorised comparison, so a run costs a
    handful of executed ops whatever its length. ``begin + limit`` must not pass the
    tensor's end. Runs on the scalar pipe.
    """

    name = "ascend.run_length"
    traits = traits_def(OnPipe(Pipe.S), MemoryReadEffect())
    source = operand_def(MemRefType)
    begin = operand_def(IndexType)
    start = operand_def(IndexType)
    limit = operand_def(IndexType)
    result = result_def(IndexType)
    assembly_format = (
        "$source `[` $begin `]` `from` `(` $start `)` `limit` `(` $limit `)` attr-dict "
        "`:` type($source)"
    )

    def __init__(self, source: SSAValue, begin: SSAValue, start: SSAValue, limit: SSAValue):
        super().__init__(operands=[source, begin, start, limit], result_types=[IndexType()])

    def verify_(self) -> None:
        _check_space("run_length source", self.source, AddressSpace.gm)
        ty = self.source.type
        assert isinstance(ty, MemRefType)
        element = ty.get_element_type()  # pyright: ignore[reportUnknownVariableType]
        if ty.get_num_dims() != 1 or not isinstance(element, IntegerType):
            raise VerifyException(f"run_length source must be a 1-D tensor of integers, got {ty}")


class _DmaOp(IRDLOperation):
    """Shared shape of the two DMA ops: ``n_burst`` bursts of ``burst_len`` bytes.

    GM side: burst ``b`` starts at ``gm_offset + b * (burst_len + gm_gap)`` bytes.
    UB side: burst ``b`` starts at ``ub_offset + b * (align32(burst_len) + ub_gap)``
    bytes inside slot ``slot``; a burst whose length is not a multiple of 32 bytes is
    padded up to 32 in UB (DataCopyPad), so ``ub_gap`` must be a multiple of 32.

    ``form`` (``pakv_dialect.dma``) says which AscendC parameter fields the values go
    into; each value must fit its field (width and unit). The verifier checks the
    values that are constants; the machine model checks the others when they run.
    """

    gm = operand_def(MemRefType)
    gm_offset = operand_def(IndexType)
    ub = operand_def(MemRefType)
    slot = operand_def(IndexType)
    ub_offset = operand_def(IndexType)
    n_burst = operand_def(IndexType)
    burst_len = operand_def(IndexType)
    gm_gap = operand_def(IndexType)
    ub_gap = operand_def(IndexType)
    form = prop_def(DmaFormAttr)

    def __init__(
        self,
        *,
        gm: SSAValue,
        gm_offset: SSAValue,
        ub: SSAValue,
        slot: SSAValue,
        ub_offset: SSAValue,
        n_burst: SSAValue,
        burst_len: SSAValue,
        gm_gap: SSAValue,
        ub_gap: SSAValue,
        form: DmaForm,
    ):
        super().__init__(
            operands=[gm, gm_offset, ub, slot, ub_offset, n_burst, burst_len, gm_gap, ub_gap],
            properties={"form": DmaFormAttr(form)},
        )

    @property
    def dma_form(self) -> DmaForm:
        return self.form.data

    def verify_(self) -> None:
        _check_space(f"{self.name} GM operand", self.gm, AddressSpace.gm)
        _check_space(f"{self.name} UB operand", self.ub, AddressSpace.ub)
        offset = constant_value(self.ub_offset)
        if offset is not None and offset % UB_ALIGN:
            raise VerifyException(
                f"{self.name} ub_offset must be a multiple of {UB_ALIGN} bytes, got {offset}"
            )
        spec = DMA_FORMS[self.dma_form]
        to_ub = isinstance(self, LoadOp)
        for name in DMA_VALUES:
            constant = constant_value(getattr(self, name))
            if constant is not None and not spec.fields[name].holds(constant):
                field = spec.fields[name]
                raise VerifyException(
                    f"{self.name} {value_words(name)} {constant} does not fit "
                    f"{field.describe(to_ub)} of the {spec.form} form"
                )


@irdl_op_definition
class LoadOp(_DmaOp):
    """GM -> UB copy on MTE2 (AscendC ``DataCopy``/``DataCopyPad`` into a LocalTensor)."""

    name = "ascend.load"
    traits = traits_def(
        OnPipe(Pipe.MTE2), UsesUbSlots(writes=(("ub", "slot"),)), MemoryReadEffect(),
        MemoryWriteEffect(),
    )  # fmt: skip
    assembly_format = (
        "$gm `[` $gm_offset `]` `->` $ub `[` $slot `,` $ub_offset `]` "
        "`bursts` `(` $n_burst `x` $burst_len `)` `gaps` `(` $gm_gap `,` $ub_gap `)` "
        "`as` $form attr-dict `:` type($gm) `->` type($ub)"
    )


@irdl_op_definition
class StoreOp(_DmaOp):
    """UB -> GM copy on MTE3 (AscendC ``DataCopy``/``DataCopyPad`` into a GlobalTensor)."""

    name = "ascend.store"
    traits = traits_def(
        OnPipe(Pipe.MTE3), UsesUbSlots(reads=(("ub", "slot"),)), MemoryReadEffect(),
        MemoryWriteEffect(),
    )  # fmt: skip
    assembly_format = (
        "$ub `[` $slot `,` $ub_offset `]` `->` $gm `[` $gm_offset `]` "
        "`bursts` `(` $n_burst `x` $burst_len `)` `gaps` `(` $ub_gap `,` $gm_gap `)` "
        "`as` $form attr-dict `:` type($ub) `->` type($gm)"
    )


@irdl_op_definition
class TransposeBlocksOp(IRDLOperation):
    """Transpose a ``rows x cols`` matrix of 32-byte blocks from one UB slot to another.

    ``target[c][r] = source[r][c]``. This is the PA_NZ tile's compute step: a tile
    loaded group-major (one long GM burst per 32-byte row group) becomes token-major,
    so the store is one contiguous burst. Runs on the vector pipe.
    """

    name = "ascend.transpose_blocks"
    traits = traits_def(
        OnPipe(Pipe.V),
        UsesUbSlots(reads=(("source", "source_slot"),), writes=(("target", "target_slot"),)),
        MemoryReadEffect(),
        MemoryWriteEffect(),
    )
    source = operand_def(MemRefType)
    source_slot = operand_def(IndexType)
    target = operand_def(MemRefType)
    target_slot = operand_def(IndexType)
    rows = operand_def(IndexType)
    cols = operand_def(IndexType)
    assembly_format = (
        "$source `[` $source_slot `]` `->` $target `[` $target_slot `]` "
        "`blocks` `(` $rows `x` $cols `)` attr-dict `:` type($source) `->` type($target)"
    )

    def __init__(
        self,
        source: SSAValue,
        source_slot: SSAValue,
        target: SSAValue,
        target_slot: SSAValue,
        rows: SSAValue,
        cols: SSAValue,
    ):
        super().__init__(operands=[source, source_slot, target, target_slot, rows, cols])

    def verify_(self) -> None:
        _check_space("transpose_blocks source", self.source, AddressSpace.ub)
        _check_space("transpose_blocks target", self.target, AddressSpace.ub)
        if self.source == self.target:
            raise VerifyException("transpose_blocks source and target must be distinct buffers")


@irdl_op_definition
class LoadTransposedOp(IRDLOperation):
    """GM -> UB on MTE2, landing transposed by 32-byte blocks: Ascend 950's 3-D copy.

    ``rows`` bursts of ``cols`` 32-byte blocks are read from GM, burst ``r`` at byte
    ``gm_offset + r * (cols * 32 + gm_gap)``; block ``c`` of burst ``r`` lands at byte
    ``ub_offset + (c * rows + r) * 32`` of the slot. A PA_NZ tile of ``k`` tokens is
    ``rows = H / ea`` row groups of ``cols = k`` rows each: it arrives token-major, as
    ``ascend.load`` + ``ascend.transpose_blocks`` would leave it, with no vector step.
    AscendC: ``DataCopy`` with ``MultiCopyParams<T, 3>`` (NDDMA), which the vendor's
    Ascend 950 kernel uses for NZ blocks (source strides ``{block_size * ea, ea, 1}``,
    destination strides ``{ea, H, 1}``); other SoCs have no such copy.
    """

    name = "ascend.load_transposed"
    traits = traits_def(
        OnPipe(Pipe.MTE2), UsesUbSlots(writes=(("ub", "slot"),)), MemoryReadEffect(),
        MemoryWriteEffect(),
    )  # fmt: skip
    gm = operand_def(MemRefType)
    gm_offset = operand_def(IndexType)
    ub = operand_def(MemRefType)
    slot = operand_def(IndexType)
    ub_offset = operand_def(IndexType)
    rows = operand_def(IndexType)
    cols = operand_def(IndexType)
    gm_gap = operand_def(IndexType)
    assembly_format = (
        "$gm `[` $gm_offset `]` `->` $ub `[` $slot `,` $ub_offset `]` "
        "`blocks` `(` $rows `x` $cols `)` `gap` `(` $gm_gap `)` "
        "attr-dict `:` type($gm) `->` type($ub)"
    )

    def __init__(
        self,
        *,
        gm: SSAValue,
        gm_offset: SSAValue,
        ub: SSAValue,
        slot: SSAValue,
        ub_offset: SSAValue,
        rows: SSAValue,
        cols: SSAValue,
        gm_gap: SSAValue,
    ):
        super().__init__(operands=[gm, gm_offset, ub, slot, ub_offset, rows, cols, gm_gap])

    def verify_(self) -> None:
        _check_space("load_transposed GM operand", self.gm, AddressSpace.gm)
        _check_space("load_transposed UB operand", self.ub, AddressSpace.ub)
        offset = constant_value(self.ub_offset)
        if offset is not None and offset % UB_ALIGN:
            raise VerifyException(
                f"load_transposed ub_offset must be a multiple of {UB_ALIGN} bytes, got {offset}"
            )


@irdl_op_definition
class PipeBarrierOp(IRDLOperation):
    """Every pipe and the scalar unit wait until every op issued before the barrier, on
    any pipe, has finished (AscendC ``PipeBarrier<PIPE_ALL>``).

    The older A2/A3 vendor kernel orders its PA_NZ copies this way, one barrier after
    each copy, instead of with event flags. Declared as reading and writing memory, so
    no transformation moves an access across it or removes it.
    """

    name = "ascend.pipe_barrier"
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())
    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__()


@irdl_op_definition
class FillZeroOp(IRDLOperation):
    """Zero ``align32(bytes)`` bytes at the start of a UB slot on the vector pipe.

    The tile of a token whose table column or block id is out of range is zero-filled
    instead of loaded (SPEC section 3): the kernel never reads outside the cache.
    """

    name = "ascend.fill_zero"
    traits = traits_def(
        OnPipe(Pipe.V), UsesUbSlots(writes=(("target", "slot"),)), MemoryWriteEffect()
    )
    target = operand_def(MemRefType)
    slot = operand_def(IndexType)
    bytes = operand_def(IndexType)
    assembly_format = "$target `[` $slot `]` `bytes` `(` $bytes `)` attr-dict `:` type($target)"

    def __init__(self, target: SSAValue, slot: SSAValue, bytes: SSAValue):
        super().__init__(operands=[target, slot, bytes])

    def verify_(self) -> None:
        _check_space("fill_zero target", self.target, AddressSpace.ub)


# ------------------------------------------------------------------- compute stage
#
# A fused consumer's body runs as vector instructions on whole UB tiles, one per body
# op (``passes/compute_stage.py`` emits them): a conversion, or float32 arithmetic with
# a per-tensor scalar or a per-channel vector. Each operand is a UB position (buffer,
# slot, byte offset inside the slot, 32-byte aligned like every vector operand), each
# count is in elements. All run on the vector pipe; source and target may be one range
# (in place) for the arithmetic, never for a conversion (AscendC forbids overlapping
# operands of different widths).


class CastMode(StrEnum):
    """The AscendC ``RoundMode`` of an ``ascend.vcast`` (``SocInfo.casts``)."""

    CAST_NONE = "CAST_NONE"
    CAST_RINT = "CAST_RINT"


@irdl_attr_definition
class CastModeAttr(EnumAttribute[CastMode], SpacedOpaqueSyntaxAttribute):
    """``#ascend<cast_mode CAST_RINT>``."""

    name = "ascend.cast_mode"


class VectorKind(StrEnum):
    """The float32 arithmetic of ``ascend.vscalar`` and ``ascend.vrows`` (``max`` and
    ``min``, a quantising body's clamp, only with a scalar: AscendC ``Maxs`` / ``Mins``)."""

    add = "add"
    sub = "sub"
    mul = "mul"
    max = "max"
    min = "min"


@irdl_attr_definition
class VectorKindAttr(EnumAttribute[VectorKind], SpacedOpaqueSyntaxAttribute):
    """``#ascend<vector_kind mul>``."""

    name = "ascend.vector_kind"


def _check_vector_operands(op: IRDLOperation, *names: str) -> None:
    for name in names:
        _check_space(f"{op.name} {name}", getattr(op, name), AddressSpace.ub)
    for name in ("source_offset", "target_offset", "vector_offset"):
        if hasattr(op, name):
            constant = constant_value(getattr(op, name))
            if constant is not None and constant % UB_ALIGN:
                raise VerifyException(
                    f"{op.name} {name} must be a multiple of {UB_ALIGN} bytes, got {constant}"
                )


@irdl_op_definition
class VCastOp(IRDLOperation):
    """Convert ``count`` elements from ``from_type`` to ``to_type`` (AscendC ``Cast``
    with ``mode``): exact, or rounded to nearest even (SPEC section 7)."""

    name = "ascend.vcast"
    traits = traits_def(
        OnPipe(Pipe.V),
        UsesUbSlots(reads=(("source", "source_slot"),), writes=(("target", "target_slot"),)),
        MemoryReadEffect(),
        MemoryWriteEffect(),
    )
    source = operand_def(MemRefType)
    source_slot = operand_def(IndexType)
    source_offset = operand_def(IndexType)
    target = operand_def(MemRefType)
    target_slot = operand_def(IndexType)
    target_offset = operand_def(IndexType)
    count = operand_def(IndexType)
    from_type = prop_def(Attribute)
    to_type = prop_def(Attribute)
    mode = prop_def(CastModeAttr)
    assembly_format = (
        "$mode $source `[` $source_slot `,` $source_offset `]` `:` $from_type `->` "
        "$target `[` $target_slot `,` $target_offset `]` `:` $to_type "
        "`count` `(` $count `)` attr-dict `:` type($source) `->` type($target)"
    )

    def __init__(
        self,
        source: tuple[SSAValue, SSAValue, SSAValue],
        target: tuple[SSAValue, SSAValue, SSAValue],
        count: SSAValue,
        from_type: Attribute,
        to_type: Attribute,
        mode: CastMode,
    ):
        super().__init__(
            operands=[*source, *target, count],
            properties={"from_type": from_type, "to_type": to_type, "mode": CastModeAttr(mode)},
        )

    def verify_(self) -> None:
        _check_vector_operands(self, "source", "target")
        for what, ty in (("from", self.from_type), ("to", self.to_type)):
            if kv_kind_of_type(ty) is None:
                raise VerifyException(f"ascend.vcast {what}_type must be an element type, got {ty}")
        if self.from_type == self.to_type and (
            self.from_type != Float32Type() or self.mode.data != CastMode.CAST_RINT
        ):
            raise VerifyException(
                "ascend.vcast converts between two types, or rounds f32 to an integer with "
                "CAST_RINT (AscendC Cast of float to float: a quantising body's roundeven)"
            )


@irdl_op_definition
class VScalarOp(IRDLOperation):
    """``target = source <kind> scalar`` on ``count`` float32 elements (AscendC ``Adds``
    / ``Muls``; ``sub`` is ``Adds`` of the negated scalar: IEEE-754 defines ``x - s``
    as ``x + (-s)``, so only the sign of a NaN that the scalar itself is may differ)."""

    name = "ascend.vscalar"
    traits = traits_def(
        OnPipe(Pipe.V),
        UsesUbSlots(reads=(("source", "source_slot"),), writes=(("target", "target_slot"),)),
        MemoryReadEffect(),
        MemoryWriteEffect(),
    )
    kind = prop_def(VectorKindAttr)
    source = operand_def(MemRefType)
    source_slot = operand_def(IndexType)
    source_offset = operand_def(IndexType)
    scalar = operand_def(Float32Type)
    target = operand_def(MemRefType)
    target_slot = operand_def(IndexType)
    target_offset = operand_def(IndexType)
    count = operand_def(IndexType)
    assembly_format = (
        "$kind $source `[` $source_slot `,` $source_offset `]` `,` $scalar `->` "
        "$target `[` $target_slot `,` $target_offset `]` `count` `(` $count `)` attr-dict "
        "`:` type($source) `->` type($target)"
    )

    def __init__(
        self,
        kind: VectorKind,
        source: tuple[SSAValue, SSAValue, SSAValue],
        scalar: SSAValue,
        target: tuple[SSAValue, SSAValue, SSAValue],
        count: SSAValue,
    ):
        super().__init__(
            operands=[*source, scalar, *target, count],
            properties={"kind": VectorKindAttr(kind)},
        )

    def verify_(self) -> None:
        _check_vector_operands(self, "source", "target")


@irdl_op_definition
class VRowsOp(IRDLOperation):
    """``target[r, c] = source[r, c] <kind> vector[c]`` for ``rows`` rows of ``cols``
    float32 elements, ``pitch`` elements apart: a per-channel parameter broadcast over a
    tile's tokens (AscendC ``Add`` / ``Sub`` / ``Mul``, one call per row)."""

    name = "ascend.vrows"
    traits = traits_def(
        OnPipe(Pipe.V),
        UsesUbSlots(
            reads=(("source", "source_slot"), ("vector", "vector_slot")),
            writes=(("target", "target_slot"),),
        ),
        MemoryReadEffect(),
        MemoryWriteEffect(),
    )
    kind = prop_def(VectorKindAttr)
    source = operand_def(MemRefType)
    source_slot = operand_def(IndexType)
    source_offset = operand_def(IndexType)
    vector = operand_def(MemRefType)
    vector_slot = operand_def(IndexType)
    vector_offset = operand_def(IndexType)
    target = operand_def(MemRefType)
    target_slot = operand_def(IndexType)
    target_offset = operand_def(IndexType)
    rows = operand_def(IndexType)
    cols = operand_def(IndexType)
    pitch = operand_def(IndexType)
    assembly_format = (
        "$kind $source `[` $source_slot `,` $source_offset `]` `,` "
        "$vector `[` $vector_slot `,` $vector_offset `]` `->` "
        "$target `[` $target_slot `,` $target_offset `]` "
        "`rows` `(` $rows `x` $cols `,` `pitch` $pitch `)` attr-dict "
        "`:` type($source) `,` type($vector) `->` type($target)"
    )

    def __init__(
        self,
        kind: VectorKind,
        source: tuple[SSAValue, SSAValue, SSAValue],
        vector: tuple[SSAValue, SSAValue, SSAValue],
        target: tuple[SSAValue, SSAValue, SSAValue],
        rows: SSAValue,
        cols: SSAValue,
        pitch: SSAValue,
    ):
        super().__init__(
            operands=[*source, *vector, *target, rows, cols, pitch],
            properties={"kind": VectorKindAttr(kind)},
        )

    def verify_(self) -> None:
        _check_vector_operands(self, "source", "vector", "target")
        if self.kind.data in (VectorKind.max, VectorKind.min):
            raise VerifyException(
                f"ascend.vrows does not {self.kind.data.value}: a clamp's bound is a scalar "
                "(ascend.vscalar)"
            )
        pitch = constant_value(self.pitch)
        if pitch is not None and (pitch * 4) % UB_ALIGN:
            raise VerifyException(
                f"ascend.vrows rows start 32-byte aligned: pitch * 4 must be a multiple of "
                f"{UB_ALIGN}, got pitch {pitch}"
            )


VECTOR_OPS: tuple[type[IRDLOperation], ...] = (VCastOp, VScalarOp, VRowsOp)
"""The compute stage's instructions."""


class _FlagOp(IRDLOperation):
    """A flag orders the memory accesses of two pipes: declared as reading and writing
    memory, so no transformation moves an access across it or removes it."""

    set_pipe = prop_def(PipeAttr)
    wait_pipe = prop_def(PipeAttr)
    event = operand_def(IndexType)
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())
    assembly_format = "`[` $set_pipe `,` $wait_pipe `,` $event `]` attr-dict"

    def __init__(self, set_pipe: Pipe, wait_pipe: Pipe, event: SSAValue):
        super().__init__(
            operands=[event],
            properties={"set_pipe": PipeAttr(set_pipe), "wait_pipe": PipeAttr(wait_pipe)},
        )

    def verify_(self) -> None:
        if self.set_pipe == self.wait_pipe:
            raise VerifyException(
                f"{self.name} needs two different pipes, got {self.set_pipe.data} twice"
            )


@irdl_op_definition
class SetFlagOp(_FlagOp):
    """``set_pipe`` signals event ``event`` to ``wait_pipe`` (AscendC ``SetFlag``)."""

    name = "ascend.set_flag"


@irdl_op_definition
class WaitFlagOp(_FlagOp):
    """``wait_pipe`` blocks until ``set_pipe`` signalled ``event`` (AscendC ``WaitFlag``)."""

    name = "ascend.wait_flag"


@irdl_op_definition
class CoreTokensOp(IRDLOperation):
    """The output tokens ``[token_begin, token_end)`` this core copies: an intermediate op.

    ``convert-pakv-to-ascend`` emits it where the kernel needs its share of the work,
    so the lowering does not fix how work is split; ``ascend-distribute-tokens``
    replaces it by ``balanced_range(split_tokens, used_cores, get_block_idx)``
    (``pakv_dialect.tiling``). Before that pass it means "all tokens
    ``[0, split_tokens)``", as if one core ran the kernel. It never reaches the
    interpreter or the AscendC printer.
    """

    name = "ascend.core_tokens"
    begin = result_def(IndexType)
    end = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__(result_types=[IndexType(), IndexType()])


@irdl_op_definition
class CoreBatchesOp(IRDLOperation):
    """The sequences ``[begin, end)`` this core copies whole: an intermediate op.

    The split of the vendor's Ascend 950 kernel (``passes/work_split.py``): a core gets
    whole batches, ``ceil(batch / used_cores)`` of them. ``convert-pakv-to-ascend``
    emits it instead of ``ascend.core_tokens`` for that split;
    ``ascend-distribute-tokens`` replaces it by the arithmetic. It never reaches the
    interpreter or the AscendC printer.
    """

    name = "ascend.core_batches"
    begin = result_def(IndexType)
    end = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__(result_types=[IndexType(), IndexType()])


# ------------------------------------------------------------------------------ runs


class CopyDirection(StrEnum):
    """Which way a run's tokens move between the paged cache and the token-major tensor."""

    gather = "gather"
    """cache -> tokens (``pakv.gather``)."""
    scatter = "scatter"
    """tokens -> cache (``pakv.scatter``)."""


@irdl_attr_definition
class CopyDirectionAttr(EnumAttribute[CopyDirection], SpacedOpaqueSyntaxAttribute):
    """``#ascend<copy_direction scatter>`` in generic form; ``ascend.copy_run``'s custom
    form says it with its arrow."""

    name = "ascend.copy_direction"


GATHER = CopyDirectionAttr(CopyDirection.gather)


def token_bytes(tokens: SSAValue) -> int | None:
    """Bytes of one token of a token-major GM tensor ``[num_tokens, ...]``: the product
    of its inner dimensions times the element size; None when one of them is dynamic."""
    ty = tokens.type
    assert isinstance(ty, MemRefType)
    kind = kv_kind_of_type(ty.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
    inner: tuple[int, ...] = ty.get_shape()[1:]
    if kind is None or any(dim < 0 for dim in inner):
        return None
    return prod(inner) * kind.size


def _check_tokens(what: str, tokens: SSAValue) -> MemRefType:
    """A token-major GM tensor of a KV element type, ``[num_tokens, ...]``."""
    _check_space(f"{what} tokens", tokens, AddressSpace.gm)
    ty = tokens.type
    assert isinstance(ty, MemRefType)
    element = ty.get_element_type()  # pyright: ignore[reportUnknownVariableType]
    if kv_kind_of_type(element) is None:  # pyright: ignore[reportUnknownArgumentType]
        raise VerifyException(f"{what} element type must be a KV element type, got {element}")
    if ty.get_num_dims() < 1:
        raise VerifyException(f"{what} tokens must have a token dimension, got {ty}")
    return ty  # pyright: ignore[reportUnknownVariableType]


@irdl_op_definition
class CopyRunOp(IRDLOperation):
    """Move one *run*: ``count`` consecutive tokens of one cache block, one stream.

    Token ``i < count`` of the run is token ``block_pos + i`` of cache block ``blk``
    and token ``token + i`` of the token-major tensor ``tokens``. The run-level form
    of the lowering: ``convert-pakv-to-ascend`` walks the sequences and emits one
    ``copy_run`` per run and stream (keys, values); ``ascend-tile-runs`` expands each
    into tile loops of DMAs for its ``layout`` (``Norm``: ``cache`` is
    ``[num_blocks, block_size, heads, head_size]``, ``tokens`` is ``[num_tokens, heads,
    head_size]``; ``PA_NZ``: ``cache`` is ``[num_blocks, H / ea, block_size, ea]`` with
    32-byte rows, ``tokens`` is ``[num_tokens, H]``). The layout is a property because
    the shapes alone do not always tell (a Norm cache with 32-byte heads has the shape
    of an NZ one). ``count`` is at most the block size, ``blk`` is in range: the walk
    sends other runs to ``ascend.zero_run``.

    The cache may be a strided view (SPEC section 9, ``pakv_dialect.layouts``): its
    blocks lie ``block_stride`` elements apart, dense inside. A static stride is in the
    cache's type; a dynamic one (``strided<[?, ...]>``) is the ``block_stride`` operand,
    in bytes (the kernel reads it from its tiling).

    Runs are ordered, and a tile expansion may carry state from one run to the next
    (the load slot of the next tile, when the load buffer has several): ``cursor`` is
    that state before the run and ``next_cursor`` after it. Code above the tiling
    treats it as opaque: it starts at 0 and is threaded through in run order; the
    expansion gives it a meaning or drops it.

    ``direction`` says which way the tokens move: ``gather`` (the default: cache ->
    tokens) or ``scatter`` (tokens -> cache). The custom syntax writes it as the arrow
    goes, from the source to the destination::

        ascend.copy_run Norm %cache[%blk, %pos] -> %tokens[%token] ...   // gather
        ascend.copy_run Norm %tokens[%token] -> %cache[%blk, %pos] ...   // scatter

    One op for both directions, because a run is the same pair of byte ranges either
    way: the tile expansion of each layout (``passes/tile_loops.py``) swaps which side
    it loads and which it stores, and everything else (the plan, the cursor, the sync
    scheme) is shared. A fused consumer (SPEC section 7) hangs off the run: ``map`` is
    the stream's per-element body (``pakv_dialect.elementwise``) and ``params`` the GM
    tensors it reads (``params(%p : types)`` after the cursor, ``map {...}`` last), and
    the tile expansion runs it between each tile's load and its store
    (``passes/compute_stage.py``); the run's target then holds the body's results.
    """

    name = "ascend.copy_run"
    layout = prop_def(CacheModeAttr)
    direction = prop_def(CopyDirectionAttr, default_value=GATHER)
    cache = operand_def(MemRefType)
    blk = operand_def(IndexType)
    block_pos = operand_def(IndexType)
    tokens = operand_def(MemRefType)
    token = operand_def(IndexType)
    count = operand_def(IndexType)
    cursor = operand_def(IndexType)
    block_stride = opt_operand_def(IndexType)
    params = var_operand_def(MemRefType)
    next_cursor = result_def(IndexType)
    map = opt_region_def("single_block")
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(
        self,
        layout: CacheMode,
        *,
        cache: SSAValue,
        blk: SSAValue,
        block_pos: SSAValue,
        tokens: SSAValue,
        token: SSAValue,
        count: SSAValue,
        cursor: SSAValue,
        direction: CopyDirection = CopyDirection.gather,
        block_stride: SSAValue | None = None,
        params: Sequence[SSAValue] = (),
        map: Region | None = None,
    ):
        super().__init__(
            operands=[
                cache, blk, block_pos, tokens, token, count, cursor,
                [] if block_stride is None else [block_stride], params,
            ],
            properties={
                "layout": CacheModeAttr(layout),
                "direction": CopyDirectionAttr(direction),
            },
            result_types=[IndexType()],
            regions=[[] if map is None else [map]],
        )  # fmt: skip

    @property
    def mode(self) -> CacheMode:
        return self.layout.data

    @property
    def target_tokens(self) -> SSAValue:
        return self.tokens

    @property
    def scatters(self) -> bool:
        """The run moves tokens into the cache (``pakv.scatter``)."""
        return self.direction.data == CopyDirection.scatter

    def print(self, printer: Printer) -> None:
        cache: list[str | SSAValue] = [self.cache, "[", self.blk, ", ", self.block_pos, "]"]
        if self.block_stride is not None:
            cache += [" stride(", self.block_stride, ")"]
        tokens = [self.tokens, "[", self.token, "]"]
        source, target = (tokens, cache) if self.scatters else (cache, tokens)
        parts = [" ", self.layout.data.value, " ", *source, " -> ", *target, " count(",
                 self.count, ") cursor(", self.cursor, ")"]  # fmt: skip
        for part in parts:
            if isinstance(part, str):
                printer.print_string(part)
            else:
                printer.print_operand(part)
        if self.params:
            printer.print_string(" params(")
            printer.print_list(self.params, printer.print_operand)
            printer.print_string(" : ")
            printer.print_list((p.type for p in self.params), printer.print_attribute)
            printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        types = [self.tokens.type, self.cache.type]
        printer.print_string(" : ")
        printer.print_list(types if self.scatters else types[::-1], printer.print_attribute, " -> ")
        if self.map is not None:
            printer.print_string(" map ")
            printer.print_region(self.map)

    @classmethod
    def parse(cls, parser: Parser) -> CopyRunOp:
        layout = parser.parse_str_enum(CacheMode)
        source = _parse_indexed(parser)
        stride = _parse_optional_stride(parser) if len(source[1]) == 2 else None
        parser.parse_punctuation("->")
        target = _parse_indexed(parser)
        direction = CopyDirection.scatter if len(source[1]) == 1 else CopyDirection.gather
        if direction == CopyDirection.scatter:
            stride = _parse_optional_stride(parser)
        (cache, cache_at), (tokens, token_at) = (
            (target, source) if direction == CopyDirection.scatter else (source, target)
        )
        if len(cache_at) != 2 or len(token_at) != 1:
            parser.raise_error(
                "copy_run reads `%cache[%blk, %pos] -> %tokens[%token]` (gather) or "
                "`%tokens[%token] -> %cache[%blk, %pos]` (scatter)"
            )
        parser.parse_keyword("count")
        count = _parse_parenthesised(parser)
        parser.parse_keyword("cursor")
        cursor = _parse_parenthesised(parser)
        params = _parse_optional_params(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        source_type = parser.parse_type()
        parser.parse_punctuation("->")
        target_type = parser.parse_type()
        cache_type, tokens_type = (
            (target_type, source_type)
            if direction == CopyDirection.scatter
            else (source_type, target_type)
        )
        body = parser.parse_region() if parser.parse_optional_keyword("map") else None
        index = IndexType()
        op = cls(
            layout,
            cache=parser.resolve_operand(cache, cache_type),
            blk=parser.resolve_operand(cache_at[0], index),
            block_pos=parser.resolve_operand(cache_at[1], index),
            tokens=parser.resolve_operand(tokens, tokens_type),
            token=parser.resolve_operand(token_at[0], index),
            count=parser.resolve_operand(count, index),
            cursor=parser.resolve_operand(cursor, index),
            direction=direction,
            block_stride=None if stride is None else parser.resolve_operand(stride, index),
            params=params,
            map=body,
        )
        op.attributes.update(attributes)
        return op

    @property
    def cache_type(self) -> MemRefType:
        ty = self.cache.type
        assert isinstance(ty, MemRefType)
        return ty  # pyright: ignore[reportUnknownVariableType]

    @property
    def map_source(self) -> SSAValue:
        """What the map reads: the cache in a gather, the tokens in a scatter."""
        return self.tokens if self.scatters else self.cache

    def map_types(self) -> tuple[MemRefType, MemRefType]:
        """The map's source and target types (the tokens' and the cache's, in the run's
        direction); its per-channel parameters span one token either way."""
        tokens = _memref(self.tokens)
        return (tokens, self.cache_type) if self.scatters else (self.cache_type, tokens)

    @property
    def block_size(self) -> int | None:
        """Tokens per cache block (dimension 1 in Norm, 2 in PA_NZ); None if dynamic."""
        shape = self.cache_type.get_shape()
        size = shape[1] if self.mode == CacheMode.Norm else shape[2]
        return None if size < 0 else size

    @property
    def static_block_stride(self) -> int | None:
        """Bytes from one cache block to the next when the type says (None: ``?``)."""
        stride = block_stride(self.cache_type)
        if stride is None:
            return None
        kind = kv_kind_of_type(self.cache_type.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
        assert kind is not None  # the verifier checked the element type
        return stride * kind.size

    def verify_(self) -> None:
        _check_space("copy_run cache", self.cache, AddressSpace.gm)
        tokens = _check_tokens("copy_run", self.tokens)
        cache = self.cache_type
        if self.map is not None:
            check_map("copy_run", self.map, *self.map_types(), self.params)
        elif self.params:
            raise VerifyException("copy_run params are the map's, and there is no map")
        elif cache.get_element_type() != tokens.get_element_type():
            raise VerifyException(
                f"copy_run cache and tokens must have one element type, got "
                f"{cache.get_element_type()} and {tokens.get_element_type()}"
            )
        kind = kv_kind_of_type(cache.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
        assert kind is not None  # _check_tokens checked the shared element type
        error = cache_layout_error("copy_run cache", cache, kind.size)
        if error is not None:
            raise VerifyException(error)
        dynamic = block_stride(cache) is None
        if dynamic != (self.block_stride is not None):
            raise VerifyException(
                "copy_run needs a stride(...) operand exactly when its cache's dim 0 stride "
                f"is dynamic, got {cache} {'without' if dynamic else 'with'} one"
            )
        norm = self.mode == CacheMode.Norm
        ranks = (4, 3) if norm else (4, 2)
        if (cache.get_num_dims(), tokens.get_num_dims()) != ranks:
            raise VerifyException(
                f"a {self.mode} copy_run needs a rank-{ranks[0]} cache and rank-{ranks[1]} "
                f"tokens, got {cache} and {tokens}"
            )
        shape, token_shape = cache.get_shape(), tokens.get_shape()
        if norm:
            pairs = list(zip(shape[2:], token_shape[1:], strict=True))
            expected = f"[{', '.join(str(d) for d in shape[2:])}]"
        else:
            kind = kv_kind_of_type(cache.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
            assert kind is not None  # _check_tokens checked the shared element type
            if shape[3] >= 0 and shape[3] * kind.size != NZ_ROW_BYTES:
                raise VerifyException(
                    f"a PA_NZ cache row must hold {NZ_ROW_BYTES} bytes, got {shape[3]} "
                    f"elements of {kind.size} byte(s)"
                )
            row = shape[1] * shape[3] if shape[1] >= 0 and shape[3] >= 0 else -1
            pairs = [(row, token_shape[1])]
            expected = f"H = {shape[1]} x {shape[3]}"
        if any(a >= 0 and b >= 0 and a != b for a, b in pairs):
            raise VerifyException(
                f"copy_run tokens {tokens} do not hold the cache's tokens ({expected})"
            )


def check_map(
    what: str, body: Region, source: MemRefType, target: MemRefType, params: Sequence[SSAValue]
) -> ElementwiseProgram:
    """A run's map: a body from ``source``'s to ``target``'s element type, with GM
    parameters per tensor or per channel of a token (of whichever of the two is the
    token-major tensor: the one of lower rank)."""
    for value in params:
        _check_space(f"{what} parameter", value, AddressSpace.gm)
    tokens = min((source, target), key=lambda ty: ty.get_num_dims())
    check_params(what, params, tokens.get_shape()[1:])
    return check_body(
        f"{what} map",
        body.block,
        source.get_element_type(),
        target.get_element_type(),
        len(params),
    )


def run_program(op: CopyRunOp | MapRunOp) -> ElementwiseProgram | None:
    """What a run's map computes (valid after verification); None: a plain copy."""
    if op.map is None:
        return None
    if isinstance(op, CopyRunOp):
        return check_map(op.name, op.map, *op.map_types(), op.params)
    return check_map(op.name, op.map, _memref(op.source), _memref(op.target_tokens), op.params)


def _memref(value: SSAValue) -> MemRefType:
    ty = value.type
    assert isinstance(ty, MemRefType)
    return ty  # pyright: ignore[reportUnknownVariableType]


@irdl_op_definition
class MapRunOp(IRDLOperation):
    """Apply ``map`` to ``count`` tokens of a token-major tensor: tokens ``token ..
    token + count - 1`` of ``source`` become the same tokens of ``tokens``.

    The run-level form of an unfused consumer's kernel (``pakv.map``): each core
    emits one for its share of the tokens, and ``ascend-tile-runs`` cuts it into tiles
    that are loaded, computed (``passes/compute_stage.py``) and stored exactly as a
    fused gather's tiles are. ``cursor`` is the next tile's load slot, as for
    ``ascend.copy_run``.
    """

    name = "ascend.map_run"
    source = operand_def(MemRefType)
    tokens = operand_def(MemRefType)
    token = operand_def(IndexType)
    count = operand_def(IndexType)
    cursor = operand_def(IndexType)
    params = var_operand_def(MemRefType)
    next_cursor = result_def(IndexType)
    map = region_def("single_block")
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())
    assembly_format = (
        "$source `[` $token `]` `->` $tokens `count` `(` $count `)` `cursor` `(` $cursor `)` "
        "(`params` `(` $params^ `:` type($params) `)`)? attr-dict "
        "`:` type($source) `->` type($tokens) `map` $map"
    )

    def __init__(
        self,
        *,
        source: SSAValue,
        tokens: SSAValue,
        token: SSAValue,
        count: SSAValue,
        cursor: SSAValue,
        params: Sequence[SSAValue],
        map: Region,
    ):
        super().__init__(
            operands=[source, tokens, token, count, cursor, params],
            result_types=[IndexType()],
            regions=[map],
        )

    @property
    def target_tokens(self) -> SSAValue:
        return self.tokens

    def verify_(self) -> None:
        _check_space("map_run source", self.source, AddressSpace.gm)
        tokens = _check_tokens("map_run", self.tokens)
        source = _memref(self.source)
        if source.get_shape()[1:] != tokens.get_shape()[1:]:
            raise VerifyException(
                f"map_run source {source} and tokens {tokens} must have the same tokens"
            )
        check_map("map_run", self.map, source, tokens, self.params)


def _parse_indexed(parser: Parser) -> tuple[UnresolvedOperand, list[UnresolvedOperand]]:
    """``%tensor[%a, ...]``: the tensor and its index operands."""
    tensor = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, parser.parse_unresolved_operand
    )
    return tensor, indices


def _parse_parenthesised(parser: Parser) -> UnresolvedOperand:
    parser.parse_punctuation("(")
    operand = parser.parse_unresolved_operand()
    parser.parse_punctuation(")")
    return operand


def _parse_optional_params(parser: Parser) -> list[SSAValue]:
    """`` params(%a, %b : t1, t2)``: a fused map's GM parameters, when it has any."""
    if parser.parse_optional_keyword("params") is None:
        return []
    parser.parse_punctuation("(")
    names = parser.parse_comma_separated_list(
        parser.Delimiter.NONE, parser.parse_unresolved_operand
    )
    parser.parse_punctuation(":")
    types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
    parser.parse_punctuation(")")
    if len(names) != len(types):
        parser.raise_error(f"{len(names)} params with {len(types)} types")
    return [parser.resolve_operand(n, t) for n, t in zip(names, types, strict=True)]


def _parse_optional_stride(parser: Parser) -> UnresolvedOperand | None:
    """`` stride(%s)`` after a strided cache's indices, when the stride is dynamic."""
    if parser.parse_optional_keyword("stride") is None:
        return None
    return _parse_parenthesised(parser)


@irdl_op_definition
class ZeroRunOp(IRDLOperation):
    """Write ``count`` zero tokens into the token-major ``tokens`` from token ``token`` on.

    The run-level form of the tokens that have no valid block (a column past the table,
    a block id out of range): nothing is read. ``ascend-tile-runs`` expands it into
    zero fills and stores in chunks.
    """

    name = "ascend.zero_run"
    tokens = operand_def(MemRefType)
    token = operand_def(IndexType)
    count = operand_def(IndexType)
    traits = traits_def(MemoryWriteEffect())
    assembly_format = "$tokens `[` $token `]` `count` `(` $count `)` attr-dict `:` type($tokens)"

    def __init__(self, *, tokens: SSAValue, token: SSAValue, count: SSAValue):
        super().__init__(operands=[tokens, token, count])

    def verify_(self) -> None:
        _check_tokens("zero_run", self.tokens)


ASCEND = Dialect(
    "ascend",
    [
        GetBlockIdxOp,
        GetBlockNumOp,
        GetTilingOp,
        UbAllocOp,
        LoadScalarOp,
        RunLengthOp,
        LoadOp,
        StoreOp,
        TransposeBlocksOp,
        LoadTransposedOp,
        FillZeroOp,
        SetFlagOp,
        WaitFlagOp,
        PipeBarrierOp,
        CoreTokensOp,
        CoreBatchesOp,
        CopyRunOp,
        MapRunOp,
        ZeroRunOp,
        *VECTOR_OPS,
    ],
    [AddressSpaceAttr, PipeAttr, DmaFormAttr, CopyDirectionAttr, CastModeAttr, VectorKindAttr],
)
