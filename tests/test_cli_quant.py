"""``pakv compile / run / explain`` on the quantising scatter example (SPEC section 8):
``examples/scatter_quant_example.mlir``, an unfused program (a ``linalg.generic``
producer per stream, then ``pakv.scatter``) that the pipeline fuses (or, ``--no-fuse``,
lowers as a map kernel per producer, then the scatter kernel), its data read from
``DIR/<argument name>.npy`` (0-d arrays for per-tensor scalars) and its caches saved so.

The oracle of the data tests is SPEC section 8's formula written here in numpy, then
placed slot by slot: independent of the reference the tool compares with (the program
run op by op) and of ``runtime.golden``.
"""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from conftest import REPO_ROOT
from host_compiler import needs_compiler

from runtime.tool import cli

EXAMPLE = REPO_ROOT / "examples" / "scatter_quant_example.mlir"
BLOCKS, BLOCK_SIZE = 6, 16


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main([*argv, "--quiet"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _example_data(directory: Path) -> dict[str, np.ndarray]:
    """Every argument of ``@pakv_scatter`` as ``<argument name>.npy``: 40 tokens (three
    of them padding, the rest in scattered slots), bf16 values over the int8 range and
    past it with NaN, +-inf and exact ties planted, per-channel inverse scales and
    offsets for the keys, a 0-d inverse scale for the values, caches of random bytes."""
    rng = np.random.default_rng(17)
    tokens = 40
    slots = rng.permutation(BLOCKS * BLOCK_SIZE)[:tokens].astype(np.int32)
    slots[[5, 20, 39]] = -1
    arrays: dict[str, np.ndarray] = {"slot_mapping": slots}
    for stream, size in (("key", 576), ("value", 512)):
        x = rng.normal(0.0, 80.0, (tokens, 1, size)).astype(np.float32)
        x.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, 2.5, -3.5, 1e30]
        arrays[stream] = x.astype(ml_dtypes.bfloat16)
        cache = rng.integers(-128, 128, (BLOCKS, BLOCK_SIZE, 1, size), dtype=np.int8)
        arrays[f"{stream}_cache"] = cache
    arrays["key_inv_scale"] = rng.uniform(0.25, 2.0, (1, 576)).astype(np.float32)
    arrays["key_inv_scale"][0, :64] = 1.0  # ties stay ties
    arrays["key_offset"] = (rng.integers(-8, 8, (1, 576)) / 2).astype(np.float32)
    arrays["value_inv_scale"] = np.array(0.5, np.float32)
    directory.mkdir()
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)
    return arrays


def _spec_caches(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """SPEC section 8: ``saturate(round_half_even(x * inv_scale + offset))`` in float32,
    NaN to 0, each valid token into its slot; every other byte as it was."""
    offsets = {"key": arrays["key_offset"], "value": np.float32(0.0)}
    scales = {"key": arrays["key_inv_scale"], "value": arrays["value_inv_scale"]}
    slots = arrays["slot_mapping"].astype(np.int64)
    caches: dict[str, np.ndarray] = {}
    for stream in ("key", "value"):
        x = arrays[stream].astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            y = np.rint(x * scales[stream] + offsets[stream]).astype(np.float32)
            q = np.nan_to_num(np.clip(y, -128, 127), nan=0.0).astype(np.int8)
        cache = arrays[f"{stream}_cache"].copy()
        flat = cache.reshape(BLOCKS * BLOCK_SIZE, *cache.shape[2:])
        flat[slots[slots >= 0]] = q[slots >= 0]
        caches[f"{stream}_cache"] = cache
    return caches


RUNS = [
    pytest.param([], id="fused-interpreter"),
    pytest.param(["--no-fuse"], id="unfused-interpreter"),
    pytest.param(["--executor", "ascendc-host"], id="fused-host", marks=needs_compiler),
    pytest.param(
        ["--executor", "ascendc-host", "--no-fuse"], id="unfused-host", marks=needs_compiler
    ),
]


@pytest.mark.parametrize("flags", RUNS)
def test_run_reads_every_argument_by_name_and_saves_the_quantised_caches(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = _example_data(tmp_path / "data")
    saved = tmp_path / "saved"
    argv = ["run", str(EXAMPLE), "--data", str(tmp_path / "data"), "--save", str(saved)]
    status, stdout, stderr = run_cli([*argv, *flags], capsys)
    assert (status, stderr) == (0, ""), stdout
    host = "--executor" in flags
    if host:
        assert "PASS" in stdout and "the emitted AscendC wrote what the program run op" in stdout
        assert stdout.count("  host     40 tokens") == (3 if "--no-fuse" in flags else 1)
    else:
        assert "keyCache and valueCache equal the program run op by op, bit for bit" in stdout
        assert "tokens   37 of 40 placed in the caches (3 skipped: padding)" in stdout
    if flags == ["--no-fuse"]:
        kernels = ["pakv_scatter_0_map", "pakv_scatter_1_map", "pakv_scatter_2_scatter"]
        assert [ln.split()[1] for ln in stdout.splitlines() if ln.startswith("  kernel ")] == [
            f"@{name}" for name in kernels
        ]
        assert "(3 kernels in turn)" in stdout
    want = _spec_caches(arrays)
    assert sorted(p.name for p in saved.iterdir()) == ["key_cache.npy", "value_cache.npy"]
    for role, expected in want.items():
        got = np.load(saved / f"{role}.npy")
        assert got.dtype == np.int8 and got.shape == expected.shape
        assert np.array_equal(got, expected), role


def test_a_missing_parameter_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _example_data(tmp_path / "data")
    (tmp_path / "data" / "value_inv_scale.npy").unlink()
    status, stdout, stderr = run_cli(
        ["run", str(EXAMPLE), "--data", str(tmp_path / "data")], capsys
    )
    assert (status, stdout) == (cli.EXIT_INPUT, "")
    assert "missing value_inv_scale.npy (or value_param_0.npy)" in stderr


def test_a_per_tensor_parameter_must_be_a_scalar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    _example_data(tmp_path / "data")
    np.save(tmp_path / "data" / "value_inv_scale.npy", np.array([0.5], np.float32))
    status, _, stderr = run_cli(["run", str(EXAMPLE), "--data", str(tmp_path / "data")], capsys)
    assert status == cli.EXIT_INPUT
    assert "the op's value_param_0 has shape () (a scalar), the file holds 1" in stderr


def test_explain_shows_the_quantising_stages(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["explain", str(EXAMPLE), "--num-tokens", "100"], capsys)
    assert status == 0, stdout
    assert "op: scatter (tokens -> caches), Norm, int8 caches, bf16 tokens" in stdout
    assert "once per core: CopyIn (MTE2) key_param_0, key_param_1 into the UB" in stdout
    tile = stdout[stdout.index("  tile of key_cache:") :].splitlines()[1:11]
    assert [line.split()[0] for line in tile] == ["CopyIn", *["Compute"] * 8, "CopyOut"]
    words = [line.split(maxsplit=2)[2] for line in tile]
    assert words == [
        "load key -> 'input'",
        "Cast bf16 -> fp32 (CAST_NONE) 'input' -> 'work'",
        "mul a per-channel vector of 'params' per row in 'work'",
        "add a per-channel vector of 'params' per row in 'work'",
        "Cast fp32 -> fp32 (CAST_RINT) 'work' -> 'work'",
        "max -128 (a constant) in 'work'",
        "min 127 (a constant) in 'work'",
        "Cast fp32 -> fp16 (CAST_NONE) 'work' -> 'work'",
        "Cast fp16 -> int8 (CAST_NONE) 'work' -> 'output'",
        "store 'output' -> key_cache",
    ]
    assert "mul value_param_0 (per tensor) in 'work'" in stdout
    for purpose in ("input", "work", "output", "params"):
        assert f"  {purpose} (" in stdout  # a row of the UB map


def test_explain_of_the_unfused_program_has_a_report_per_kernel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", str(EXAMPLE), "--num-tokens", "50", "--no-fuse"]
    status, stdout, _ = run_cli(argv, capsys)
    assert status == 0, stdout
    plans = [line.split()[2] for line in stdout.splitlines() if line.startswith("Plan of @")]
    assert plans == ["@pakv_scatter_0_map", "@pakv_scatter_1_map", "@pakv_scatter_2_scatter"]
    assert "op: scatter (tokens -> caches), Norm, int8, block_size 16" in stdout


def test_compile_names_the_producers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_cli(["compile", str(EXAMPLE), "-o", str(tmp_path)], capsys)
    assert status == 0
    assert (
        "producers: key: arith.extf, arith.mulf, arith.addf, math.roundeven, arith.maximumf, "
        "arith.minimumf, arith.fptosi with key_inv_scale, key_offset; value: " in stdout
    )
    status, stdout, _ = run_cli(
        ["compile", str(EXAMPLE), "-o", str(tmp_path / "unfused"), "--no-fuse"], capsys
    )
    assert status == 0 and "; kept as kernels of their own (--no-fuse)" in stdout
    assert sorted(p.name for p in (tmp_path / "unfused").iterdir()) == [
        "pakv_scatter.lowered.mlir",
        "pakv_scatter_0_map.cpp",
        "pakv_scatter_1_map.cpp",
        "pakv_scatter_2_scatter.cpp",
    ]
