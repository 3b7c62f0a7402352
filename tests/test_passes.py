"""Pass-level checks of the lowering pipeline (``passes/``).

What FileCheck cannot say well: the tile plan's arithmetic over many shapes, the
diagnostics the passes raise, the structural guarantees of the lowered IR (burst
counts, placed buffers, no intermediate ops left), and that options which change the
tiling (tiny tiles, one or three slots, tokens split by row groups) still give the
golden bytes and keep the work balanced over cores, and the PA_NZ pipeline that the
tile plan's split is for (one group-major and one token-major slot; runs cut into
nearly equal tiles) overlaps loads with stores on the modelled timeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lowered_cases import DeviceCase, build, device_call, run_and_compare
from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FileLineColLoc,
    IntAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from pakv_dialect.ascend import (
    MAX_BURSTS,
    NOTE_ATTR,
    UB_ALIGN,
    CopyRunOp,
    CoreTokensOp,
    LoadOp,
    StoreOp,
    UbAllocOp,
    ZeroRunOp,
    constant_value,
)
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import SOCS, SocInfo, soc_info
from passes.diagnostics import PassFailedAt
from passes.pipeline import PakvToAscendPipeline
from passes.tile_plan import (
    GROUP_MAJOR_BUFFER,
    TILE_BUFFER,
    TOKEN_MAJOR_BUFFER,
    ZERO_BUFFER,
    TilePlanError,
    plan_tiles,
)
from runtime.host.lowered import LoweredRun, lowering_context
from runtime.interpreter.trace import LOAD, STORE, TRANSPOSE
from runtime.ir_builder import build_gather_module
from runtime.tool.timeline import schedule

KIB = 1024


def lowered(
    case: DeviceCase, *, slots: int | None = None, tile_bytes: int = 0, nz: str | None = None
) -> ModuleOp:
    """The pipeline's output for ``case``'s signature (dynamic dims), verified."""
    module = build_gather_module(device_call(build(case)).signature)
    pipeline = PakvToAscendPipeline(soc=case.soc, slots=slots, tile_bytes=tile_bytes, nz=nz)
    pipeline.apply(lowering_context(), module)
    module.verify()
    return module


# ---------------------------------------------------------------------------- tile plan


def test_norm_plan_of_the_shape_example_fills_the_910b_ub():
    plan = plan_tiles(
        CacheMode.Norm,
        block_size=128,
        token_bytes=(16 * 144 * 2, 16 * 128 * 2),
        ub_bytes=192 * KIB,
    )
    assert plan.buffer(TILE_BUFFER).slots == 2
    assert plan.buffer(TILE_BUFFER).slot_bytes == 96256
    assert plan.buffer(ZERO_BUFFER).slot_bytes == 4096
    assert plan.ub_bytes == 192 * KIB


def _nz_plan(block_size: int, key_token_bytes: int, value_token_bytes: int, **options: int):
    return plan_tiles(
        CacheMode.PA_NZ,
        block_size=block_size,
        token_bytes=(key_token_bytes, value_token_bytes),
        ub_bytes=192 * KIB,
        **options,  # pyright: ignore[reportArgumentType]
    )


def test_nz_plan_of_the_shape_example_halves_the_ub_into_whole_token_tiles():
    """One group-major and one token-major slot of 96 KiB: 21 key / 24 value tokens."""
    plan = _nz_plan(128, 2304 * 2, 2048 * 2)
    key, value = plan.streams
    assert (key.groups, key.tile_groups, key.tile_tokens) == (144, 144, 21)
    assert (value.groups, value.tile_groups, value.tile_tokens) == (128, 128, 24)
    assert plan.buffer(GROUP_MAJOR_BUFFER).slots == 1
    assert plan.buffer(TOKEN_MAJOR_BUFFER).slots == 1
    assert plan.buffer(TOKEN_MAJOR_BUFFER).slot_bytes == 24 * 4096
    assert plan.load_slots == 1
    assert plan.ub_bytes == 192 * KIB


def test_nz_plan_takes_a_spare_group_major_slot_only_when_a_third_holds_a_block():
    # MLA-like: a 16-token block is 18 KiB, so every run is one tile in any case.
    spare = _nz_plan(16, 576 * 2, 512 * 2)
    assert [stream.tile_tokens for stream in spare.streams] == [16, 16]
    assert spare.buffer(GROUP_MAJOR_BUFFER).slots == 2
    assert spare.buffer(GROUP_MAJOR_BUFFER).slot_bytes == 16 * 576 * 2
    assert spare.buffer(TOKEN_MAJOR_BUFFER).slots == 1
    # A 72 KiB block fits half the UB but not a third: the tiles take the halves.
    halves = _nz_plan(16, 2304 * 2, 2048 * 2)
    assert halves.streams[0].tile_tokens == 16
    assert halves.buffer(GROUP_MAJOR_BUFFER).slots == 1
    # Three slots: two group-major plus the token-major one, in thirds (the old default).
    thirds = _nz_plan(128, 2304 * 2, 2048 * 2, slots=3)
    assert [stream.tile_tokens for stream in thirds.streams] == [14, 16]
    assert thirds.buffer(GROUP_MAJOR_BUFFER).slots == 2
    assert thirds.buffer(TOKEN_MAJOR_BUFFER).slot_bytes == 64 * KIB


def test_nz_plan_needs_a_slot_for_each_layout():
    with pytest.raises(TilePlanError, match="PA_NZ needs at least 2 slots"):
        _nz_plan(16, 64, 64, slots=1)


def test_nz_token_larger_than_a_slot_is_split_by_row_groups():
    plan = plan_tiles(
        CacheMode.PA_NZ,
        block_size=128,
        token_bytes=(147456, 64),  # the operator's per-token limit, and a small token
        ub_bytes=192 * KIB,
    )
    key, value = plan.streams
    assert key.splits_tokens
    assert key.tile_tokens > 1, "bursts longer than one 32-byte row"
    assert key.tile_bytes <= plan.buffer(GROUP_MAJOR_BUFFER).slot_bytes
    assert not value.splits_tokens


@pytest.mark.parametrize(
    ("options", "message"),
    [({"slots": 0}, "slots must be at least 1"), ({"tile_bytes": 48}, "multiple of 32")],
)
def test_plan_rejects_bad_options(options: dict[str, int], message: str):
    with pytest.raises(TilePlanError, match=message):
        plan_tiles(
            CacheMode.Norm,
            block_size=16,
            token_bytes=(64, 64),
            ub_bytes=192 * KIB,
            **options,  # pyright: ignore[reportArgumentType]
        )


@given(
    mode=st.sampled_from(list(CacheMode)),
    block_size=st.integers(1, 512),
    key_rows=st.integers(1, 4608),
    value_rows=st.integers(1, 4608),
    soc=st.sampled_from([soc for soc in SOCS.values() if soc.supported]),
    slots=st.integers(1, 4),
)
def test_derived_plans_fit_the_ub(
    mode: CacheMode, block_size: int, key_rows: int, value_rows: int, soc: SocInfo, slots: int
):
    """Whatever the shape, a plan derived from the UB fits it and its tiles fit slots."""
    # NZ tokens are whole 32-byte rows; Norm tokens any size (here rows x 6 bytes).
    row = 32 if mode == CacheMode.PA_NZ else 6
    assume(mode == CacheMode.Norm or slots >= 2)  # PA_NZ rejects one slot (tested above)
    plan = plan_tiles(
        mode,
        block_size=block_size,
        token_bytes=(key_rows * row, value_rows * row),
        ub_bytes=soc.ub_usable_bytes,
        slots=slots,
    )
    assert plan.ub_bytes <= soc.ub_usable_bytes
    for buffer in plan.buffers:
        assert buffer.slot_bytes % UB_ALIGN == 0 and buffer.slot_bytes > 0
    if mode == CacheMode.PA_NZ:
        assert plan.buffer(TOKEN_MAJOR_BUFFER).slots == 1
        assert plan.load_slots in (slots - 1, slots)
        if plan.load_slots == slots:  # the spare slot: only when runs are single tiles
            assert all(s.tile_tokens == block_size for s in plan.streams)
    for stream in plan.streams:
        if mode == CacheMode.PA_NZ:
            assert 1 <= stream.tile_tokens <= block_size
            assert 1 <= stream.tile_groups <= stream.groups
            assert stream.tile_bytes <= plan.buffer(GROUP_MAJOR_BUFFER).slot_bytes
            assert stream.splits_tokens or stream.tile_tokens * stream.token_bytes <= (
                plan.buffer(TOKEN_MAJOR_BUFFER).slot_bytes
            )
        else:
            assert stream.tile_bytes == plan.buffer(TILE_BUFFER).slot_bytes


# ---------------------------------------------------------------------------- the IR


def test_pipeline_leaves_a_planned_kernel_with_dynamic_sizes():
    module = lowered(DeviceCase(mode="PA_NZ", offsets=True, cumsum=True, key_token=(3,)))
    ops = list(module.walk())
    assert not any(isinstance(op, CoreTokensOp | CopyRunOp | ZeroRunOp) for op in ops)
    assert not any(op.name == "pakv.gather" for op in ops)
    allocs = [op for op in ops if isinstance(op, UbAllocOp)]
    assert allocs and all(alloc.planned_offset is not None for alloc in allocs)
    # num_blocks, batch, table width and num_tokens stay dynamic: no value of them is baked in.
    func = next(op for op in ops if op.name == "func.func")
    for arg in func.regions[0].blocks[0].args:
        assert isinstance(arg.type, MemRefType)
        assert arg.type.get_shape()[0] == DYNAMIC_INDEX


def _constant_bursts(module: ModuleOp) -> list[int]:
    counts = [
        constant_value(op.n_burst) for op in module.walk() if isinstance(op, LoadOp | StoreOp)
    ]
    return [count for count in counts if count is not None]


def test_loads_above_4095_bursts_are_split():
    """4096 row groups per token fit a slot of the 256 KiB UB cut in halves (2 slots)."""
    case = DeviceCase(
        mode="PA_NZ", key_token=(4096,), value_token=(1,), block_size=2, soc="Ascend310P"
    )
    bursts = _constant_bursts(lowered(case, slots=2))
    assert 4095 in bursts and 1 in bursts
    assert max(bursts) <= MAX_BURSTS


@pytest.mark.parametrize("tile_bytes", [0, 64])
def test_no_dma_carries_more_than_4095_bursts(tile_bytes: int):
    case = DeviceCase(mode="PA_NZ", key_token=(4608,), value_token=(3,), block_size=128)
    assert max(_constant_bursts(lowered(case, tile_bytes=tile_bytes))) <= MAX_BURSTS


def test_plan_that_does_not_fit_is_rejected_with_the_numbers():
    with pytest.raises(PassFailedException, match=r"UB plan does not fit: buffer 'tile'.*196608"):
        lowered(DeviceCase(soc="Ascend910B", key_dtype="fp16"), tile_bytes=128 * KIB)


def test_bad_tile_option_is_a_located_pass_failure():
    with pytest.raises(PassFailedException, match="tile-bytes must be a non-negative multiple"):
        lowered(DeviceCase(), tile_bytes=40)


def test_dtype_the_soc_does_not_take_is_rejected_at_lowering():
    case = DeviceCase(key_dtype="fp32", soc="Ascend910B")
    module = build_gather_module(device_call(build(case)).signature)
    with pytest.raises(PassFailedException, match="fp32 is not supported on Ascend910B"):
        PakvToAscendPipeline(soc="Ascend910B").apply(Context(), module)


_IDENTITIES: dict[type[arith.SignlessIntegerBinaryOperation], tuple[int, ...]] = {
    arith.AddiOp: (0,),
    arith.SubiOp: (0,),
    arith.XOrIOp: (0,),
    arith.MuliOp: (0, 1),
    arith.DivUIOp: (1,),
    arith.CeilDivUIOp: (1,),
    arith.RemUIOp: (1,),
}
"""Right operands that make an op pointless: ``x + 0``, ``x * 1``, ``x * 0``, ``x % 1``..."""


def _pass_through(op: Operation) -> bool:
    """Whether an scf op carries a value that never changes (or runs an empty else)."""
    match op:
        case scf.IfOp() if op.false_region.blocks:
            then_yield, else_yield = (region.block.last_op for region in op.regions)
            assert isinstance(then_yield, scf.YieldOp) and isinstance(else_yield, scf.YieldOp)
            pairs = zip(then_yield.arguments, else_yield.arguments, strict=True)
            empty_else = not op.results and else_yield is op.false_region.block.first_op
            return any(a is b for a, b in pairs) or empty_else
        case scf.ForOp():
            body = op.body.block
            assert isinstance(body.last_op, scf.YieldOp)
            return any(a is b for a, b in zip(body.last_op.arguments, body.args[1:], strict=True))
        case scf.WhileOp():
            before, after = op.before_region.block, op.after_region.block
            assert isinstance(before.last_op, scf.ConditionOp)
            assert isinstance(after.last_op, scf.YieldOp)
            forwarded, yielded = before.last_op.args, after.last_op.arguments
            return any(
                forwarded[i] is before.args[i] and yielded[i] is after.args[i]
                for i in range(len(before.args))
            )
        case _:
            return False


@pytest.mark.parametrize(
    ("case", "tile_bytes"),
    [
        (DeviceCase(block_size=1, offsets=True), 0),
        (DeviceCase(block_size=16, offsets=True, cumsum=True), 64),
        (DeviceCase(mode="PA_NZ", key_token=(3,), block_size=1), 0),
        (DeviceCase(mode="PA_NZ", key_token=(3,), value_token=(2,), block_size=16), 96),
        (DeviceCase(mode="PA_NZ", key_token=(4608,), value_token=(2,), block_size=4), 0),
        (DeviceCase(mode="PA_NZ", key_token=(4096,), block_size=2, soc="Ascend310B"), 0),
    ],
    ids=["norm-bs1", "norm-tiles", "nz-bs1", "nz-one-token-tiles", "nz-split-tokens", "nz-4096"],
)
def test_lowered_kernel_executes_nothing_for_nothing(case: DeviceCase, tile_bytes: int):
    """The tile loops are built with ``x + 0`` and friends and the walk threads a cursor
    that one-slot plans do not use; after the pipeline none of it is left: every constant
    sits once at the top of the kernel, no arithmetic has a pointless or constant
    operand pair, and no loop or branch carries a value that never changes."""
    module = lowered(case, tile_bytes=tile_bytes)
    kernel = next(op for op in module.walk() if isinstance(op, FuncOp))
    entry = kernel.body.block
    constants = [op for op in kernel.body.walk() if isinstance(op, arith.ConstantOp)]
    assert all(op.parent_block() is entry for op in constants)
    assert len({(op.value, op.result.type) for op in constants}) == len(constants)
    for op in kernel.body.walk():
        if isinstance(op, arith.SignlessIntegerBinaryOperation):
            lhs, rhs = constant_value(op.lhs), constant_value(op.rhs)
            assert lhs is None or rhs is None, f"{op.name} of two constants"
            assert rhs not in _IDENTITIES.get(type(op), ()), f"{op.name} by {rhs}"
            if isinstance(op, arith.AddiOp | arith.MuliOp):
                assert lhs not in _IDENTITIES[type(op)], f"{lhs} {op.name}"
        assert not _pass_through(op), f"{op.name} carries a value that never changes"


# ---------------------------------------------------------------------------- where failures point

_GATHER_AT = FileLineColLoc(StringAttr("seed.mlir"), IntAttr(7), IntAttr(3))
_LOCATED_KERNEL = """
func.func @k(%kc: memref<?x128x2x16xf16>, %vc: memref<?x128x2x16xf16>, %bt: memref<?x?xi32>,
             %sl: memref<?xi32>, %ko: memref<?x2x16xf16>, %vo: memref<?x2x16xf16>) {
  %stray = arith.constant 0 : index loc("seed.mlir":6:3)
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo)
    : memref<?x128x2x16xf16>, memref<?x128x2x16xf16>, memref<?x?xi32>, memref<?xi32>
    -> memref<?x2x16xf16>, memref<?x2x16xf16> loc("seed.mlir":7:3)
  func.return
}
"""


def _located_module(*, stray: bool) -> ModuleOp:
    text = _LOCATED_KERNEL if stray else _LOCATED_KERNEL.replace("%stray", "// %stray")
    return Parser(lowering_context(), text).parse_module()


def _failure(module: ModuleOp, **options: Any) -> PassFailedAt:
    with pytest.raises(PassFailedAt) as failure:
        PakvToAscendPipeline(soc="Ascend910B", **options).apply(lowering_context(), module)
    return failure.value


def test_a_buffer_that_does_not_fit_points_at_the_gather_that_asked_for_it():
    """The lowering's ops carry the gather's location, so a plan failure names its line."""
    failure = _failure(_located_module(stray=False), tile_bytes=128 * KIB)
    assert isinstance(failure.op, UbAllocOp)
    assert failure.op.location == _GATHER_AT
    assert str(failure).startswith("UB plan does not fit: buffer 'tile'")
    # xdsl-opt --verify-diagnostics prints the notes: the module, the message under the op.
    assert "^^^^" in "".join(failure.__notes__)


def test_a_stray_op_in_the_kernel_is_reported_at_its_own_line():
    failure = _failure(_located_module(stray=True))
    assert failure.op.name == "arith.constant"
    assert failure.op.location == FileLineColLoc(StringAttr("seed.mlir"), IntAttr(6), IntAttr(3))


def test_every_lowered_op_carries_the_gather_location():
    module = _located_module(stray=False)
    PakvToAscendPipeline(soc="Ascend910B").apply(lowering_context(), module)
    kernel = next(op for op in module.walk() if isinstance(op, FuncOp))
    lowered_ops = [op for op in kernel.body.walk() if op.name != "func.return"]
    assert lowered_ops and all(op.location == _GATHER_AT for op in lowered_ops)


# ---------------------------------------------------------------------------- stage notes


@pytest.mark.parametrize("mode", ["Norm", "PA_NZ"])
def test_stage_notes_head_their_stages(mode: str):
    """Each main stage's first op has a note; a flag put before a noted op takes it over."""
    token = (4,) if mode == "PA_NZ" else (2, 16)
    # PA_NZ by block transposes (on Ascend910_95 the default is the 3-D copy).
    module = lowered(
        DeviceCase(mode=mode, key_token=token, block_size=64), tile_bytes=64, nz="transpose"
    )
    notes: dict[str, list[str]] = {}
    for op in module.walk():
        note = op.attributes.get(NOTE_ATTR)
        if isinstance(note, StringAttr):
            notes.setdefault(op.name, []).append(note.data)
    assert notes["ascend.get_block_idx"] == [
        "This core's tokens: its balanced share, never past num_tokens."
    ]
    assert notes["scf.while"] == [
        "Walk the sequences in token order, up to this core's last token."
    ]
    assert "ascend.core_tokens" not in notes  # ascend-distribute-tokens replaced it
    texts = [text for texts in notes.values() for text in texts]
    for stage in ("Keys: tiles of up to", "Values: tiles of up to", "No valid block", "This seq"):
        assert sum(text.startswith(stage) for text in texts) == 1, stage
    if mode == "PA_NZ":
        # The transpose's note moved to the first flag ascend-insert-sync put before it.
        assert (
            notes["ascend.wait_flag"]
            == ["NZ to ND: transpose the tile's 32-byte blocks to token-major (V)."] * 2
        )
        assert "ascend.transpose_blocks" not in notes


# ---------------------------------------------------------------------------- running it


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("Norm", "slots=1"),
        ("Norm", "slots=3"),
        ("Norm", "slots=3 tile-bytes=96"),
        ("PA_NZ", "tile-bytes=96"),  # 1 + 1 slots, one token per tile
        ("PA_NZ", "tile-bytes=320"),  # 1 + 1 slots, runs cut evenly into <= 5 tokens
        ("PA_NZ", "slots=3"),  # whole blocks: 3 + 1 slots
        ("PA_NZ", "slots=3 tile-bytes=96"),  # 2 + 1 slots
    ],
)
def test_slot_counts_give_the_golden_bytes(mode: str, options: str):
    for bad in (None, "block_ids", "columns"):
        case = DeviceCase(mode=mode, lens=(40, 3, 77), block_size=8, bad=bad, key_token=(2,))
        if mode == "Norm":
            case = case.with_(key_token=(2, 3))
        run_and_compare(build(case), options=options)


def _one_core_nz_run(lens: tuple[int, ...], groups: int, tile_tokens: int) -> LoweredRun:
    """PA_NZ on the one-core Ascend310B, tiles forced to ``tile_tokens`` tokens at most,
    by the transpose with one group-major slot and tiles cut evenly."""
    case = DeviceCase(mode="PA_NZ", key_token=(groups,), lens=lens, block_size=64, soc="Ascend310B")
    tile_bytes = tile_tokens * groups * UB_ALIGN
    options = f"tile-bytes={tile_bytes} nz=transpose slots=2 row-align=false"
    run = run_and_compare(build(case), options=options)
    ops = run.kernel.module.walk()
    allocs = {op.purpose.data: op.slots for op in ops if isinstance(op, UbAllocOp)}
    assert allocs == {GROUP_MAJOR_BUFFER: 1, TOKEN_MAJOR_BUFFER: 1}
    return run


def test_nz_runs_are_cut_into_nearly_equal_tiles():
    """A 38-token run with room for 27 tokens per tile: two tiles of 19, not 27 + 11."""
    table = _one_core_nz_run((38,), groups=1, tile_tokens=27).trace.table()
    loads = table[table["kind"] == LOAD]
    assert loads["burst_len"].tolist() == [19 * UB_ALIGN] * 4  # keys, then values
    # A 64-token block with room for 9: eight tiles of 8 (not seven of 9 and one of 1).
    table = _one_core_nz_run((64,), groups=2, tile_tokens=9).trace.table()
    loads = table[table["kind"] == LOAD]
    assert loads["burst_len"].tolist() == [8 * UB_ALIGN] * 16


def test_one_group_major_slot_overlaps_each_load_with_the_store_before():
    """The token-major slot is the other half of double buffering: on the cost model's
    timeline, tile n + 1 loads while tile n is stored, and MTE2 waits only for the
    transposes that free its one slot."""
    run = _one_core_nz_run((200, 56), groups=4, tile_tokens=8)
    timeline = schedule(run.trace, soc_info("Ascend310B"))
    kinds = run.trace.table()["kind"][timeline.rows]
    end_ns = timeline.start_ns + timeline.duration_ns
    load_start, load_end = timeline.start_ns[kinds == LOAD], end_ns[kinds == LOAD]
    store_end = end_ns[kinds == STORE]
    transpose_ns = timeline.duration_ns[kinds == TRANSPOSE]
    assert load_start.size == store_end.size == transpose_ns.size == 2 * 256 // 8
    assert (load_start[1:] < store_end[:-1]).all()
    np.testing.assert_allclose(load_start[1:] - load_end[:-1], transpose_ns[:-1])


def test_nz_tokens_split_by_row_groups_give_the_golden_bytes():
    """A 144 KiB key token on 910B: tiles cover a share of the row groups of a few tokens."""
    case = DeviceCase(
        mode="PA_NZ",
        key_token=(4608,),
        value_token=(2,),
        block_size=4,
        lens=(6, 1),
        soc="Ascend910B",
        bad="block_ids",
    )
    run_and_compare(build(case))


def test_one_kernel_serves_every_runtime_size():
    """Batch, table width, block count and num_tokens change; the kernel does not."""
    kernels = set()
    for seed, lens in enumerate([(3,), (70, 1, 0, 12), (5, 200)]):
        run = run_and_compare(build(DeviceCase(lens=lens, seed=seed, extra_rows=seed - 1)))
        kernels.add(id(run.kernel))
    assert len(kernels) == 1


def test_tokens_are_balanced_when_one_sequence_is_1000x_longer():
    """Each core stores the same bytes, within one token, however skewed the batch."""
    case = build(DeviceCase(lens=(3, 3000, 2, 3, 1), block_size=16, key_token=(1, 16)))
    run = run_and_compare(case)
    stored = run.trace.dma_bytes(STORE, run.cores)
    token_bytes = case.key_ref[0:1].nbytes + case.value_ref[0:1].nbytes
    assert run.cores == SOCS["Ascend910_95"].vector_cores
    assert int(stored.max() - stored.min()) <= token_bytes


def test_the_sync_pass_keeps_to_the_socs_event_ids():
    """Ascend910 has event ids 0-3 (pakv_dialect/soc.py): five tile slots on one pipe
    pair need ids 0-4, a located error there and fine on an 8-id SoC."""
    case = DeviceCase(key_token=(1, 16), block_size=128, lens=(300,))
    lowered(case.with_(soc="Ascend910B"), slots=5)
    with pytest.raises(PassFailedAt, match="needs events up to 4 on MTE2/MTE3, past the 4 event"):
        lowered(case.with_(soc="Ascend910"), slots=5)
