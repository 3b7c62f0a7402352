"""The ``pakv`` command: every subcommand on the examples, and bad input as one clean line.

Most tests call ``runtime.tool.cli.main(argv)`` in-process (it returns the exit status and
never lets an input error escape as an exception); a few run the installed console
script in a subprocess to check what a user's terminal shows: one line, no traceback.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT
from gather_cases import c_example_expected
from host_compiler import needs_compiler
from xdsl.xdsl_opt_main import xDSLOptMain

from pakv_dialect import ascend
from runtime.call import API_NAMES
from runtime.host.lowered import lowering_context
from runtime.interpreter.sequence import KernelLaunch
from runtime.interpreter.trace import LOAD, STORE
from runtime.tool import cli, opt
from runtime.tool.program import CompiledProgram, Phases, compile_program, run_program
from runtime.tool.progress import TerminalReporter
from runtime.tool.shape_spec import EXAMPLES, ShapeSpec
from runtime.tool.sources import LocatingParser, from_spec, read_file
from runtime.tool.workload import DEFAULT_SIZES, gather_call

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
    name = read_file(path).func_name  # the kernel and its files are named after it
    cpp, lowered_ir = out / f"{name}.cpp", out / f"{name}.lowered.mlir"
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


def test_the_readmes_bad_file_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``examples/errors/bad.mlir``, which the README shows: exit 2, its one line, and
    nothing written."""
    path = REPO_ROOT / "examples" / "errors" / "bad.mlir"
    status, stdout, stderr = run_cli(["compile", str(path), "-o", str(tmp_path / "out")], capsys)
    assert (status, stdout) == (2, "")
    assert stderr == f"{path}:4:3: error: seq_lens dim 0 must be batch = 2, got 3\n"
    assert not (tmp_path / "out").exists()


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
    call = gather_call(inputs, source.gather_operands, "Ascend910B")
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
    real = cli.run_launches

    def corrupting(program: CompiledProgram, inputs: dict[str, np.ndarray]) -> list[KernelLaunch]:
        launches = real(program, inputs)
        inputs["value_out"].view(np.uint8).reshape(-1)[0] ^= 0xFF  # one byte of row 0
        return launches

    monkeypatch.setattr(cli, "run_launches", corrupting)
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
    inputs = cli.make_inputs(args, source, None, cli.Phases(), "Ascend910_95")
    call = gather_call(inputs, source.gather_operands, "Ascend910_95")
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


# --------------------------------------------------------------------------- hardening


def test_a_negative_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["run", "--mode", "Norm", "--seed", "-1"], capsys)
    assert_one_line_error(status, out, err, "--seed", "expected an integer >= 0, got -1")


@pytest.mark.parametrize("command", ["compile", "run", "explain"])
def test_a_command_needs_an_op(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No FILE, --example or shape flag: an error, not a silently compiled default."""
    status, out, err = run_cli([command], capsys)
    assert_one_line_error(status, out, err, f"no op to {command}", "FILE", "--example")


def save_example_data(directory: Path, **replaced: np.ndarray) -> None:
    data = EXAMPLES["seed-hand"].data
    assert data is not None
    for role, array in {**data(), **replaced}.items():
        np.save(directory / f"{role}.npy", array)


def test_an_empty_npy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_example_data(tmp_path)
    (tmp_path / "seq_lens.npy").write_bytes(b"")
    status, out, err = run_cli(["run", "--example", "seed-hand", "--data", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "seq_lens.npy", "not a readable .npy file", "empty")


def test_two_files_for_one_operand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_example_data(tmp_path)
    (tmp_path / "keyCache.npy").write_bytes((tmp_path / "key_cache.npy").read_bytes())
    status, out, err = run_cli(["run", "--example", "seed-hand", "--data", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "key_cache.npy and keyCache.npy", "keep one")


def test_huge_lengths_in_data_files_are_161002_not_an_allocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No output files, dynamic num_tokens: the outputs would be sized by the lengths'
    total (2**40 rows); the host checks refuse the lengths before anything is allocated."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "key_cache.npy", rng.random((32, 16, 2, 32)).astype(np.float16))
    np.save(tmp_path / "value_cache.npy", rng.random((32, 16, 2, 32)).astype(np.float16))
    np.save(tmp_path / "block_tables.npy", np.ones((4, 8), np.int64))
    np.save(tmp_path / "seq_lens.npy", np.array([2**40, 3, 3, 3], np.int64))
    argv = ["run", "--dynamic", "--index-dtype", "int64", "--soc", "Ascend910_95"]
    status, out, err = run_cli([*argv, "--data", str(tmp_path)], capsys)
    assert_one_line_error(status, out, err, "161002", "blockTables dim 1", "sequence 0")


def test_a_num_tokens_no_host_can_hold(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["run", "--mode", "Norm", "--num-tokens", str(10**12)], capsys)
    assert_one_line_error(
        status, out, err, "--num-tokens 1000000000000", "would need 512.00 TB", "keyRef 128.00 TB"
    )


def test_unfilled_rows_are_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["run", "--mode", "Norm", "--num-tokens", "1000"], capsys)
    assert status == 0 and out.startswith("PASS") and "512 of 1000 rows" in out
    assert err.startswith("pakv: warning: the block table addresses only 512 tokens")
    assert "4 sequences x 8 columns x 16 tokens per block" in err and len(err.splitlines()) == 1


def test_an_mlir_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bom.mlir"
    path.write_bytes(
        b"\xef\xbb\xbf" + (REPO_ROOT / "examples" / "seed_hand_example.mlir").read_bytes()
    )
    status, out, err = run_cli(["run", str(path)], capsys)
    assert (status, err) == (0, "") and out.startswith("PASS")
    line = op_line(REPO_ROOT / "examples" / "seed_hand_example.mlir")
    assert f"({path}:{line}:3)" in out  # the mark is no column of line 1


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("@pakv_gather", "@class", ["@class cannot be the AscendC kernel's name", "keyword"]),
        ("@pakv_gather", '@"weird name!"', ['@"weird name!"', "not a C++ identifier"]),
        ("%key_out", "%int", ["argument %int", "C++ parameter 'int'", "keyword"]),
        ("%key_out", "%tiling", ["C++ parameter 'tiling'", "declares itself"]),
        ("%key_out", "%value.out", ["%value.out", "both print as the C++ parameter 'valueOut'"]),
    ],
    ids=["keyword", "no identifier", "argument keyword", "printer's own name", "collision"],
)
def test_names_that_cannot_be_cpp_are_refused_at_the_function(
    old: str, new: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (REPO_ROOT / "examples" / "seed_hand_example.mlir").read_text()
    path = tmp_path / "names.mlir"
    path.write_text(source.replace(old, new))
    status, out, err = run_cli(["compile", str(path), "-o", str(tmp_path / "out")], capsys)
    func_line = next(i for i, text in enumerate(source.splitlines(), 1) if "func.func" in text)
    assert_one_line_error(status, out, err, f"{path}:{func_line}:1: error:", *needles)
    assert not (tmp_path / "out").exists()


def test_valid_unusual_names_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (REPO_ROOT / "examples" / "seed_hand_example.mlir").read_text()
    path = tmp_path / "ok.mlir"
    path.write_text(source.replace("@pakv_gather", "@gather_v2").replace("%key_out", "%kOut"))
    status, _, err = run_cli(["compile", str(path), "-o", str(tmp_path / "out")], capsys)
    assert (status, err) == (0, "")
    assert "void gather_v2(GM_ADDR keyCache" in (tmp_path / "out" / "gather_v2.cpp").read_text()


def test_trace_of_an_empty_call_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.json"
    argv = ["run", "--dynamic", "--num-tokens", "0", "--trace", str(trace)]
    status, out, err = run_cli(argv, capsys)
    assert (status, err) == (0, "")
    assert f"trace    {trace} not written: an empty call launches no kernel" in out
    assert not trace.exists()


def test_a_large_trace_is_announced_before_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "TRACE_WARN_BYTES", 1000)
    trace = tmp_path / "t.json"
    status, out, err = run_cli(["run", "--example", "seed-hand", "--trace", str(trace)], capsys)
    assert status == 0 and trace.exists()
    events = int(re.findall(r"(\d+) events", out)[0])
    assert err.startswith(f"pakv: warning: --trace {trace}: the trace will be about")
    assert f"({events} events)" in err  # the estimate counts what is then written
    size = trace.stat().st_size
    estimate = float(re.findall(r"about (\d+) B", err)[0])
    assert 0.5 * size < estimate < 2 * size


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    defaults = ShapeSpec()
    for flag, value in (
        ("--block-size N", defaults.block_size), ("--heads N", defaults.heads),
        ("--head-size N", defaults.head_size), ("--batch N", defaults.batch),
        ("--num-blocks N", defaults.num_blocks), ("--table-width N", defaults.table_width),
        ("--num-tokens N", defaults.num_tokens),
    ):  # fmt: skip
        assert re.search(rf"{flag} [^-]*\({value}[;)]", text), flag
    assert f"cacheMode ({defaults.mode})" in text and f"({defaults.dtype})" in text
    # A FILE's dynamic sizes default to the same numbers (runtime.tool.workload).
    fixed = (defaults.batch, defaults.num_blocks, defaults.table_width)
    assert (DEFAULT_SIZES.batch, DEFAULT_SIZES.num_blocks, DEFAULT_SIZES.table_width) == fixed
    assert "--tile-bytes N force the UB slot size: a multiple of 32 (default 0: the largest" in text
    assert "--save DIR" in text


def test_tile_bytes_zero_is_the_default_plan(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for extra in ([], ["--tile-bytes", "0"]):
        status, out, _ = run_cli(["explain", "--example", "seed-hand", *extra], capsys)
        assert status == 0
        outputs.append(out)
    assert outputs[0] == outputs[1]


def test_save_writes_every_output_by_its_argument_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (REPO_ROOT / "examples" / "seed_hand_example.mlir").read_text()
    path = tmp_path / "named.mlir"
    path.write_text(source.replace("%key_out", "%kr").replace("%value_out", "%vr"))
    data = tmp_path / "data"
    data.mkdir()
    save_example_data(data)
    saved = tmp_path / "saved" / "deeper"
    status, out, err = run_cli(
        ["run", str(path), "--data", str(data), "--save", str(saved)], capsys
    )
    assert (status, err) == (0, "")
    assert sorted(p.name for p in saved.iterdir()) == ["kr.npy", "vr.npy"]
    assert f"saved    {saved / 'kr.npy'}, {saved / 'vr.npy'}" in out
    expected_key, expected_value = c_example_expected()
    np.testing.assert_array_equal(np.load(saved / "kr.npy"), expected_key)
    np.testing.assert_array_equal(np.load(saved / "vr.npy"), expected_value)


def test_save_names_the_roles_for_flag_built_ops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(["run", "--example", "seed-hand", "--save", str(tmp_path)], capsys)
    assert status == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key_out.npy", "value_out.npy"]


def test_save_into_a_file_fails_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("")
    status, out, err = run_cli(["run", "--example", "seed-hand", "--save", str(target)], capsys)
    assert_one_line_error(status, out, err, f"--save {target}: exists and is not a directory")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_live_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["run", "--example", "seed-hand"]) == 0
    shown = terminal.getvalue()
    assert "\r\x1b[Kpakv: running 12 core(s) in the interpreter ... 0.0 s" in shown
    assert re.search(r"pakv: running 12 core\(s\) in the interpreter: \d+\.\d\d s\n", shown)
    assert capsys.readouterr().out.startswith("PASS")  # results stay on stdout


def test_a_long_step_redraws_its_line() -> None:
    terminal = FakeTerminal()
    phases = Phases(TerminalReporter(terminal, "pakv", interval=0.02))
    with phases.step("slow", "waiting"):
        time.sleep(0.15)
        phases.warn("a warning in the middle")
    shown = terminal.getvalue()
    assert shown.count("pakv: waiting ... ") >= 4  # redrawn while it ran
    assert "\r\x1b[Kpakv: warning: a warning in the middle\n" in shown
    assert re.search(r"pakv: waiting: 0\.1\d s\n$", shown)


def test_no_progress_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(["run", "--example", "seed-hand"], capsys)
    assert (status, err) == (0, "")


def test_an_output_that_is_another_operand_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to compile, then crash at run time or emit a kernel that reads block ids
    from the buffer it writes."""
    memref = "memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32>"
    path = tmp_path / "alias.mlir"
    path.write_text(
        "func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>,"
        " %sl: memref<2xi32>, %ko: memref<6x1x8xf16>) {\n"
        "  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %ko)"
        f" : {memref} -> memref<6x1x8xf16>, memref<6x1x8xf16>\n"
        "  func.return\n}\n"
    )
    for argv in (["compile", str(path), "-o", str(tmp_path / "o")], ["run", str(path)]):
        status, out, err = run_cli(argv, capsys)
        assert_one_line_error(status, out, err, f"{path}:2:3: error: key_out is the same value")


# --------------------------------------------------------------------------- pakv-opt


def run_opt(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = opt.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def broken_files(tmp_path: Path) -> dict[str, Path]:
    hand = (REPO_ROOT / "examples" / "seed_hand_example.mlir").read_text()
    verify = hand.replace(
        "memref<4xi32>, memref<4xi32> ->", "memref<5xi32>, memref<4xi32> ->"
    ).replace("%seq_lens: memref<4xi32>", "%seq_lens: memref<5xi32>")
    files = {
        "verify": verify,
        "parse": hand.replace("pakv.gather Norm", "pakv.gather Normal"),
        "name": hand.replace("@pakv_gather", "@class"),
        "split": hand + "// -----\n" + verify,  # the error is on the second chunk's op
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.mlir"
        paths[name].write_text(text)
    return paths


LOWER = "pakv-to-ascend{soc=Ascend910B}"


@pytest.mark.parametrize(
    ("case", "extra", "where", "needles"),
    [
        ("verify", [], "op", ["seq_lens dim 0 must be batch = 4, got 5"]),
        ("parse", [], "op", ["Expected `Norm`, or `PA_NZ`"]),
        (
            "name",
            ["-p", LOWER, "-t", "ascendc"],
            "func",
            ["@class cannot be the AscendC kernel's name"],
        ),
        ("split", ["--split-input-file"], "second", ["seq_lens dim 0 must be batch = 4, got 5"]),
    ],
)
def test_pakv_opt_prints_one_located_line(
    broken_files: dict[str, Path],
    case: str,
    extra: list[str],
    where: str,
    needles: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = broken_files[case]
    status, out, err = run_opt([str(path), *extra], capsys)
    lines = path.read_text().splitlines()
    if where == "func":
        line, column = next(i for i, t in enumerate(lines, 1) if "func.func" in t), 1
    else:
        ops = [i for i, t in enumerate(lines, 1) if "pakv.gather" in t]
        line = ops[-1] if where == "second" else ops[0]
        column = lines[line - 1].index("Normal") + 1 if case == "parse" else 3
    assert status == opt.EXIT_INPUT
    assert out == ("" if case != "split" else out.split("// -----\n")[0] + "// -----\n")
    assert err.startswith(f"{path}:{line}:{column}: error: "), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_pakv_opt_locates_pass_failures(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO_ROOT / "examples" / "seed_hand_example.mlir"
    status, out, err = run_opt(
        [str(path), "-p", "pakv-to-ascend{soc=Ascend910B tile-bytes=40}"], capsys
    )
    assert (status, out) == (opt.EXIT_INPUT, "")
    assert (
        err
        == f"{path}:{op_line(path)}:3: error: cannot tile the runs of @pakv_gather for Ascend910B: "
        "tile-bytes must be a non-negative multiple of 32, got 40\n"
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["no_such.mlir"], "cannot read no_such.mlir"),
        ([str(SEED_FILE), "-p", "no-such-pass"], "Unrecognized passes: ['no-such-pass']"),
        ([str(SEED_FILE), "-p", "pakv-to-ascend{soc="], "Unknown argument value"),
    ],
)
def test_pakv_opt_bad_command_lines(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_opt(argv, capsys)
    assert (status, out) == (opt.EXIT_INPUT, "")
    assert err.startswith("pakv-opt: error: ") and needle in err and len(err.splitlines()) == 1


def test_pakv_opt_is_xdsl_opt_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    """Same output as stock xdsl-opt for a good input, and --verify-diagnostics unchanged."""
    path = REPO_ROOT / "examples" / "seed_hand_example.mlir"
    status, out, err = run_opt([str(path), "-p", LOWER, "-t", "ascendc"], capsys)
    assert (status, err) == (0, "")
    xDSLOptMain(args=[str(path), "-p", LOWER, "-t", "ascendc"]).run()  # stock xdsl-opt
    assert out == capsys.readouterr().out
    verifier = REPO_ROOT / "tests" / "filecheck" / "dialects" / "pakv_verifier.mlir"
    status, out, _ = run_opt([str(verifier), "--split-input-file", "--verify-diagnostics"], capsys)
    assert status == 0 and "key_out is the same value as value_out" in out


def test_the_pakv_opt_console_script(broken_files: dict[str, Path]) -> None:
    script = Path(sys.executable).parent / "pakv-opt"
    if not script.exists():
        pytest.skip("pakv-opt is not installed in this environment (pip install -e .)")
    done = subprocess.run(
        [str(script), str(broken_files["verify"])], capture_output=True, text=True, check=False
    )
    assert done.returncode == opt.EXIT_INPUT
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr and "seq_lens dim 0" in done.stderr


LAYER = "memref<8x16x2x8xf16, strided<[768, 16, 8, 1]>>"
"""One layer of a per-layer KV buffer (SPEC section 9): blocks 3 x 512 bytes apart."""
STRIDED_FILE = f"""\
func.func @per_layer(%kc: {LAYER}, %vc: {LAYER}, %bt: memref<3x4xi32>, %sl: memref<3xi32>,
                     %ko: memref<?x2x8xf16>, %vo: memref<?x2x8xf16>) {{
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo)
      : {LAYER}, {LAYER}, memref<3x4xi32>, memref<3xi32> -> memref<?x2x8xf16>, memref<?x2x8xf16>
  func.return
}}
"""


@pytest.mark.parametrize(
    "executor", ["lowered", pytest.param("ascendc-host", marks=needs_compiler)]
)
@pytest.mark.parametrize("data", [False, True], ids=["random", "npy"])
def test_run_of_an_op_with_a_static_block_stride(
    executor: str, data: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kernel reads the caches at the stride their type names, so the data is laid
    out that way (random or from dense .npy files), never read as if it were dense."""
    source = tmp_path / "per_layer.mlir"
    source.write_text(STRIDED_FILE)
    argv = ["run", str(source), "--seed", "5", "--executor", executor]
    if data:
        rng = np.random.default_rng(5)
        (tmp_path / "data").mkdir()
        for role in ("key_cache", "value_cache"):
            np.save(tmp_path / "data" / f"{role}.npy", rng.random((8, 16, 2, 8)).astype(np.float16))
        np.save(tmp_path / "data" / "block_tables.npy", rng.integers(0, 8, (3, 4)).astype(np.int32))
        np.save(tmp_path / "data" / "seq_lens.npy", np.array([17, 0, 40], np.int32))
        argv += ["--data", str(tmp_path / "data")]
    status, stdout, stderr = run_cli(argv, capsys)
    assert (status, stderr) == (0, ""), stdout + stderr
    assert stdout.startswith("PASS")


def test_the_layout_the_op_names_is_the_one_the_data_gets(tmp_path: Path) -> None:
    source = tmp_path / "per_layer.mlir"
    source.write_text(STRIDED_FILE)
    operands = read_file(source).gather_operands
    assert operands.block_strides == {"key_cache": 768, "value_cache": 768}
    dense = np.arange(8 * 16 * 2 * 8, dtype=np.float16).reshape(8, 16, 2, 8)
    laid = operands.laid_out("key_cache", dense)
    assert laid.strides[0] == 768 * 2 and np.array_equal(laid, dense)
    assert operands.laid_out("key_out", dense) is dense
