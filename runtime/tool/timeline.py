"""The interpreter's per-core trace as a timeline: a cost model and Chrome Trace Event JSON.

The machine records *what* each core did (``runtime.interpreter.trace``), in issue order,
but not *when*: it runs the cores one after another on the host. This module puts the
recorded ops on a time axis with a cost model whose every parameter has a public source
or says it is a guess, then writes the Chrome Trace Event format, which Perfetto
(ui.perfetto.dev) and ``chrome://tracing`` open: one process per core, one thread per
pipe (S, V, MTE2, MTE3), one complete ("X") event per op.

Cost model (:class:`CostModel` for the model's constants, ``SocInfo`` for the chip's)
------------------------------------------------------------------------------------
Sources, cited by short name (``pakv_dialect/soc.py`` lists the SoC-table ones):

* ``large copy``: CANN 8.5.0 best practices, "Transferring a Large Data Block at a Time"
  (hiascend.com ``atlas_ascendc_best_practices_10_0016``): "optimal bandwidth
  performance can be achieved when data to be transferred at a time is greater than
  16 KB"; per copy instruction, not per burst (its companion rule: one strided copy of
  16 rows x 2 KB beats 16 copies of 2 KB).
* ``align doc``: "Using 512-Byte Alignment for the GM Address" (``_10_0014``): 32-byte
  aligned GM addresses reach 70% of the 512-byte aligned bandwidth in the worst case,
  on Atlas A2 only (``SocInfo.gm_unaligned_rate``).
* ``same address``: "Avoiding Same-Address Access" (``_10_00013``): MTE2, MTE3 and
  Scalar requests are 512-byte aligned; cores accessing one 512-byte range at the same
  time are served one after another, worse the more cores do.
* ``scalar doc``: "Reading/Writing Data by the Scalar Unit" (``atlas_ascendc_10_00031``):
  scalar GM reads go through a per-core DataCache; a read fetches its cache line (64
  bytes in the page's example) and later reads of that line do not access GM.
* ``vector doc``: AscendC basic API, "Common Parameters of Vector Computation"
  (hiascend.com ``atlasascendc_api_07_0024``, mask and repeat): one repeat of a vector
  instruction processes 8 datablocks of 32 bytes (256 bytes).
* ``cce``: CCE intrinsics ``copy_ubuf_to_ubuf`` (``cceapi_0070``: UB -> UB copies run on
  PIPE_V) and ``vector_dup`` (``cceapi_0056``: 128 b16 / 64 b32 elements, 256 bytes, per
  repeat).
* ``SPEC``: ``../shared/spec/SPEC.md`` section 4 (HBM bandwidth, vector cores) and
  section 5 (MTE2 and MTE3 share GM bandwidth); ``ini``: the CANN platform files'
  per-core DDR rates (``pakv_dialect/soc.py``), which add up to the HBM figure.

The rules:

* **Bandwidth.** Each vector core gets ``hbm_bytes_per_s / vector_cores`` (SPEC; the ini
  per-core rates sum to the HBM figure, so a core gets no more when others idle). A
  core's MTE2 and MTE3 share it (SPEC section 5): every DMA's transfer goes through one
  channel per core, in issue order, so a load overlapping a store does not double the
  core's rate.
* **Copy cost.** A DMA instruction costs a fixed set-up time, then its bytes at the
  core's rate. The set-up time is the time the core moves ``copy_overhead_bytes`` in: a
  copy of ``n`` bytes then runs at ``n / (n + copy_overhead_bytes)`` of full rate, and a
  16 KB copy at ``large_copy_efficiency`` (large copy; the share that "near full" means
  is a guess, the page gives plots only). The set-up does not hold the channel: a load's
  set-up overlaps the store before it.
* **GM alignment.** A burst whose GM address is not a multiple of 512 bytes moves at
  ``gm_unaligned_rate`` of the rate (align doc; the worst case, so pessimistic for
  long misaligned bursts). Burst counts by alignment are exact (modular arithmetic).
* **Scalar GM reads** (block tables, lengths) stall the scalar unit, which issues every
  op, so nothing after a read starts before it returns. A read of a 64-byte line the
  core read before is a DataCache hit and costs nothing (scalar doc); a miss costs
  ``scalar_miss_ns`` (no published latency: a guess), times ``(k + 1) / 2`` when ``k``
  cores miss on the same 512-byte range (same address: served one after another, this
  core in the middle on average).
* **Vector unit.** A block transpose (UB -> UB ``DataCopy`` of 32-byte bursts, PIPE_V:
  cce) moves ``ub_copy_bytes_per_cycle``; a zero fill (``Duplicate``: cce) 256 bytes
  per cycle, one repeat per cycle (a guess at the repeat rate). A fused consumer's
  Compute op (``vcast``, ``vscalar``, ``vrows``: AscendC ``Cast``, ``Adds``/``Muls``,
  ``Add``/``Sub``/``Mul``) is costed the same way (vector doc: a vector instruction
  works in repeats of 8 blocks of 32 bytes, 256 bytes, one repeat per cycle the same
  guess), by the bytes it writes: a narrowing cast, whose wider source the trace row
  does not carry, is costed by its narrower output. Clock: ``SocInfo.vector_clock_hz``,
  else ``default_clock_hz`` (a guess).
* **Not modelled** (each would change every strategy alike or is unknown): kernel launch,
  L2 hits, same-address effects between DMAs of different cores (only a 512-byte line
  at each core's boundary), the UB side of a 3-D copy (its GM side is an ordinary load
  of its row groups), a cost for PipeBarrier itself.

Schedule (a list scheduling over the recorded order)
----------------------------------------------------
Every core starts at time 0. Each pipe runs its ops in the order they were issued,
one at a time. The scalar unit issues ops in program order and stalls on its own GM
reads (later ops may depend on the value), so no op starts before the last scalar
read before it has finished. ``set_flag[P, Q, e]`` fires when every op issued to P
before it has finished; ``wait_flag[P, Q, e]`` holds pipe Q until the matching set
(first in, first out, as the machine pairs them) has fired. Flags take no time.
``pipe_barrier`` (``PipeBarrier<PIPE_ALL>``) holds every pipe and the scalar unit
until every op issued before it has finished. With two UB slots the load of tile
n + 1 (MTE2) runs while tile n is stored (MTE3), sharing the core's channel; with one
slot it cannot: the exported timeline shows exactly what the flags allow.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pakv_dialect.ascend import UB_ALIGN, Pipe
from pakv_dialect.soc import SocInfo
from runtime.interpreter.trace import (
    FILL_ZERO,
    LOAD,
    LOAD_SCALAR,
    PIPE_BARRIER,
    PIPES,
    SET_FLAG,
    STORE,
    TRACE_KINDS,
    TRANSPOSE,
    VECTOR,
    WAIT_FLAG,
    MachineTrace,
)

_MTE2, _MTE3 = (PIPES.index(pipe) for pipe in (Pipe.MTE2, Pipe.MTE3))

TRACK_ORDER: tuple[str, ...] = ("S", "MTE2", "V", "MTE3")
"""Pipes as threads, top to bottom: scalar reads, then the data path in flow order."""
TRACK_LABELS: dict[str, str] = {
    "S": "S: scalar GM reads",
    "MTE2": "MTE2: GM -> UB loads",
    "V": "V: vector (transpose, zero fill)",
    "MTE3": "MTE3: UB -> GM stores",
}
PIPE_TID: dict[str, int] = {pipe: tid for tid, pipe in enumerate(TRACK_ORDER, start=1)}
"""Thread id of each pipe in the exported trace (the same in every process)."""


@dataclass(frozen=True)
class CostModel:
    """The model's own constants (the module docstring cites each); the chip's figures
    (bandwidth, cores, clock, alignment penalty) come from ``SocInfo``."""

    large_copy_bytes: int = 16 * 1024
    """large copy: from this size on a copy runs near full bandwidth."""
    large_copy_efficiency: float = 0.9
    """What "near full" is taken to mean for a ``large_copy_bytes`` copy (a guess)."""
    aligned_bytes: int = 512
    """align doc: GM addresses that are multiples of this run at full rate."""
    same_address_bytes: int = 512
    """same address: requests are served per range of this many bytes."""
    scalar_line_bytes: int = 64
    """scalar doc: the DataCache line (64 bytes in the page's example)."""
    scalar_miss_ns: float = 100.0
    """A scalar GM read that misses the DataCache (no published latency: a guess)."""
    ub_copy_bytes_per_cycle: int = UB_ALIGN
    """A UB -> UB copy of 32-byte bursts moves one burst per cycle (a guess)."""
    vector_bytes_per_cycle: int = 256
    """cce: one 256-byte repeat of ``vector_dup`` per cycle (the repeat rate a guess)."""
    default_clock_hz: float = 1.8e9
    """The clock of a SoC without a published one (VENDOR's 910B2 clock: a guess)."""

    @property
    def copy_overhead_bytes(self) -> float:
        """Bytes a core could move in one copy's set-up time: a ``large_copy_bytes`` copy
        then runs at ``large_copy_efficiency`` (about 1820 bytes)."""
        return self.large_copy_bytes * (1 / self.large_copy_efficiency - 1)

    def core_bytes_per_ns(self, soc: SocInfo) -> float:
        """A vector core's even share of the SoC's HBM bandwidth, in bytes per ns."""
        return soc.hbm_bytes_per_s / soc.vector_cores / 1e9

    def clock_ghz(self, soc: SocInfo) -> float:
        return (soc.vector_clock_hz or self.default_clock_hz) / 1e9


@dataclass(frozen=True)
class Timeline:
    """Start and duration (ns) of every trace row that occupies a pipe.

    ``rows`` indexes ``trace.table()``; flag and barrier rows are not in it (they take
    no time). A DMA's duration runs from when its pipe starts it (set-up) to when its
    last byte is through the core's channel.
    """

    trace: MachineTrace
    rows: np.ndarray
    start_ns: np.ndarray
    duration_ns: np.ndarray
    model: CostModel
    core_bytes_per_ns: float
    hbm_bytes_per_ns: float

    @property
    def makespan_ns(self) -> float:
        """When the last op of the slowest core ends: the modelled kernel time."""
        if self.rows.size == 0:
            return 0.0
        return float((self.start_ns + self.duration_ns).max())

    @property
    def gm_bytes(self) -> int:
        """Bytes the DMAs moved between GM and UB (loads and stores)."""
        table = self.trace.table()
        dma = np.isin(table["kind"], (LOAD, STORE))
        return int((table["n_burst"][dma] * table["burst_len"][dma]).sum())

    @property
    def roofline_ns(self) -> float:
        """The HBM roofline of the operation: every output byte read once and written
        once (twice the bytes stored), at the chip's HBM bandwidth. The same for every
        plan of one call, whatever extra bytes a plan reads."""
        table = self.trace.table()
        stores = table["kind"] == STORE
        stored = int((table["n_burst"][stores] * table["burst_len"][stores]).sum())
        return 2 * stored / self.hbm_bytes_per_ns


def aligned_bursts(
    offset: np.ndarray, count: np.ndarray, stride: np.ndarray, alignment: int
) -> np.ndarray:
    """How many of ``count`` bursts at ``offset + b * stride`` (b < count) start on a
    multiple of ``alignment`` (a power of two), exactly and vectorised.

    ``offset + b * stride = 0 (mod A)`` has solutions iff ``g = gcd(stride, A)`` divides
    the offset; they are ``b = b0 (mod A / g)`` with ``b0 = (-offset / g) * inverse(stride
    / g)`` modulo the power of two ``A / g``, where the odd ``stride / g`` is inverted by
    Newton's iteration (each step doubles the bits that are right).
    """
    o = offset % alignment
    s = stride % alignment
    g = np.gcd(s, alignment)
    period = alignment // g
    solvable = o % g == 0
    x = (s // g) % period
    inverse = x.copy()  # right to 3 bits for any odd x
    for _ in range(4):  # 3 -> 6 -> 12 -> 24 -> 48 bits: past any period <= 2**40
        inverse = (inverse * (2 - x * inverse)) % period
    first = ((-(o // g)) % period) * inverse % period
    count_solutions = np.where(first < count, (count - 1 - first) // period + 1, 0)
    return np.where(solvable, count_solutions, 0)


def _scalar_costs(table: np.ndarray, model: CostModel) -> np.ndarray:
    """Cost in ns of each scalar GM read (0 for other rows): DataCache misses only,
    serialised with the other cores missing on the same 512-byte range."""
    cost = np.zeros(len(table))
    reads = np.flatnonzero(table["kind"] == LOAD_SCALAR)
    if reads.size == 0:
        return cost
    rows = table[reads]
    core = rows["core"].astype(np.int64)
    tensor = rows["tensor"].astype(np.int64)
    line = rows["gm_offset"] // model.scalar_line_bytes
    _, first = np.unique(np.stack([core, tensor, line]), axis=1, return_index=True)
    misses = np.zeros(reads.size, dtype=bool)
    misses[first] = True
    # Cores missing on one 512-byte range of one tensor: distinct (range, core) pairs.
    region = rows["gm_offset"][misses] // model.same_address_bytes
    _, range_of = np.unique(np.stack([tensor[misses], region]), axis=1, return_inverse=True)
    range_of = range_of.ravel()
    pairs = np.unique(np.stack([range_of, core[misses]]), axis=1)
    sharing = np.bincount(pairs[0], minlength=range_of.max() + 1)[range_of]
    cost[reads[misses]] = model.scalar_miss_ns * (sharing + 1) / 2
    return cost


class _Channel:
    """One core's GM channel: busy intervals, sorted and disjoint. A transfer takes the
    idle time from its ready time on, in pieces if it must (module docstring)."""

    def __init__(self) -> None:
        self.busy: list[tuple[float, float]] = []

    def place(self, ready: float, need: float) -> float:
        """Book ``need`` ns of channel time from ``ready`` on; returns when it ends."""
        busy = self.busy
        if not busy or ready >= busy[-1][1]:  # the usual case: after everything booked
            if busy and ready == busy[-1][1]:
                busy[-1] = (busy[-1][0], ready + need)
            else:
                busy.append((ready, ready + need))
            return ready + need
        kept: list[tuple[float, float]] = []
        t = ready
        for begin, end in self.busy:
            if end <= t or need <= 0:
                kept.append((begin, end))
                continue
            if begin > t:  # an idle gap [t, begin)
                take = min(need, begin - t)
                kept.append((t, t + take))
                need -= take
                t += take
            if need > 0:
                t = max(t, end)
            kept.append((begin, end))
        if need > 0:
            kept.append((t, t + need))
            t += need
        self.busy = _merged(kept)
        return t

    def forget_before(self, time: float) -> None:
        """Drop busy time no later transfer can reach (all start at ``time`` or later)."""
        while len(self.busy) > 1 and self.busy[0][1] <= time:
            self.busy.pop(0)


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    intervals.sort()
    merged: list[tuple[float, float]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


@dataclass(frozen=True)
class _Costs:
    """Per-row costs in ns: a DMA's set-up and transfer, any other op's duration."""

    setup: np.ndarray
    transfer: np.ndarray
    duration: np.ndarray


def _costs(table: np.ndarray, model: CostModel, soc: SocInfo) -> _Costs:
    """The cost of every row by its kind, vectorised (module docstring)."""
    kind = table["kind"]
    rate = model.core_bytes_per_ns(soc)
    clock = model.clock_ghz(soc)
    count, length = table["n_burst"], table["burst_len"]
    dma = np.isin(kind, (LOAD, STORE))
    aligned = aligned_bursts(
        table["gm_offset"], count, length + table["gm_gap"], model.aligned_bytes
    )
    unaligned = count - aligned
    transfer = (aligned + unaligned / soc.gm_unaligned_rate) * length / rate
    setup = np.full(len(table), model.copy_overhead_bytes / rate)
    transposed = count * length * UB_ALIGN / model.ub_copy_bytes_per_cycle / clock
    filled = np.ceil(length / model.vector_bytes_per_cycle) / clock
    duration = np.select(
        [kind == TRANSPOSE, np.isin(kind, (FILL_ZERO, VECTOR)), kind == LOAD_SCALAR],
        [transposed, filled, _scalar_costs(table, model)],
        default=0.0,
    )
    zero = np.zeros(len(table))
    return _Costs(np.where(dma, setup, zero), np.where(dma, transfer, zero), duration)


def schedule(trace: MachineTrace, soc: SocInfo, model: CostModel | None = None) -> Timeline:
    """Place every recorded op on a time axis (the list scheduling of the module docstring).

    One step per recorded op (not per byte or token): the cost of a trace is its length.
    """
    model = model or CostModel()
    table = trace.table()
    costs = _costs(table, model, soc) if len(table) else None
    starts = np.zeros(len(table))
    ends = np.zeros(len(table))
    busy = np.zeros(len(table), dtype=bool)
    pipes = len(PIPES)
    free = [0.0] * pipes
    issue = 0.0
    channel = _Channel()
    fired: dict[tuple[int, int, int], deque[float]] = {}
    core = -1
    if costs is None:
        return Timeline(trace, np.zeros(0, dtype=np.int64), starts, ends, model, 0.0, 1.0)
    columns = zip(
        table["core"].tolist(),
        table["kind"].tolist(),
        table["pipe"].tolist(),
        table["peer"].tolist(),
        table["event"].tolist(),
        costs.setup.tolist(),
        costs.transfer.tolist(),
        costs.duration.tolist(),
        strict=True,
    )
    for index, (row_core, kind, pipe, peer, event, setup, transfer, duration) in enumerate(columns):
        if row_core != core:
            core, free, issue, channel, fired = row_core, [0.0] * pipes, 0.0, _Channel(), {}
        if kind == SET_FLAG:
            fired.setdefault((pipe, peer, event), deque()).append(max(free[pipe], issue))
        elif kind == WAIT_FLAG:
            queue = fired.get((peer, pipe, event))
            if queue:  # the machine already rejected unmatched waits
                free[pipe] = max(free[pipe], queue.popleft())
        elif kind == PIPE_BARRIER:
            issue = max(issue, *free)
            free = [issue] * pipes
        else:
            start = max(free[pipe], issue)
            if kind == LOAD or kind == STORE:
                end = channel.place(start + setup, transfer)
                channel.forget_before(min(free[_MTE2], free[_MTE3], end))
            else:
                end = start + duration
            free[pipe] = end
            starts[index], ends[index] = start, end
            busy[index] = True
            if kind == LOAD_SCALAR:
                issue = end
    rows = np.flatnonzero(busy)
    return Timeline(
        trace,
        rows,
        starts[rows],
        ends[rows] - starts[rows],
        model,
        model.core_bytes_per_ns(soc),
        soc.hbm_bytes_per_s / 1e9,
    )


def _event_name(row: np.ndarray, tensors: tuple[str, ...]) -> str:
    kind = TRACE_KINDS[int(row["kind"])]
    tensor = int(row["tensor"])
    return f"{kind} {tensors[tensor]}" if tensor >= 0 else kind


def _event_args(row: np.ndarray, tensors: tuple[str, ...]) -> dict[str, Any]:
    kind = int(row["kind"])
    args: dict[str, Any] = {"op": int(row["op"])}
    if kind in (LOAD, STORE):
        args.update(
            tensor=tensors[int(row["tensor"])],
            gm_offset=int(row["gm_offset"]),
            bursts=int(row["n_burst"]),
            burst_bytes=int(row["burst_len"]),
            gm_gap=int(row["gm_gap"]),
            slot=int(row["slot"]),
            bytes=int(row["n_burst"]) * int(row["burst_len"]),
        )
    elif kind == TRANSPOSE:
        args.update(rows=int(row["n_burst"]), cols=int(row["burst_len"]), slot=int(row["slot"]))
    elif kind == FILL_ZERO:
        args.update(bytes=int(row["burst_len"]), slot=int(row["slot"]))
    elif kind == VECTOR:
        elements, nbytes = int(row["n_burst"]), int(row["burst_len"])
        args.update(elements=elements, bytes=nbytes, slot=int(row["slot"]))
    elif kind == LOAD_SCALAR:
        args.update(tensor=tensors[int(row["tensor"])], gm_offset=int(row["gm_offset"]))
    return args


def _metadata(cores: list[int], pipes_by_core: dict[int, set[str]]) -> Iterator[dict[str, Any]]:
    for core in cores:
        yield {"ph": "M", "name": "process_name", "pid": core, "args": {"name": f"core {core}"}}
        yield {"ph": "M", "name": "process_sort_index", "pid": core, "args": {"sort_index": core}}
        for pipe in TRACK_ORDER:
            if pipe not in pipes_by_core[core]:
                continue
            tid = PIPE_TID[pipe]
            yield {
                "ph": "M",
                "name": "thread_name",
                "pid": core,
                "tid": tid,
                "args": {"name": TRACK_LABELS[pipe]},
            }
            yield {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": core,
                "tid": tid,
                "args": {"sort_index": tid},
            }


def chrome_trace(timeline: Timeline, soc: SocInfo) -> dict[str, Any]:
    """The timeline as a Chrome Trace Event JSON object (times in microseconds)."""
    table = timeline.trace.table()
    tensors = timeline.trace.tensors
    events: list[dict[str, Any]] = []
    pipes_by_core: dict[int, set[str]] = {}
    for index, start, duration in zip(
        timeline.rows.tolist(),
        timeline.start_ns.tolist(),
        timeline.duration_ns.tolist(),
        strict=True,
    ):
        row = table[index]
        core = int(row["core"])
        pipe = PIPES[int(row["pipe"])].value
        pipes_by_core.setdefault(core, set()).add(pipe)
        events.append(
            {
                "name": _event_name(row, tensors),
                "cat": pipe,
                "ph": "X",
                "pid": core,
                "tid": PIPE_TID[pipe],
                # Both ends rounded alike, so an op that starts when the one before it
                # on its pipe ends does not appear to start before it.
                "ts": round(start / 1e3, 6),
                "dur": round(round((start + duration) / 1e3, 6) - round(start / 1e3, 6), 6),
                "args": _event_args(row, tensors),
            }
        )
    metadata = list(_metadata(sorted(pipes_by_core), pipes_by_core))
    return {
        "traceEvents": metadata + events,
        "displayTimeUnit": "ns",
        "otherData": {
            "generator": "pakv (runtime/tool/timeline.py)",
            "soc": soc.name,
            "cost_model": asdict(timeline.model),
            "core_bytes_per_ns": timeline.core_bytes_per_ns,
            "makespan_us": timeline.makespan_ns / 1e3,
        },
    }


TRACE_BYTES_PER_EVENT = 210
"""About what one op event takes in the JSON (measured: 209 B on the seed example's Norm
trace, 192 B on its PA_NZ one); what a trace's size is estimated from before it is built."""


def estimated_trace_bytes(timeline: Timeline) -> int:
    """Roughly how large :func:`write_chrome_trace` will make the file, before building it."""
    return int(timeline.rows.size) * TRACE_BYTES_PER_EVENT


def write_chrome_trace(path: Path, timeline: Timeline, soc: SocInfo) -> int:
    """Write the trace JSON to ``path``; returns the number of op events written."""
    document = chrome_trace(timeline, soc)
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    return int(timeline.rows.size)
