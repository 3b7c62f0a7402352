"""The interpreter's per-core trace as a timeline: a cost model and Chrome Trace Event JSON.

The machine records *what* each core did (``runtime.interpreter.trace``), in issue order,
but not *when*: it runs the cores one after another on the host. This module puts the
recorded ops on a time axis with a deliberately simple model, then writes the Chrome
Trace Event format, which Perfetto (ui.perfetto.dev) and ``chrome://tracing`` open:
one process per core, one thread per pipe (S, V, MTE2, MTE3), one complete ("X")
event per op, so the double-buffered pipeline is visible at a glance.

Cost model (:class:`CostModel`; every number is a parameter, not a measurement)
------------------------------------------------------------------------------------
* A DMA (``load`` on MTE2, ``store`` on MTE3) lasts
  ``bytes / pipe_bandwidth + bursts * burst_overhead``. A core's share of GM
  bandwidth is the SoC's HBM bandwidth (SPEC section 4 table, ``SocInfo``) divided
  evenly by its vector cores, and MTE2 and MTE3 share it (SPEC section 5): in the
  double-buffered steady state both pipes are busy, so each runs at half the core's
  share. The modelled traffic therefore never exceeds the HBM roofline; a pipe that
  runs alone is modelled pessimistically (it could take the whole share).
* A vector op (``transpose_blocks``, ``fill_zero``, a Compute-stage ``vcast`` /
  ``vscalar`` / ``vrows`` by the bytes it writes) moves its bytes through the vector
  unit at ``vector_bytes_per_ns``; a scalar GM read (``load_scalar``) takes
  ``scalar_read_ns``.

Schedule (a list scheduling over the recorded order)
----------------------------------------------------
Every core starts at time 0. Each pipe runs its ops in the order they were issued,
one at a time. The scalar unit issues ops in program order and stalls on its own GM
reads (later ops may depend on the value), so no op starts before the last scalar
read before it has finished. ``set_flag[P, Q, e]`` fires when every op issued to P
before it has finished; ``wait_flag[P, Q, e]`` holds pipe Q until the matching set
(first in, first out, as the machine pairs them) has fired. Flags take no time. Hence
with two UB slots the load of tile n + 1 (MTE2) runs while tile n is stored (MTE3),
and with one slot it cannot: the exported timeline shows exactly what the flags allow.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pakv_dialect.ascend import UB_ALIGN
from pakv_dialect.soc import SocInfo
from runtime.interpreter.trace import (
    FILL_ZERO,
    LOAD,
    LOAD_SCALAR,
    PIPES,
    SET_FLAG,
    STORE,
    TRACE_KINDS,
    TRANSPOSE,
    VECTOR,
    WAIT_FLAG,
    MachineTrace,
)

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
    """The parameters of the timeline (see the module docstring)."""

    burst_overhead_ns: float = 20.0
    """Fixed cost of one DMA burst (descriptor and GM transaction set-up)."""
    vector_bytes_per_ns: float = 256.0
    """Vector unit throughput for block transposes, zero fills and Compute-stage ops."""
    scalar_read_ns: float = 100.0
    """Latency of one scalar read from GM (a block-table or length entry)."""

    def core_bytes_per_ns(self, soc: SocInfo) -> float:
        """A vector core's even share of the SoC's HBM bandwidth, in bytes per ns."""
        return soc.hbm_bytes_per_s / soc.vector_cores / 1e9

    def dma_pipe_bytes_per_ns(self, soc: SocInfo) -> float:
        """What one DMA pipe (MTE2 or MTE3) gets: half the core's share, the other
        half going to the other pipe."""
        return self.core_bytes_per_ns(soc) / 2


@dataclass(frozen=True)
class Timeline:
    """Start and duration (ns) of every trace row that occupies a pipe.

    ``rows`` indexes ``trace.table()``; flag rows are not in it (they take no time).
    """

    trace: MachineTrace
    rows: np.ndarray
    start_ns: np.ndarray
    duration_ns: np.ndarray
    model: CostModel
    core_bytes_per_ns: float

    @property
    def makespan_ns(self) -> float:
        """When the last op of the slowest core ends: the modelled kernel time."""
        if self.rows.size == 0:
            return 0.0
        return float((self.start_ns + self.duration_ns).max())


def _durations(table: np.ndarray, model: CostModel, bytes_per_ns: float) -> np.ndarray:
    """Duration in ns of every row by its kind (flags: 0), vectorised."""
    kind = table["kind"]
    moved = table["n_burst"] * table["burst_len"]
    dma = moved / bytes_per_ns + table["n_burst"] * model.burst_overhead_ns
    transposed = table["n_burst"] * table["burst_len"] * UB_ALIGN / model.vector_bytes_per_ns
    zeroed = table["burst_len"] / model.vector_bytes_per_ns
    return np.select(
        [
            np.isin(kind, (LOAD, STORE)),
            kind == TRANSPOSE,
            np.isin(kind, (FILL_ZERO, VECTOR)),
            kind == LOAD_SCALAR,
        ],
        [dma, transposed, zeroed, np.full(kind.shape, model.scalar_read_ns)],
        default=0.0,
    )


def schedule(trace: MachineTrace, soc: SocInfo, model: CostModel | None = None) -> Timeline:
    """Place every recorded op on a time axis (the list scheduling of the module docstring).

    One step per recorded op (not per byte or token): the cost of a trace is its length.
    """
    model = model or CostModel()
    bytes_per_ns = model.dma_pipe_bytes_per_ns(soc)
    table = trace.table()
    durations = _durations(table, model, bytes_per_ns) if len(table) else np.zeros(0)
    starts = np.zeros(len(table))
    busy = np.zeros(len(table), dtype=bool)
    free = [0.0] * len(PIPES)
    issue = 0.0
    fired: dict[tuple[int, int, int], deque[float]] = {}
    core = -1
    columns = zip(
        table["core"].tolist(),
        table["kind"].tolist(),
        table["pipe"].tolist(),
        table["peer"].tolist(),
        table["event"].tolist(),
        durations.tolist(),
        strict=True,
    )
    for index, (row_core, kind, pipe, peer, event, duration) in enumerate(columns):
        if row_core != core:
            core, free, issue, fired = row_core, [0.0] * len(PIPES), 0.0, {}
        if kind == SET_FLAG:
            fired.setdefault((pipe, peer, event), deque()).append(max(free[pipe], issue))
        elif kind == WAIT_FLAG:
            queue = fired.get((peer, pipe, event))
            if queue:  # the machine already rejected unmatched waits
                free[pipe] = max(free[pipe], queue.popleft())
        else:
            start = max(free[pipe], issue)
            free[pipe] = start + duration
            starts[index] = start
            busy[index] = True
            if kind == LOAD_SCALAR:
                issue = free[pipe]
    rows = np.flatnonzero(busy)
    return Timeline(trace, rows, starts[rows], durations[rows], model, bytes_per_ns)


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
                "ts": round(start / 1e3, 6),
                "dur": round(duration / 1e3, 6),
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
