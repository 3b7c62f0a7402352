"""``pakv compile / run / explain`` on the dequantising examples (issue 11): unfused
MLIR programs, fused by the pipeline (or not: ``--no-fuse``), their data read from
``DIR/<argument name>.npy`` and their outputs saved the same way.

The oracle of the data test is SPEC section 7's formula written here in numpy (the
rows of the one block each sequence reads), independent of the reference the tool
itself compares with (the program run op by op).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT
from host_compiler import needs_compiler

from runtime.tool import cli

C8 = REPO_ROOT / "examples" / "c8_dequant.mlir"
MLA = REPO_ROOT / "examples" / "mla_fp8_dequant.mlir"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _c8_data(directory: Path) -> dict[str, np.ndarray]:
    """Every argument of ``@c8_dequant`` but the outputs, as ``<argument name>.npy``."""
    rng = np.random.default_rng(11)
    arrays = {
        "key_cache": rng.integers(-128, 128, (4, 128, 8, 128), dtype=np.int8),
        "value_cache": rng.integers(-128, 128, (4, 128, 8, 128), dtype=np.int8),
        "block_tables": np.array([[3, 0], [1, 2]], np.int32),
        "seq_lens": np.array([100, 37], np.int32),
    }
    for name in ("key_scale", "key_offset", "value_scale", "value_offset"):
        arrays[name] = rng.standard_normal((8, 128)).astype(np.float32)
    directory.mkdir()
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)
    return arrays


@pytest.mark.parametrize("fuse", [[], ["--no-fuse"]], ids=["fused", "unfused"])
def test_run_reads_every_argument_by_name_and_saves_every_output(
    fuse: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = _c8_data(tmp_path / "data")
    saved = tmp_path / "saved"
    argv = ["run", str(C8), "--data", str(tmp_path / "data"), "--save", str(saved), *fuse]
    status, stdout, stderr = run_cli(argv, capsys)
    assert (status, stderr) == (0, "")
    assert stdout.startswith("PASS") and "the outputs equal the program run op by op" in stdout
    assert sorted(p.name for p in saved.iterdir()) == ["key.npy", "value.npy"]
    for stream, out in (("key", "key"), ("value", "value")):
        got = np.load(saved / f"{out}.npy")
        assert got.shape == (137, 8, 128) and got.dtype == np.float16
        cache = arrays[f"{stream}_cache"]
        x = np.concatenate([cache[3, :100], cache[1, :37]]).astype(np.float32)
        want = ((x - arrays[f"{stream}_offset"]) * arrays[f"{stream}_scale"]).astype(np.float16)
        assert np.array_equal(got.view(np.uint16), want.view(np.uint16))
    if fuse:
        assert "kernel   @c8_dequant_0_gather" in stdout and "(3 kernels in turn)" in stdout


def test_a_missing_argument_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _c8_data(tmp_path / "data")
    (tmp_path / "data" / "value_offset.npy").unlink()
    status, _, stderr = run_cli(["run", str(C8), "--data", str(tmp_path / "data")], capsys)
    assert status == cli.EXIT_INPUT
    assert "missing value_offset.npy (or value_param_1.npy)" in stderr


def test_explain_shows_the_stages_and_the_ub_map(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["explain", str(MLA), "--num-tokens", "200"], capsys)
    assert status == 0
    tile = stdout[stdout.index("  tile of key_out:") :].splitlines()[1:7]
    assert [line.split()[:2] for line in tile] == [
        ["CopyIn", "MTE2"], *[["Compute", "V"]] * 4, ["CopyOut", "MTE3"],
    ]  # fmt: skip
    assert "transpose 32-byte blocks (NZ -> token-major) 'group_major' -> 'work'" in tile[1]
    assert "Cast fp8_e4m3fn -> fp32 (CAST_NONE) 'work' -> 'work'" in tile[2]
    assert "mul key_param_0 (per tensor)" in tile[3]
    assert "Cast fp32 -> bf16 (CAST_RINT)" in tile[4]
    for purpose in ("group_major", "work", "output"):
        assert f"  {purpose} (" in stdout  # a row of the UB map


def test_explain_of_the_unfused_program_has_a_report_per_kernel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, stdout, _ = run_cli(["explain", str(C8), "--num-tokens", "50", "--no-fuse"], capsys)
    assert status == 0
    plans = [line for line in stdout.splitlines() if line.startswith("Plan of @")]
    assert [p.split()[2] for p in plans] == [
        "@c8_dequant_0_gather",
        "@c8_dequant_1_map",
        "@c8_dequant_2_map",
    ]
    assert "once per core: CopyIn (MTE2) param_0, param_1 into the UB" in stdout


def test_compile_names_the_consumers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["compile", str(C8), "-o", str(tmp_path)], capsys)
    assert status == 0
    assert (
        "consumers: key: arith.sitofp, arith.subf, arith.mulf, arith.truncf with key_scale, "
        "key_offset;" in stdout
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c8_dequant.cpp",
        "c8_dequant.lowered.mlir",
    ]


def test_a_consumer_that_cannot_be_fused_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = C8.read_text().replace("arith.mulf %centred, %scale", "arith.divf %centred, %scale", 1)
    path = tmp_path / "divides.mlir"
    path.write_text(text)
    line = 1 + text.splitlines().index(
        next(ln for ln in text.splitlines() if ln.lstrip().startswith("linalg.generic"))
    )
    status, stdout, stderr = run_cli(["run", str(path)], capsys)
    assert (status, stdout) == (cli.EXIT_INPUT, "")
    assert stderr.startswith(
        f"{path}:{line}:3: error: this consumer of pakv.gather cannot be fused"
    )
    assert "arith.divf is not supported in a fused body" in stderr


@needs_compiler
def test_the_emitted_ascendc_runs_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(MLA), "--num-tokens", "90", "--executor", "ascendc-host"]
    status, stdout, stderr = run_cli(argv, capsys)
    assert (status, stderr) == (0, "")
    assert "the emitted AscendC wrote what the program run op by op writes" in stdout
