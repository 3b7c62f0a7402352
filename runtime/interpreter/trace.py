"""The machine's record of what the cores did: one row per op that occupies a pipe.

Rows are tuples in the field order of :class:`TraceRow`, appended in issue order while
the cores run; every writer makes its row with :func:`trace_row`, naming the fields it
sets. The table of :data:`TRACE_DTYPE` is built from them only when someone asks
(:meth:`MachineTrace.table`). ``runtime.tool.timeline`` schedules the rows,
``runtime.tool.explain`` counts them, and :meth:`MachineTrace.check_single_writer`
checks after a launch, vectorised over the stores, that no two cores wrote the same
output bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pakv_dialect.ascend import Pipe
from runtime.interpreter.faults import OpSite, WriteConflictError

PIPES: tuple[Pipe, ...] = (Pipe.S, Pipe.V, Pipe.MTE2, Pipe.MTE3)
"""Pipe ids are positions in this tuple; the trace and the sync state use the ids."""
PIPE_ID: dict[Pipe, int] = {pipe: index for index, pipe in enumerate(PIPES)}
S, V, MTE2, MTE3 = (PIPE_ID[p] for p in PIPES)
NUM_PIPES = len(PIPES)

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


class TraceRow(NamedTuple):
    """One executed ascend op that occupies a pipe (or sets or waits for a flag).

    * ``load`` (GM -> UB) / ``store`` (UB -> GM): ``tensor`` (GM tensor index),
      ``gm_offset``, ``n_burst``, ``burst_len`` and ``gm_gap`` in bytes, ``slot``.
    * ``transpose_blocks``: ``n_burst`` = rows, ``burst_len`` = cols (32-byte blocks),
      ``slot`` = the target slot.
    * ``fill_zero``: ``n_burst`` = 1, ``burst_len`` = bytes zeroed, ``slot``.
    * ``set_flag``/``wait_flag``: ``pipe`` = the pipe that sets / waits, ``peer`` = the
      other pipe, ``event`` = the event id.
    * ``load_scalar`` (also ``run_length``'s reads): ``tensor``, ``gm_offset`` (bytes),
      ``n_burst`` = elements read, ``burst_len`` = element size.
    * ``pipe_barrier``: ``pipe`` = S (the scalar unit issues it and waits with every
      pipe).
    * ``ascend.load_transposed`` records a ``load`` row: its GM side is ``n_burst`` bursts
      of ``burst_len`` bytes like any load; only its UB side differs.
    * ``vector``: a compute-stage instruction (``vcast``, ``vscalar``, ``vrows``):
      ``n_burst`` = elements, ``burst_len`` = bytes it writes, ``slot`` = its target slot.

    ``pipe`` is the op's pipe (its ``OnPipe`` trait), ``op`` its ordinal
    (:class:`~runtime.interpreter.faults.OpSite`). Unused columns keep their defaults:
    -1, or 0 for the counts and the gap.
    """

    core: int
    kind: int
    pipe: int
    op: int
    tensor: int = -1
    gm_offset: int = -1
    n_burst: int = 0
    burst_len: int = 0
    gm_gap: int = 0
    slot: int = -1
    event: int = -1
    peer: int = -1


Row = tuple[int, ...]
"""A recorded row: the values of a :class:`TraceRow`, in its field order."""


def trace_row(
    core: int,
    kind: int,
    pipe: int,
    op: int,
    tensor: int = -1,
    gm_offset: int = -1,
    n_burst: int = 0,
    burst_len: int = 0,
    gm_gap: int = 0,
    slot: int = -1,
    event: int = -1,
    peer: int = -1,
) -> Row:
    """``tuple(TraceRow(...))``: the row the machine records, at a fifth of the cost.

    Every writer of a row calls this, naming the fields it sets (its signature is
    :class:`TraceRow`'s, which a test keeps so). Calling the class runs
    ``type.__call__`` and the generated ``__new__`` in a C frame of their own; CPython
    3.11 runs a plain function in its caller's interpreter loop. A launch records a row
    per flag, DMA and scalar read, hundreds of thousands of them, and ``np.array``
    makes the same table of plain tuples.
    """
    return (
        core, kind, pipe, op, tensor, gm_offset, n_burst, burst_len, gm_gap, slot, event, peer
    )  # fmt: skip


_COLUMN_TYPES: dict[str, type[np.integer]] = {
    "core": np.int32,
    "kind": np.int8,
    "pipe": np.int8,
    "op": np.int32,
    "tensor": np.int16,
    "gm_offset": np.int64,
    "n_burst": np.int64,
    "burst_len": np.int64,
    "gm_gap": np.int64,
    "slot": np.int32,
    "event": np.int64,
    "peer": np.int8,
}

TRACE_DTYPE = np.dtype([(name, _COLUMN_TYPES[name]) for name in TraceRow._fields])
"""The trace as a table: one column per :class:`TraceRow` field, in its order."""


@dataclass
class MachineTrace:
    """What the cores did, recorded cheaply as tuples and turned into arrays on demand."""

    tensors: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    sites: dict[int, OpSite] = field(default_factory=dict)
    """The op behind each ``op`` ordinal that appears in the rows."""
    stores: list[Row] = field(default_factory=list)
    """The ``store`` rows again, kept aside for :meth:`check_single_writer`."""
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

    def check_single_writer(self) -> None:
        """No two cores stored to the same GM bytes (each output byte has one owner).

        Vectorised over the bursts of every store: sorted by start, a burst clashes with
        an earlier one of another core when it starts before the furthest end so far.
        """
        if not self.stores:
            return
        stores = np.array(self.stores, dtype=TRACE_DTYPE)
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
            self.sites[int(b["op"])],
            f"core {int(b['core'])} writes bytes [{lo}, {hi}) of "
            f"{self.tensors[int(b['tensor'])]} that core {int(a['core'])} also wrote "
            f"(with {self.sites[int(a['op'])]}): each output byte must have one owner",
        )
