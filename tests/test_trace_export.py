"""The Chrome trace export: valid JSON, one process per core, the pipeline the flags allow.

Programs are built from shape flags (``runtime.tool.shape_spec``) and run in the interpreter
on random valid data; the exported timeline is then checked against the machine's
own trace (counts per core and pipe) and against the cost model's documented formula.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pakv_dialect.soc import soc_info
from runtime.host.lowered import LoweredRun
from runtime.interpreter.trace import LOAD, PIPES, STORE, TRANSPOSE
from runtime.tool.cli import main
from runtime.tool.program import compile_program, run_program
from runtime.tool.shape_spec import ShapeSpec
from runtime.tool.sources import from_spec
from runtime.tool.timeline import PIPE_TID, chrome_trace, schedule
from runtime.tool.workload import GatherOperands, gather_call, random_inputs


def launch(spec: ShapeSpec, options: str = "", seed: int = 0) -> LoweredRun:
    """Compile ``spec``, run it once on random valid data, return the run."""
    source = from_spec(spec, "shape flags", "test")
    program = compile_program(source, spec.soc, options)
    operands: GatherOperands = source.gather_operands
    inputs = random_inputs(operands, spec.run_sizes, np.random.default_rng(seed))
    call = gather_call(inputs, operands, spec.soc)
    assert call is not None
    return run_program(program, call)


ONE_CORE_LONG_RUN = ShapeSpec(
    soc="Ascend310B",  # one vector core: every tile on core 0
    block_size=64,
    heads=1,
    head_size=64,  # 128-byte fp16 tokens
    batch=1,
    num_blocks=4,
    table_width=2,
    num_tokens=100,
)
"""One sequence of 100 tokens in two runs; with 256-byte tiles, 50 tiles per stream."""


def exported(run: LoweredRun) -> dict:
    soc = soc_info(run.kernel.signature.soc)
    document = chrome_trace(schedule(run.trace, soc), soc)
    return json.loads(json.dumps(document))  # what a viewer reads back


def op_events(document: dict) -> list[dict]:
    return [e for e in document["traceEvents"] if e["ph"] == "X"]


def track(document: dict, pid: int, pipe: str) -> list[dict]:
    return [e for e in op_events(document) if e["pid"] == pid and e["tid"] == PIPE_TID[pipe]]


def test_processes_are_cores_and_counts_match_the_machine_trace() -> None:
    run = launch(ShapeSpec(batch=6, num_tokens=300, table_width=4, block_size=16))
    assert run.cores > 1
    document = exported(run)
    table = run.trace.table()
    events = op_events(document)
    assert {e["pid"] for e in events} == set(range(run.cores))
    names = {
        e["pid"]: e["args"]["name"]
        for e in document["traceEvents"]
        if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert names == {core: f"core {core}" for core in range(run.cores)}
    counted = Counter((e["pid"], e["tid"]) for e in events)
    for kind, pipe in ((LOAD, "MTE2"), (STORE, "MTE3")):
        per_core = np.bincount(table["core"][table["kind"] == kind], minlength=run.cores)
        for core in range(run.cores):
            assert counted[(core, PIPE_TID[pipe])] == per_core[core]
    dmas = int(np.isin(table["kind"], (LOAD, STORE)).sum())
    assert sum(1 for e in events if e["cat"] in ("MTE2", "MTE3")) == dmas


def test_every_track_runs_its_ops_one_after_another() -> None:
    run = launch(ShapeSpec(batch=5, num_tokens=200, table_width=4, block_size=16))
    document = exported(run)
    tracks = {(e["pid"], e["tid"]) for e in op_events(document)}
    for pid, tid in tracks:
        events = [e for e in op_events(document) if (e["pid"], e["tid"]) == (pid, tid)]
        starts = np.array([e["ts"] for e in events])
        ends = starts + np.array([e["dur"] for e in events])
        assert (np.diff(starts) >= 0).all()
        assert (starts[1:] >= ends[:-1] - 1e-9).all()  # one op at a time per pipe


def intervals(events: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    starts = np.array([e["ts"] for e in events])
    return starts, starts + np.array([e["dur"] for e in events])


def test_double_buffering_overlaps_the_next_load_with_this_store() -> None:
    run = launch(ONE_CORE_LONG_RUN, "tile-bytes=256")
    document = exported(run)
    loads, stores = track(document, 0, "MTE2"), track(document, 0, "MTE3")
    assert len(loads) == len(stores) >= 50  # Norm: one load and one store per tile
    load_start, load_end = intervals(loads)
    store_start, store_end = intervals(stores)
    # Load of tile n + 1 runs while tile n is stored.
    assert (load_start[1:] < store_end[:-1]).all()
    assert (store_start[:-1] < load_end[1:]).all()


def test_a_single_slot_serialises_load_and_store() -> None:
    run = launch(ONE_CORE_LONG_RUN, "slots=1 tile-bytes=256")
    document = exported(run)
    loads, stores = track(document, 0, "MTE2"), track(document, 0, "MTE3")
    load_start, _ = intervals(loads)
    _, store_end = intervals(stores)
    assert len(loads) == len(stores) >= 50
    assert (load_start[1:] >= store_end[:-1] - 1e-9).all()


def test_pa_nz_transposes_appear_on_the_vector_track() -> None:
    spec = ShapeSpec(
        mode="PA_NZ", dtype="int8", value_dtype="fp16", soc="Ascend910_95", batch=2,
        num_tokens=40, table_width=4, block_size=16, heads=2, head_size=64,
    )  # fmt: skip
    run = launch(spec, "nz=transpose")  # Ascend910_95's default is the 3-D copy
    document = exported(run)
    table = run.trace.table()
    vector = [e for e in op_events(document) if e["tid"] == PIPE_TID["V"]]
    assert len(vector) == int((table["kind"] == TRANSPOSE).sum()) > 0
    assert {e["cat"] for e in vector} == {"V"}
    assert set(PIPE_TID) == {pipe.value for pipe in PIPES}


def test_run_trace_flag_writes_a_loadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "trace.json"
    assert main(["run", "--example", "seed-hand", "--trace", str(out)]) == 0
    document = json.loads(out.read_text())
    events = op_events(document)
    stdout = capsys.readouterr().out
    assert f"{out}: {len(events)} events" in stdout
    assert {e["cat"] for e in events} >= {"MTE2", "MTE3"}
    assert document["otherData"]["soc"] == "Ascend910B"
