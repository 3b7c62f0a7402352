"""The machine model's op semantics, and the two execution paths agreeing on it.

Ops are called directly on an ``AscendMachine`` with numpy data whose expected bytes
are computed independently (numpy slicing on the typed arrays); then whole
hand-written kernels run on the compiled fast path and on xDSL's interpreter, which
must give identical bytes, traces and executed-op counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_fixtures import (
    COPY_KERNEL,
    NZ_ROWS,
    ROW_BYTES,
    TRANSPOSE_KERNEL,
    byte_tensor,
    parse_kernel,
    run_kernel,
)

from pakv_dialect.dtypes import index_kind_named
from pakv_dialect.soc import soc_info
from runtime.ascend_interpreter import kernel_function, kernel_sites
from runtime.ascend_machine import (
    LOAD,
    STORE,
    UB_POISON,
    AscendMachine,
    BadTilingFieldError,
    OpSite,
)
from runtime.kernel_compiler import CompiledKernel, KernelCompileError
from runtime.memory import GmTensor

SITE = OpSite("ascend.test", "unit", 0, "direct call")


def machine_over(*arrays: np.ndarray, soc: str = "Ascend910B") -> AscendMachine:
    tensors = [byte_tensor(f"t{i}", a) for i, a in enumerate(arrays)]
    machine = AscendMachine(soc_info(soc), {"split_tokens": 1}, tensors, block_num=1)
    machine.start_core(0)
    return machine


def test_ub_is_the_socs_usable_capacity_and_starts_poisoned():
    for soc in ("Ascend910B", "Ascend910_95"):
        machine = machine_over(np.zeros(4, np.uint8), soc=soc)
        assert machine.ub.size == soc_info(soc).ub_usable_bytes
        assert (machine.ub == UB_POISON).all()


def test_strided_load_and_store_move_exactly_the_bursts():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, 1000, dtype=np.uint8)
    dst = np.zeros(1000, np.uint8)
    machine = machine_over(src, dst)
    gm_src, gm_dst = machine.gm
    buf = machine.ub_alloc(SITE, "tile", 2, 512, 64)
    # 5 bursts of 40 bytes, 7 bytes apart in GM; padded to 64 in UB plus a 32-byte gap.
    machine.load(SITE, gm_src, 11, buf, 1, 32, 5, 40, 7, 32)
    slot = machine.ub[64 + 512 : 64 + 1024]
    for b in range(5):
        ub_at = 32 + b * 96
        assert (slot[ub_at : ub_at + 40] == src[11 + b * 47 : 11 + b * 47 + 40]).all()
        assert (slot[ub_at + 40 : ub_at + 96] == UB_POISON).all()  # padding untouched
    # Store the same bursts contiguously (gm gap 0) at byte 100.
    machine.set_flag(SITE, 2, 3, 0)
    machine.wait_flag(SITE, 2, 3, 0)
    machine.store(SITE, gm_dst, 100, buf, 1, 32, 5, 40, 0, 32)
    expected = np.concatenate([src[11 + b * 47 : 11 + b * 47 + 40] for b in range(5)])
    assert (dst[100:300] == expected).all()
    assert not dst[:100].any() and not dst[300:].any()
    loads, stores = machine.trace.of_kind(LOAD), machine.trace.of_kind(STORE)
    assert (int(loads["n_burst"][0]), int(loads["burst_len"][0]), int(loads["gm_gap"][0])) == (
        5,
        40,
        7,
    )
    assert int(stores["gm_offset"][0]) == 100 and int(stores["tensor"][0]) == 1


def test_transpose_blocks_swaps_32_byte_blocks():
    machine = machine_over(np.zeros(4, np.uint8))
    src = machine.ub_alloc(SITE, "in", 1, 6 * 32, 0)
    dst = machine.ub_alloc(SITE, "out", 1, 6 * 32, 6 * 32)
    blocks = np.arange(6 * 32, dtype=np.uint8).reshape(2, 3, 32)  # rows 2, cols 3
    machine.ub[: 6 * 32] = blocks.reshape(-1)
    machine.transpose_blocks(SITE, src, 0, dst, 0, 2, 3)
    out = machine.ub[6 * 32 : 12 * 32].reshape(3, 2, 32)
    for r in range(2):
        for c in range(3):
            assert (out[c, r] == blocks[r, c]).all()


def test_fill_zero_clears_the_aligned_prefix_only():
    machine = machine_over(np.zeros(4, np.uint8))
    buf = machine.ub_alloc(SITE, "zeros", 2, 128, 0)
    machine.fill_zero(SITE, buf, 1, 33)
    assert not machine.ub[128 : 128 + 64].any()
    assert (machine.ub[128 + 64 : 256] == UB_POISON).all()
    assert (machine.ub[:128] == UB_POISON).all()


def test_load_scalar_reads_typed_elements():
    table = np.array([[5, -7, 1 << 40], [3, 2, 1]], dtype=np.int64)
    kind = index_kind_named("int64")
    assert kind is not None
    machine = AscendMachine(
        soc_info("Ascend910_95"), {}, [GmTensor.wrap("blockTables", table, kind)], block_num=1
    )
    machine.start_core(0)
    (ref,) = machine.gm
    assert machine.load_scalar(SITE, ref, 0, 1) == -7
    assert machine.load_scalar(SITE, ref, 0, 2) == 1 << 40
    assert machine.load_scalar(SITE, ref, 1, 0) == 3


@pytest.mark.parametrize("rows,cores", [(37, 5), (8, 3), (1, 1), (200, 7)])
def test_copy_kernel_fast_and_reference_paths_agree(rows: int, cores: int):
    rng = np.random.default_rng(rows)
    src = rng.integers(0, 256, (rows, ROW_BYTES), dtype=np.uint8)
    dst = rng.integers(0, 256, (rows + 3, ROW_BYTES), dtype=np.uint8)
    arrays = {"src": src, "dst": dst}
    tiling = {"split_tokens": rows}
    fast = run_kernel(COPY_KERNEL, arrays, cores=cores, tiling=tiling, fast=True)
    slow = run_kernel(COPY_KERNEL, arrays, cores=cores, tiling=tiling, fast=False)
    assert (fast.outputs["dst"][:rows] == src).all()
    assert (fast.outputs["dst"][rows:] == dst[rows:]).all()
    assert (fast.outputs["dst"] == slow.outputs["dst"]).all()
    assert (fast.trace.table() == slow.trace.table()).all()
    assert fast.executed_ops == slow.executed_ops > 0


def test_transpose_kernel_fast_and_reference_paths_agree():
    rng = np.random.default_rng(1)
    src = rng.integers(0, 256, (4, NZ_ROWS, 4, 32), dtype=np.uint8)
    dst = np.zeros((4, 4 * NZ_ROWS * 32), np.uint8)
    arrays = {"src": src, "dst": dst}
    fast = run_kernel(TRANSPOSE_KERNEL, arrays, cores=4, soc="Ascend910_95", fast=True)
    slow = run_kernel(TRANSPOSE_KERNEL, arrays, cores=4, soc="Ascend910_95", fast=False)
    expected = np.zeros_like(dst)
    expected[:, : 2 * NZ_ROWS * 32] = src[:, :, 2:4, :].transpose(0, 2, 1, 3).reshape(4, -1)
    assert (fast.outputs["dst"] == expected).all()
    assert (slow.outputs["dst"] == expected).all()
    assert (fast.trace.table() == slow.trace.table()).all()
    assert fast.executed_ops == slow.executed_ops


def test_copy_kernel_op_count_is_per_tile():
    """4 rows per tile: the op count grows by a fixed amount per tile, not per byte."""

    def ops(rows: int) -> int:
        src = np.zeros((rows, ROW_BYTES), np.uint8)
        arrays = {"src": src, "dst": src.copy()}
        return run_kernel(COPY_KERNEL, arrays, cores=1, tiling={"split_tokens": rows}).executed_ops

    one_tile, two_tiles, ten_tiles = ops(4), ops(8), ops(40)
    per_tile = two_tiles - one_tile
    assert per_tile > 0
    assert ten_tiles == one_tile + 9 * per_tile
    assert ops(3) == one_tile  # a partial tile costs the same ops as a full one


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  %f = arith.constant 1.5 : f32\n", r"arith\.constant .*only integer constants"),
        ("  %m, %h = arith.mulsi_extended %c2, %c2 : index\n", r"cannot run arith\.mulsi_extended"),
    ],
)
def test_fast_path_names_an_op_it_cannot_run(line: str, message: str):
    text = COPY_KERNEL.replace(
        "  %b = ascend.get_block_idx\n", line + "  %b = ascend.get_block_idx\n"
    )
    func = kernel_function(parse_kernel(text))
    with pytest.raises(KernelCompileError, match=message):
        CompiledKernel(func, kernel_sites(func))


def test_unknown_tiling_field_is_reported():
    text = COPY_KERNEL.replace('get_tiling "split_tokens"', 'get_tiling "no_such_field"')
    src = np.zeros((4, ROW_BYTES), np.uint8)
    with pytest.raises(BadTilingFieldError, match="no tiling field 'no_such_field'"):
        run_kernel(text, {"src": src, "dst": src.copy()}, cores=1, tiling={"split_tokens": 4})
