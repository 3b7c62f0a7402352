"""What the trace of a lowered launch says, and what it must say.

* Valid data: GM bytes read == GM bytes written == payload (nothing moved twice, no
  output byte written twice).
* Work balance: every core's payload is within 5% of the mean whenever there are at
  least 64 tokens per core, even when one sequence is 1000x longer than the rest.
* DMA shapes: Norm moves a run as single bursts; PA_NZ loads ``H / ea`` bursts of
  ``k * 32`` bytes with a GM gap of ``(block_size - k) * 32`` and stores one burst.
* The fast path and xDSL's interpreter give identical bytes, traces and op counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from lowered_cases import DeviceCase, build, payload_bytes, run_and_compare

from pakv_dialect.soc import soc_info
from runtime.interpreter.trace import FILL_ZERO, LOAD, MTE2, MTE3, STORE, TRACE_KINDS, TRANSPOSE


def nz(case: DeviceCase) -> DeviceCase:
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


VALID_CASES = [
    DeviceCase(),
    DeviceCase(lens=(0, 77, 5, 0, 130), offsets=True, cumsum=True, block_size=24),
    DeviceCase(key_token=(1, 5), value_token=(3, 3), lens=(50, 60)),
    nz(DeviceCase(lens=(33, 1, 64), block_size=16)),
    nz(DeviceCase(lens=(300,), block_size=128, key_dtype="int8", value_dtype="fp32")),
]
OPTIONS = ["", "tile-bytes=64"]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("case", VALID_CASES, ids=[str(c) for c in VALID_CASES])
def test_bytes_read_equal_bytes_written_equal_payload(case: DeviceCase, options: str):
    data = build(case)
    run = run_and_compare(data, options=options)
    read = int(run.trace.dma_bytes(LOAD, run.cores).sum())
    written = int(run.trace.dma_bytes(STORE, run.cores).sum())
    assert read == written == payload_bytes(data) > 0


@pytest.mark.parametrize("case", VALID_CASES[:4], ids=[str(c) for c in VALID_CASES[:4]])
def test_no_output_byte_is_written_twice(case: DeviceCase):
    run = run_and_compare(build(case), options="tile-bytes=64")
    stores = run.trace.of_kind(STORE)
    for tensor in np.unique(stores["tensor"]):
        mine = stores[stores["tensor"] == tensor]
        starts = np.concatenate(
            [
                offset + np.arange(count) * (length + gap)
                for offset, count, length, gap in zip(
                    mine["gm_offset"],
                    mine["n_burst"],
                    mine["burst_len"],
                    mine["gm_gap"],
                    strict=True,
                )
            ]
        )
        lengths = np.repeat(mine["burst_len"], mine["n_burst"])
        covered = np.zeros(int((starts + lengths).max()), np.int32)
        for start, length in zip(starts, lengths, strict=True):
            covered[start : start + length] += 1
        assert covered.max() == 1, run.trace.tensors[int(tensor)]


BALANCE_CASES = [
    DeviceCase(soc="Ascend310P", lens=(3, 3000, 2), block_size=128),  # 8 cores, one long
    DeviceCase(soc="Ascend910B", lens=(2, 2700, 1, 1), block_size=16, key_dtype="int8"),
    nz(DeviceCase(soc="Ascend910_95", lens=(5000, 3, 4, 1), block_size=128)),
    DeviceCase(soc="Ascend910", lens=tuple([64] * 40), block_size=24, offsets=True),
]


@pytest.mark.parametrize("case", BALANCE_CASES, ids=[str(c) for c in BALANCE_CASES])
def test_every_core_carries_its_share(case: DeviceCase):
    data = build(case)
    run = run_and_compare(data)
    cores = soc_info(case.soc).vector_cores
    assert run.cores == cores  # enough tokens to use every core
    assert sum(case.lens) >= 64 * cores
    stored = run.trace.dma_bytes(STORE, cores)
    mean = stored.mean()
    assert np.abs(stored - mean).max() <= 0.05 * mean, stored


def test_norm_moves_runs_as_single_bursts():
    case = DeviceCase(lens=(40, 17), block_size=16, key_token=(2, 3))
    run = run_and_compare(build(case))
    table = run.trace.table()
    dma = table[np.isin(table["kind"], (LOAD, STORE))]
    assert (dma["n_burst"] == 1).all()
    assert (dma["pipe"][dma["kind"] == LOAD] == MTE2).all()
    assert (dma["pipe"][dma["kind"] == STORE] == MTE3).all()
    # A run lies inside one block: at most block_size tokens of 12 bytes per DMA.
    assert dma["burst_len"].max() <= 16 * 12


def test_pa_nz_loads_long_strided_bursts_and_stores_one():
    groups, block_size = 3, 16
    case = nz(DeviceCase(lens=(40,), block_size=block_size, soc="Ascend310B"))  # one core
    run = run_and_compare(build(case))
    loads, stores = run.trace.of_kind(LOAD), run.trace.of_kind(STORE)
    key_loads = loads[loads["tensor"] == 0]
    # Runs of 16, 16 and 8 tokens: k tokens -> G bursts of k*32 bytes, gap (16 - k)*32.
    assert sorted(key_loads["burst_len"].tolist()) == [8 * 32, 16 * 32, 16 * 32]
    assert (key_loads["n_burst"] == groups).all()
    assert (key_loads["gm_gap"] == block_size * 32 - key_loads["burst_len"]).all()
    assert (stores["n_burst"] == 1).all()
    assert len(run.trace.of_kind(TRANSPOSE)) == len(loads)


def test_trace_rows_are_in_core_order_with_known_kinds():
    run = run_and_compare(build(nz(DeviceCase(lens=(9, 20), block_size=8))))
    table = run.trace.table()
    assert (np.diff(table["core"]) >= 0).all()
    assert set(np.unique(table["core"]).tolist()) == set(range(run.cores))
    assert set(np.unique(table["kind"]).tolist()) <= set(range(len(TRACE_KINDS)))
    for ordinal in np.unique(table["op"]):
        assert run.trace.sites[int(ordinal)].name.startswith("ascend.")


PATH_CASES = [
    DeviceCase(lens=(5, 0, 9), block_size=4),
    nz(DeviceCase(lens=(13, 9), block_size=2, bad="block_ids")),
    DeviceCase(lens=(6, 4), block_size=3, offsets=True, cumsum=True, bad="columns"),
]


@pytest.mark.parametrize("case", PATH_CASES, ids=[str(c) for c in PATH_CASES])
def test_fast_path_and_xdsl_interpreter_agree(case: DeviceCase):
    fast_data, slow_data = build(case), build(case)
    fast = run_and_compare(fast_data, options="tile-bytes=64")
    slow = run_and_compare(slow_data, options="tile-bytes=64", reference=True)
    assert fast_data.key_ref.tobytes() == slow_data.key_ref.tobytes()
    assert fast_data.value_ref.tobytes() == slow_data.value_ref.tobytes()
    assert np.array_equal(fast.trace.table(), slow.trace.table())
    assert fast.executed_ops == slow.executed_ops > 0
    if case.bad is not None:  # the zero-fill path ran, not only the copy path
        assert (fast.trace.table()["kind"] == FILL_ZERO).any()
