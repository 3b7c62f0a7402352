"""The ``pakv`` command: every subcommand on the examples, and bad input as one clean line.

Most tests call ``runtime.tool.cli.main(argv)`` in-process (it returns the exit status and
never lets an input error escape as an exception); a few run the installed console
script in a subprocess to check what a user's terminal shows: one line, no traceback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT
from gather_cases import c_example_expected

from pakv_dialect import ascend
from runtime.call import API_NAMES, GatherCall
from runtime.host.lowered import LoweredRun, lowering_context
from runtime.interpreter.machine import LOAD, STORE
from runtime.tool import cli
from runtime.tool.program import CompiledProgram, compile_program, run_program
from runtime.tool.shape_spec import EXAMPLES
from runtime.tool.sources import LocatingParser, from_spec, read_file
from runtime.tool.workload import gather_call

SEED_FILE = REPO_ROOT / "examples" / "seed_example.mlir"
"""SPEC section 6's shape example; it names soc = "Ascend910B"."""
EXAMPLE_FILES = sorted((REPO_ROOT / "examples").glob("*.mlir"))
SMALL_FILES = [path for path in EXAMPLE_FILES if path != SEED_FILE]
"""Examples cheap enough to run in every test (seed_example.mlir moves 155 MB)."""


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLE_FILES} >= {"seed_example.mlir", "seed_hand_example.mlir"}


@pytest.mark.parametrize(
    ("name", "file"), [("seed", "seed_example.mlir"), ("seed-hand", "seed_hand_example.mlir")]
)
def test_example_files_spell_the_presets(name: str, file: str) -> None:
    """``--example NAME`` and the MLIR example file describe the same op (SPEC section 6)."""
    preset = from_spec(EXAMPLES[name].spec, f"example {name}", name)
    assert read_file(REPO_ROOT / "examples" / file).operands == preset.operands


# --------------------------------------------------------------------------- compile


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_compile_writes_kernel_source_and_lowered_ir(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(["compile", str(path), "-o", str(out)], capsys)
    assert (status, stderr) == (0, "")
    cpp, lowered_ir = out / "pakv_gather.cpp", out / "pakv_gather.lowered.mlir"
    assert sorted(out.iterdir()) == sorted([cpp, lowered_ir])
    source = cpp.read_text()
    assert 'extern "C" __global__ __aicore__' in source  # the device entry
    assert "<<<" in source  # the host launcher
    lowered = LocatingParser(lowering_context(), lowered_ir.read_text(), "lowered").parse_module()
    lowered.verify()
    allocs = [op for op in lowered.walk() if isinstance(op, ascend.UbAllocOp)]
    assert allocs
    for alloc in allocs:  # the summary's UB plan is the lowered IR's
        assert f"{alloc.purpose.data} {alloc.slots} x {alloc.slot_bytes} B at " in stdout
        assert f"at {alloc.planned_offset}" in stdout
    assert f"wrote {cpp}" in stdout and f"wrote {lowered_ir}" in stdout


def test_compile_of_a_dynamic_flag_built_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compile", "--mode", "PA_NZ", "--dtype", "bf16", "--heads", "4", "--head-size"]
    argv += ["64", "--dynamic", "--cumsum", "-o", str(tmp_path)]
    status, stdout, _ = run_cli(argv, capsys)
    assert status == 0
    text = (tmp_path / "pakv_gather.lowered.mlir").read_text()
    assert "memref<?x?xi32" in text  # block_tables stays dynamic
    assert "ascend.transpose_blocks" in text
    assert "compiled @pakv_gather (shape flags) for Ascend910B" in stdout


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("path", SMALL_FILES, ids=lambda p: p.name)
def test_run_passes_on_the_examples(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, stderr = run_cli(["run", str(path), "--seed", "3"], capsys)
    assert (status, stderr) == (0, "")
    assert stdout.startswith("PASS")
    for field in ("tokens", "bytes", "DMAs", "ops", "time"):
        assert re.search(rf"^  {field}\s", stdout, re.MULTILINE), field


def test_run_of_the_seed_example_reports_its_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["run", "--example", "seed"], capsys)
    assert status == 0 and stdout.startswith("PASS")
    # SPEC section 6: 8931 tokens of 16 sequences; each token 16 x (144 + 128) fp16.
    assert "8931 of 8931 rows, 16 sequences" in stdout
    moved = 2 * 8931 * 16 * (144 + 128) * 2
    assert f"{moved / 1e6:.2f} MB moved" in stdout


def test_the_c_example_writes_what_spec_section_6_works_out() -> None:
    example = EXAMPLES["seed-hand"]
    assert example.data is not None
    source = from_spec(example.spec, "example seed-hand", "seed-hand")
    program = compile_program(source, "Ascend910B")
    inputs = example.data()
    call = gather_call(inputs, source.operands, "Ascend910B")
    assert call is not None
    run_program(program, call)
    expected_key, expected_value = c_example_expected()
    np.testing.assert_array_equal(inputs["key_out"], expected_key)
    np.testing.assert_array_equal(inputs["value_out"], expected_value)


def test_run_with_shape_flags_and_dynamic_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--mode", "PA_NZ", "--dtype", "int8", "--value-dtype", "fp16"]
    argv += ["--soc", "Ascend910_95", "--cumsum", "--offsets", "--dynamic", "--batch", "3"]
    argv += ["--num-tokens", "70", "--index-dtype", "int64", "--heads", "2", "--head-size", "32"]
    status, stdout, _ = run_cli(argv, capsys)
    assert status == 0 and stdout.startswith("PASS")
    assert "70 of 70 rows, 3 sequences" in stdout


def test_an_empty_call_passes_without_a_launch(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["run", "--dynamic", "--num-tokens", "0"], capsys)
    assert status == 0
    assert stdout.startswith("PASS") and "empty call" in stdout
    assert "tiles" not in stdout  # nothing ran


def test_run_on_npy_files_named_by_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = EXAMPLES["seed-hand"].data
    assert data is not None
    for role, array in data().items():
        name = API_NAMES[role] if role.startswith("key") else role  # both spellings work
        np.save(tmp_path / f"{name}.npy", array)
    argv = ["run", str(REPO_ROOT / "examples" / "seed_hand_example.mlir"), "--data", str(tmp_path)]
    status, stdout, _ = run_cli(argv, capsys)
    assert status == 0 and stdout.startswith("PASS")
    assert "12 of 12 rows, 4 sequences" in stdout


def test_run_reports_fail_when_outputs_differ(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cli.run_program

    def corrupting(program: CompiledProgram, call: GatherCall) -> LoweredRun:
        run = real(program, call)
        call.value_out.bytes[0] ^= 0xFF  # one byte of row 0
        return run

    monkeypatch.setattr(cli, "run_program", corrupting)
    status, stdout, _ = run_cli(["run", "--example", "seed-hand"], capsys)
    assert status == cli.EXIT_FAIL
    assert stdout.startswith("FAIL") and "value_out 1 row(s)" in stdout and "key_out 0" in stdout


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, stderr = run_cli(["run", "--example", "seed-hand", "--progress"], capsys)
    assert status == 0 and stdout.startswith("PASS")
    assert "pakv: lowering pakv_gather for Ascend910B" in stderr
    assert "pakv: running 12 core(s) in the interpreter" in stderr


# --------------------------------------------------------------------------- explain


def test_explain_reads_the_plan_from_the_ir_and_the_trace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = REPO_ROOT / "examples" / "seed_nz_example.mlir"
    argv = ["explain", str(path), "--batch", "3", "--num-tokens", "90", "--seed", "5"]
    status, stdout, _ = run_cli(argv, capsys)
    assert status == 0

    # The same launch through the library: its IR and trace are what the text must say.
    source = read_file(path)
    program = compile_program(source, "Ascend910_95")
    for alloc in (op for op in program.kernel.walk() if isinstance(op, ascend.UbAllocOp)):
        offset = alloc.planned_offset
        assert offset is not None
        row = f"{offset:>8} {offset + alloc.size:>8} {alloc.size:>8}"
        assert re.search(
            rf"{row}\s+{alloc.slots} x {alloc.slot_bytes}\s+{alloc.purpose.data}", stdout
        )
    args = cli.build_parser().parse_args(argv)
    inputs = cli.make_inputs(args, source, None, cli.Phases())
    call = gather_call(inputs, source.operands, "Ascend910_95")
    assert call is not None
    table = run_program(program, call).trace.table()
    loads, stores = (int((table["kind"] == kind).sum()) for kind in (LOAD, STORE))
    assert f"Totals: {loads} loads" in stdout and f", {stores} stores" in stdout
    tiling = call.tiling()
    assert f"{tiling.split_tokens} rows over {tiling.used_cores} of 64 cores" in stdout
    assert "transposed" in stdout  # PA_NZ tiles are transposed in UB


def test_explain_of_the_seed_example(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["explain", "--example", "seed", "--num-blocks", "16"], capsys)
    assert status == 0
    assert "8931 rows over 40 of 40 cores, 223..224 rows each" in stdout
    assert "'tile': 2 slots" in stdout


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    seed = (REPO_ROOT / "examples" / "seed_example.mlir").read_text()
    files = {
        "parse": seed.replace("pakv.gather Norm", "pakv.gather Normal"),
        "verify": seed.replace("memref<16xi32>", "memref<15xi32>"),
        "dtype": seed.replace("xf16", "xi16"),
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.mlir"
        paths[name].write_text(text)
    return paths


def op_line(path: Path) -> int:
    """1-based line of the pakv.gather op in ``path``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "pakv.gather" in line)


def assert_one_line_error(status: int, stdout: str, stderr: str, *needles: str) -> None:
    assert status == cli.EXIT_INPUT
    assert stdout == ""
    assert len(stderr.splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)


def test_parse_error_names_file_line_and_column(
    bad_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_files["parse"]
    status, out, err = run_cli(["run", str(path)], capsys)
    column = path.read_text().splitlines()[op_line(path) - 1].index("Normal") + 1
    assert_one_line_error(status, out, err, f"{path}:{op_line(path)}:{column}: error:", "Norm")


def test_verifier_error_is_located_at_the_op(
    bad_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_files["verify"]
    status, out, err = run_cli(["compile", str(path), "-o", str(path.parent / "o")], capsys)
    assert_one_line_error(status, out, err, f"{path}:{op_line(path)}:3: error: seq_lens dim 0")
    assert not (path.parent / "o").exists()  # nothing written


def test_unsupported_dtype_on_the_soc(
    bad_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_files["dtype"]
    status, out, err = run_cli(["explain", str(path)], capsys)
    assert_one_line_error(status, out, err, f"{path}:{op_line(path)}:3:", "int16", "Ascend910B")


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["run", "missing.mlir"], ["cannot read missing.mlir"]),
        (["run", "--example", "seed-hand", "--soc", "Ascend310"], ["--soc", "not supported"]),
        (["run", "--example", "seed-hand", "--soc", "Ascend9"], ["--soc", "invalid choice"]),
        (["run", "--example", "seed-hand", "--dtype", "int16"], ["int16", "Ascend910B"]),
        (["run", "--example", "seed-hand", "--batch", "two"], ["--batch", "invalid int"]),
        (["run", "--example", "seed-hand", "--frobnicate"], ["unrecognized", "--frobnicate"]),
        (["explain", "--example", "nope"], ["--example", "invalid choice"]),
        (["run", "--mode", "PA_NZ", "--head-size", "3", "--heads", "1"], ["PA_NZ", "32-byte"]),
        (["run", "--example", "seed-hand", "--tile-bytes", "40"], ["tile-bytes", "multiple of 32"]),
        (["compile", str(SMALL_FILES[0]), "--mode", "PA_NZ"], ["--mode", "FILE fixes"]),
        (["run", str(SMALL_FILES[0]), "--example", "seed"], ["FILE or --example"]),
        (["run", "--example", "seed-hand", "--data", "no/such/dir"], ["--data", "not a directory"]),
        (
            ["run", "--example", "seed-hand", "--trace", "no/dir/t.json"],
            ["--trace", "no directory"],
        ),
        (["run", str(SEED_FILE), "--soc", "Ascend910_95"], ['soc = "Ascend910B"']),
        ([], ["required"]),
    ],
)
def test_bad_command_lines(
    argv: list[str], needles: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(argv, capsys)
    assert_one_line_error(status, out, err, *needles)


def test_data_the_host_checks_reject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = EXAMPLES["seed-hand"].data
    assert data is not None
    for role, array in data().items():
        if role == "block_tables":
            array = np.full_like(array, 7)  # block id past num_blocks = 2
        np.save(tmp_path / f"{role}.npy", array)
    status, out, err = run_cli(["run", "--example", "seed-hand", "--data", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "161002", "blockTables[0, 1]", "[0, 2)")


def test_data_with_the_wrong_dtype(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "key_cache.npy", np.ones((2, 2, 32, 2), np.float32))
    status, out, err = run_cli(["run", "--example", "seed-hand", "--data", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "key_cache.npy", "float32", "fp16")


def _console() -> list[str]:
    script = Path(sys.executable).parent / "pakv"
    found = str(script) if script.exists() else shutil.which("pakv")
    return [found] if found else [sys.executable, "-m", "runtime.tool.cli"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "no_such_file.mlir"],
        ["run", "--example", "seed-hand", "--soc", "Ascend999"],
        ["compile", "--example", "seed-hand", "--tile-bytes", "31"],
    ],
)
def test_the_console_script_prints_one_line_and_no_traceback(argv: list[str]) -> None:
    done = subprocess.run(
        [*_console(), *argv], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == cli.EXIT_INPUT
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr


def test_parse_error_in_the_console_script(bad_files: dict[str, Path]) -> None:
    path = bad_files["parse"]
    done = subprocess.run(
        [*_console(), "run", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == cli.EXIT_INPUT
    assert done.stderr.startswith(f"{path}:{op_line(path)}:")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
