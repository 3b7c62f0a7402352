"""The machine semantics of the strategies' ops (issue 13), called directly.

``ascend.load_transposed`` (Ascend 950's 3-D copy) against a numpy oracle, with each of
its faults; ``ascend.pipe_barrier`` as the synchronisation the detectors accept in place
of flags, and only where it stands.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_fixtures import byte_tensor

from pakv_dialect.soc import soc_info
from runtime.interpreter.faults import (
    BurstCountError,
    GmOutOfBoundsError,
    OpSite,
    UbMisalignedError,
    UbOverflowError,
    UnsyncedAccessError,
)
from runtime.interpreter.machine import AscendMachine, UbBuffer
from runtime.interpreter.trace import LOAD, MTE2, MTE3, PIPE_BARRIER, STORE

SITE = OpSite("ascend.test", "unit", 0, "direct call")


def machine_over(*arrays: np.ndarray) -> AscendMachine:
    tensors = [byte_tensor(f"t{i}", a) for i, a in enumerate(arrays)]
    machine = AscendMachine(soc_info("Ascend910_95"), {"split_tokens": 1}, tensors, block_num=1)
    machine.start_core(0)
    return machine


def test_load_transposed_lands_row_groups_token_major():
    """An NZ block of 3 row groups x 8 rows of 32 bytes; rows 2..6 of every group, read
    with a GM gap of 3 rows, arrive as 5 tokens of 3 x 32 bytes each."""
    rng = np.random.default_rng(1)
    block = rng.integers(0, 256, size=(3, 8, 32), dtype=np.uint8)
    machine = machine_over(block.reshape(-1))
    (gm,) = machine.gm
    buf = machine.ub_alloc(SITE, "tile", 2, 1024, 0)
    machine.load_transposed(SITE, MTE2, gm, 2 * 32, buf, 1, 64, 3, 5, 3 * 32)
    got = machine.ub[1024 + 64 : 1024 + 64 + 5 * 3 * 32].reshape(5, 3, 32)
    expected = block[:, 2:7, :].transpose(1, 0, 2)  # [token, group, byte]
    assert np.array_equal(got, expected)
    row = machine.trace.rows[-1]
    assert (row[1], row[6], row[7], row[8]) == (LOAD, 3, 5 * 32, 3 * 32)  # its GM side


@pytest.mark.parametrize(
    ("args", "fault", "message"),
    [
        ((0, 0, 0, 0, 1, 0), BurstCountError, "both counts must be positive"),
        ((0, 0, 16, 1, 1, 0), UbMisalignedError, "multiple of 32"),
        ((0, 0, 0, 4, 9, 0), UbOverflowError, "outside its 1 slot"),
        ((0, 1, 0, 1, 1, 0), UbOverflowError, "outside its 1 slot"),
        ((32, 0, 0, 2, 4, 32 * 30), GmOutOfBoundsError, "which has 1024 bytes"),
    ],
)
def test_load_transposed_faults(args: tuple[int, ...], fault: type[Exception], message: str):
    machine = machine_over(np.zeros(1024, np.uint8))
    (gm,) = machine.gm
    buf = machine.ub_alloc(SITE, "tile", 1, 1024, 0)
    gm_offset, slot, ub_offset, rows, cols, gap = args
    with pytest.raises(fault, match=message):
        machine.load_transposed(SITE, MTE2, gm, gm_offset, buf, slot, ub_offset, rows, cols, gap)


def _load_then_store(barrier: bool) -> tuple[AscendMachine, UbBuffer]:
    src, dst = np.arange(64, dtype=np.uint8), np.zeros(64, np.uint8)
    machine = machine_over(src, dst)
    gm_src, gm_dst = machine.gm
    buf = machine.ub_alloc(SITE, "tile", 1, 64, 0)
    machine.load(SITE, MTE2, "blocks", gm_src, 0, buf, 0, 0, 1, 64, 0, 0)
    if barrier:
        machine.sync.pipe_barrier(SITE)
    machine.store(SITE, MTE3, "blocks", gm_dst, 0, buf, 0, 0, 1, 64, 0, 0)
    return machine, buf


def test_a_store_right_after_a_load_without_sync_is_caught():
    with pytest.raises(UnsyncedAccessError, match="before its producer"):
        _load_then_store(barrier=False)


def test_a_pipe_barrier_orders_every_pipe_after_everything_before_it():
    machine, buf = _load_then_store(barrier=True)
    assert np.array_equal(machine.gm[1].tensor.bytes, np.arange(64, dtype=np.uint8))
    kinds = [row[1] for row in machine.trace.rows]
    assert kinds == [LOAD, PIPE_BARRIER, STORE]
    # ...and a load that overwrites the slot while the store may still read it needs one too.
    gm_src, _ = machine.gm
    with pytest.raises(UnsyncedAccessError, match="may still be reading"):
        machine.load(SITE, MTE2, "blocks", gm_src, 0, buf, 0, 0, 1, 64, 0, 0)
