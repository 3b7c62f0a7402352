"""The machine model of an Ascend vector core: the one place each ascend op has a meaning.

Both ways of running a lowered kernel, the stock xDSL interpreter
(``runtime.interpreter.ascend_functions``) and the generated fast path
(``runtime.interpreter.fast_path``), call the methods of :class:`AscendMachine` (for the
flag ops: of its current core's :class:`~runtime.interpreter.sync.PipeSync`) as
:data:`MACHINE_METHODS` and :func:`machine_arguments` say, so an op's semantics, its
checks and its trace row exist exactly once. The machine never restates which pipe an
op runs on: :func:`machine_arguments` passes the pipe of the op's ``OnPipe`` trait, the
one fact the sync pass and ``pakv explain`` read too.

Around the op semantics here, each concern has its module: the synchronisation model
(``runtime.interpreter.sync``: the pipes' knowledge vectors, the flag FIFOs, the
per-slot checks), the faults and the op sites they name
(``runtime.interpreter.faults``), and the trace with its row type and the cross-core
write check that :meth:`AscendMachine.finish` runs (``runtime.interpreter.trace``).

Memory
------
* GM is the caller's arrays, seen as flat bytes (:class:`runtime.memory.GmTensor`,
  wrapped in a :class:`GmRef` that the kernel receives as its memref arguments).
* UB is one ``uint8`` array of the SoC's usable capacity. ``ascend.ub_alloc`` places a
  :class:`UbBuffer` in it; the array is filled with :data:`UB_POISON` when a core starts,
  so a store of bytes that no load or fill wrote shows up as wrong output.
* Every DMA is one vectorised numpy copy between (n, burst) views of the two sides; no
  Python runs per burst, token or element.

Cost
----
A launch runs the flag, DMA and scalar methods hundreds of thousands of times, so they
are written for CPython: their checks are inline comparisons (a report is built only
when one fails), contiguous DMAs copy between ``memoryview``s (half the cost of numpy
slicing for small tiles), and the trace's rows stay tuples until someone asks for the
table (the write-conflict check keeps the store rows aside and converts only those).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.ir import Operation

from pakv_dialect import ascend
from pakv_dialect.ascend import MAX_BURSTS, UB_ALIGN, VectorKind, align_up, op_pipe
from pakv_dialect.dma import DMA_FORMS, DMA_VALUES, DmaForm
from pakv_dialect.dtypes import ElementKind, cast_values, kind_named, kv_kind_of_type
from pakv_dialect.soc import SocInfo
from pakv_dialect.tiling import Tiling
from runtime.interpreter.faults import (
    BadTilingFieldError,
    BurstCountError,
    DmaFieldError,
    GmOutOfBoundsError,
    IndexCountError,
    OpSite,
    UbMisalignedError,
    UbOverflowError,
    UbOverlapError,
    UnknownVariantError,
    UnplannedBufferError,
)
from runtime.interpreter.sync import PipeSync, SlotSync, slot_label
from runtime.interpreter.trace import (
    FILL_ZERO,
    LOAD,
    LOAD_SCALAR,
    PIPE_ID,
    STORE,
    TRACE_KINDS,
    TRANSPOSE,
    VECTOR,
    MachineTrace,
    trace_row,
)
from runtime.memory import GmTensor

UB_POISON = 0xA5
"""What UB holds before anything is written to it (a real UB holds stale data)."""


# --------------------------------------------------------------------------- GM / UB


@dataclass(eq=False)
class GmRef:
    """A GM tensor as a kernel argument: its bytes plus what scalar reads need."""

    index: int
    """Position among the launch's GM tensors (the trace's ``tensor`` column)."""
    tensor: GmTensor
    flat: np.ndarray
    """The tensor as a flat array of its storage dtype (for scalar reads)."""
    dims: tuple[tuple[int, int], ...]
    """(size, element stride) of each dimension of the row-major shape."""
    itemsize: int
    raw: memoryview
    """The tensor's bytes, for contiguous DMAs."""
    nbytes: int

    @staticmethod
    def of(index: int, tensor: GmTensor) -> GmRef:
        """``tensor`` as a kernel argument; a strided cache is seen as the strided view
        (SPEC section 9): its bytes span its real extent, its dims its real strides."""
        size = tensor.kind.size
        strides = [stride // size for stride in tensor.byte_strides()]
        dims = tuple(zip(tensor.shape, strides, strict=True))
        flat = tensor.bytes.view(tensor.kind.storage)
        return GmRef(index, tensor, flat, dims, flat.itemsize, tensor.bytes.data, tensor.nbytes)

    @property
    def name(self) -> str:
        return self.tensor.name


@dataclass(eq=False)
class UbBuffer:
    """One ``ub_alloc``: ``slots`` x ``slot_bytes`` at byte ``offset`` of the UB, and the
    synchronisation state of each slot (``runtime.interpreter.sync``)."""

    purpose: str
    offset: int
    slots: int
    slot_bytes: int
    sync: tuple[SlotSync, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.sync = tuple(SlotSync(self.purpose, slot) for slot in range(self.slots))

    @property
    def end(self) -> int:
        return self.offset + self.slots * self.slot_bytes

    def describe(self, slot: int) -> str:
        return slot_label(self.purpose, slot)


# --------------------------------------------------------------------------- ops

MACHINE_METHODS: dict[type[Operation], str] = {
    ascend.GetBlockIdxOp: "get_block_idx",
    ascend.GetBlockNumOp: "get_block_num",
    ascend.GetTilingOp: "get_tiling",
    ascend.UbAllocOp: "ub_alloc",
    ascend.LoadScalarOp: "load_scalar",
    ascend.RunLengthOp: "run_length",
    ascend.LoadOp: "load",
    ascend.StoreOp: "store",
    ascend.TransposeBlocksOp: "transpose_blocks",
    ascend.FillZeroOp: "fill_zero",
    ascend.SetFlagOp: "sync.set_flag",
    ascend.WaitFlagOp: "sync.wait_flag",
    ascend.PipeBarrierOp: "sync.pipe_barrier",
    ascend.LoadTransposedOp: "load_transposed",
    ascend.VCastOp: "vcast",
    ascend.VScalarOp: "vscalar",
    ascend.VRowsOp: "vrows",
}
"""The ``ascend`` ops a kernel runs, and the method each calls as
``method(site, *machine_arguments(op), *operands)``: a method of the
:class:`AscendMachine`, or (``sync.``) of its current core's
:class:`~runtime.interpreter.sync.PipeSync`, which the flag ops are all about."""


def machine_arguments(op: Operation) -> tuple[Any, ...]:
    """What ``op``'s machine method takes between the site and the op's operands: the
    id of the pipe it runs on (its ``OnPipe`` trait) if it occupies one, then its
    properties: a tiling field's name; a UB buffer's purpose, slots, slot size and
    planned offset; a flag's two pipes; a DMA's form (``DmaForm`` value); a conversion's
    two element kinds; a vector op's arithmetic (each typed by the method that takes
    it, hence ``Any``). The fast path computes them once per op, as literals of its
    source."""
    pipe = op_pipe(op)
    on_pipe = () if pipe is None else (PIPE_ID[pipe],)
    return on_pipe + _properties(op)


def _properties(op: Operation) -> tuple[Any, ...]:
    if isinstance(op, ascend.GetTilingOp):
        return (op.field.data,)
    if isinstance(op, ascend.UbAllocOp):
        return (op.purpose.data, op.slots, op.slot_bytes, op.planned_offset)
    if isinstance(op, ascend.SetFlagOp | ascend.WaitFlagOp):
        return (PIPE_ID[op.set_pipe.data], PIPE_ID[op.wait_pipe.data])
    if isinstance(op, ascend.LoadOp | ascend.StoreOp):
        return (op.dma_form.value,)
    if isinstance(op, ascend.VCastOp):
        source, target = (kv_kind_of_type(t) for t in (op.from_type, op.to_type))
        assert source is not None and target is not None  # the verifier checked them
        return (source.name, target.name)
    if isinstance(op, ascend.VScalarOp | ascend.VRowsOp):
        return (op.kind.data.value,)
    return ()


# --------------------------------------------------------------------------- machine

FORM_LIMITS: dict[str, tuple[int, int, int, int, int]] = {
    form.value: spec.limits for form, spec in DMA_FORMS.items()
}
"""Each DMA form's field limits (``DmaFormSpec.limits``), by the form's name."""

_ROW_UFUNCS: dict[str, np.ufunc] = {
    VectorKind.add.value: np.add,
    VectorKind.sub.value: np.subtract,
    VectorKind.mul.value: np.multiply,
}
"""``vrows``' arithmetic by its kind (a clamp's bound is a scalar: no ``max``/``min``)."""

_SCALAR_KINDS = tuple(kind.value for kind in VectorKind)
"""``vscalar``'s kinds: every ``VectorKind`` (``sub`` adds the negated scalar)."""


def _bursts(flat: np.ndarray, offset: int, count: int, length: int, stride: int) -> np.ndarray:
    """A (count, length) view of ``count`` bursts ``stride`` bytes apart: no copy."""
    if stride == length:
        return flat[offset : offset + count * length].reshape(count, length)
    if offset + count * stride <= flat.size:
        return flat[offset : offset + count * stride].reshape(count, stride)[:, :length]
    return np.lib.stride_tricks.as_strided(
        flat[offset:], shape=(count, length), strides=(stride, 1), writeable=True
    )


class AscendMachine:
    """The cores of one launch, run one after another on the same GM.

    Use: ``start_core(b)``, run the kernel with :attr:`gm` as its arguments,
    ``end_core()``; after every core, ``finish()``. Or all of it: :meth:`run_cores`.
    """

    def __init__(
        self,
        soc: SocInfo,
        tiling: Tiling | dict[str, int],
        tensors: Sequence[GmTensor],
        block_num: int,
    ):
        self.soc = soc
        self.tiling = dict(tiling) if isinstance(tiling, dict) else tiling.fields()
        self.gm: tuple[GmRef, ...] = tuple(GmRef.of(i, t) for i, t in enumerate(tensors))
        self.block_num = block_num
        self.capacity = soc.ub_usable_bytes
        self.ub = np.empty(self.capacity, dtype=np.uint8)
        self._ub_raw = self.ub.data
        self.trace = MachineTrace(tuple(t.name for t in tensors))
        self._rows = self.trace.rows
        self._sites = self.trace.sites
        self._stores = self.trace.stores
        self._reset(-1)

    # ------------------------------------------------------------ lifecycle

    def _reset(self, core: int) -> None:
        self.core = core
        self.ub.fill(UB_POISON)
        self._buffers: list[UbBuffer] = []
        self.sync = PipeSync(core, self.trace)
        """The current core's pipes and flags: the flag ops' methods."""

    def start_core(self, core: int) -> None:
        """Reset the per-core state: UB contents, buffers, pipes and flags."""
        self._reset(core)

    def end_core(self) -> None:
        """Check that every flag the core set was waited for."""
        self.sync.check_all_waited()

    def run_cores(self, kernel: Callable[[], object]) -> None:
        """Run ``kernel`` (one core's program) on every core in turn, then :meth:`finish`."""
        # A launch allocates many small acyclic tuples (trace rows, flag snapshots). Each
        # time they trigger the cyclic collector it walks every live object, the whole
        # xDSL IR included; pausing it keeps a launch's cost linear in its ops.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for core in range(self.block_num):
                self.start_core(core)
                kernel()
                self.end_core()
        finally:
            if collecting:
                gc.enable()
        self.finish()

    def finish(self) -> None:
        """After all cores: no two cores wrote the same GM bytes."""
        self.trace.check_single_writer()

    # ------------------------------------------------------------ scalar ops

    def get_block_idx(self, site: OpSite) -> int:
        return self.core

    def get_block_num(self, site: OpSite) -> int:
        return self.block_num

    def get_tiling(self, site: OpSite, name: str) -> int:
        value = self.tiling.get(name)
        if value is None:
            raise BadTilingFieldError(
                site, f"no tiling field '{name}' (have: {', '.join(self.tiling)})", self.core
            )
        return value

    def ub_alloc(
        self, site: OpSite, purpose: str, slots: int, slot_bytes: int, offset: int | None
    ) -> UbBuffer:
        self._sites[site.ordinal] = site
        if offset is None:
            raise UnplannedBufferError(
                site,
                f"UB buffer '{purpose}' has no planned offset: run ascend-plan-ub first",
                self.core,
            )
        if offset % UB_ALIGN or slot_bytes % UB_ALIGN:
            raise UbMisalignedError(
                site,
                f"UB buffer '{purpose}' at offset {offset} with {slot_bytes}-byte slots: both "
                f"must be multiples of {UB_ALIGN} bytes",
                self.core,
            )
        end = offset + slots * slot_bytes
        if offset < 0 or slots < 1 or slot_bytes < 1 or end > self.capacity:
            raise UbOverflowError(
                site,
                f"UB buffer '{purpose}' occupies [{offset}, {end}), outside the "
                f"{self.capacity}-byte UB of {self.soc.name}",
                self.core,
            )
        for other in self._buffers:
            if offset < other.end and other.offset < end:
                raise UbOverlapError(
                    site,
                    f"UB buffer '{purpose}' [{offset}, {end}) overlaps UB buffer "
                    f"'{other.purpose}' [{other.offset}, {other.end})",
                    self.core,
                )
        buffer = UbBuffer(purpose, offset, slots, slot_bytes)
        self._buffers.append(buffer)
        return buffer

    def load_scalar(self, site: OpSite, pipe: int, ref: GmRef, *indices: int) -> int | np.floating:
        """One element of a GM tensor (row-major ``indices``), read on ``pipe``: an int,
        or a float32 scalar for a float tensor (a fused consumer's scales)."""
        self._sites[site.ordinal] = site
        dims = ref.dims
        if len(indices) != len(dims):
            raise IndexCountError(
                site,
                f"reads {ref.name}{list(indices)}: {len(indices)} indices into a "
                f"{len(dims)}-d tensor",
                self.core,
            )
        flat = 0
        for dim, index in enumerate(indices):
            size, stride = dims[dim]
            if not 0 <= index < size:
                raise GmOutOfBoundsError(
                    site,
                    f"reads {ref.name}{list(indices)}: index {index} of dim {dim} is outside "
                    f"[0, {size})",
                    self.core,
                )
            flat += index * stride
        size = ref.itemsize
        self._rows.append(
            trace_row(
                self.core, LOAD_SCALAR, pipe, site.ordinal,
                tensor=ref.index, gm_offset=flat * size, n_burst=1, burst_len=size,
            )
        )  # fmt: skip
        value = ref.flat[flat]
        return value if isinstance(value, np.floating) else int(value)

    def run_length(
        self, site: OpSite, pipe: int, ref: GmRef, begin: int, start: int, limit: int
    ) -> int:
        """``ascend.run_length``: how many of ``ref[begin], ref[begin + 1], ...`` (at most
        ``limit``) equal ``start, start + 1, ...``, by one vectorised comparison.

        The device reads the elements one by one on ``pipe`` until the first that breaks
        the run; the trace records that as one scalar-read row of ``n_burst`` elements.
        """
        self._sites[site.ordinal] = site
        if len(ref.dims) != 1:
            raise IndexCountError(
                site,
                f"run_length reads {ref.name} as a 1-d tensor; it has {len(ref.dims)} dims",
                self.core,
            )
        ((size, _),) = ref.dims
        if limit < 0 or begin < 0 or begin + limit > size:
            raise GmOutOfBoundsError(
                site,
                f"run_length reads {ref.name}[{begin}:{begin + limit}], outside [0, {size})",
                self.core,
            )
        if limit <= 1:  # a decode step's run: no array for one comparison
            count = int(limit == 1 and int(ref.flat[begin]) == start)
        else:
            values = ref.flat[begin : begin + limit].astype(np.int64)
            off = np.flatnonzero(values != start + np.arange(limit, dtype=np.int64))
            count = int(off[0]) if off.size else limit
        size = ref.itemsize
        self._rows.append(
            trace_row(
                self.core, LOAD_SCALAR, pipe, site.ordinal,
                tensor=ref.index, gm_offset=begin * size, n_burst=min(count + 1, limit),
                burst_len=size,
            )
        )  # fmt: skip
        return count

    # ------------------------------------------------------------ DMA

    def load(
        self,
        site: OpSite,
        pipe: int,
        form: str,
        ref: GmRef,
        gm_offset: int,
        buf: UbBuffer,
        slot: int,
        ub_offset: int,
        count: int,
        length: int,
        gm_gap: int,
        ub_gap: int,
    ) -> None:
        """``ascend.load``: GM -> UB on ``pipe``, ``count`` bursts of ``length`` bytes
        (laid out as :meth:`_dma_window` says), as one copy; it writes the UB slot."""
        self._sites[site.ordinal] = site
        ub_at, ub_stride = self._dma_window(
            site, LOAD, form, ref, gm_offset, buf, slot, ub_offset, count, length, gm_gap, ub_gap
        )
        self.sync.write(site, pipe, buf.sync[slot])
        if count == 1 or (ub_stride == length and gm_gap == 0):
            size = count * length
            self._ub_raw[ub_at : ub_at + size] = ref.raw[gm_offset : gm_offset + size]
        else:
            _bursts(self.ub, ub_at, count, length, ub_stride)[...] = _bursts(
                ref.tensor.bytes, gm_offset, count, length, length + gm_gap
            )
        self._rows.append(
            trace_row(
                self.core, LOAD, pipe, site.ordinal, tensor=ref.index, gm_offset=gm_offset,
                n_burst=count, burst_len=length, gm_gap=gm_gap, slot=slot,
            )
        )  # fmt: skip

    def store(
        self,
        site: OpSite,
        pipe: int,
        form: str,
        ref: GmRef,
        gm_offset: int,
        buf: UbBuffer,
        slot: int,
        ub_offset: int,
        count: int,
        length: int,
        gm_gap: int,
        ub_gap: int,
    ) -> None:
        """``ascend.store``: UB -> GM on ``pipe``, ``count`` bursts of ``length`` bytes
        (laid out as :meth:`_dma_window` says), as one copy; it reads the UB slot."""
        self._sites[site.ordinal] = site
        ub_at, ub_stride = self._dma_window(
            site, STORE, form, ref, gm_offset, buf, slot, ub_offset, count, length, gm_gap, ub_gap
        )
        self.sync.read(site, pipe, buf.sync[slot])
        if count == 1 or (ub_stride == length and gm_gap == 0):
            size = count * length
            ref.raw[gm_offset : gm_offset + size] = self._ub_raw[ub_at : ub_at + size]
        else:
            _bursts(ref.tensor.bytes, gm_offset, count, length, length + gm_gap)[...] = _bursts(
                self.ub, ub_at, count, length, ub_stride
            )
        row = trace_row(
            self.core, STORE, pipe, site.ordinal, tensor=ref.index, gm_offset=gm_offset,
            n_burst=count, burst_len=length, gm_gap=gm_gap, slot=slot,
        )  # fmt: skip
        self._rows.append(row)
        self._stores.append(row)

    def _dma_window(
        self,
        site: OpSite,
        kind: int,
        form: str,
        ref: GmRef,
        gm_offset: int,
        buf: UbBuffer,
        slot: int,
        ub_offset: int,
        count: int,
        length: int,
        gm_gap: int,
        ub_gap: int,
    ) -> tuple[int, int]:
        """Check a DMA (``kind`` LOAD or STORE); return its first UB byte and the UB
        distance between its bursts.

        In UB each burst starts 32-byte aligned (``align_up(length) + ub_gap`` apart);
        in GM bursts are ``length + gm_gap`` apart. Every burst lies inside the slot and
        the tensor, and every value fits the AscendC field that ``form`` (the op's
        ``DmaForm``) puts it in.
        """
        if not 1 <= count <= MAX_BURSTS:
            raise BurstCountError(
                site,
                f"{TRACE_KINDS[kind]} with {count} bursts: the count must be in [1, {MAX_BURSTS}]",
                self.core,
            )
        if length < 1 or gm_gap < 0 or ub_gap < 0:
            raise BurstCountError(
                site,
                f"{TRACE_KINDS[kind]} with burst length {length}, gaps (gm {gm_gap}, ub "
                f"{ub_gap}): the length must be positive and the gaps non-negative",
                self.core,
            )
        if ub_offset % UB_ALIGN or ub_gap % UB_ALIGN:
            raise UbMisalignedError(
                site,
                f"{TRACE_KINDS[kind]} at UB offset {ub_offset} with UB gap {ub_gap} in "
                f"{buf.describe(slot)}: both must be multiples of {UB_ALIGN} bytes",
                self.core,
            )
        limits = FORM_LIMITS.get(form)
        if limits is None:
            raise UnknownVariantError(
                site,
                f"{TRACE_KINDS[kind]} as '{form}': the DMA forms are "
                f"{', '.join(map(repr, FORM_LIMITS))}",
                self.core,
            )
        max_len, len_unit, max_gm_gap, gm_unit, max_ub_gap = limits
        if (
            length > max_len
            or length % len_unit
            or gm_gap > max_gm_gap
            or gm_gap % gm_unit
            or ub_gap > max_ub_gap
        ):
            self._field_misfit(site, kind, form, count, length, gm_gap, ub_gap)
        padded = align_up(length)
        ub_stride = padded + ub_gap
        ub_end = ub_offset + (count - 1) * ub_stride + padded
        if not 0 <= slot < buf.slots or ub_offset < 0 or ub_end > buf.slot_bytes:
            raise UbOverflowError(
                site,
                f"{TRACE_KINDS[kind]} touches bytes [{ub_offset}, {ub_end}) of "
                f"{buf.describe(slot)}, outside its {buf.slots} slot(s) of {buf.slot_bytes} bytes",
                self.core,
            )
        gm_end = gm_offset + (count - 1) * (length + gm_gap) + length
        if gm_offset < 0 or gm_end > ref.nbytes:
            raise GmOutOfBoundsError(
                site,
                f"{TRACE_KINDS[kind]} touches bytes [{gm_offset}, {gm_end}) of {ref.name}, "
                f"which has {ref.nbytes} bytes",
                self.core,
            )
        return buf.offset + slot * buf.slot_bytes + ub_offset, ub_stride

    def _field_misfit(self, site: OpSite, kind: int, form: str, *values: int) -> None:
        """Raise the DmaFieldError of a DMA whose values do not fit its form's fields."""
        spec = DMA_FORMS[DmaForm(form)]
        misfit = spec.misfit(dict(zip(DMA_VALUES, values, strict=True)), to_ub=kind == LOAD)
        assert misfit is not None, "the limits and the table agree"
        raise DmaFieldError(site, f"{TRACE_KINDS[kind]}: {misfit}", self.core)

    # ------------------------------------------------------------ vector ops

    def transpose_blocks(
        self,
        site: OpSite,
        pipe: int,
        source: UbBuffer,
        source_slot: int,
        target: UbBuffer,
        target_slot: int,
        rows: int,
        cols: int,
    ) -> None:
        """``target[c][r] = source[r][c]`` over 32-byte blocks, on ``pipe``: one numpy copy."""
        self._sites[site.ordinal] = site
        size = rows * cols * UB_ALIGN
        for buf, slot in ((source, source_slot), (target, target_slot)):
            if rows < 1 or cols < 1 or not 0 <= slot < buf.slots or size > buf.slot_bytes:
                raise UbOverflowError(
                    site,
                    f"transpose of {rows} x {cols} blocks ({size} bytes) does not fit "
                    f"{buf.describe(slot)} ({buf.slots} slot(s) of {buf.slot_bytes} bytes)",
                    self.core,
                )
        sync = self.sync
        sync.read(site, pipe, source.sync[source_slot])
        sync.write(site, pipe, target.sync[target_slot])
        src = source.offset + source_slot * source.slot_bytes
        dst = target.offset + target_slot * target.slot_bytes
        self.ub[dst : dst + size].reshape(cols, rows, UB_ALIGN)[...] = (
            self.ub[src : src + size].reshape(rows, cols, UB_ALIGN).transpose(1, 0, 2)
        )
        self._rows.append(
            trace_row(
                self.core, TRANSPOSE, pipe, site.ordinal,
                n_burst=rows, burst_len=cols, slot=target_slot,
            )
        )  # fmt: skip

    def fill_zero(self, site: OpSite, pipe: int, target: UbBuffer, slot: int, nbytes: int) -> None:
        """Zero ``align32(nbytes)`` bytes at the start of a slot, on ``pipe``."""
        self._sites[site.ordinal] = site
        size = align_up(nbytes)
        if nbytes < 1 or not 0 <= slot < target.slots or size > target.slot_bytes:
            raise UbOverflowError(
                site,
                f"fill_zero of {nbytes} bytes ({size} aligned) does not fit "
                f"{target.describe(slot)} ({target.slots} slot(s) of {target.slot_bytes} bytes)",
                self.core,
            )
        self.sync.write(site, pipe, target.sync[slot])
        start = target.offset + slot * target.slot_bytes
        self.ub[start : start + size] = 0
        self._rows.append(
            trace_row(
                self.core, FILL_ZERO, pipe, site.ordinal, n_burst=1, burst_len=size, slot=slot
            )
        )

    # ------------------------------------------------------------ strategies (issue 13)
    # The two ops the vendor's strategies need. Kept together and apart from the rest so
    # that they move as a block into the machine's split modules (sync, DMA).

    def load_transposed(
        self,
        site: OpSite,
        pipe: int,
        ref: GmRef,
        gm_offset: int,
        buf: UbBuffer,
        slot: int,
        ub_offset: int,
        rows: int,
        cols: int,
        gm_gap: int,
    ) -> None:
        """``ascend.load_transposed`` (Ascend 950's 3-D copy) on ``pipe``: ``rows`` GM bursts
        of ``cols`` 32-byte blocks, block (r, c) landing at UB block ``c * rows + r``.
        Recorded as a ``load`` row of its GM side (``rows`` bursts of ``cols * 32``)."""
        self._sites[site.ordinal] = site
        if rows < 1 or cols < 1 or gm_gap < 0:
            raise BurstCountError(
                site,
                f"load_transposed of {rows} x {cols} blocks with GM gap {gm_gap}: both "
                "counts must be positive and the gap non-negative",
                self.core,
            )
        if ub_offset % UB_ALIGN:
            raise UbMisalignedError(
                site,
                f"load_transposed at UB offset {ub_offset} in {buf.describe(slot)}: it must "
                f"be a multiple of {UB_ALIGN} bytes",
                self.core,
            )
        length = cols * UB_ALIGN
        ub_end = ub_offset + rows * length
        if not 0 <= slot < buf.slots or ub_offset < 0 or ub_end > buf.slot_bytes:
            raise UbOverflowError(
                site,
                f"load_transposed touches bytes [{ub_offset}, {ub_end}) of "
                f"{buf.describe(slot)}, outside its {buf.slots} slot(s) of {buf.slot_bytes} bytes",
                self.core,
            )
        gm_end = gm_offset + (rows - 1) * (length + gm_gap) + length
        if gm_offset < 0 or gm_end > ref.nbytes:
            raise GmOutOfBoundsError(
                site,
                f"load_transposed touches bytes [{gm_offset}, {gm_end}) of {ref.name}, which "
                f"has {ref.nbytes} bytes",
                self.core,
            )
        self.sync.write(site, pipe, buf.sync[slot])
        ub_at = buf.offset + slot * buf.slot_bytes + ub_offset
        source = _bursts(ref.tensor.bytes, gm_offset, rows, length, length + gm_gap)
        target = self.ub[ub_at : ub_at + rows * length].reshape(cols, rows, UB_ALIGN)
        target[...] = source.reshape(rows, cols, UB_ALIGN).transpose(1, 0, 2)
        self._rows.append(
            trace_row(
                self.core, LOAD, pipe, site.ordinal, tensor=ref.index, gm_offset=gm_offset,
                n_burst=rows, burst_len=length, gm_gap=gm_gap, slot=slot,
            )
        )  # fmt: skip

    # ------------------------------------------------------------ compute stage
    #
    # A fused consumer's instructions (``ascend.vcast``, ``vscalar``, ``vrows``): each one
    # vectorised numpy call over the whole tile, on its pipe, with the UB checks of the
    # other ops. Float32 arithmetic is numpy's float32 (each op rounded to nearest even,
    # never fused); conversions are ``pakv_dialect.dtypes.cast_values`` (a quantising
    # body's rounding and saturation included), clamps ``np.maximum`` / ``np.minimum``.

    def _vector_range(
        self, site: OpSite, what: str, buf: UbBuffer, slot: int, offset: int, nbytes: int
    ) -> int:
        """The UB address of ``nbytes`` at ``offset`` of a slot, checked like a DMA's."""
        if offset % UB_ALIGN:
            raise UbMisalignedError(
                site,
                f"{what} at byte {offset} of {buf.describe(slot)}: vector operands start at "
                f"multiples of {UB_ALIGN} bytes",
                self.core,
            )
        if nbytes < 0 or not 0 <= slot < buf.slots or offset + nbytes > buf.slot_bytes:
            raise UbOverflowError(
                site,
                f"{what} touches bytes [{offset}, {offset + nbytes}) of {buf.describe(slot)}, "
                f"outside its {buf.slots} slot(s) of {buf.slot_bytes} bytes",
                self.core,
            )
        return buf.offset + slot * buf.slot_bytes + offset

    def _vector_sync(
        self,
        site: OpSite,
        pipe: int,
        reads: Sequence[tuple[UbBuffer, int]],
        target: UbBuffer,
        slot: int,
    ) -> None:
        sync = self.sync
        for buf, read_slot in reads:
            sync.read(site, pipe, buf.sync[read_slot])
        sync.write(site, pipe, target.sync[slot])

    def _vector_row(
        self, site: OpSite, pipe: int, target_slot: int, elements: int, nbytes: int
    ) -> None:
        self._rows.append(
            trace_row(
                self.core, VECTOR, pipe, site.ordinal,
                n_burst=elements, burst_len=nbytes, slot=target_slot,
            )
        )  # fmt: skip

    def _vector_kind(self, site: OpSite, op: str, kind: str, known: Collection[str]) -> None:
        if kind not in known:
            raise UnknownVariantError(
                site, f"{op} of kind '{kind}': the kinds are {', '.join(known)}", self.core
            )

    def _element_kind(self, site: OpSite, name: str) -> ElementKind:
        try:
            return kind_named(name)
        except KeyError:
            raise UnknownVariantError(
                site, f"vcast of element kind '{name}', which the machine does not know", self.core
            ) from None

    def vcast(
        self,
        site: OpSite,
        pipe: int,
        source_kind: str,
        target_kind: str,
        source: UbBuffer,
        source_slot: int,
        source_offset: int,
        target: UbBuffer,
        target_slot: int,
        target_offset: int,
        count: int,
    ) -> None:
        """Convert ``count`` elements (AscendC ``Cast``): the operands may not overlap."""
        self._sites[site.ordinal] = site
        src_kind = self._element_kind(site, source_kind)
        dst_kind = self._element_kind(site, target_kind)
        src_bytes, dst_bytes = count * src_kind.size, count * dst_kind.size
        src = self._vector_range(
            site, "vcast source", source, source_slot, source_offset, src_bytes
        )
        dst = self._vector_range(
            site, "vcast target", target, target_slot, target_offset, dst_bytes
        )
        if src < dst + dst_bytes and dst < src + src_bytes:
            raise UbOverlapError(
                site,
                f"vcast of {count} elements reads [{src}, {src + src_bytes}) and writes "
                f"[{dst}, {dst + dst_bytes}) of the UB: a conversion's operands must not overlap",
                self.core,
            )
        self._vector_sync(site, pipe, ((source, source_slot),), target, target_slot)
        values = self.ub[src : src + src_bytes].view(src_kind.storage)
        converted = cast_values(values, src_kind, dst_kind)
        self.ub[dst : dst + dst_bytes] = converted.view(np.uint8)
        self._vector_row(site, pipe, target_slot, count, dst_bytes)

    def _floats(
        self, site: OpSite, what: str, buf: UbBuffer, slot: int, offset: int, count: int
    ) -> np.ndarray:
        at = self._vector_range(site, what, buf, slot, offset, 4 * count)
        return self.ub[at : at + 4 * count].view(np.float32)

    def vscalar(
        self,
        site: OpSite,
        pipe: int,
        kind: str,
        source: UbBuffer,
        source_slot: int,
        source_offset: int,
        scalar: np.floating,
        target: UbBuffer,
        target_slot: int,
        target_offset: int,
        count: int,
    ) -> None:
        """``target = source <kind> scalar`` in float32 (``sub`` adds the negated scalar,
        as AscendC ``Adds`` does; ``max`` / ``min`` clamp, as ``Maxs`` / ``Mins``)."""
        self._sites[site.ordinal] = site
        self._vector_kind(site, "vscalar", kind, _SCALAR_KINDS)
        src = self._floats(site, "vscalar source", source, source_slot, source_offset, count)
        dst = self._floats(site, "vscalar target", target, target_slot, target_offset, count)
        self._vector_sync(site, pipe, ((source, source_slot),), target, target_slot)
        value = np.float32(scalar)
        with np.errstate(over="ignore", invalid="ignore"):
            if kind == VectorKind.mul:
                np.multiply(src, value, out=dst)
            elif kind in (VectorKind.max, VectorKind.min):  # a clamp (Maxs / Mins): NaN propagates
                (np.maximum if kind == VectorKind.max else np.minimum)(src, value, out=dst)
            else:
                np.add(src, -value if kind == VectorKind.sub else value, out=dst)
        self._vector_row(site, pipe, target_slot, count, 4 * count)

    def vrows(
        self,
        site: OpSite,
        pipe: int,
        kind: str,
        source: UbBuffer,
        source_slot: int,
        source_offset: int,
        vector: UbBuffer,
        vector_slot: int,
        vector_offset: int,
        target: UbBuffer,
        target_slot: int,
        target_offset: int,
        rows: int,
        cols: int,
        pitch: int,
    ) -> None:
        """``target[r, c] = source[r, c] <kind> vector[c]`` in float32, rows ``pitch``
        elements apart (AscendC ``Add`` / ``Sub`` / ``Mul`` per row)."""
        self._sites[site.ordinal] = site
        self._vector_kind(site, "vrows", kind, _ROW_UFUNCS)
        if cols > pitch or (rows > 1 and (pitch * 4) % UB_ALIGN):
            # The printed helper calls the row op at float offset r * pitch for each row:
            # every such start must be 32-byte aligned (the first one always is).
            raise UbMisalignedError(
                site,
                f"vrows of {rows} rows of {cols} columns with a pitch of {pitch} elements: "
                "rows must hold their columns and start 32-byte aligned",
                self.core,
            )
        span = rows * pitch
        src = self._floats(site, "vrows source", source, source_slot, source_offset, span)
        dst = self._floats(site, "vrows target", target, target_slot, target_offset, span)
        vec = self._floats(site, "vrows vector", vector, vector_slot, vector_offset, cols)
        self._vector_sync(
            site, pipe, ((source, source_slot), (vector, vector_slot)), target, target_slot
        )
        out = dst.reshape(rows, pitch)[:, :cols]
        with np.errstate(over="ignore", invalid="ignore"):
            _ROW_UFUNCS[kind](src.reshape(rows, pitch)[:, :cols], vec, out=out)
        self._vector_row(site, pipe, target_slot, rows * cols, 4 * rows * cols)
