"""The PA_NZ methods other than PAKV's transpose: straight to token-major in UB.

``NzTiles`` (``passes/tile_loops.py``) loads a tile group-major and transposes it on the
vector pipe. The three methods here need no vector step: the load itself leaves the
tile token-major, in one buffer written by MTE2 and read by MTE3 (``tile``, like
Norm's), with a zero buffer beside it.

* ``per-token`` (the vendor's older A2/A3 kernel, and its Ascend 950 kernel when a block
  does not fit its chunk): one token per tile, loaded as ``H / ea`` bursts of 32 bytes
  ``block_size * 32`` bytes apart (one row of each row group; loads of at most 4095
  bursts), which land contiguous in UB, token-major; stored as one burst. A token
  larger than a slot is cut by row groups. Under ``split=deal`` a run's tokens are
  dealt by output row.
* ``load3d`` (Ascend 950 only): a tile of ``k`` tokens is one ``ascend.load_transposed``
  of ``H / ea`` row groups by ``k`` rows, then one store of ``k * H`` bytes. The tiles
  of a run take turns over the buffer's slots, like Norm's.
* ``block3d`` (the vendor's Ascend 950 kernel when a block fits its chunk): the whole
  block, every row of it, in one ``ascend.load_transposed``; then the run's ``count``
  tokens are stored from where they sit in it. A partial run reads the whole block,
  as the vendor's kernel does.

:func:`plan_direct_nz` cuts the UB for them: ``slots`` slots of ``(UB - zero buffer) /
slots`` (or ``tile_bytes``), and a zero buffer of at most ``ZERO_CHUNK_BYTES``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.ir import SSAValue

from pakv_dialect.ascend import MAX_BURSTS, UB_ALIGN, CopyRunOp, LoadTransposedOp, align_up
from pakv_dialect.dma import DmaForm
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode
from pakv_dialect.soc import SocInfo
from passes.kernel_builder import KernelBuilder, Value
from passes.strategy import NzMethod
from passes.tile_loops import RunTiles, Slots
from passes.tile_plan import (
    TILE_BUFFER,
    ZERO_BUFFER,
    ZERO_CHUNK_BYTES,
    BufferPlan,
    StreamPlan,
    TilePlan,
    TilePlanError,
    nz_load_gap_fits,
    nz_stream,
)
from passes.work_split import Deal


def _align_down(size: int, unit: int = UB_ALIGN) -> int:
    return size // unit * unit


def _direct_stream(
    method: NzMethod,
    token_bytes: int,
    block_size: int,
    slot: int,
    row_align: bool,
    one_group: bool,
) -> StreamPlan:
    groups = token_bytes // NZ_ROW_BYTES
    if method == NzMethod.PER_TOKEN:
        # A load's bursts are one row of each row group, a row group apart: where no DMA
        # form holds that gap, one row group per load (one burst, no gap to say).
        tile_groups = 1 if one_group else min(groups, slot // NZ_ROW_BYTES)
        return StreamPlan(token_bytes, tile_groups * NZ_ROW_BYTES, groups, 1, tile_groups)
    if method == NzMethod.LOAD3D:  # the transpose's tiles, landing token-major at once
        return nz_stream(token_bytes, block_size, slot, row_align)
    if block_size * token_bytes > slot:
        raise TilePlanError(
            f"nz={method.value} needs a block of {block_size} {token_bytes}-byte tokens to "
            f"fit a {slot}-byte slot"
        )
    return StreamPlan(token_bytes, block_size * token_bytes, groups, block_size, groups)


def plan_direct_nz(
    method: NzMethod,
    *,
    block_size: int,
    token_bytes: Sequence[int],
    ub_bytes: int,
    slots: int,
    tile_bytes: int,
    row_align: bool,
    data_copy_pad: bool = True,
) -> TilePlan:
    """The UB plan of ``per-token``, ``load3d`` or ``block3d`` (module docstring); the
    SoC's DMA forms (``data_copy_pad``) bound the per-token loads' gaps."""
    if slots < 1:
        raise TilePlanError(f"slots must be at least 1, got {slots}")
    zero_bytes = min(ZERO_CHUNK_BYTES, align_up(block_size * max(token_bytes)))
    slot = tile_bytes or _align_down((ub_bytes - zero_bytes) // slots)
    if slot < NZ_ROW_BYTES:
        raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots} tile slots")
    one_group = not nz_load_gap_fits(block_size, data_copy_pad=data_copy_pad)
    streams = tuple(
        _direct_stream(method, size, block_size, slot, row_align, one_group) for size in token_bytes
    )
    used = align_up(max(stream.tile_bytes for stream in streams))
    buffers = (BufferPlan(TILE_BUFFER, slots, used), BufferPlan(ZERO_BUFFER, 1, zero_bytes))
    return TilePlan(CacheMode.PA_NZ, block_size, streams, buffers)


class _DirectNzTiles(RunTiles):
    """Shared pieces of the methods that load token-major."""

    def __init__(
        self,
        kb: KernelBuilder,
        plan: TilePlan,
        buffers: Mapping[str, SSAValue],
        soc: SocInfo,
        deal: Deal | None = None,
    ):
        super().__init__(kb, plan, buffers, soc)
        self.deal = deal

    def zero_buffer(self) -> str:
        return ZERO_BUFFER

    def token_stride(self, stream: StreamPlan) -> int:
        return NZ_ROW_BYTES

    @property
    def row_stride(self) -> int:
        """Bytes from one row of a row group to the same row of the next group."""
        return self.plan.block_size * NZ_ROW_BYTES


class PerTokenNzTiles(_DirectNzTiles):
    """``per-token``: one token per tile, 32-byte bursts (module docstring)."""

    def copy_note(self, stream: StreamPlan) -> str:
        groups = f"{stream.groups} bursts of 32 bytes"
        if stream.splits_tokens:
            groups += f", {stream.tile_groups} per tile"
        dealt = ", tokens dealt round-robin over the cores" if self.deal else ""
        return f"one token per tile: {groups} in (MTE2), one burst out (MTE3){dealt}."

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        src = cache_at
        dst = kb.mul(run.token, stream.token_bytes, "dst")
        first: Value = 0 if self.deal is None else self.deal.first(kb, run.token)
        step: Value = 1 if self.deal is None else self.deal.cores

        def token(index: SSAValue, carried: Sequence[SSAValue]) -> Sequence[SSAValue]:
            token_src = kb.add(src, kb.mul(index, NZ_ROW_BYTES), "token_src")
            token_dst = kb.add(dst, kb.mul(index, stream.token_bytes), "token_dst")
            if not stream.splits_tokens:
                return self._chunk(run, stream, token_src, token_dst, stream.groups, carried)

            def chunk(group: SSAValue, inner: Sequence[SSAValue]) -> Sequence[SSAValue]:
                groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
                chunk_src = kb.add(token_src, kb.mul(group, self.row_stride))
                chunk_dst = kb.add(token_dst, kb.mul(group, NZ_ROW_BYTES))
                return self._chunk(run, stream, chunk_src, chunk_dst, groups, inner)

            return kb.for_(0, stream.groups, stream.tile_groups, carried, chunk, "group")

        return kb.for_(first, run.count, step, slots, token, "token")

    def _chunk(
        self,
        run: CopyRunOp,
        stream: StreamPlan,
        src: SSAValue,
        dst: SSAValue,
        groups: Value,
        slots: Sequence[SSAValue],
    ) -> Slots:
        """``groups`` rows of one token: in as 32-byte bursts, out as one burst."""
        kb = self.kb
        slot = self.tile_slot(slots)
        pieces: list[tuple[int, Value]] = (
            [(first, min(MAX_BURSTS, groups - first)) for first in range(0, groups, MAX_BURSTS)]
            if isinstance(groups, int)
            else [(0, groups)]
        )
        one_burst = stream.tile_groups == 1
        gap = 0 if one_burst else self.row_stride - NZ_ROW_BYTES
        load_form = self.form(
            aligned=True, n_burst=min(stream.tile_groups, MAX_BURSTS), burst_len=NZ_ROW_BYTES,
            gm_gap=gap,
        )  # fmt: skip
        for first, bursts in pieces:
            self.load(
                TILE_BUFFER, slot, run.cache, kb.add(src, first * self.row_stride), bursts,
                NZ_ROW_BYTES, gap, first * NZ_ROW_BYTES, form=load_form,
            )  # fmt: skip
        size = kb.mul(groups, NZ_ROW_BYTES, "bytes")
        store_form = self.form(aligned=True, burst_len=stream.tile_bytes)
        self.store(TILE_BUFFER, slot, run.tokens, dst, 1, size, form=store_form)
        return self.next_slots(slots)


class Load3dNzTiles(_DirectNzTiles):
    """``load3d``: ``k`` tokens per tile in one 3-D copy, one store (module docstring)."""

    def copy_note(self, stream: StreamPlan) -> str:
        slots = self.plan.load_slots
        turns = f" {slots} slots." if slots > 1 else ""
        if stream.tile_tokens >= self.plan.block_size:
            return f"the run is one tile: one 3-D copy to token-major (MTE2), one store.{turns}"
        return (
            f"tiles of up to {stream.tile_tokens} token(s): one 3-D copy of {stream.groups} "
            f"row groups to token-major (MTE2), one store (MTE3).{turns}"
        )

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        src = cache_at
        dst = kb.mul(run.token, stream.token_bytes, "dst")
        most = stream.tile_tokens
        if most >= self.plan.block_size:
            return self._tile(run, stream, src, dst, run.count, slots)

        def tile(first: SSAValue, carried: Sequence[SSAValue]) -> Sequence[SSAValue]:
            tokens = kb.minu(kb.sub(run.count, first), most, "tokens")
            tile_src = kb.add(src, kb.mul(first, NZ_ROW_BYTES), "tile_src")
            tile_dst = kb.add(dst, kb.mul(first, stream.token_bytes), "tile_dst")
            return self._tile(run, stream, tile_src, tile_dst, tokens, carried)

        return kb.for_(0, run.count, most, slots, tile, "tile_pos")

    def _tile(
        self,
        run: CopyRunOp,
        stream: StreamPlan,
        src: SSAValue,
        dst: SSAValue,
        tokens: SSAValue,
        slots: Sequence[SSAValue],
    ) -> Slots:
        """Tokens ``[0, tokens)`` from ``src``: all their row groups, in chunks of
        ``tile_groups`` when a token is larger than a slot (each stored as ``tokens``
        bursts, a token apart in the output)."""
        kb = self.kb
        gap = kb.sub(self.row_stride, kb.mul(tokens, NZ_ROW_BYTES), "gap")
        if not stream.splits_tokens:
            whole = self.form(aligned=True, burst_len=stream.tile_bytes)
            return self._chunk(run, src, dst, stream.groups, tokens, gap, 1, 0, whole, slots)
        # Each token's share of a chunk: tile_groups 32-byte rows, H bytes apart in GM.
        shares = self.form(
            aligned=True, n_burst=stream.tile_tokens, burst_len=stream.tile_groups * NZ_ROW_BYTES,
            gm_gap=stream.token_bytes - NZ_ROW_BYTES,
        )  # fmt: skip

        def chunk(group: SSAValue, carried: Sequence[SSAValue]) -> Sequence[SSAValue]:
            groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
            chunk_src = kb.add(src, kb.mul(group, self.row_stride))
            chunk_dst = kb.add(dst, kb.mul(group, NZ_ROW_BYTES))
            chunk_bytes = kb.mul(groups, NZ_ROW_BYTES, "chunk_bytes")
            chunk_gap = kb.sub(stream.token_bytes, chunk_bytes, "chunk_gap")
            return self._chunk(
                run, chunk_src, chunk_dst, groups, tokens, gap, tokens, chunk_gap, shares, carried
            )

        return kb.for_(0, stream.groups, stream.tile_groups, slots, chunk, "group")

    def _chunk(
        self,
        run: CopyRunOp,
        src: SSAValue,
        dst: SSAValue,
        groups: Value,
        tokens: SSAValue,
        gap: SSAValue,
        stores: Value,
        store_gap: Value,
        form: DmaForm,
        slots: Sequence[SSAValue],
    ) -> Slots:
        """One 3-D copy of ``groups`` x ``tokens`` rows to token-major, then its store in
        ``form``: ``stores`` bursts (1: the tokens are whole, one contiguous burst)."""
        kb = self.kb
        slot = self.tile_slot(slots)
        kb.insert(
            LoadTransposedOp(
                gm=run.cache,
                gm_offset=src,
                ub=self.buffers[TILE_BUFFER],
                slot=slot,
                ub_offset=kb.const(0),
                rows=kb.value(groups),
                cols=tokens,
                gm_gap=gap,
            )
        )
        row_bytes = kb.mul(groups, NZ_ROW_BYTES)
        length = kb.mul(tokens, row_bytes, "bytes") if stores == 1 else row_bytes
        self.store(TILE_BUFFER, slot, run.tokens, dst, stores, length, store_gap, form=form)
        return self.next_slots(slots)


class Block3dNzTiles(_DirectNzTiles):
    """``block3d``: the whole block in one 3-D copy, then the run's tokens stored."""

    def copy_note(self, stream: StreamPlan) -> str:
        return (
            "the whole block in one 3-D copy to token-major (MTE2), the run's tokens "
            "stored from it (MTE3)."
        )

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        slot = self.tile_slot(slots)
        block_start = kb.mul(run.blk, self.block_stride(run), "block_src")
        kb.insert(
            LoadTransposedOp(
                gm=run.cache,
                gm_offset=block_start,
                ub=self.buffers[TILE_BUFFER],
                slot=slot,
                ub_offset=kb.const(0),
                rows=kb.const(stream.groups),
                cols=kb.const(self.plan.block_size),
                gm_gap=kb.const(0),
            )
        )
        dst = kb.mul(run.token, stream.token_bytes, "dst")
        size = kb.mul(run.count, stream.token_bytes, "bytes")
        at = kb.mul(run.block_pos, stream.token_bytes, "at")
        form = self.form(aligned=True, burst_len=stream.tile_bytes)
        self.store(TILE_BUFFER, slot, run.tokens, dst, 1, size, ub_offset=at, form=form)
        return self.next_slots(slots)


DIRECT_NZ_TILES: dict[NzMethod, type[_DirectNzTiles]] = {
    NzMethod.PER_TOKEN: PerTokenNzTiles,
    NzMethod.LOAD3D: Load3dNzTiles,
    NzMethod.BLOCK3D: Block3dNzTiles,
}
"""The tile expansion of each method of this module."""
