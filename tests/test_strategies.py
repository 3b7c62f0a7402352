"""The vendor's strategies as lowerings (passes/strategy.py): bit-exact, and doing what
each vendor kernel does.

Every strategy runs in the interpreter with every detector on (UB bounds, alignment,
flags or barriers, GM bounds, write conflicts between cores) and must give the golden
reference's bytes, on valid data and on data the host would reject. Beyond the bytes,
the traces are checked against what each strategy is: dealt tiles on every core, whole
sequences per core, one barrier after every copy, a whole block read by each 3-D copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lowered_cases import DeviceCase, build, run_and_compare
from xdsl.parser import Parser

from pakv_dialect import ascend
from pakv_dialect.ascend import UB_ALIGN
from pakv_dialect.pakv import ScatterOp
from pakv_dialect.soc import soc_info
from passes.diagnostics import PassFailedAt
from passes.pipeline import PakvToAscendPipeline
from passes.strategy import ascend950_chunk_bytes
from runtime.golden import sequence_lengths
from runtime.host.lowered import LoweredRun, lowering_context
from runtime.interpreter.trace import LOAD, PIPE_BARRIER, STORE, TRANSPOSE

NZ = DeviceCase(mode="PA_NZ", key_token=(3,), value_token=(2,), value_dtype="int8")

STRATEGY_GRID: list[tuple[str, DeviceCase]] = [
    (options, case)
    for options in (
        "strategy=a2",
        "strategy=ascend950",
        "strategy=a2 tile-bytes=512",
        "strategy=ascend950 tile-bytes=256",
        "nz=load3d",
        "nz=load3d tile-bytes=64 slots=3",
        "nz=per-token",
        "nz=block3d",
    )
    for case in (
        DeviceCase(lens=(5, 0, 37)),
        DeviceCase(lens=(40, 3, 17, 1), cumsum=True, offsets=True, bad="columns"),
        DeviceCase(lens=(33, 9), block_size=8, bad="block_ids", index_dtype="int64"),
        DeviceCase(lens=(21, 30), extra_rows=-25, key_token=(3, 5)),  # truncated, 30-byte tokens
        NZ.with_(lens=(5, 0, 37)),
        NZ.with_(lens=(19, 40, 2), block_size=8, offsets=True, bad="negative_offset"),
        NZ.with_(lens=(30, 12), cumsum=True, bad="block_ids", extra_rows=-7),
        # Strided caches (SPEC section 9): every strategy starts a block at its stride.
        DeviceCase(lens=(19, 40, 2), view="layers", bad="block_ids"),
        NZ.with_(lens=(30, 12), view="interleaved", soc="Ascend910_95"),
        NZ.with_(
            lens=(50,),
            block_size=32,
            repeated_blocks=True,
            soc="Ascend910B",
            key_dtype="fp16",
            value_dtype=None,
            key_token=(9,),
            value_token=(4,),
        ),
    )
    # the 3-D copies need the Ascend 950; PA_NZ methods mean nothing to Norm
    if not (("3d" in options or "per-token" in options) and case.mode == "Norm")
]


@pytest.mark.parametrize(
    ("options", "case"), STRATEGY_GRID, ids=[f"{o}|{c}" for o, c in STRATEGY_GRID]
)
def test_strategies_give_the_golden_bytes(options: str, case: DeviceCase):
    if "3d" in options and case.soc != "Ascend910_95":
        pytest.skip("the 3-D copy is Ascend 950's: other SoCs refuse it (tested below)")
    run_and_compare(build(case), options=options)


def _load_rows(run: LoweredRun) -> np.ndarray:
    table = run.trace.table()
    return table[table["kind"] == LOAD]


def test_a2_norm_deals_equal_pieces_round_robin_and_never_overlaps_load_and_store():
    """Blocks of 16 x 6 bytes cut into 512-byte-unit pieces of a 256-byte slot: pieces
    are dealt over the cores in the order of a counter over every run (keys, then
    values), each core getting a share within one piece of the others."""
    case = DeviceCase(lens=(40, 3, 17, 1), key_token=(3, 1), block_size=16)
    run = run_and_compare(build(case), options="strategy=a2 tile-bytes=512")
    table = run.trace.table()
    loads, stores = table[table["kind"] == LOAD], table[table["kind"] == STORE]
    per_core = np.bincount(loads["core"], minlength=run.cores)
    assert per_core.max() - per_core.min() <= 1  # dealt round-robin
    # Every run is cut into ceil(bytes / 512) pieces of whole 512-byte units, but the
    # slot is 512 - so no more than 512 bytes, and all but the last of a run are 512.
    assert (loads["burst_len"] <= 512).all()
    # One UB slot: each core's load n + 1 is issued after its store n (single buffer).
    assert run.kernel.compiled.function.walk()
    tiles = [op for op in run.kernel.module.walk() if isinstance(op, ascend.UbAllocOp)]
    assert {op.purpose.data: op.slots for op in tiles}["tile"] == 1
    assert len(stores) == len(loads)


def test_a2_walks_every_sequence_on_every_core():
    """Every core reads every length: the A2/A3 kernels' walk (VENDOR_KERNELS.md)."""
    case = DeviceCase(lens=(40, 3, 17, 1, 9), block_size=8)
    run = run_and_compare(build(case), options="strategy=a2")
    table = run.trace.table()
    scalar = table[table["kind"] == 6]  # load_scalar
    seq_lens_tensor = run.trace.tensors.index("seqLens")
    for core in range(run.cores):
        mine = scalar[(scalar["core"] == core) & (scalar["tensor"] == seq_lens_tensor)]
        assert len(np.unique(mine["gm_offset"])) == len(case.lens)


def test_a2_nz_moves_one_token_per_tile_in_32_byte_bursts_with_a_barrier_after_each_copy():
    case = NZ.with_(lens=(19, 40, 2), block_size=8, soc="Ascend910B", key_dtype="fp16",
                    value_dtype=None)  # fmt: skip
    run = run_and_compare(build(case), options="strategy=a2")
    table = run.trace.table()
    loads = table[table["kind"] == LOAD]
    assert set(loads["burst_len"].tolist()) == {UB_ALIGN}
    assert set(loads["gm_gap"].tolist()) == {(case.block_size - 1) * UB_ALIGN}
    assert TRANSPOSE not in table["kind"]
    # After every load and store comes the barrier, on every core.
    for core in range(run.cores):
        kinds = table["kind"][table["core"] == core]
        copies = np.flatnonzero(np.isin(kinds, (LOAD, STORE)))
        assert (kinds[copies + 1] == PIPE_BARRIER).all()
    # Tokens dealt by output row: core c stores exactly the rows r with r % cores == c.
    stores = table[table["kind"] == STORE]
    key_out = run.trace.tensors.index("keyRef")
    token_bytes = 3 * 16 * 2  # 3 row groups of 16 fp16
    rows = stores["gm_offset"][stores["tensor"] == key_out] // token_bytes
    cores = stores["core"][stores["tensor"] == key_out]
    assert (rows % run.cores == cores).all()


def test_ascend950_gives_each_core_whole_sequences():
    """ceil(batch / cores) whole sequences per core: one core writes all of a sequence."""
    case = DeviceCase(lens=(40, 3, 17, 1, 9, 22, 5), block_size=8)
    data = build(case)
    run = run_and_compare(data, options="strategy=ascend950")
    table = run.trace.table()
    stores = table[
        (table["kind"] == STORE) & (table["tensor"] == run.trace.tensors.index("keyRef"))
    ]
    token_bytes = 2 * 3 * 2
    starts = np.concatenate(([0], np.cumsum(sequence_lengths(data.seq_lens, cumsum=False))))
    per_core = -(-len(case.lens) // run.cores)
    for row, core in zip(stores["gm_offset"] // token_bytes, stores["core"], strict=True):
        sequence = int(np.searchsorted(starts, row, side="right")) - 1
        assert sequence // per_core == core


def test_ascend950_nz_reads_whole_blocks_with_one_3d_copy():
    """A block that fits the vendor's chunk: one 3-D copy of all its rows, even for a run
    of 3 tokens; the store writes only the run's tokens."""
    case = NZ.with_(lens=(3, 20), block_size=16, soc="Ascend910_95")
    run = run_and_compare(build(case), options="strategy=ascend950")
    loads = _load_rows(run)
    block_rows = case.block_size * UB_ALIGN
    assert set(loads["burst_len"].tolist()) == {block_rows}  # every row of the block
    assert set(loads["gm_gap"].tolist()) == {0}
    assert TRANSPOSE not in run.trace.table()["kind"]
    chunk = ascend950_chunk_bytes(soc_info("Ascend910_95").ub_usable_bytes)
    allocs = [op for op in run.kernel.module.walk() if isinstance(op, ascend.UbAllocOp)]
    assert {op.purpose.data: op.slot_bytes for op in allocs}["tile"] <= chunk


def test_load3d_is_refused_without_the_3d_copy():
    with pytest.raises(Exception, match="needs the 3-D copy"):
        run_and_compare(build(NZ.with_(soc="Ascend910B", key_dtype="fp16", value_dtype=None)),
                        options="nz=load3d")  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("strategy=a3", "strategy=a3 names nothing"),
        ("split=deal slots=2", "split=deal takes one tile slot"),
        ("nz=sideways", "nz=sideways names nothing"),
        ("cores=-1", "cores must be at least 0"),
    ],
)
def test_bad_plan_options_are_located_errors(options: str, message: str):
    with pytest.raises(Exception, match=message):
        run_and_compare(build(DeviceCase()), options=options)


def test_cores_option_limits_the_launch():
    run = run_and_compare(build(DeviceCase(lens=(60, 70))), options="cores=3")
    assert run.cores == 3
    assert set(run.trace.table()["core"].tolist()) == {0, 1, 2}


SCATTER_EXAMPLE = Path(__file__).parent.parent / "examples" / "scatter_example.mlir"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("strategy=a2", "pakv.scatter takes strategy=pakv and split=tokens"),
        ("strategy=ascend950", "not split=batches"),
        ("split=deal slots=1", "not split=deal"),
        ("nz=block3d", "nz=block3d is a gather's plan"),
    ],
)
def test_a_strategy_the_scatter_cannot_honour_is_a_located_error(options: str, message: str):
    module = Parser(lowering_context(), SCATTER_EXAMPLE.read_text()).parse_module()
    (scatter,) = [op for op in module.walk() if isinstance(op, ScatterOp)]
    where = scatter.location
    with pytest.raises(PassFailedAt, match=message) as failure:
        PakvToAscendPipeline(**_pipeline_options(options)).apply(lowering_context(), module)
    assert failure.value.op.location == where  # the scatter's line, or its runs' (the same)


def _pipeline_options(text: str) -> dict[str, Any]:
    pairs = (item.split("=") for item in text.split())
    return {key.replace("-", "_"): int(v) if v.isdigit() else v for key, v in pairs}
