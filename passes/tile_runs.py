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
from dataclasses import dataclass, field
from typing import ClassVar

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.ascend import (
    CORES_ATTR,
    KERNEL_ATTR,
    NOTE_ATTR,
    SYNC_ATTR,
    CopyDirection,
    CopyRunOp,
    LoadOp,
    LoadScalarOp,
    MapRunOp,
    UbAllocOp,
    ZeroRunOp,
    align_up,
    function_soc,
    run_program,
    token_bytes,
)
from pakv_dialect.dma import BLOCK_BYTES, pick_form
from pakv_dialect.dtypes import kv_kind_of_type
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import DEFAULT_SOC, AscendCApi, SocError, SocInfo, soc_info
from passes.compute_stage import ParamValue, StreamCompute, UbPosition, stream_compute
from passes.compute_tiles import NormComputeTiles, compute_tiles
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
from passes.tile_plan import (
    PARAMS_BUFFER,
    ComputeStream,
    StreamPlan,
    TilePlan,
    TilePlanError,
    plan_compute_tiles,
    plan_tiles,
)
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
    choices behind them; in a compute kernel, each stream's Compute stage and the
    kernel's parameters as the stages read them."""

    entry: Block
    plan: TilePlan
    buffers: Mapping[str, SSAValue]
    streams: Mapping[SSAValue, StreamPlan]
    soc: SocInfo
    choices: PlanChoices
    deal: Deal | None = None
    """This core and the cores tiles are dealt over, under ``split=deal``."""
    computes: Mapping[SSAValue, StreamCompute] = field(
        default_factory=dict[SSAValue, StreamCompute]
    )
    params: Mapping[SSAValue, ParamValue] = field(default_factory=dict[SSAValue, ParamValue])

    def tiles(self, kb: KernelBuilder) -> RunTiles:
        if self.plan.compute:
            return compute_tiles(kb, self.plan, self.buffers, self.soc, self.computes, self.params)
        if self.plan.mode == CacheMode.PA_NZ and self.choices.nz != NzMethod.TRANSPOSE:
            direct = DIRECT_NZ_TILES[self.choices.nz]
            return direct(kb, self.plan, self.buffers, self.soc, self.deal)
        if self.deal is not None:
            if self.plan.mode != CacheMode.Norm:
                raise TilePlanError("split=deal deals PA_NZ tokens with nz=per-token only")
            return DealtNormTiles(kb, self.plan, self.buffers, self.soc, self.deal)
        return TILES[self.plan.mode](kb, self.plan, self.buffers, self.soc)


def _stage_note_of(run: CopyRunOp | MapRunOp, tiles: str) -> str:
    return _stage_note(run, tiles)


def _stage_note(run: CopyRunOp | MapRunOp, tiles: str) -> str:
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
class TileMapRun(RewritePattern):
    """An unfused consumer's run: compute tiles of its tokens (``NormComputeTiles.map``)."""

    tiling: KernelTiling

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapRunOp, rewriter: PatternRewriter) -> None:
        kb = KernelBuilder(rewriter, self.tiling.entry, op.location)
        tiles = self.tiling.tiles(kb)
        assert isinstance(tiles, NormComputeTiles)
        stream = self.tiling.streams[op.tokens]
        with kb.stage(_stage_note_of(op, tiles.copy_note(stream))):
            cursor = tiles.map(op, stream)
        rewriter.replace(op, [], [cursor])


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


def _kernel_soc(func: FuncOp, options: TilingOptions) -> SocInfo:
    soc = function_soc(func) or options.soc
    try:
        return soc_info(soc)
    except SocError as e:
        fail_at(func, str(e))


def _allocate(
    func: FuncOp, plan: TilePlan, where: Operation
) -> tuple[Builder, dict[str, SSAValue]]:
    """One ``ub_alloc`` per buffer of ``plan`` at the top of ``func`` (after its
    constants), located at ``where``; the builder stays after them."""
    entry = func.body.block
    after_constants = next((op for op in entry.ops if not isinstance(op, arith.ConstantOp)), None)
    builder = Builder(
        InsertPoint.before(after_constants) if after_constants else InsertPoint.at_end(entry)
    )
    buffers: dict[str, SSAValue] = {}
    for buffer in plan.buffers:
        alloc = UbAllocOp(buffer.purpose, buffer.slots, buffer.slot_bytes)
        alloc.location = where.location
        alloc.buffer.name_hint = buffer.purpose
        buffers[buffer.purpose] = builder.insert(alloc).buffer
    return builder, buffers


def _kernel_tiling(func: FuncOp, options: TilingOptions) -> KernelTiling | None:
    """Plan the runs of ``func`` and create its UB buffers; None when it has no runs."""
    copies = [op for op in func.walk() if isinstance(op, CopyRunOp)]
    maps = [op for op in func.walk() if isinstance(op, MapRunOp)]
    zeros = [op for op in func.walk() if isinstance(op, ZeroRunOp)]
    if maps or any(op.map is not None for op in copies):
        return _compute_tiling(func, options, copies, maps, zeros)
    streams = _stream_token_bytes(copies, zeros)
    if not streams:
        return None
    first = copies[0]
    block_size = first.block_size
    assert block_size is not None  # _stream_token_bytes checked it

    soc = _kernel_soc(func, options)
    sizes = list(streams.values())
    direction = first.direction.data
    try:
        choices = resolve_plan(
            options.plan_options(), first.mode, [block_size * t for t in sizes], soc,
            direction,
        )  # fmt: skip
        plan = _plan(choices, first.mode, block_size, sizes, soc, direction)
    except (TilePlanError, PlanOptionError) as e:
        fail_at(first, f"cannot tile the runs of @{func.sym_name.data} for {soc.name}: {e}")
    builder, buffers = _allocate(func, plan, first)
    deal = None
    if choices.split == Split.DEAL:
        deal = Deal.at_entry(KernelBuilder(builder, func.body.block, first.location))
    _record_choices(func, choices)
    return KernelTiling(
        func.body.block, plan, buffers, dict(zip(streams, plan.streams, strict=True)), soc,
        choices, deal,
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


def _compute_choices(options: TilingOptions) -> PlanChoices:
    """A compute kernel (fused or unfused consumers, ``passes/compute_tiles.py``) takes
    PAKV's plan: its sizes and cores may be given, a vendor strategy, another split,
    PA_NZ method or sync discipline is refused (PlanOptionError), not ignored."""
    given = options.plan_options()
    given.check()
    for name, value, honoured in (
        ("strategy", given.strategy, Strategy.PAKV.value),
        ("split", given.split, Split.TOKENS.value),
        ("nz", given.nz, NzMethod.TRANSPOSE.value),
        ("sync", given.sync, Sync.FLAGS.value),
    ):
        if value is not None and value != honoured:
            raise PlanOptionError(
                f"{name}={value}: a kernel with a Compute stage takes PAKV's plan "
                f"(strategy=pakv split=tokens nz=transpose sync=flags)"
            )
    if given.row_align:
        raise PlanOptionError(
            "row-align=true: a kernel with a Compute stage cuts its tiles by whole tokens"
        )
    return PlanChoices(
        Strategy.PAKV, Split.TOKENS, 2 if given.slots is None else given.slots,
        given.tile_bytes or 0, NzMethod.TRANSPOSE, Sync.FLAGS, given.cores or 0, False,
    )  # fmt: skip


def _compute_tiling(
    func: FuncOp,
    options: TilingOptions,
    copies: list[CopyRunOp],
    maps: list[MapRunOp],
    zeros: list[ZeroRunOp],
) -> KernelTiling:
    """A compute kernel's plan: each stream's Compute stage on the kernel's SoC, tiles
    of whole tokens, and the parameters read once at the top of the kernel (per-tensor
    ones as scalars, per-channel ones into the ``params`` buffer)."""
    soc = _kernel_soc(func, options)
    runs: list[CopyRunOp | MapRunOp] = [*copies, *maps]
    first = runs[0]
    try:
        choices = _compute_choices(options)
    except PlanOptionError as e:
        fail_at(first, f"cannot tile the runs of @{func.sym_name.data} for {soc.name}: {e}")
    if copies and maps:
        fail_at(maps[0], "ascend-tile-runs plans a gather's runs or a consumer's, not both")
    for op in copies:
        _check_one_plan(op, copies[0])
    computes: dict[SSAValue, StreamCompute] = {}
    for op in runs:
        source = op.map_source if isinstance(op, CopyRunOp) else op.source
        kind = kv_kind_of_type(source.type.get_element_type())  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
        assert kind is not None
        try:
            compute = stream_compute(run_program(op), kind, list(op.params), soc)
        except VerifyException as e:
            fail_at(op, f"{op.name}: {e}")
        known = computes.setdefault(op.tokens, compute)
        if known != compute:
            fail_at(op, "ascend-tile-runs needs one computation per output tensor")
    for op in zeros:
        if op.tokens not in computes:
            fail_at(op, "ascend-tile-runs computes a zero run by the plan of the runs into its "
                    "tokens: none here")  # fmt: skip
    vectors = _vector_params(runs)
    streams = [
        ComputeStream(
            (token_bytes(tokens) or 0) // _element_size(tokens),
            compute.source.size,
            compute.result.size,
            compute.intermediates,
        )
        for tokens, compute in computes.items()
    ]
    mode = copies[0].mode if copies else CacheMode.Norm
    try:
        plan = plan_compute_tiles(
            mode,
            block_size=copies[0].block_size if copies else None,
            streams=streams,
            ub_bytes=soc.ub_usable_bytes,
            slots=choices.slots,
            tile_bytes=choices.tile_bytes,
            param_bytes=sum(align_up(size) for size in vectors.values()),
            data_copy_pad=soc.has_data_copy_pad,
            direction=copies[0].direction.data if copies else CopyDirection.gather,
        )
    except TilePlanError as e:
        fail_at(first, f"cannot tile the runs of @{func.sym_name.data} for {soc.name}: {e}")
    builder, buffers = _allocate(func, plan, first)
    params = _load_params(func, builder, buffers, runs, vectors, first, soc)
    _record_choices(func, choices)
    return KernelTiling(
        func.body.block, plan, buffers, dict(zip(computes, plan.streams, strict=True)), soc,
        choices, None, computes, params,
    )  # fmt: skip


def _element_size(tokens: SSAValue) -> int:
    kind = kv_kind_of_type(tokens.type.get_element_type())  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
    assert kind is not None
    return kind.size


def _vector_params(runs: list[CopyRunOp | MapRunOp]) -> dict[SSAValue, int]:
    """The per-channel parameters of the runs, each once, with their bytes."""
    vectors: dict[SSAValue, int] = {}
    for op in runs:
        for value in op.params:
            shape = value.type.get_shape()  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
            if shape:
                elements = 1
                for dim in shape:  # pyright: ignore[reportUnknownVariableType]
                    elements *= dim  # pyright: ignore[reportUnknownVariableType]
                vectors.setdefault(value, 4 * elements)  # pyright: ignore[reportUnknownArgumentType]
    return vectors


def _load_params(
    func: FuncOp,
    builder: Builder,
    buffers: Mapping[str, SSAValue],
    runs: list[CopyRunOp | MapRunOp],
    vectors: Mapping[SSAValue, int],
    where: Operation,
    soc: SocInfo,
) -> dict[SSAValue, ParamValue]:
    """Read every parameter once, after the UB buffers: a per-tensor one as an f32
    scalar (S pipe), a per-channel one into the ``params`` buffer (MTE2, one burst in
    the form its length takes: ``pakv_dialect.dma``)."""
    kb = KernelBuilder(builder, func.body.block, where.location)
    params: dict[SSAValue, ParamValue] = {}
    offset = 0
    with kb.stage("The consumers' parameters, read once per core."):
        for op in runs:
            for value in op.params:
                if value in params:
                    continue
                if value not in vectors:
                    scalar = kb.insert(LoadScalarOp(value, []), f"{value.name_hint or 'param'}")
                    params[value] = scalar.result
                    continue
                zero = kb.const(0)
                length = vectors[value]
                form = pick_form(
                    aligned=length % BLOCK_BYTES == 0, bounds={"burst_len": length},
                    data_copy_pad=soc.has_data_copy_pad,
                )  # fmt: skip
                assert form is not None, "a vector that fits half the UB fits the bytes form"
                kb.insert(
                    LoadOp(
                        gm=value, gm_offset=zero, ub=buffers[PARAMS_BUFFER], slot=zero,
                        ub_offset=kb.const(offset), n_burst=kb.const(1),
                        burst_len=kb.const(length), gm_gap=zero, ub_gap=zero, form=form,
                    )
                )  # fmt: skip
                params[value] = UbPosition(buffers[PARAMS_BUFFER], 0, offset)
                offset += align_up(vectors[value])
    return params


def tile_kernel(func: FuncOp, options: TilingOptions) -> None:
    """Replace the runs of one kernel function by their tile loops."""
    tiling = _kernel_tiling(func, options)
    if tiling is None:
        return
    patterns: list[RewritePattern] = [
        TileNormCopyRun(tiling),
        TileNzCopyRun(tiling),
        TileMapRun(tiling),
        TileZeroRun(tiling),
    ]
    # No dead-code elimination while expanding: the dealt tiles' kernel-entry values and
    # a compute kernel's parameters (read at its top) have no users until the runs after
    # them are expanded (canonicalize cleans up).
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
