"""The machine model of an Ascend vector core: the one place each ascend op has a meaning.

Both ways of running a lowered kernel, the stock xDSL interpreter
(``runtime.interpreter.ascend_functions``) and the generated fast path
(``runtime.interpreter.fast_path``), call the methods of :class:`AscendMachine` as
:data:`MACHINE_METHODS` and
:func:`machine_arguments` say, so an op's semantics, its checks and its trace record
exist exactly once.

Memory
------
* GM is the caller's arrays, seen as flat bytes (:class:`runtime.memory.GmTensor`,
  wrapped in a :class:`GmRef` that the kernel receives as its memref arguments).
* UB is one ``uint8`` array of the SoC's usable capacity. ``ascend.ub_alloc`` places a
  :class:`UbBuffer` in it; the array is filled with :data:`UB_POISON` when a core starts,
  so a store of bytes that no load or fill wrote shows up as wrong output.
* Every DMA is one vectorised numpy copy between (n, burst) views of the two sides; no
  Python runs per burst, token or element.

Synchronisation model (what the detectors check)
------------------------------------------------
Each pipe (S, V, MTE2, MTE3) has a *knowledge* vector: for every other pipe, the count
up to which that pipe's ops are known to be complete, and at its own position its
*issue counter*, incremented by every op it runs. ``set_flag[P, Q, e]`` pushes a
snapshot of P's knowledge onto the FIFO of (P, Q, e); ``wait_flag[P, Q, e]`` pops the
oldest snapshot and raises Q's knowledge to it (element-wise max, so knowledge is
transitive, like vector clocks). Each UB (buffer, slot) remembers its last writer
(pipe, count) and, per pipe, its last reader count. An op on pipe Q that reads the slot
needs Q's knowledge of the writer's pipe >= the write's count (else: a tile read before
its load was synchronised); an op that writes the slot needs the same for the last
writer and for every other pipe's last read (else: overwriting a slot that another
pipe may still read). Ops on one pipe run in order and never conflict with each other.
A wait with no earlier set is a deadlock; a flag still set when the core ends is
reported too. All of it is O(1) per op. GM hazards are not modelled: a gather kernel
never reads what it writes.

After all cores ran, :meth:`AscendMachine.finish` checks, vectorised over the stores in
the trace, that no two cores wrote the same output bytes.

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
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import Operation

from pakv_dialect import ascend
from pakv_dialect.ascend import MAX_BURSTS, UB_ALIGN, Pipe, align_up
from pakv_dialect.dma import DMA_FORMS, DMA_VALUES, DmaForm
from pakv_dialect.dtypes import cast_values, kind_named, kv_kind_of_type
from pakv_dialect.soc import SocInfo
from pakv_dialect.tiling import Tiling
from runtime.memory import GmTensor

UB_POISON = 0xA5
"""What UB holds before anything is written to it (a real UB holds stale data)."""

PIPES: tuple[Pipe, ...] = (Pipe.S, Pipe.V, Pipe.MTE2, Pipe.MTE3)
"""Pipe ids are positions in this tuple; the trace and the sync state use the ids."""
PIPE_ID: dict[Pipe, int] = {pipe: index for index, pipe in enumerate(PIPES)}
S, V, MTE2, MTE3 = (PIPE_ID[p] for p in PIPES)
_NUM_PIPES = len(PIPES)


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class OpSite:
    """Where an op is: its name, its kernel, its pre-order position there, its text.

    ``ordinal`` is the op's index in a pre-order walk of the kernel function: stable
    for a given program, and the key the trace uses to refer to ops.
    """

    name: str
    kernel: str
    ordinal: int
    text: str

    def __str__(self) -> str:
        return f"{self.name} (op #{self.ordinal} in @{self.kernel}: `{self.text}`)"


# --------------------------------------------------------------------------- faults


class MachineFault(Exception):
    """A lowered program broke a rule of the vector core; the report names the op."""

    def __init__(self, site: OpSite, message: str, core: int | None = None):
        where = "" if core is None else f"core {core}: "
        super().__init__(f"{where}{site}: {message}")
        self.site = site
        self.core = core
        self.detail = message


class UbOverflowError(MachineFault):
    """A UB buffer, or an access through one, lies outside the UB or its slot."""


class UbMisalignedError(MachineFault):
    """A UB address or gap that is not a multiple of 32 bytes."""


class UbOverlapError(MachineFault):
    """Two UB buffers of one core share bytes."""


class UnplannedBufferError(MachineFault):
    """``ub_alloc`` without the offset the UB planning pass assigns."""


class GmOutOfBoundsError(MachineFault):
    """A GM read or write outside its tensor."""


class BurstCountError(MachineFault):
    """A DMA with a burst count outside [1, 4095] (or a bad burst length or gap)."""


class DmaFieldError(MachineFault):
    """A DMA value that does not fit the AscendC field its form puts it in (its width
    or its unit, ``pakv_dialect.dma.DMA_FORMS``): the hardware would see another value."""


class UnsyncedAccessError(MachineFault):
    """A UB slot read before its producer was synchronised, or overwritten too early."""


class FlagDeadlockError(MachineFault):
    """``wait_flag`` with no earlier matching ``set_flag``: the pipe would wait forever."""


class FlagLeakError(MachineFault):
    """A ``set_flag`` never consumed by a ``wait_flag`` by the end of the core."""


class WriteConflictError(MachineFault):
    """Two cores wrote the same output bytes."""


class BadTilingFieldError(MachineFault):
    """``get_tiling`` of a field the host does not provide."""


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
    """One ``ub_alloc``: ``slots`` x ``slot_bytes`` at byte ``offset`` of the UB.

    Per slot it keeps the synchronisation facts of the module docstring: the last
    writer (pipe, issue count, site) and each pipe's last read count.
    """

    purpose: str
    offset: int
    slots: int
    slot_bytes: int
    writer_pipe: list[int] = field(default_factory=list)
    writer_count: list[int] = field(default_factory=list)
    writer_site: list[OpSite | None] = field(default_factory=list)
    readers: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer_pipe = [-1] * self.slots
        self.writer_count = [0] * self.slots
        self.writer_site = [None] * self.slots
        self.readers = [[0] * _NUM_PIPES for _ in range(self.slots)]

    @property
    def end(self) -> int:
        return self.offset + self.slots * self.slot_bytes

    def describe(self, slot: int) -> str:
        return f"UB buffer '{self.purpose}' slot {slot}"


# --------------------------------------------------------------------------- trace

LOAD, STORE, TRANSPOSE, FILL_ZERO, SET_FLAG, WAIT_FLAG, LOAD_SCALAR, PIPE_BARRIER, VECTOR = range(9)
TRACE_KINDS = (
    "load",
    "store",
    "transpose_blocks",
    "fill_zero",
    "set_flag",
    "wait_flag",
    "load_scalar",
    "pipe_barrier",
    "vector",
)
"""Names of the ``kind`` codes of trace rows."""

TRACE_DTYPE = np.dtype(
    [
        ("core", np.int32),
        ("kind", np.int8),
        ("pipe", np.int8),
        ("op", np.int32),
        ("tensor", np.int16),
        ("gm_offset", np.int64),
        ("n_burst", np.int64),
        ("burst_len", np.int64),
        ("gm_gap", np.int64),
        ("slot", np.int32),
        ("event", np.int64),
        ("peer", np.int8),
    ]
)
"""One row per executed ascend op that occupies a pipe, in issue order.

* ``load`` (MTE2, GM -> UB) / ``store`` (MTE3, UB -> GM): ``tensor`` (GM tensor index),
  ``gm_offset``, ``n_burst``, ``burst_len`` and ``gm_gap`` in bytes, ``slot``.
* ``transpose_blocks`` (V): ``n_burst`` = rows, ``burst_len`` = cols (32-byte blocks).
* ``fill_zero`` (V): ``burst_len`` = bytes zeroed, ``slot``.
* ``set_flag``/``wait_flag``: ``pipe`` = the pipe that sets / waits, ``peer`` = the other
  pipe, ``event`` = the event id.
* ``load_scalar`` (S): ``tensor``, ``gm_offset`` (bytes), ``burst_len`` = element size.
* ``pipe_barrier``: ``pipe`` = S (the scalar unit issues it and waits with every pipe).
* ``ascend.load_transposed`` records a ``load`` row: its GM side is ``n_burst`` bursts of
  ``burst_len`` bytes like any load; only its UB side differs.
* ``vector`` (V): a compute-stage instruction (``vcast``, ``vscalar``, ``vrows``):
  ``n_burst`` = elements, ``burst_len`` = bytes it writes, ``slot`` = its target slot.

Unused columns hold -1 (or 0 for counts). ``op`` is the op's ordinal (:class:`OpSite`).
"""


@dataclass
class MachineTrace:
    """What the cores did, recorded cheaply as tuples and turned into arrays on demand."""

    tensors: tuple[str, ...]
    rows: list[tuple[int, ...]] = field(default_factory=list)
    sites: dict[int, OpSite] = field(default_factory=dict)
    """The op behind each ``op`` ordinal that appears in the rows."""
    _table: np.ndarray | None = field(default=None, repr=False)

    def table(self) -> np.ndarray:
        """Every row as one structured array of :data:`TRACE_DTYPE`."""
        if self._table is None or len(self._table) != len(self.rows):
            self._table = np.array(self.rows, dtype=TRACE_DTYPE)
        return self._table

    def of_kind(self, kind: int, core: int | None = None) -> np.ndarray:
        table = self.table()
        mask = table["kind"] == kind
        if core is not None:
            mask &= table["core"] == core
        return table[mask]

    def dma_bytes(self, kind: int, num_cores: int) -> np.ndarray:
        """GM bytes moved by ``kind`` (LOAD or STORE) on each core, as an array."""
        rows = self.of_kind(kind)
        moved = rows["n_burst"] * rows["burst_len"]
        return np.bincount(rows["core"], weights=moved, minlength=num_cores).astype(np.int64)

    def __len__(self) -> int:
        return len(self.rows)


# --------------------------------------------------------------------------- ops

MACHINE_METHODS: dict[type[Operation], str] = {
    ascend.GetBlockIdxOp: "get_block_idx",
    ascend.GetBlockNumOp: "get_block_num",
    ascend.GetTilingOp: "get_tiling",
    ascend.UbAllocOp: "ub_alloc",
    ascend.LoadScalarOp: "load_scalar",
    ascend.RunLengthOp: "run_length",
    ascend.LoadOp: "dma",
    ascend.StoreOp: "dma",
    ascend.TransposeBlocksOp: "transpose_blocks",
    ascend.FillZeroOp: "fill_zero",
    ascend.SetFlagOp: "set_flag",
    ascend.WaitFlagOp: "wait_flag",
    ascend.PipeBarrierOp: "pipe_barrier",
    ascend.LoadTransposedOp: "load_transposed",
    ascend.VCastOp: "vcast",
    ascend.VScalarOp: "vscalar",
    ascend.VRowsOp: "vrows",
}
"""The ``ascend`` ops a kernel runs, and the :class:`AscendMachine` method each calls
as ``method(site, *machine_arguments(op), *operands)``."""


def machine_arguments(op: Operation) -> tuple[str | int | None, ...]:
    """What ``op``'s machine method takes between the site and the op's operands: its
    properties, or for a DMA its direction (the trace kind, LOAD or STORE) and its form
    (``DmaForm`` value)."""
    if isinstance(op, ascend.GetTilingOp):
        return (op.field.data,)
    if isinstance(op, ascend.UbAllocOp):
        return (op.purpose.data, op.slots, op.slot_bytes, op.planned_offset)
    if isinstance(op, ascend.SetFlagOp | ascend.WaitFlagOp):
        return (PIPE_ID[op.set_pipe.data], PIPE_ID[op.wait_pipe.data])
    if isinstance(op, ascend.LoadOp):
        return (LOAD, op.dma_form.value)
    if isinstance(op, ascend.StoreOp):
        return (STORE, op.dma_form.value)
    if isinstance(op, ascend.VCastOp):
        source, target = (kv_kind_of_type(t) for t in (op.from_type, op.to_type))
        assert source is not None and target is not None  # the verifier checked them
        return (source.name, target.name)
    if isinstance(op, ascend.VScalarOp | ascend.VRowsOp):
        return (op.kind.data.value,)
    return ()


# --------------------------------------------------------------------------- machine

_OTHER_PIPES: tuple[tuple[int, ...], ...] = tuple(
    tuple(other for other in range(_NUM_PIPES) if other != pipe) for pipe in range(_NUM_PIPES)
)
"""For each pipe, every other pipe (whose reads a write on the pipe must wait for)."""

FlagKey = tuple[int, int, int]
"""(set pipe, wait pipe, event)."""

FORM_LIMITS: dict[str, tuple[int, int, int, int, int]] = {
    form.value: spec.limits for form, spec in DMA_FORMS.items()
}
"""Each DMA form's field limits (``DmaFormSpec.limits``), by the form's name."""


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
    ``end_core()``; after every core, ``finish()``.
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
        self._stores: list[tuple[int, ...]] = []
        """The store rows of the trace, kept aside for :meth:`finish`."""
        self._reset(-1)

    # ------------------------------------------------------------ lifecycle

    def _reset(self, core: int) -> None:
        self.core = core
        self.ub.fill(UB_POISON)
        self._buffers: list[UbBuffer] = []
        self._known = [[0] * _NUM_PIPES for _ in range(_NUM_PIPES)]
        self._flags: defaultdict[FlagKey, deque[tuple[list[int], OpSite]]] = defaultdict(deque)

    def start_core(self, core: int) -> None:
        """Reset the per-core state: UB contents, buffers, pipes and flags."""
        self._reset(core)

    def end_core(self) -> None:
        """Check that every flag the core set was waited for."""
        left = [(key, entry) for key, queue in self._flags.items() for entry in queue]
        if left:
            (set_pipe, wait_pipe, event), (_, site) = left[0]
            raise FlagLeakError(
                site,
                f"{len(left)} flag(s) still set when the core ended, first "
                f"set_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] here: every "
                "set_flag needs a matching wait_flag",
                self.core,
            )

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
        if not self._stores:
            return
        stores = np.array(self._stores, dtype=TRACE_DTYPE)
        counts = stores["n_burst"]
        row = np.repeat(np.arange(stores.size), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        burst = np.arange(row.size) - first
        stride = stores["burst_len"] + stores["gm_gap"]
        # One coordinate line for all tensors: tensor t lives at [t << 48, (t + 1) << 48).
        base = stores["tensor"].astype(np.int64) << 48
        start = (base + stores["gm_offset"])[row] + burst * stride[row]
        end = start + stores["burst_len"][row]
        order = np.argsort(start, kind="stable")
        start, end, row = start[order], end[order], row[order]
        reach = np.maximum.accumulate(end)
        holder = np.maximum.accumulate(np.where(end == reach, np.arange(end.size), 0))
        core = stores["core"][row]
        clash = np.nonzero((start[1:] < reach[:-1]) & (core[1:] != core[holder[:-1]]))[0]
        if clash.size == 0:
            return
        later, earlier = row[clash[0] + 1], row[holder[clash[0]]]
        a, b = stores[earlier], stores[later]
        lo = int(start[clash[0] + 1] - base[later])
        hi = int(min(end[clash[0] + 1], reach[clash[0]]) - base[later])
        raise WriteConflictError(
            self.trace.sites[int(b["op"])],
            f"core {int(b['core'])} writes bytes [{lo}, {hi}) of "
            f"{self.trace.tensors[int(b['tensor'])]} that core {int(a['core'])} also wrote "
            f"(with {self.trace.sites[int(a['op'])]}): each output byte must have one owner",
        )

    # ------------------------------------------------------------ sync

    def _issue(self, pipe: int) -> int:
        """One more op on ``pipe``: its issue count (kept in the pipe's own knowledge)."""
        known = self._known[pipe]
        known[pipe] += 1
        return known[pipe]

    def _read(self, site: OpSite, pipe: int, count: int, buf: UbBuffer, slot: int) -> None:
        writer = buf.writer_pipe[slot]
        if writer >= 0 and writer != pipe and self._known[pipe][writer] < buf.writer_count[slot]:
            raise UnsyncedAccessError(
                site,
                f"{PIPES[pipe]} reads {buf.describe(slot)} before its producer "
                f"{buf.writer_site[slot]} on {PIPES[writer]} was synchronised: missing "
                f"set_flag/wait_flag[{PIPES[writer]}, {PIPES[pipe]}, ...] between them",
                self.core,
            )
        buf.readers[slot][pipe] = count

    def _write(self, site: OpSite, pipe: int, count: int, buf: UbBuffer, slot: int) -> None:
        known = self._known[pipe]
        writer = buf.writer_pipe[slot]
        if writer >= 0 and writer != pipe and known[writer] < buf.writer_count[slot]:
            raise UnsyncedAccessError(
                site,
                f"{PIPES[pipe]} overwrites {buf.describe(slot)} while {buf.writer_site[slot]} "
                f"on {PIPES[writer]} may still be writing it: missing "
                f"wait_flag[{PIPES[writer]}, {PIPES[pipe]}, ...]",
                self.core,
            )
        readers = buf.readers[slot]
        for other in _OTHER_PIPES[pipe]:
            if known[other] < readers[other]:
                raise UnsyncedAccessError(
                    site,
                    f"{PIPES[pipe]} overwrites {buf.describe(slot)} that {PIPES[other]} may "
                    f"still be reading: missing wait_flag[{PIPES[other]}, {PIPES[pipe]}, ...] "
                    "since that read",
                    self.core,
                )
        buf.readers[slot] = [0] * _NUM_PIPES
        buf.writer_pipe[slot] = pipe
        buf.writer_count[slot] = count
        buf.writer_site[slot] = site

    def set_flag(self, site: OpSite, set_pipe: int, wait_pipe: int, event: int) -> None:
        self._sites[site.ordinal] = site
        self._flags[set_pipe, wait_pipe, event].append((self._known[set_pipe].copy(), site))
        self._rows.append(
            (self.core, SET_FLAG, set_pipe, site.ordinal, -1, -1, 0, 0, 0, -1, event, wait_pipe)
        )

    def wait_flag(self, site: OpSite, set_pipe: int, wait_pipe: int, event: int) -> None:
        self._sites[site.ordinal] = site
        queue = self._flags.get((set_pipe, wait_pipe, event))
        if not queue:
            raise FlagDeadlockError(
                site,
                f"wait_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] has no earlier "
                f"set_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] to consume: "
                f"{PIPES[wait_pipe]} would wait forever",
                self.core,
            )
        snapshot, _ = queue.popleft()
        known = self._known[wait_pipe]
        for pipe, count in enumerate(snapshot):
            if count > known[pipe]:
                known[pipe] = count
        self._rows.append(
            (self.core, WAIT_FLAG, wait_pipe, site.ordinal, -1, -1, 0, 0, 0, -1, event, set_pipe)
        )

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

    def load_scalar(self, site: OpSite, ref: GmRef, *indices: int) -> int | np.floating:
        self._sites[site.ordinal] = site
        dims = ref.dims
        if len(indices) != len(dims):
            raise ValueError(f"{site}: {len(indices)} indices into the {len(dims)}-d {ref.name}")
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
            (
                self.core,
                LOAD_SCALAR,
                S,
                site.ordinal,
                ref.index,
                flat * size,
                1,
                size,
                0,
                -1,
                -1,
                -1,
            )
        )
        value = ref.flat[flat]
        return value if isinstance(value, np.floating) else int(value)

    def run_length(self, site: OpSite, ref: GmRef, begin: int, start: int, limit: int) -> int:
        """``ascend.run_length``: how many of ``ref[begin], ref[begin + 1], ...`` (at most
        ``limit``) equal ``start, start + 1, ...``, by one vectorised comparison.

        The device reads the elements one by one on S until the first that breaks the
        run; the trace records that as one scalar-read row of ``n_burst`` elements.
        """
        self._sites[site.ordinal] = site
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
        read = min(count + 1, limit)
        self._rows.append(
            (self.core, LOAD_SCALAR, S, site.ordinal, ref.index, begin * size, read, size, 0,
             -1, -1, -1)
        )  # fmt: skip
        return count

    # ------------------------------------------------------------ DMA

    def dma(
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
    ) -> None:
        """``ascend.load`` (``kind`` LOAD: GM -> UB on MTE2) or ``ascend.store`` (STORE:
        UB -> GM on MTE3) of ``count`` bursts of ``length`` bytes, as one copy.

        In UB each burst starts 32-byte aligned (``align_up(length) + ub_gap`` apart);
        in GM bursts are ``length + gm_gap`` apart. Every value must fit the AscendC
        field that ``form`` (the op's ``DmaForm``) puts it in.
        """
        self._sites[site.ordinal] = site
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
        max_len, len_unit, max_gm_gap, gm_unit, max_ub_gap = FORM_LIMITS[form]
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
        ub_at = buf.offset + slot * buf.slot_bytes + ub_offset
        contiguous = count == 1 or (ub_stride == length and gm_gap == 0)
        size = count * length
        if kind == LOAD:
            pipe = MTE2
            self._write(site, pipe, self._issue(pipe), buf, slot)
            if contiguous:
                self._ub_raw[ub_at : ub_at + size] = ref.raw[gm_offset : gm_offset + size]
            else:
                _bursts(self.ub, ub_at, count, length, ub_stride)[...] = _bursts(
                    ref.tensor.bytes, gm_offset, count, length, length + gm_gap
                )
        else:
            pipe = MTE3
            self._read(site, pipe, self._issue(pipe), buf, slot)
            if contiguous:
                ref.raw[gm_offset : gm_offset + size] = self._ub_raw[ub_at : ub_at + size]
            else:
                _bursts(ref.tensor.bytes, gm_offset, count, length, length + gm_gap)[...] = _bursts(
                    self.ub, ub_at, count, length, ub_stride
                )
        row = (
            self.core, kind, pipe, site.ordinal, ref.index, gm_offset, count, length, gm_gap,
            slot, -1, -1,
        )  # fmt: skip
        self._rows.append(row)
        if kind == STORE:
            self._stores.append(row)

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
        source: UbBuffer,
        source_slot: int,
        target: UbBuffer,
        target_slot: int,
        rows: int,
        cols: int,
    ) -> None:
        """``target[c][r] = source[r][c]`` over 32-byte blocks, on V: one numpy copy."""
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
        count = self._issue(V)
        self._read(site, V, count, source, source_slot)
        self._write(site, V, count, target, target_slot)
        src = source.offset + source_slot * source.slot_bytes
        dst = target.offset + target_slot * target.slot_bytes
        self.ub[dst : dst + size].reshape(cols, rows, UB_ALIGN)[...] = (
            self.ub[src : src + size].reshape(rows, cols, UB_ALIGN).transpose(1, 0, 2)
        )
        self._rows.append(
            (self.core, TRANSPOSE, V, site.ordinal, -1, -1, rows, cols, 0, target_slot, -1, -1)
        )

    def fill_zero(self, site: OpSite, target: UbBuffer, slot: int, nbytes: int) -> None:
        """Zero ``align32(nbytes)`` bytes at the start of a slot, on V."""
        self._sites[site.ordinal] = site
        size = align_up(nbytes)
        if nbytes < 1 or not 0 <= slot < target.slots or size > target.slot_bytes:
            raise UbOverflowError(
                site,
                f"fill_zero of {nbytes} bytes ({size} aligned) does not fit "
                f"{target.describe(slot)} ({target.slots} slot(s) of {target.slot_bytes} bytes)",
                self.core,
            )
        self._write(site, V, self._issue(V), target, slot)
        start = target.offset + slot * target.slot_bytes
        self.ub[start : start + size] = 0
        self._rows.append((self.core, FILL_ZERO, V, site.ordinal, -1, -1, 1, size, 0, slot, -1, -1))

    # ------------------------------------------------------------ strategies (issue 13)
    # The two ops the vendor's strategies need. Kept together and apart from the rest so
    # that they move as a block into the machine's split modules (sync, DMA).

    def pipe_barrier(self, site: OpSite) -> None:
        """``PipeBarrier<PIPE_ALL>``: every pipe learns that every op issued so far, on
        any pipe, has finished (the element-wise max of all knowledge vectors)."""
        self._sites[site.ordinal] = site
        known = self._known
        everything = [max(column) for column in zip(*known, strict=True)]
        for pipe in range(_NUM_PIPES):
            known[pipe] = everything.copy()
        self._rows.append((self.core, PIPE_BARRIER, S, site.ordinal, -1, -1, 0, 0, 0, -1, -1, -1))

    def load_transposed(
        self,
        site: OpSite,
        ref: GmRef,
        gm_offset: int,
        buf: UbBuffer,
        slot: int,
        ub_offset: int,
        rows: int,
        cols: int,
        gm_gap: int,
    ) -> None:
        """``ascend.load_transposed`` (Ascend 950's 3-D copy) on MTE2: ``rows`` GM bursts
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
        self._write(site, MTE2, self._issue(MTE2), buf, slot)
        ub_at = buf.offset + slot * buf.slot_bytes + ub_offset
        source = _bursts(ref.tensor.bytes, gm_offset, rows, length, length + gm_gap)
        target = self.ub[ub_at : ub_at + rows * length].reshape(cols, rows, UB_ALIGN)
        target[...] = source.reshape(rows, cols, UB_ALIGN).transpose(1, 0, 2)
        self._rows.append(
            (self.core, LOAD, MTE2, site.ordinal, ref.index, gm_offset, rows, length, gm_gap,
             slot, -1, -1)
        )  # fmt: skip

    # ------------------------------------------------------------ compute stage
    #
    # A fused consumer's instructions (``ascend.vcast``, ``vscalar``, ``vrows``): each one
    # vectorised numpy call over the whole tile, on the vector pipe, with the UB checks
    # of the other ops. Float32 arithmetic is numpy's float32 (each op rounded to nearest
    # even, never fused); conversions are ``pakv_dialect.dtypes.cast_values`` (a
    # quantising body's rounding and saturation included), clamps ``np.maximum`` /
    # ``np.minimum``.

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
        self, site: OpSite, reads: Sequence[tuple[UbBuffer, int]], target: UbBuffer, slot: int
    ) -> None:
        count = self._issue(V)
        for buf, read_slot in reads:
            self._read(site, V, count, buf, read_slot)
        self._write(site, V, count, target, slot)

    def _vector_row(self, site: OpSite, target_slot: int, elements: int, nbytes: int) -> None:
        self._rows.append(
            (self.core, VECTOR, V, site.ordinal, -1, -1, elements, nbytes, 0, target_slot, -1, -1)
        )

    def vcast(
        self,
        site: OpSite,
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
        src_kind, dst_kind = kind_named(source_kind), kind_named(target_kind)
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
        self._vector_sync(site, ((source, source_slot),), target, target_slot)
        values = self.ub[src : src + src_bytes].view(src_kind.storage)
        converted = cast_values(values, src_kind, dst_kind)
        self.ub[dst : dst + dst_bytes] = converted.view(np.uint8)
        self._vector_row(site, target_slot, count, dst_bytes)

    def _floats(
        self, site: OpSite, what: str, buf: UbBuffer, slot: int, offset: int, count: int
    ) -> np.ndarray:
        at = self._vector_range(site, what, buf, slot, offset, 4 * count)
        return self.ub[at : at + 4 * count].view(np.float32)

    def vscalar(
        self,
        site: OpSite,
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
        as AscendC ``Adds`` does)."""
        self._sites[site.ordinal] = site
        src = self._floats(site, "vscalar source", source, source_slot, source_offset, count)
        dst = self._floats(site, "vscalar target", target, target_slot, target_offset, count)
        self._vector_sync(site, ((source, source_slot),), target, target_slot)
        value = np.float32(scalar)
        with np.errstate(over="ignore", invalid="ignore"):
            if kind == "mul":
                np.multiply(src, value, out=dst)
            elif kind in ("max", "min"):  # a clamp (Maxs / Mins): NaN propagates
                (np.maximum if kind == "max" else np.minimum)(src, value, out=dst)
            else:
                np.add(src, -value if kind == "sub" else value, out=dst)
        self._vector_row(site, target_slot, count, 4 * count)

    def vrows(
        self,
        site: OpSite,
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
        if cols > pitch or (pitch * 4) % UB_ALIGN:
            raise UbMisalignedError(
                site,
                f"vrows of {cols} columns with a pitch of {pitch} elements: rows must hold "
                f"their columns and start 32-byte aligned",
                self.core,
            )
        span = rows * pitch
        src = self._floats(site, "vrows source", source, source_slot, source_offset, span)
        dst = self._floats(site, "vrows target", target, target_slot, target_offset, span)
        vec = self._floats(site, "vrows vector", vector, vector_slot, vector_offset, cols)
        self._vector_sync(site, ((source, source_slot), (vector, vector_slot)), target, target_slot)
        ufunc = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[kind]
        out = dst.reshape(rows, pitch)[:, :cols]
        with np.errstate(over="ignore", invalid="ignore"):
            ufunc(src.reshape(rows, pitch)[:, :cols], vec, out=out)
        self._vector_row(site, target_slot, rows * cols, 4 * rows * cols)
