"""``pakv compile / run / explain`` on a ``pakv.scatter`` file (examples/scatter_example.mlir).

Each command is run in-process through ``runtime.tool.cli.main`` and judged by its exit
status and what it prints; ``run --save`` writes the caches, which are compared with
the golden reference computed here from the same ``--data`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from host_compiler import needs_compiler

from runtime.golden import golden_caches
from runtime.tool import cli
from runtime.tool.scatter_workload import ScatterOperands, random_inputs
from runtime.tool.sources import read_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "scatter_example.mlir"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main([*argv, "--quiet"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_compile_writes_the_kernel_and_the_lowered_ir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    status, out, _ = run_cli(["compile", str(EXAMPLE), "-o", str(tmp_path)], capsys)
    assert status == 0
    assert "compiled @pakv_scatter" in out
    source = (tmp_path / "pakv_scatter.cpp").read_text()
    assert "ComputeScatterTiling" in source and "GetValue(token + count)" in source
    assert 'ascend.tiling = "scatter"' in (tmp_path / "pakv_scatter.lowered.mlir").read_text()


def test_run_passes_and_reports_the_skipped_padding(capsys: pytest.CaptureFixture[str]):
    status, out, _ = run_cli(["run", str(EXAMPLE), "--num-tokens", "200", "--seed", "3"], capsys)
    assert status == 0, out
    assert "PASS" in out and "keyCache and valueCache equal the golden reference" in out
    placed = int(out.split("tokens   ")[1].split()[0])
    skipped = int(out.split("(")[2].split()[0])
    assert placed + skipped == 200 and skipped <= 25


def test_run_with_data_files_saves_the_golden_caches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """``--data`` in, ``--save`` out: the saved caches are the golden's, computed here."""
    source = read_file(EXAMPLE)
    assert isinstance(source.operands, ScatterOperands)
    inputs = random_inputs(source.operands, 40, 8, np.random.default_rng(5))
    data = tmp_path / "data"
    data.mkdir()
    for role, array in inputs.items():
        np.save(data / f"{role}.npy", array)
    expected = golden_caches(inputs, cache_mode=source.operands.mode)
    saved = tmp_path / "saved"
    status, out, _ = run_cli(
        ["run", str(EXAMPLE), "--data", str(data), "--save", str(saved)], capsys
    )
    assert status == 0, out
    for role in ("key_cache", "value_cache"):
        got = np.load(saved / f"{role}.npy")
        assert got.tobytes() == expected[role].tobytes()


def test_explain_describes_the_scatter_plan(capsys: pytest.CaptureFixture[str]):
    status, out, _ = run_cli(["explain", str(EXAMPLE), "--num-tokens", "500"], capsys)
    assert status == 0, out
    assert "op: scatter (tokens -> caches), Norm, bf16, block_size 16" in out
    assert "This launch: num_tokens 500, num_blocks 32" in out
    assert "store key_cache" in out and "load  key " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "4"], "--batch: size a pakv.gather's sequences; a pakv.scatter has none"),
        (["--num-blocks", "-1"], "--num-blocks must be >= 0, got -1"),
    ],
)
def test_bad_flags_are_one_line_and_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    status, out, err = run_cli(["run", str(EXAMPLE), *argv], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_duplicate_slots_in_data_files_are_rejected_by_the_host_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    source = read_file(EXAMPLE)
    assert isinstance(source.operands, ScatterOperands)
    inputs = random_inputs(source.operands, 20, 8, np.random.default_rng(6))
    inputs["slot_mapping"][:2] = 7
    for role, array in inputs.items():
        np.save(tmp_path / f"{role}.npy", array)
    status, _, err = run_cli(["run", str(EXAMPLE), "--data", str(tmp_path)], capsys)
    assert status == 2
    assert "rejected by the host checks" in err and "slotMapping[1]" in err


@needs_compiler
def test_run_on_the_emitted_ascendc(capsys: pytest.CaptureFixture[str]):
    status, out, _ = run_cli(
        ["run", str(EXAMPLE), "--executor", "ascendc-host", "--num-tokens", "300"], capsys
    )
    assert status == 0, out
    assert "the emitted AscendC wrote the golden reference's bytes" in out
    assert "300 tokens on 40 core(s)" in out
