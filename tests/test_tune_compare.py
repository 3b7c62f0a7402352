"""``pakv tune``, ``pakv explain --compare`` and tuned options at the host API.

The comparisons are checked against the plans they run: each row's modelled time is
what the cost model makes of that plan's own trace, the roofline is the payload read
and written at the SoC's HBM rate, PAKV / best vendor is the quotient of the rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import runtime
from pakv_dialect import ascend
from passes.strategy import VENDOR_STRATEGIES
from runtime.host import lowered
from runtime.tool import cli
from runtime.tool.compare import Measurement, Workbench, compare_strategies, tune
from runtime.tool.program import compile_program, run_program
from runtime.tool.shape_spec import EXAMPLES, ShapeSpec
from runtime.tool.sources import from_spec
from runtime.tool.timeline import schedule
from runtime.tool.workload import gather_call, random_inputs

SMALL = ShapeSpec(mode="PA_NZ", soc="Ascend910B", batch=3, num_blocks=12, table_width=4,
                  block_size=16, heads=2, head_size=48, num_tokens=90)  # fmt: skip


def bench_of(spec: ShapeSpec) -> Workbench:
    source = from_spec(spec, "test", "test")
    inputs = random_inputs(source.gather_operands, spec.run_sizes, np.random.default_rng(5))
    return Workbench(source, spec.soc, inputs)


def test_compare_models_every_strategy_on_the_same_data():
    bench = bench_of(SMALL)
    comparison = compare_strategies(bench)
    assert [v.label for v in comparison.vendors] == [s.value for s in VENDOR_STRATEGIES]
    measured = [comparison.pakv, *comparison.vendors]
    assert all(isinstance(m, Measurement) and m.passed for m in measured)
    # Each row is the model of that plan's own run, re-derived here.
    source = bench.source
    for entry in measured:
        assert isinstance(entry, Measurement)
        program = compile_program(source, SMALL.soc, entry.options)
        data = {role: array.copy() for role, array in bench.inputs.items()}
        call = gather_call(data, source.gather_operands, SMALL.soc)
        assert call is not None
        timeline = schedule(run_program(program, call).trace, bench.soc_info)
        assert entry.makespan_ns == pytest.approx(timeline.makespan_ns)
    payload = sum(bench.inputs[r][: int(bench.inputs["seq_lens"].sum())].nbytes
                  for r in ("key_out", "value_out"))  # fmt: skip
    assert comparison.pakv.roofline_ns == pytest.approx(2 * payload / 1.6e3)
    best = min((v for v in comparison.vendors if isinstance(v, Measurement)),
               key=lambda m: m.makespan_ns)  # fmt: skip
    assert comparison.speedup == pytest.approx(best.makespan_ns / comparison.pakv.makespan_ns)


def test_tune_ranks_the_plans_it_measured_and_checks_the_winner():
    tuning = tune(bench_of(SMALL))
    times = [m.makespan_ns for m in tuning.ranked]
    assert times == sorted(times)
    assert tuning.best.passed and tuning.default in tuning.ranked
    assert tuning.best.makespan_ns <= tuning.default.makespan_ns
    assert any("cores=" in m.options for m in tuning.ranked)  # fewer cores were tried


def test_tune_and_compare_on_the_command_line(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["tune", "--example", "seed-hand"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Best plan for example seed-hand on Ascend910B")
    assert "searched" in out and "us" in out
    assert cli.main(["explain", "--example", "seed-hand", "--compare"]) == 0
    out = capsys.readouterr().out
    for strategy in ("pakv", *[s.value for s in VENDOR_STRATEGIES]):
        assert f"\n  {strategy} " in out
    assert "HBM roofline:" in out and "PAKV / best vendor:" in out


def test_a_strategy_runs_from_the_command_line(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["run", "--example", "seed-hand", "--strategy", "a2"]) == 0
    assert capsys.readouterr().out.startswith("PASS")
    assert (
        cli.main(["run", "--example", "seed", "--mode", "PA_NZ", "--options", "nz=sideways"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nz=sideways names nothing" in err


def _call_args() -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    inputs = EXAMPLES["seed-hand"].data
    assert inputs is not None
    data = inputs()
    roles = ("key_cache", "value_cache", "block_tables", "seq_lens", "key_out", "value_out",
             "seq_offset")  # fmt: skip
    return [data[r] for r in roles], data


def _tile_slots(run: lowered.LoweredRun | None) -> tuple[int, int]:
    assert run is not None
    (tile,) = [op for op in run.kernel.module.walk()
               if isinstance(op, ascend.UbAllocOp) and op.purpose.data == "tile"]  # fmt: skip
    return tile.slots, tile.slot_bytes


def test_the_api_lowers_with_tuned_options_as_part_of_the_kernels_key():
    args, data = _call_args()
    golden = [array.copy() for array in args]
    runtime.golden_gather(*golden, cache_mode="Norm", cumsum=False)
    runtime.gather_pa_kv_cache(*args, options=" slots=1   tile-bytes=64 ")
    assert data["key_out"].tobytes() == golden[4].tobytes()
    assert data["value_out"].tobytes() == golden[5].tobytes()
    run = lowered.last_run()
    assert run is not None and run.kernel.signature.options == "slots=1 tile-bytes=64"
    assert _tile_slots(run) == (1, 64)
    runtime.gather_pa_kv_cache(*args)  # the default plan: its own kernel
    assert _tile_slots(lowered.last_run())[0] == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("nz=sideways", "nz=sideways names nothing"),
        ("slots=9 tile-bytes=65536", "UB plan does not fit"),
        ("soc=Ascend910_95", "give the SoC with soc="),
        ("bogus=1", "bogus"),
    ],
)
def test_options_the_lowering_refuses_are_161002_and_write_nothing(options: str, message: str):
    args, data = _call_args()
    before = data["key_out"].copy()
    with pytest.raises(runtime.AclnnError, match=message) as error:
        runtime.gather_pa_kv_cache(*args, options=options)
    assert error.value.status == runtime.ACLNN_ERR_PARAM_INVALID
    assert np.array_equal(data["key_out"], before)


EXAMPLES_DIR = Path(__file__).parent.parent / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.mlir"))
"""The examples (``examples/errors/`` holds the ones that show an error on purpose)."""


QUANT_EXAMPLE = EXAMPLES_DIR / "scatter_quant_example.mlir"
TUNED_EXAMPLES = [
    pytest.param(
        path,
        id=path.stem,
        marks=[
            pytest.mark.skip(
                reason="the CLI has no workload for a quantising scatter's parameters yet "
                "(pakv run skips it too: tests/test_cli.py)"
            )
        ]
        if path == QUANT_EXAMPLE
        else [],
    )
    for path in EXAMPLE_FILES
]


@pytest.mark.parametrize("path", TUNED_EXAMPLES)
def test_tune_runs_on_every_example(path: Path, capsys: pytest.CaptureFixture[str]):
    """``pakv tune FILE`` on each example: a best plan, checked against the golden, no
    slower by the model than the default, and the API call that takes it."""
    assert cli.main(["tune", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Best plan for {path}:")
    assert "outputs equal the golden reference bit for bit" in out
    times = re.search(r"modelled ([\d.]+) us.*the default plan models ([\d.]+) us", out)
    assert times is not None and float(times[1]) <= float(times[2])
    api = "scatter_pa_kv_cache" if "scatter" in path.stem else "gather_pa_kv_cache"
    assert f"{api}(..., options=" in out


def test_tune_on_the_bad_example_is_one_located_line(capsys: pytest.CaptureFixture[str]):
    bad = EXAMPLES_DIR / "errors" / "bad.mlir"
    assert cli.main(["tune", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"{bad}:")
