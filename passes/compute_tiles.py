"""The tile loops of a compute kernel: CopyIn, Compute, CopyOut, per cache layout.

A kernel with a consumer (a fused gather, or an unfused consumer's own kernel) cuts
its runs into tiles of whole tokens (``passes/tile_plan.py``: ``plan_compute_tiles``)
rather than of bytes, because a per-channel parameter must meet the right channels.
Each tile is loaded into a slot of the load buffer (MTE2), computed by the stream's
Compute stage (``passes/compute_stage.py``, V) into the same slot of the ``output``
buffer, and stored from there (MTE3); tile ``n`` uses slot ``n % slots`` as in copy
kernels, so ``ascend-insert-sync`` overlaps the load of tile ``n + 1`` with the
store of tile ``n``.

* Norm (and the unfused consumer's token-major tensors): ``tile_tokens`` tokens per
  tile, each a row of ``row_pitch`` elements in every buffer: the token itself when
  its bytes, as loaded and as stored, are multiples of 32 (one burst in, one out per
  tile), else padded to 32 elements (one burst per token: ``DataCopyPad`` pads each
  in UB). A token too large for a tile is cut into chunks of channels, one token
  per tile.
* PA_NZ: the copy kernel's group-major load (``NzTiles``), then the transpose writes
  the token-major tile into the first work slot, where Compute starts; a token cut by
  row groups is computed chunk by chunk.
* Zero tokens (a column past the table, a bad block id): the tile is zero-filled in
  the first work slot and computed like a loaded one, since the unfused program
  applies its consumer to the zeros the gather wrote.

Every DMA takes its form as the copy tiles' do (``RunTiles.form``): the ``blocks`` form
when its lengths and gaps are 32-byte multiples, else ``bytes``; a run starts
``RunTiles.block_stride`` bytes per block into a (possibly strided) cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from xdsl.ir import SSAValue

from pakv_dialect.ascend import (
    CopyRunOp,
    FillZeroOp,
    LoadOp,
    MapRunOp,
    StoreOp,
    TransposeBlocksOp,
    ZeroRunOp,
    align_up,
)
from pakv_dialect.dma import BLOCK_BYTES, MAX_BURSTS, DmaForm
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode
from pakv_dialect.soc import SocInfo
from passes.compute_stage import ComputeStage, ParamValue, StreamCompute, UbPosition
from passes.kernel_builder import KernelBuilder, Value
from passes.tile_loops import GroupsDma, NzTiles, RunTiles, Slots
from passes.tile_plan import (
    GROUP_MAJOR_BUFFER,
    INPUT_BUFFER,
    OUTPUT_BUFFER,
    WORK_BUFFER,
    StreamPlan,
    TilePlan,
)


class _ComputeTiles:
    """What both layouts' compute tiles share: the stages, and the zero tiles."""

    kb: KernelBuilder
    plan: TilePlan
    buffers: Mapping[str, SSAValue]
    store: Callable[..., None]
    form: Callable[..., DmaForm]

    def _setup(
        self, computes: Mapping[SSAValue, StreamCompute], params: Mapping[SSAValue, ParamValue]
    ) -> None:
        self.computes = computes
        self.params = params

    def stage(self, tokens: SSAValue) -> ComputeStage:
        return ComputeStage(self.kb, self.computes[tokens], self.buffers[WORK_BUFFER], self.params)

    def sizes(self, tokens: SSAValue) -> tuple[int, int, int]:
        """``H``, bytes per element as loaded, as stored."""
        compute = self.computes[tokens]
        out = compute.result.size
        ty = tokens.type
        inner = ty.get_shape()[1:]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
        h = 1
        for dim in inner:  # pyright: ignore[reportUnknownVariableType]
            h *= dim  # pyright: ignore[reportUnknownVariableType]
        return h, compute.source.size, out  # pyright: ignore[reportUnknownVariableType]

    def copy_note(self, stream: StreamPlan) -> str:
        chunks = f" x {stream.tile_channels} channels" if stream.row_pitch else ""
        return (
            f"tiles of up to {stream.tile_tokens} token(s){chunks}: CopyIn (MTE2), Compute (V) "
            "into the output slot, CopyOut (MTE3)."
        )

    def store_rows(
        self,
        tokens: SSAValue,
        slot: Value,
        dst: Value,
        rows: Value,
        cols: Value,
        pitch: Value,
        split: bool,
        gm: SSAValue | None = None,
    ) -> None:
        """CopyOut: ``rows`` rows of ``cols`` elements from the output slot, into
        ``tokens`` (or ``gm``: a scatter's cache block, laid out like them)."""
        kb = self.kb
        target = tokens if gm is None else gm
        h, _, out = self.sizes(tokens)
        slot_bytes = self.plan.buffer(OUTPUT_BUFFER).slot_bytes
        aligned = (h * out) % BLOCK_BYTES == 0
        if not split and pitch == h:
            form = self.form(aligned=aligned, burst_len=slot_bytes)
            length = kb.mul(rows, h * out)
            self.store(OUTPUT_BUFFER, kb.value(slot), target, dst, 1, length, form=form)
            return
        if not split:  # padded rows: one burst per token, the padding skipped in UB
            assert isinstance(pitch, int)
            gap = pitch * out - align_up(h * out)
            self.store_bursts(tokens, slot, dst, rows, h * out, 0, gap, aligned=aligned, gm=gm)
            return
        length = kb.mul(cols, out)
        self.store_bursts(
            tokens, slot, dst, rows, length, kb.sub(h * out, length), 0, aligned=aligned, gm=gm
        )

    def store_bursts(
        self, tokens: SSAValue, slot: Value, dst: Value, rows: Value, length: Value,
        gm_gap: Value, ub_gap: int, *, aligned: bool, gm: SSAValue | None = None,
    ) -> None:  # fmt: skip
        """CopyOut of ``rows`` bursts; ``aligned``: every length and gap is a multiple
        of 32 bytes (a chunk of channels is, when the token is: the plan cuts tokens
        at 32-element multiples)."""
        kb = self.kb
        h, _, out = self.sizes(tokens)
        form = self.form(
            aligned=aligned and ub_gap % BLOCK_BYTES == 0,
            n_burst=MAX_BURSTS,
            burst_len=self.plan.buffer(OUTPUT_BUFFER).slot_bytes,
            gm_gap=h * out,
            ub_gap=ub_gap,
        )
        kb.insert(
            StoreOp(
                gm=tokens if gm is None else gm,
                gm_offset=kb.value(dst),
                ub=self.buffers[OUTPUT_BUFFER],
                slot=kb.value(slot),
                ub_offset=kb.const(0),
                n_burst=kb.value(rows),
                burst_len=kb.value(length),
                gm_gap=kb.value(gm_gap),
                ub_gap=kb.const(ub_gap),
                form=form,
            )
        )

    def zero_tiles(self, run: ZeroRunOp, stream: StreamPlan) -> None:
        """Zero tokens: each tile zero-filled in the first work slot, computed, stored
        from output slot 0."""
        kb = self.kb
        tokens = run.tokens
        h, in_size, out = self.sizes(tokens)
        most = stream.tile_tokens
        split = stream.tile_channels < h
        dst = kb.mul(run.token, h * out, "zero_dst")

        def tile(first: SSAValue, carried: Slots) -> Slots:
            rows = kb.minu(kb.sub(run.count, first), most, "rows")
            row_dst = kb.add(dst, kb.mul(first, h * out))
            if not split:
                self._zero_chunk(tokens, row_dst, rows, h, stream.row_pitch, 0, False, in_size)
                return []

            def chunk(c0: SSAValue, inner: Slots) -> Slots:
                cols = kb.minu(kb.sub(h, c0), stream.tile_channels, "cols")
                at = kb.add(row_dst, kb.mul(c0, out))
                self._zero_chunk(tokens, at, rows, cols, cols, c0, True, in_size)
                return []

            kb.for_(0, h, stream.tile_channels, [], chunk, "channel")
            return []

        kb.for_(0, run.count, most, [], tile, "zero_first")

    def _zero_chunk(
        self, tokens: SSAValue, dst: Value, rows: Value, cols: Value, pitch: Value,
        channel0: Value, split: bool, in_size: int,
    ) -> None:  # fmt: skip
        kb = self.kb
        work = self.buffers[WORK_BUFFER]
        zero = kb.const(0)
        kb.insert(FillZeroOp(work, zero, kb.value(kb.mul(kb.mul(rows, pitch), in_size))))
        self.stage(tokens).emit(
            UbPosition(work, 0), UbPosition(self.buffers[OUTPUT_BUFFER], 0),
            rows=rows, cols=cols, pitch=pitch, channel0=channel0,
        )  # fmt: skip
        self.store_rows(tokens, 0, dst, rows, cols, pitch, split)


class NormComputeTiles(_ComputeTiles, RunTiles):
    """Norm runs and unfused consumers' token-major runs, computed tile by tile."""

    def __init__(
        self,
        kb: KernelBuilder,
        plan: TilePlan,
        buffers: Mapping[str, SSAValue],
        soc: SocInfo,
        computes: Mapping[SSAValue, StreamCompute],
        params: Mapping[SSAValue, ParamValue],
    ):
        RunTiles.__init__(self, kb, plan, buffers, soc)
        self._setup(computes, params)

    def zero_buffer(self) -> str:
        return WORK_BUFFER

    def token_stride(self, stream: StreamPlan) -> int:
        raise NotImplementedError("compute tiles place their own bytes")

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        raise NotImplementedError("compute tiles place their own bytes")

    def copy(self, run: CopyRunOp, stream: StreamPlan) -> SSAValue:
        kb = self.kb
        h, in_size, out = self.sizes(run.tokens)
        token_in = h * in_size
        if run.scatters:  # tokens -> cache: the gather's tiles with the GM sides swapped
            src = kb.mul(run.token, token_in, "src")
            dst = kb.add(
                kb.mul(run.blk, self.block_stride(run)), kb.mul(run.block_pos, h * out), "dst"
            )
            return self._run(
                run.tokens, src, run.tokens, run.token, run.count, stream, run.cursor, True,
                target=(run.cache, dst),
            )  # fmt: skip
        src = kb.add(
            kb.mul(run.blk, self.block_stride(run)), kb.mul(run.block_pos, token_in), "src"
        )
        return self._run(run.cache, src, run.tokens, run.token, run.count, stream, run.cursor, True)

    def map(self, run: MapRunOp, stream: StreamPlan) -> SSAValue:
        """An unfused consumer's run: its tokens of ``source`` computed into ``tokens``."""
        h, in_size, _ = self.sizes(run.tokens)
        src = self.kb.mul(run.token, h * in_size, "src")
        return self._run(
            run.source, src, run.tokens, run.token, run.count, stream, run.cursor, False
        )

    def zero(self, run: ZeroRunOp, stream: StreamPlan) -> None:
        self.zero_tiles(run, stream)

    def _run(
        self, source: SSAValue, src: SSAValue, tokens: SSAValue, token: SSAValue,
        count: SSAValue, stream: StreamPlan, cursor: SSAValue, in_block: bool,
        target: tuple[SSAValue, SSAValue] | None = None,
    ) -> SSAValue:  # fmt: skip
        """The tiles of ``count`` tokens of ``source`` from byte ``src``, stored into
        ``tokens`` at ``token`` (or ``target``: a GM tensor and the byte offset there)."""
        kb = self.kb
        h, in_size, out = self.sizes(tokens)
        most = stream.tile_tokens
        split = stream.tile_channels < h
        gm = None if target is None else target[0]
        dst = kb.mul(token, h * out, "dst") if target is None else target[1]
        slots: Slots = [cursor] if self.plan.load_slots > 1 else []

        def tile(first: Value, rows: Value, carried: Slots) -> Slots:
            tile_src = kb.add(src, kb.mul(first, h * in_size))
            tile_dst = kb.add(dst, kb.mul(first, h * out))
            if not split:
                return self._chunk(
                    source, tokens, tile_src, tile_dst, rows, h, stream.row_pitch, 0, False,
                    carried, gm,
                )  # fmt: skip

            def chunk(c0: SSAValue, inner: Slots) -> Slots:
                cols = kb.minu(kb.sub(h, c0), stream.tile_channels, "cols")
                chunk_src = kb.add(tile_src, kb.mul(c0, in_size))
                chunk_dst = kb.add(tile_dst, kb.mul(c0, out))
                return self._chunk(
                    source,
                    tokens,
                    chunk_src,
                    chunk_dst,
                    rows,
                    cols,
                    stream.tile_channels,
                    c0,
                    True,
                    inner,
                    gm,
                )

            return kb.for_(0, h, stream.tile_channels, carried, chunk, "channel")

        if in_block and most >= self.plan.block_size:
            slots = tile(0, count, slots)  # a run is at most a block: one tile
        else:

            def body(first: SSAValue, carried: Slots) -> Slots:
                rows = kb.minu(kb.sub(count, first), most, "rows")
                return tile(first, rows, carried)

            slots = kb.for_(0, count, most, slots, body, "first")
        return slots[0] if slots else cursor

    def _chunk(
        self, source: SSAValue, tokens: SSAValue, src: Value, dst: Value, rows: Value,
        cols: Value, pitch: int, channel0: Value, split: bool, slots: Slots,
        gm: SSAValue | None = None,
    ) -> Slots:  # fmt: skip
        """One tile: CopyIn, Compute, CopyOut (into ``tokens``, or ``gm``)."""
        kb = self.kb
        h, in_size, _ = self.sizes(tokens)
        slot = self.tile_slot(slots)
        load = self.buffers[INPUT_BUFFER]
        zero = kb.const(0)
        if not split and pitch == h:
            bursts, length, ub_gap = kb.const(1), kb.value(kb.mul(rows, h * in_size)), 0
        elif not split:
            bursts, length, ub_gap = (
                kb.value(rows),
                kb.const(h * in_size),
                pitch * in_size - align_up(h * in_size),
            )
        else:
            bursts, length, ub_gap = kb.value(rows), kb.value(kb.mul(cols, in_size)), 0
        form = self.form(
            aligned=(h * in_size) % BLOCK_BYTES == 0 and ub_gap % BLOCK_BYTES == 0,
            n_burst=MAX_BURSTS,
            burst_len=self.plan.buffer(INPUT_BUFFER).slot_bytes,
            ub_gap=ub_gap,
        )
        kb.insert(
            LoadOp(
                gm=source, gm_offset=kb.value(src), ub=load, slot=slot, ub_offset=zero,
                n_burst=bursts, burst_len=length, gm_gap=zero, ub_gap=kb.const(ub_gap),
                form=form,
            )
        )  # fmt: skip
        self.stage(tokens).emit(
            UbPosition(load, slot), UbPosition(self.buffers[OUTPUT_BUFFER], slot),
            rows=rows, cols=cols, pitch=pitch, channel0=channel0,
        )  # fmt: skip
        self.store_rows(tokens, slot, dst, rows, cols, pitch, split, gm)
        return self.next_slots(slots)


class NzComputeTiles(_ComputeTiles, NzTiles):
    """PA_NZ runs: the copy kernel's group-major loads, transposed into the first work
    slot, computed into the output slot, stored token-major."""

    def __init__(
        self,
        kb: KernelBuilder,
        plan: TilePlan,
        buffers: Mapping[str, SSAValue],
        soc: SocInfo,
        computes: Mapping[SSAValue, StreamCompute],
        params: Mapping[SSAValue, ParamValue],
    ):
        NzTiles.__init__(self, kb, plan, buffers, soc)
        self._setup(computes, params)

    def zero_buffer(self) -> str:
        return WORK_BUFFER

    def zero(self, run: ZeroRunOp, stream: StreamPlan) -> None:
        self.zero_tiles(run, stream)

    def copy(self, run: CopyRunOp, stream: StreamPlan) -> SSAValue:
        kb = self.kb
        cache_at = kb.add(
            kb.mul(run.blk, self.block_stride(run)),
            kb.mul(run.block_pos, NZ_ROW_BYTES),
            "dst" if run.scatters else "src",
        )
        slots: Slots = [run.cursor] if self.plan.load_slots > 1 else []
        if run.scatters:
            slots = self._scatter_tiles(run, stream, cache_at, slots)
        else:
            slots = self.copy_tiles(run, stream, cache_at, slots)
        return slots[0] if slots else run.cursor

    def _scatter_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        """A scatter's run, quantised on the way (SPEC section 8): tiles of up to
        ``tile_tokens`` tokens, each loaded token-major, computed, transposed to
        group-major and stored as one burst per row group of the cache."""
        kb = self.kb
        h, in_size, _ = self.sizes(run.tokens)
        tokens_at = kb.mul(run.token, h * in_size, "src")
        most = stream.tile_tokens
        if most >= self.plan.block_size:  # a run is at most a block: one tile
            return self._scatter_tile(run, stream, cache_at, tokens_at, run.count, 0, slots)

        def body(first: SSAValue, carried: Slots) -> Slots:
            return self._scatter_tile(run, stream, cache_at, tokens_at, most, first, carried)

        return kb.for_(0, run.count, most, slots, body, "tile_pos")

    def _scatter_tile(
        self,
        run: CopyRunOp,
        stream: StreamPlan,
        cache_at: SSAValue,
        tokens_at: SSAValue,
        step: Value,
        first: Value,
        slots: Slots,
    ) -> Slots:
        """Tokens ``[first, first + step)`` of a scatter's run (fewer at its end): CopyIn
        token-major, Compute into the output slot, transpose into the group-major slot,
        CopyOut one burst per row group (in chunks of ``tile_groups`` when a token is
        larger than a tile)."""
        kb = self.kb
        h, in_size, out = self.sizes(run.tokens)
        row_stride = self.plan.block_size * NZ_ROW_BYTES
        tokens: Value
        if step is run.count or step == 1:
            tokens = step
        else:
            tokens = kb.minu(kb.sub(run.count, first), step, "tokens")
        burst = kb.mul(tokens, NZ_ROW_BYTES, "burst")
        gap = kb.sub(row_stride, burst, "gap")
        tile_cache = kb.add(cache_at, kb.mul(first, NZ_ROW_BYTES), "tile_dst")
        tile_src = kb.add(tokens_at, kb.mul(first, h * in_size), "tile_src")
        ea = NZ_ROW_BYTES // out
        input_bytes = self.plan.buffer(INPUT_BUFFER).slot_bytes

        def chunk(group: Value, groups: Value, carried: Slots, split: bool) -> Slots:
            slot = self.tile_slot(carried)
            cols = kb.mul(groups, ea)
            channel0 = kb.mul(group, ea)
            if split:
                length = kb.mul(cols, in_size)
                form = self.form(
                    aligned=True, n_burst=stream.tile_tokens, burst_len=input_bytes,
                    gm_gap=h * in_size,
                )  # fmt: skip
                self.load(
                    INPUT_BUFFER, slot, run.tokens, kb.add(tile_src, kb.mul(channel0, in_size)),
                    tokens, length, kb.sub(h * in_size, length), form=form,
                )  # fmt: skip
            else:
                form = self.form(aligned=True, burst_len=input_bytes)
                size = kb.mul(tokens, h * in_size, "bytes")
                self.load(INPUT_BUFFER, slot, run.tokens, tile_src, 1, size, form=form)
            output = self.buffers[OUTPUT_BUFFER]
            zero = kb.const(0)
            self.stage(run.tokens).emit(
                UbPosition(self.buffers[INPUT_BUFFER], slot), UbPosition(output, 0),
                rows=tokens, cols=cols, pitch=cols if split else h, channel0=channel0,
            )  # fmt: skip
            with kb.stage("ND to NZ: transpose the tile's 32-byte blocks to group-major (V)."):
                kb.insert(
                    TransposeBlocksOp(
                        output, zero, self.buffers[GROUP_MAJOR_BUFFER], zero, kb.value(tokens),
                        kb.value(groups),
                    )
                )  # fmt: skip
            chunk_cache = kb.add(tile_cache, kb.mul(group, row_stride)) if split else tile_cache
            self._groups(GroupsDma(run, stream, burst, gap), chunk_cache, zero, groups)
            return self.next_slots(carried)

        if not stream.splits_tokens:
            return chunk(0, stream.groups, slots, False)

        def body(group: SSAValue, carried: Slots) -> Slots:
            groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
            return chunk(group, groups, carried, True)

        return kb.for_(0, stream.groups, stream.tile_groups, slots, body, "group")

    def _tile(
        self,
        run: CopyRunOp,
        stream: StreamPlan,
        cache_at: SSAValue,
        tokens_at: SSAValue,
        step: Value,
        first: Value,
        slots: Slots,
    ) -> Slots:
        """Tokens ``[first, first + step)`` of the run: load, transpose, compute, store."""
        kb = self.kb
        h, in_size, out = self.sizes(run.tokens)
        row_stride = self.plan.block_size * NZ_ROW_BYTES
        tokens: Value
        if step is run.count or step == 1:
            tokens = step
        else:
            tokens = kb.minu(kb.sub(run.count, first), step, "tokens")
        burst = kb.mul(tokens, NZ_ROW_BYTES, "burst")
        gap = kb.sub(row_stride, burst, "gap")
        tile_src = kb.add(cache_at, kb.mul(first, NZ_ROW_BYTES), "tile_src")
        tile_dst = kb.add(tokens_at, kb.mul(first, h * out), "tile_dst")
        ea = NZ_ROW_BYTES // in_size

        def chunk(group: Value, groups: Value, carried: Slots, split: bool) -> Slots:
            slot = self.tile_slot(carried)
            chunk_src = kb.add(tile_src, kb.mul(group, row_stride)) if split else tile_src
            self._groups(GroupsDma(run, stream, burst, gap), chunk_src, slot, groups)
            work = self.buffers[WORK_BUFFER]
            zero = kb.const(0)
            kb.insert(
                TransposeBlocksOp(
                    self.buffers[GROUP_MAJOR_BUFFER], slot, work, zero, kb.value(groups),
                    kb.value(tokens),
                )
            )  # fmt: skip
            cols = kb.mul(groups, ea)
            channel0 = kb.mul(group, ea)
            self.stage(run.tokens).emit(
                UbPosition(work, 0), UbPosition(self.buffers[OUTPUT_BUFFER], slot),
                rows=tokens, cols=cols, pitch=cols if split else h, channel0=channel0,
            )  # fmt: skip
            chunk_dst = kb.add(tile_dst, kb.mul(channel0, out)) if split else tile_dst
            self.store_rows(run.tokens, slot, chunk_dst, tokens, cols, cols if split else h, split)
            return self.next_slots(carried)

        if not stream.splits_tokens:
            return chunk(0, stream.groups, slots, False)

        def body(group: SSAValue, carried: Slots) -> Slots:
            groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
            return chunk(group, groups, carried, True)

        return kb.for_(0, stream.groups, stream.tile_groups, slots, body, "group")


def compute_tiles(
    kb: KernelBuilder,
    plan: TilePlan,
    buffers: Mapping[str, SSAValue],
    soc: SocInfo,
    computes: Mapping[SSAValue, StreamCompute],
    params: Mapping[SSAValue, ParamValue],
) -> RunTiles:
    """The compute tile expansion of ``plan``'s layout, in ``soc``'s DMA forms."""
    cls = NzComputeTiles if plan.mode == CacheMode.PA_NZ else NormComputeTiles
    return cls(kb, plan, buffers, soc, computes, params)
