"""``ascend-tile-runs``: expand every run of a kernel into tile loops, per cache layout.

``convert-pakv-to-ascend`` leaves one ``ascend.copy_run`` per run and stream and one
``ascend.zero_run`` per invalid run and stream. This pass owns the UB: per kernel it
asks ``passes/tile_plan.py`` how to cut the runs (from the layout, the block size and
the token size of each stream, all read off the run ops, and the UB of the kernel's
SoC), creates one ``ascend.ub_alloc`` per buffer of the plan at the top of the
kernel, and replaces each run op by its tile loops (``passes/tile_loops.py``):

* ``TileNormCopyRun``: a Norm run is one contiguous byte range in the cache and in the
  output, cut into tiles of one UB slot each (96256 bytes with two slots on a 192 KiB
  UB), one burst in and one out per tile, padded like DataCopyPad when not 32-byte
  aligned. Tiles ignore token boundaries, so any token size works.
* ``TileNzCopyRun``: a PA_NZ run is loaded group-major (``H / ea`` bursts of ``k * 32``
  bytes per tile of ``k`` tokens; above 4095 bursts the load is split), transposed
  by 32-byte blocks into a token-major buffer and stored as one contiguous burst. The
  UB is cut in halves, a group-major slot and a token-major slot, and a run into nearly
  equal tiles; a token larger than a slot is cut by row groups too.
* ``TileZeroRun``: zero tokens are filled and stored chunk by chunk.

A scatter's runs (``ascend.copy_run`` in the ``scatter`` direction) go through the same
two patterns, backwards: the plan gives the loads the token side's buffer and the
layout's tiles swap their loads and stores (``passes/tile_plan.py``,
``passes/tile_loops.py``). A kernel's runs share one direction.

Each stage is noted (``ascend.note``, a comment in the printed AscendC): a run's own
note (the stream's name) heads its tiles, followed by what one tile is.

The runs' cursor becomes the load slot of the next tile (``tile_loops`` says how): tile
``n`` loads into slot ``n % slots`` of the load buffer, keys and values alike, so the
load of tile ``n + 1`` overlaps the store of tile ``n`` once ``ascend-insert-sync`` adds
flags. With one load slot the cursor is forwarded unchanged, and the values that
carried it through the walk's loops are dropped (``passes/loop_carried.py``).

The tile loops are built as the ops read (``x + 0`` included, when a tile starts at
the run's first byte); ``pakv-to-ascend`` runs stock ``canonicalize`` after this pass
to fold them. Per tile, after that, a Norm tile executes 7 ops (plus 4 flag ops after
``ascend-insert-sync``), a PA_NZ tile 13 (plus 8).

Options (:class:`TilingOptions`, shared with the ``pakv-to-ascend`` pipeline): ``slots``
(tile slots in UB, 2 = double buffering: Norm's tile buffer has them all, PA_NZ gives
one to the token-major buffer and the rest to the group-major one), ``tile_bytes``
(force the slot size, for tests; 0 derives it from the UB), ``soc`` (the SoC of a kernel
without an ``ascend.soc`` attribute).
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from pakv_dialect.ascend import (
    KERNEL_ATTR,
    NOTE_ATTR,
    CopyRunOp,
    UbAllocOp,
    ZeroRunOp,
    function_soc,
    token_bytes,
)
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import DEFAULT_SOC, SocError, SocInfo, soc_info
from passes.diagnostics import fail_at
from passes.kernel_builder import KernelBuilder
from passes.loop_carried import drop_invariant_carried_values
from passes.tile_loops import TILES, RunTiles
from passes.tile_plan import StreamPlan, TilePlan, TilePlanError, plan_tiles


@dataclass(frozen=True)
class TilingOptions(ModulePass, ABC):
    """How the runs are cut: the options of ``ascend-tile-runs`` and of the
    ``pakv-to-ascend`` pipeline, which passes them on."""

    soc: str = DEFAULT_SOC
    """The SoC of kernels without an ``ascend.soc`` attribute: its UB capacity."""
    slots: int = 2
    """Tile slots in UB (PA_NZ: at least 2, one of them token-major): 2 overlaps the
    load of tile n + 1 with the store of tile n."""
    tile_bytes: int = 0
    """Force the slot size (a multiple of 32); 0 derives it from the SoC's UB."""


@dataclass(frozen=True)
class KernelTiling:
    """One kernel's tile plan, its UB buffers (by purpose), the plan of each stream
    (by its token-major tensor) and its SoC (whose DMA forms the tiles take)."""

    entry: Block
    plan: TilePlan
    buffers: Mapping[str, SSAValue]
    streams: Mapping[SSAValue, StreamPlan]
    soc: SocInfo

    def tiles(self, kb: KernelBuilder) -> RunTiles:
        return TILES[self.plan.mode](kb, self.plan, self.buffers, self.soc)


def _stage_note(run: CopyRunOp, tiles: str) -> str:
    """The run's note (what it copies), then what its tiles are."""
    note = run.attributes.get(NOTE_ATTR)
    if isinstance(note, StringAttr):
        return f"{note.data}: {tiles}"
    return tiles[:1].upper() + tiles[1:]


@dataclass(frozen=True)
class _TileCopyRun(RewritePattern):
    tiling: KernelTiling
    layout: ClassVar[CacheMode]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CopyRunOp, rewriter: PatternRewriter) -> None:
        if op.mode != self.layout:
            return
        kb = KernelBuilder(rewriter, self.tiling.entry, op.location)
        tiles = self.tiling.tiles(kb)
        stream = self.tiling.streams[op.tokens]
        with kb.stage(_stage_note(op, tiles.copy_note(stream))):
            cursor = tiles.copy(op, stream)
        rewriter.replace(op, [], [cursor])


class TileNormCopyRun(_TileCopyRun):
    """A Norm run: tiles of contiguous bytes (``tile_loops.NormTiles``)."""

    layout = CacheMode.Norm


class TileNzCopyRun(_TileCopyRun):
    """A PA_NZ run: group-major loads, transposes, token-major stores
    (``tile_loops.NzTiles``)."""

    layout = CacheMode.PA_NZ


@dataclass(frozen=True)
class TileZeroRun(RewritePattern):
    """A zero run: fills and stores of the layout's zero buffer, chunk by chunk."""

    tiling: KernelTiling

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ZeroRunOp, rewriter: PatternRewriter) -> None:
        kb = KernelBuilder(rewriter, self.tiling.entry, op.location)
        note = op.attributes.get(NOTE_ATTR)
        with kb.stage(note.data if isinstance(note, StringAttr) else None):
            self.tiling.tiles(kb).zero(op, self.tiling.streams[op.tokens])
        rewriter.erase(op)


def _check_one_plan(run: CopyRunOp, first: CopyRunOp) -> None:
    """``run`` can share the plan of ``first``: a static block size, the same layout and
    direction."""
    if run.block_size is None:
        fail_at(run, f"ascend-tile-runs needs a static block size, got {run.cache.type}")
    if run.mode != first.mode or run.block_size != first.block_size:
        fail_at(
            run,
            f"ascend-tile-runs needs one layout and block size per kernel: this run is "
            f"{run.mode} with blocks of {run.block_size}, the first {first.mode} with blocks "
            f"of {first.block_size}",
        )
    if run.direction != first.direction:
        fail_at(
            run,
            f"ascend-tile-runs needs one direction per kernel (its buffers' pipes follow "
            f"it): this run is a {run.direction.data}, the first a {first.direction.data}",
        )


def _stream_token_bytes(copies: list[CopyRunOp], zeros: list[ZeroRunOp]) -> dict[SSAValue, int]:
    """The streams of a kernel's runs (their token-major tensors, in order) and their
    token sizes, checked to share one plan."""
    streams: dict[SSAValue, int] = {}
    for op in copies:
        _check_one_plan(op, copies[0])
        size = token_bytes(op.tokens)
        if size is None:
            fail_at(op, f"ascend-tile-runs needs a static token size, got {op.tokens.type}")
        streams.setdefault(op.tokens, size)
    for op in zeros:
        if op.tokens not in streams:
            fail_at(
                op,
                "ascend-tile-runs cuts a zero run by the plan of the copy runs into its "
                "tokens: none here",
            )
    return streams


def _kernel_tiling(func: FuncOp, options: TilingOptions) -> KernelTiling | None:
    """Plan the runs of ``func`` and create its UB buffers; None when it has no runs."""
    copies = [op for op in func.walk() if isinstance(op, CopyRunOp)]
    zeros = [op for op in func.walk() if isinstance(op, ZeroRunOp)]
    streams = _stream_token_bytes(copies, zeros)
    if not streams:
        return None
    first = copies[0]
    block_size = first.block_size
    assert block_size is not None  # _stream_token_bytes checked it

    soc = function_soc(func) or options.soc
    try:
        chip = soc_info(soc)
    except SocError as e:
        fail_at(func, str(e))
    ub_bytes = chip.ub_usable_bytes
    try:
        plan = plan_tiles(
            first.mode,
            block_size=block_size,
            token_bytes=list(streams.values()),
            ub_bytes=ub_bytes,
            slots=options.slots,
            tile_bytes=options.tile_bytes,
            direction=first.direction.data,
            data_copy_pad=chip.has_data_copy_pad,
        )
    except TilePlanError as e:
        fail_at(first, f"cannot tile the runs of @{func.sym_name.data} for {soc}: {e}")

    entry = func.body.block
    after_constants = next((op for op in entry.ops if not isinstance(op, arith.ConstantOp)), None)
    builder = Builder(
        InsertPoint.before(after_constants) if after_constants else InsertPoint.at_end(entry)
    )
    buffers: dict[str, SSAValue] = {}
    for buffer in plan.buffers:
        alloc = UbAllocOp(buffer.purpose, buffer.slots, buffer.slot_bytes)
        alloc.location = first.location
        alloc.buffer.name_hint = buffer.purpose
        buffers[buffer.purpose] = builder.insert(alloc).buffer
    return KernelTiling(entry, plan, buffers, dict(zip(streams, plan.streams, strict=True)), chip)


def tile_kernel(func: FuncOp, options: TilingOptions) -> None:
    """Replace the runs of one kernel function by their tile loops."""
    tiling = _kernel_tiling(func, options)
    if tiling is None:
        return
    patterns: list[RewritePattern] = [
        TileNormCopyRun(tiling),
        TileNzCopyRun(tiling),
        TileZeroRun(tiling),
    ]
    walker = PatternRewriteWalker(GreedyRewritePatternApplier(patterns), apply_recursively=False)
    walker.rewrite_region(func.body)
    if tiling.plan.load_slots == 1:
        drop_invariant_carried_values(func.body)  # the cursors forwarded unchanged


@dataclass(frozen=True)
class TileRunsPass(TilingOptions):
    """Expand every ``ascend.copy_run``/``ascend.zero_run`` of a kernel into tile loops
    of DMAs in UB buffers the pass plans."""

    name = "ascend-tile-runs"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in op.walk():
            if isinstance(func, FuncOp) and KERNEL_ATTR in func.attributes:
                tile_kernel(func, self)
