"""The cost model (runtime/tool/timeline.py) against its documented rules.

The oracles are written from the sources the model cites, not from its code: SPEC
section 4 (1.6 TB/s and 40 vector cores for Ascend910B), CANN's "large copy" rule read as
"a 16 KB copy at 90% of full rate", the alignment page's 70% on Atlas A2 only, the
DataCache's 64-byte lines, 512-byte same-address ranges, and the guesses the module
states (100 ns per scalar miss, 32 bytes per cycle for a UB block transpose, 256 bytes
per cycle for a zero fill, the 910B2's 1.8 GHz). Each test builds a trace by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pakv_dialect.soc import soc_info
from runtime.interpreter.trace import (
    FILL_ZERO,
    LOAD,
    LOAD_SCALAR,
    PIPE_BARRIER,
    SET_FLAG,
    STORE,
    TRANSPOSE,
    VECTOR,
    WAIT_FLAG,
    MachineTrace,
)
from runtime.tool.timeline import aligned_bursts, schedule

S, V, MTE2, MTE3 = 0, 1, 2, 3
A2 = soc_info("Ascend910B")
RATE = 1.6e12 / 40 / 1e9  # bytes per ns: one core's share of HBM (SPEC section 4)
SETUP = 16384 * (1 / 0.9 - 1) / RATE  # a 16 KB copy runs at 90% of full rate
MISS = 100.0  # ns per scalar DataCache miss (the model's stated guess)
CLOCK = 1.8  # GHz


def trace(*rows: tuple[int, ...]) -> MachineTrace:
    """Rows ``(core, kind, pipe, tensor, gm_offset, n_burst, burst_len, gm_gap, event,
    peer)``; the op ordinal and slot do not matter to the model."""
    full = [
        (core, kind, pipe, index, tensor, offset, count, length, gap, 0, event, peer)
        for index, (core, kind, pipe, tensor, offset, count, length, gap, event, peer) in enumerate(
            rows
        )
    ]
    return MachineTrace(("cache", "out"), full)


def load(offset: int, length: int, core: int = 0, count: int = 1, gap: int = 0) -> tuple[int, ...]:
    return (core, LOAD, MTE2, 0, offset, count, length, gap, -1, -1)


def store(offset: int, length: int, core: int = 0) -> tuple[int, ...]:
    return (core, STORE, MTE3, 1, offset, 1, length, 0, -1, -1)


def flag(kind: int, pipe: int, peer: int, core: int = 0) -> tuple[int, ...]:
    return (core, kind, pipe, -1, -1, 0, 0, 0, 0, peer)


def ends(run: MachineTrace) -> np.ndarray:
    timeline = schedule(run, A2)
    return timeline.start_ns + timeline.duration_ns


def test_a_large_aligned_copy_costs_its_setup_then_its_bytes_at_the_core_share():
    assert schedule(trace(load(0, 65536)), A2).makespan_ns == pytest.approx(SETUP + 65536 / RATE)


def test_a_16_kb_copy_runs_at_90_percent_of_full_rate():
    makespan = schedule(trace(load(0, 16384)), A2).makespan_ns
    assert (16384 / RATE) / makespan == pytest.approx(0.9)


def test_a_burst_off_512_bytes_moves_at_70_percent_on_atlas_a2_only():
    aligned = schedule(trace(load(0, 4096)), A2).makespan_ns
    misaligned = schedule(trace(load(32, 4096)), A2).makespan_ns
    assert misaligned - SETUP == pytest.approx((aligned - SETUP) / 0.7)
    a3 = soc_info("Ascend910_93")  # the page names Atlas A2 only: no penalty modelled
    assert schedule(trace(load(32, 4096)), a3).makespan_ns == pytest.approx(
        schedule(trace(load(0, 4096)), a3).makespan_ns
    )


def test_strided_bursts_pay_by_their_own_addresses():
    """16 bursts of 32 bytes, 512 bytes apart: all aligned from offset 0, none from 32."""
    on_lines = schedule(trace(load(0, 32, count=16, gap=480)), A2).makespan_ns
    off_lines = schedule(trace(load(32, 32, count=16, gap=480)), A2).makespan_ns
    assert on_lines == pytest.approx(SETUP + 16 * 32 / RATE)
    assert off_lines == pytest.approx(SETUP + 16 * 32 / RATE / 0.7)


@given(
    st.integers(0, 10**7), st.integers(1, 600), st.integers(0, 5000), st.sampled_from([1, 32, 7])
)
def test_aligned_burst_counts_are_exact(offset: int, count: int, stride: int, unit: int):
    brute = sum((offset + b * stride * unit) % 512 == 0 for b in range(count))
    got = aligned_bursts(np.array([offset]), np.array([count]), np.array([stride * unit]), 512)
    assert int(got[0]) == brute


def test_a_load_and_a_store_of_one_core_share_its_bandwidth():
    """Nothing orders them, yet their bytes go through one channel: the store's set-up
    overlaps the load, its bytes follow the load's."""
    run = trace(load(0, 65536), store(0, 65536))
    assert schedule(run, A2).makespan_ns == pytest.approx(SETUP + 2 * 65536 / RATE)


def test_two_cores_move_their_bytes_side_by_side():
    run = trace(load(0, 65536, core=0), load(65536, 65536, core=1))
    assert schedule(run, A2).makespan_ns == pytest.approx(SETUP + 65536 / RATE)


def test_a_ready_transfer_fills_the_channel_while_an_earlier_one_waits():
    """The load of the next tile is issued after a store that waits for a long vector
    step; it takes the idle channel meanwhile instead of queueing behind the store."""
    transpose_rows, transpose_cols = 100, 100  # 10000 blocks: 10000 / 1.8 ns on V
    run = trace(
        load(0, 65536),
        flag(SET_FLAG, MTE2, V),
        flag(WAIT_FLAG, V, MTE2),
        (0, TRANSPOSE, V, -1, -1, transpose_rows, transpose_cols, 0, -1, -1),
        flag(SET_FLAG, V, MTE3),
        flag(WAIT_FLAG, MTE3, V),
        store(0, 65536),
        load(65536, 65536),
    )
    first_load = SETUP + 65536 / RATE
    transpose = transpose_rows * transpose_cols / CLOCK
    _, transposed, stored, second_load = ends(run)  # the rows that take time, in order
    assert transposed == pytest.approx(first_load + transpose)
    assert second_load == pytest.approx(first_load + SETUP + 65536 / RATE)
    assert stored == pytest.approx(first_load + transpose + SETUP + 65536 / RATE)


def test_a_pipe_barrier_holds_every_pipe_until_everything_before_it_ends():
    free = trace(load(0, 65536), store(0, 4096))
    held = trace(load(0, 65536), (0, PIPE_BARRIER, S, -1, -1, 0, 0, 0, -1, -1), store(0, 4096))
    load_end = SETUP + 65536 / RATE
    assert schedule(free, A2).start_ns[1] == 0
    assert schedule(held, A2).start_ns[1] == pytest.approx(load_end)


def scalar(offset: int, core: int = 0) -> tuple[int, ...]:
    return (core, LOAD_SCALAR, S, 0, offset, 1, 4, 0, -1, -1)


def test_scalar_reads_miss_once_per_64_byte_line_and_serialise_across_cores():
    one_core = schedule(trace(scalar(0), scalar(4), scalar(60), scalar(64)), A2)
    assert one_core.duration_ns.tolist() == pytest.approx([MISS, 0, 0, MISS])
    # Three cores miss on one 512-byte range: served one after another, each waits on
    # average for half of the others, (3 + 1) / 2 misses.
    shared = schedule(trace(scalar(0, 0), scalar(128, 1), scalar(448, 2), scalar(512, 2)), A2)
    assert shared.duration_ns.tolist() == pytest.approx([2 * MISS] * 3 + [MISS])


def test_a_scalar_read_stalls_what_is_issued_after_it():
    run = trace(scalar(0), load(0, 65536))
    assert schedule(run, A2).start_ns[1] == pytest.approx(MISS)


def test_vector_ops_run_at_the_stated_rates():
    run = trace(
        (0, TRANSPOSE, V, -1, -1, 12, 7, 0, -1, -1),  # 84 blocks, 32 bytes per cycle
        (0, FILL_ZERO, V, -1, -1, 1, 1000, 0, -1, -1),  # 1000 bytes: 4 repeats of 256
    )
    timeline = schedule(run, A2)
    assert timeline.duration_ns.tolist() == pytest.approx([84 / CLOCK, 4 / CLOCK])


def test_a_fused_compute_op_runs_in_256_byte_repeats_of_what_it_writes():
    """vector doc: one repeat of a vector instruction covers 256 bytes; the model gives
    one repeat per cycle at the SoC's vector clock (1.65 GHz on Ascend 950's ini)."""
    run = trace(
        (0, VECTOR, V, -1, -1, 640, 2560, 0, -1, -1),  # 640 fp32 results: 10 repeats
        (0, VECTOR, V, -1, -1, 100, 200, 0, -1, -1),  # 100 fp16 results: 1 repeat
    )
    assert schedule(run, A2).duration_ns.tolist() == pytest.approx([10 / CLOCK, 1 / CLOCK])
    ascend950 = schedule(run, soc_info("Ascend910_95"))
    assert ascend950.duration_ns.tolist() == pytest.approx([10 / 1.65, 1 / 1.65])


def test_the_roofline_is_the_payload_read_and_written_at_hbm_rate():
    run = trace(load(0, 65536), store(0, 65536), store(65536, 1000, core=1))
    assert schedule(run, A2).roofline_ns == pytest.approx(2 * 66536 / (1.6e12 / 1e9))
