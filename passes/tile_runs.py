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
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
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
    CORES_ATTR,
    KERNEL_ATTR,
    NOTE_ATTR,
    SYNC_ATTR,
    CopyDirection,
    CopyRunOp,
    UbAllocOp,
    ZeroRunOp,
    function_soc,
    token_bytes,
)
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import DEFAULT_SOC, AscendCApi, SocError, SocInfo, soc_info
from passes.diagnostics import fail_at
from passes.kernel_builder import KernelBuilder
from passes.loop_carried import drop_invariant_carried_values
from passes.nz_tiles import DIRECT_NZ_TILES, plan_direct_nz
from passes.strategy import (
    NzMethod,
    PlanChoices,
    PlanOptionError,
    PlanOptions,
    Split,
    Strategy,
    Sync,
    resolve_plan,
)
from passes.tile_loops import TILES, RunTiles
from passes.tile_plan import StreamPlan, TilePlan, TilePlanError, plan_tiles
from passes.work_split import Deal, DealtNormTiles


@dataclass(frozen=True)
class TilingOptions(ModulePass, ABC):
    """How the runs are cut: the options of ``ascend-tile-runs`` and of the
    ``pakv-to-ascend`` pipeline, which passes them on. ``strategy`` presets the others;
    any of them given is put over the preset (``passes/strategy.py``)."""

    soc: str = DEFAULT_SOC
    """The SoC of kernels without an ``ascend.soc`` attribute: its UB capacity."""
    strategy: str = Strategy.PAKV.value
    """``pakv``, or a vendor kernel as a preset: ``a2`` (older A2/A3), ``ascend950``."""
    slots: int | None = None
    """Tile slots in UB (PA_NZ transpose: at least 2, one of them token-major): 2
    overlaps the load of tile n + 1 with the store of tile n."""
    tile_bytes: int | None = None
    """Force the slot size (a multiple of 32); 0 derives it from the SoC's UB."""
    split: str | None = None
    """How work reaches the cores: ``tokens``, ``deal`` or ``batches``."""
    nz: str | None = None
    """PA_NZ method: ``transpose``, ``load3d`` (Ascend 950), ``block3d``, ``per-token``."""
    sync: str | None = None
    """``flags`` (per slot) or ``barrier`` (PipeBarrier<PIPE_ALL> after every copy)."""
    cores: int | None = None
    """Launch at most this many vector cores (0: all of the SoC's)."""
    row_align: bool | None = None
    """PA_NZ: tiles of whole 512-byte rows (16 tokens), not cut evenly."""

    def plan_options(self) -> PlanOptions:
        return PlanOptions(
            self.strategy, self.split, self.slots, self.tile_bytes, self.nz, self.sync,
            self.cores, self.row_align,
        )  # fmt: skip


@dataclass(frozen=True)
class KernelTiling:
    """One kernel's tile plan, its UB buffers (by purpose), the plan of each stream
    (by its token-major tensor), its SoC (whose DMA forms the tiles take) and the
    choices behind them."""

    entry: Block
    plan: TilePlan
    buffers: Mapping[str, SSAValue]
    streams: Mapping[SSAValue, StreamPlan]
    soc: SocInfo
    choices: PlanChoices
    deal: Deal | None = None
    """This core and the cores tiles are dealt over, under ``split=deal``."""

    def tiles(self, kb: KernelBuilder) -> RunTiles:
        if self.plan.mode == CacheMode.PA_NZ and self.choices.nz != NzMethod.TRANSPOSE:
            direct = DIRECT_NZ_TILES[self.choices.nz]
            return direct(kb, self.plan, self.buffers, self.soc, self.deal)
        if self.deal is not None:
            if self.plan.mode != CacheMode.Norm:
                raise TilePlanError("split=deal deals PA_NZ tokens with nz=per-token only")
            return DealtNormTiles(kb, self.plan, self.buffers, self.soc, self.deal)
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
        deal = self.tiling.deal
        with kb.stage(note.data if isinstance(note, StringAttr) else None):
            tiles = self.tiling.tiles(kb)
            stream = self.tiling.streams[op.tokens]
            if deal is None:
                tiles.zero(op, stream)
            else:  # every core walks the run: the core of its first token writes it

                def zero() -> list[SSAValue]:
                    tiles.zero(op, stream)
                    return []

                kb.if_(deal.owns(kb, op.token), [], zero)
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
        soc_row = soc_info(soc)
    except SocError as e:
        fail_at(func, str(e))
    sizes = list(streams.values())
    direction = first.direction.data
    try:
        choices = resolve_plan(
            options.plan_options(), first.mode, [block_size * t for t in sizes], soc_row,
            direction,
        )  # fmt: skip
        plan = _plan(choices, first.mode, block_size, sizes, soc_row, direction)
    except (TilePlanError, PlanOptionError) as e:
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
    deal = None
    if choices.split == Split.DEAL:
        deal = Deal.at_entry(KernelBuilder(builder, entry, first.location))
    _record_choices(func, choices)
    return KernelTiling(
        entry, plan, buffers, dict(zip(streams, plan.streams, strict=True)), soc_row, choices,
        deal,
    )  # fmt: skip


def _plan(
    choices: PlanChoices,
    mode: CacheMode,
    block_size: int,
    token_bytes: list[int],
    soc: SocInfo,
    direction: CopyDirection,
) -> TilePlan:
    """The UB plan the choices call for (``passes/tile_plan.py``, ``passes/nz_tiles.py``)."""
    if mode == CacheMode.PA_NZ and choices.nz != NzMethod.TRANSPOSE:
        if choices.nz in (NzMethod.LOAD3D, NzMethod.BLOCK3D) and soc.missing_apis(
            frozenset({AscendCApi.ND_DMA})
        ):
            raise TilePlanError(
                f"nz={choices.nz.value} needs the 3-D copy ({AscendCApi.ND_DMA.value}), "
                f"which {soc.name} does not have"
            )
        return plan_direct_nz(
            choices.nz,
            block_size=block_size,
            token_bytes=token_bytes,
            ub_bytes=soc.ub_usable_bytes,
            slots=choices.slots,
            tile_bytes=choices.tile_bytes,
            row_align=choices.row_align,
            data_copy_pad=soc.has_data_copy_pad,
        )
    return plan_tiles(
        mode,
        block_size=block_size,
        token_bytes=token_bytes,
        ub_bytes=soc.ub_usable_bytes,
        slots=choices.slots,
        tile_bytes=choices.tile_bytes,
        row_align=choices.row_align,
        direction=direction,
        data_copy_pad=soc.has_data_copy_pad,
    )


def _record_choices(func: FuncOp, choices: PlanChoices) -> None:
    """What the later passes and the host read off the kernel: its sync discipline
    (``ascend-insert-sync``) and its core limit (the launch's tiling)."""
    if choices.sync != Sync.FLAGS:  # flags, the default, go unsaid
        func.attributes[SYNC_ATTR] = StringAttr(choices.sync.value)
    if choices.cores:
        func.attributes[CORES_ATTR] = IntegerAttr(choices.cores, IndexType())


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
    # No dead-code elimination while expanding: the dealt tiles' kernel-entry values
    # have no users until the runs after them are expanded (canonicalize cleans up).
    applier = GreedyRewritePatternApplier(patterns, dce_enabled=False)
    walker = PatternRewriteWalker(applier, apply_recursively=False)
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
