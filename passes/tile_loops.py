"""The tile loops of one run, per cache layout: how the bytes of a run move.

``ascend-tile-runs`` expands each ``ascend.copy_run`` through the :class:`RunTiles` of
its layout (:data:`TILES`): :class:`NormTiles` or :class:`NzTiles` emit the loop over
the run's tiles, each tile a CopyIn (MTE2 load into UB), for PA_NZ a Compute step (the
block transpose, V) and a CopyOut (MTE3 store). A per-element compute stage (the fusion
issue's dequantisation) is one more V step of the same tile, between CopyIn and
CopyOut, with a buffer of its own: ``_tile`` of each layout is where it goes.

Each tile loads into the next slot of the load buffer. The slot is the run's cursor
(``ascend.copy_run``): it comes in as the run's ``cursor``, is carried through the
tile loops and goes out, advanced once per tile, as the run's ``next_cursor``, so tile
``n + 1`` lands in another slot than tile ``n`` and its load can overlap tile ``n``'s
store once ``ascend-insert-sync`` adds the flags. With a load buffer of one slot
(PA_NZ, whose token-major buffer is the other half of double buffering) every tile
loads into slot 0 and the cursor passes through untouched.

Per tile only a handful of ops run; everything that depends on the run alone (GM byte
offsets, burst gaps) is computed once before its tile loop. GM offsets, lengths and
gaps are in bytes, as ``ascend.load``/``ascend.store`` take them.

Zero runs (``ascend.zero_run``: a column past the table, a block id out of range, a
negative offset) write zeros with ``ascend.fill_zero`` + ``ascend.store`` and never
read the cache. They are the error path: they cost one fill and one store per chunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from xdsl.ir import SSAValue

from pakv_dialect.ascend import (
    MAX_BURSTS,
    CopyRunOp,
    FillZeroOp,
    LoadOp,
    StoreOp,
    TransposeBlocksOp,
    ZeroRunOp,
)
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode
from passes.kernel_builder import KernelBuilder, Value
from passes.tile_plan import (
    GROUP_MAJOR_BUFFER,
    TILE_BUFFER,
    TOKEN_MAJOR_BUFFER,
    ZERO_BUFFER,
    StreamPlan,
    TilePlan,
)

Slots = Sequence[SSAValue]
"""The slot state carried through a run's tile loops: the next tile's load slot, or
nothing when the load buffer has one slot."""


class RunTiles(ABC):
    """How the runs of one layout become tiles, built with ``kb`` into ``buffers``
    (the plan's ``ub_alloc`` results by purpose)."""

    def __init__(self, kb: KernelBuilder, plan: TilePlan, buffers: Mapping[str, SSAValue]):
        self.kb = kb
        self.plan = plan
        self.buffers = buffers

    # ------------------------------------------------------------------ the interface

    def copy(self, run: CopyRunOp, stream: StreamPlan) -> SSAValue:
        """The tiles of ``run`` (of ``stream``); returns the cursor after them."""
        kb = self.kb
        block_bytes = self.plan.block_size * stream.token_bytes
        src = kb.add(
            kb.mul(run.blk, block_bytes), kb.mul(run.block_pos, self.token_stride(stream)), "src"
        )
        slots: Slots = [run.cursor] if self.plan.load_slots > 1 else []
        slots = self.copy_tiles(run, stream, src, slots)
        return slots[0] if slots else run.cursor

    def zero(self, run: ZeroRunOp, stream: StreamPlan) -> None:
        """Write the run's ``count`` zero tokens from token ``token`` on.

        Zero chunks go through slot 0 of a one-slot buffer, so the load slot carried
        through the loops does not move.
        """
        kb = self.kb
        purpose = self.zero_buffer()
        chunk = self.plan.buffer(purpose).slot_bytes
        begin = kb.mul(run.token, stream.token_bytes, "zero_dst")
        end = kb.add(begin, kb.mul(run.count, stream.token_bytes), "zero_end")

        def chunk_body(at: SSAValue, carried: Sequence[SSAValue]) -> list[SSAValue]:
            only = kb.const(0)
            size = kb.minu(kb.sub(end, at), chunk, "bytes")
            kb.insert(FillZeroOp(self.buffers[purpose], only, size))
            self.store(purpose, only, run.tokens, at, 1, size)
            return []

        kb.for_(begin, end, chunk, [], chunk_body, "dst")

    @abstractmethod
    def copy_note(self, stream: StreamPlan) -> str:
        """What one tile of ``stream`` is and does, in a line (for the stage note)."""

    # ------------------------------------------------------------------ per layout

    @abstractmethod
    def token_stride(self, stream: StreamPlan) -> int:
        """Bytes from one token of a cache block to the next."""

    @abstractmethod
    def copy_tiles(self, run: CopyRunOp, stream: StreamPlan, src: SSAValue, slots: Slots) -> Slots:
        """The tiles of ``run``, whose first byte in the cache is ``src``."""

    @abstractmethod
    def zero_buffer(self) -> str:
        """The one-slot buffer zero chunks are filled in (written on V, read on MTE3)."""

    # ------------------------------------------------------------------ shared pieces

    def tile_slot(self, slots: Slots) -> SSAValue:
        """The load slot of the tile that ``slots`` is carried into."""
        return slots[0] if slots else self.kb.const(0)

    def next_slots(self, slots: Slots) -> Slots:
        """The state after one tile: ``(slot + 1) % load_slots`` in its cheapest form."""
        if not slots:
            return []
        count = self.plan.load_slots
        if count == 2:
            return [self.kb.xor(slots[0], 1, "next_slot")]
        return [self.kb.remu(self.kb.add(slots[0], 1), count, "next_slot")]

    def store(
        self,
        buffer: str,
        slot: SSAValue,
        out: SSAValue,
        offset: Value,
        bursts: Value,
        length: Value,
        gm_gap: Value = 0,
        ub_offset: Value = 0,
    ) -> None:
        """CopyOut: UB slot (from byte ``ub_offset``) -> GM ``out`` at byte ``offset``."""
        kb = self.kb
        zero = kb.const(0)
        kb.insert(
            StoreOp(
                gm=out,
                gm_offset=kb.value(offset),
                ub=self.buffers[buffer],
                slot=slot,
                ub_offset=kb.value(ub_offset),
                n_burst=kb.value(bursts),
                burst_len=kb.value(length),
                gm_gap=kb.value(gm_gap),
                ub_gap=zero,
            )
        )


class NormTiles(RunTiles):
    """Norm: a run is one contiguous byte range in the cache and in the output.

    Each tile is the next ``tile_bytes`` of that range: one burst in, one burst out
    (``ascend.load``/``ascend.store`` pad a length that is not a multiple of 32 bytes,
    like DataCopyPad). The loop runs over the source byte offset; the destination is
    that offset plus the run's fixed ``dst - src`` distance (index arithmetic wraps, so
    the distance may be "negative"), which saves an op per tile. Zero tokens come from
    a separate one-slot zero buffer, since the tile buffer is written by MTE2 only.
    """

    def zero_buffer(self) -> str:
        return ZERO_BUFFER

    def token_stride(self, stream: StreamPlan) -> int:
        return stream.token_bytes

    def _single_tile(self, stream: StreamPlan) -> bool:
        """A whole block fits one slot: every run is one tile, no loop."""
        return self.plan.block_size * stream.token_bytes <= stream.tile_bytes

    def copy_note(self, stream: StreamPlan) -> str:
        if self._single_tile(stream):
            return "the run is one tile, one burst in (MTE2) and one out (MTE3)."
        return (
            f"tiles of up to {stream.tile_bytes} bytes of the run, each one burst in (MTE2) "
            f"and one out (MTE3).{self._slot_turns()}"
        )

    def _slot_turns(self) -> str:
        """How consecutive tiles share the tile buffer, for the notes."""
        slots = self.plan.load_slots
        return "" if slots == 1 else " Double-buffered." if slots == 2 else f" {slots} slots."

    def copy_tiles(self, run: CopyRunOp, stream: StreamPlan, src: SSAValue, slots: Slots) -> Slots:
        kb = self.kb
        token_bytes = stream.token_bytes
        run_bytes = kb.mul(run.count, token_bytes, "run_bytes")
        if self._single_tile(stream):
            dst = kb.mul(run.token, token_bytes, "dst")
            return self._tile(run, src, run_bytes, dst, slots)
        src_end = kb.add(src, run_bytes, "src_end")
        distance = kb.sub(kb.mul(run.token, token_bytes), src, "dst_minus_src")

        def tile_body(at: SSAValue, carried: Slots) -> Slots:
            size = kb.minu(kb.sub(src_end, at), stream.tile_bytes, "bytes")
            return self._tile(run, at, size, kb.add(at, distance, "dst"), carried)

        return kb.for_(src, src_end, stream.tile_bytes, slots, tile_body, "src_at")

    def _tile(
        self, run: CopyRunOp, src: SSAValue, size: SSAValue, dst: SSAValue, slots: Slots
    ) -> Slots:
        """``size`` bytes from cache byte ``src`` to output byte ``dst``: CopyIn, CopyOut."""
        kb = self.kb
        zero, one = kb.const(0), kb.const(1)
        slot = self.tile_slot(slots)
        kb.insert(
            LoadOp(
                gm=run.cache,
                gm_offset=src,
                ub=self.buffers[TILE_BUFFER],
                slot=slot,
                ub_offset=zero,
                n_burst=one,
                burst_len=size,
                gm_gap=zero,
                ub_gap=zero,
            )
        )
        self.store(TILE_BUFFER, slot, run.tokens, dst, 1, size)
        return self.next_slots(slots)


class NzTiles(RunTiles):
    """PA_NZ: group-major load, block transpose, token-major store.

    In the cache, token ``j`` of a block is row ``j`` of each of its ``G = H / ea`` row
    groups (32 bytes per row, groups ``block_size * 32`` bytes apart). A tile of ``k``
    tokens is therefore ``G`` bursts of ``k * 32`` contiguous bytes with a GM gap of
    ``(block_size - k) * 32``: one load (split every 4095 bursts, the hardware's
    ``blockCount`` limit) brings it into UB group-major (``G x k`` 32-byte blocks).
    ``ascend.transpose_blocks`` makes it token-major (``k x G``), which is exactly the
    tile's ``k * H`` contiguous output bytes: one store. When one token is too large
    for a slot the tile also takes only ``tile_groups`` of the groups (an inner loop),
    and the store writes ``k`` bursts of ``tile_groups * 32`` bytes, ``H`` bytes apart.

    The token-major buffer has one slot (``tile_plan`` says why): every transpose and
    store uses slot 0, while loads take turns over the group-major slots (often just
    one). The transpose of tile ``n + 1`` waits for the store of tile ``n``, and with one
    group-major slot the load of tile ``n + 2`` waits for that transpose: were tile
    ``n + 1`` much shorter than tile ``n`` (a run cut into full tiles and a small rest),
    MTE2 would idle until the long store ends. So a run of ``count`` tokens is cut into
    ``ceil(count / tile_tokens)`` tiles of ``ceil(count / tiles)`` tokens, the last one
    fewer by less than ``tiles``: as many tiles and bursts as full tiles would take, and
    each load is again longer than the store before it (``G`` bursts against one). That
    costs three ops per run and stream, none per tile.

    Zero tokens are filled in the token-major slot too: the vector pipe that transposes
    also fills, so that buffer keeps one writer pipe and one reader pipe.
    """

    def zero_buffer(self) -> str:
        return TOKEN_MAJOR_BUFFER

    def token_stride(self, stream: StreamPlan) -> int:
        return NZ_ROW_BYTES

    def copy_note(self, stream: StreamPlan) -> str:
        groups = f"{stream.groups} row groups"
        if stream.splits_tokens:
            groups = f"{stream.tile_groups} of the {stream.groups} row groups"
        if stream.tile_tokens >= self.plan.block_size:
            tiles = f"the run is one tile of {groups}"
        else:
            tiles = f"tiles of up to {stream.tile_tokens} token(s) x {groups}"
            tiles += ", a run cut evenly" if stream.tile_tokens > 1 else ""
        slots = self.plan.load_slots
        return (
            f"{tiles}, loaded group-major (MTE2) while the tile before is stored token-major "
            f"(MTE3).{f' {slots} group-major slots.' if slots > 1 else ''}"
        )

    def copy_tiles(self, run: CopyRunOp, stream: StreamPlan, src: SSAValue, slots: Slots) -> Slots:
        kb = self.kb
        count = run.count
        dst = kb.mul(run.token, stream.token_bytes, "dst")
        most = stream.tile_tokens

        if most >= self.plan.block_size:
            # A whole block fits one tile: every run is a single tile, no loop.
            return self._tile(run, stream, src, dst, count, 0, slots)
        step: Value = most
        if most > 1 and not self.plan.row_align:
            # Equal tiles (the class docstring says why). ceil(count / tiles) <= most; the
            # min says so to the AscendC printer, which bounds burst counts with it.
            tiles = kb.ceildivu(count, most, "tiles")
            step = kb.minu(kb.ceildivu(count, tiles, "even"), most, "tile_tokens")

        def tile_body(first: SSAValue, carried: Slots) -> Slots:
            return self._tile(run, stream, src, dst, step, first, carried)

        return kb.for_(0, count, step, slots, tile_body, "tile_pos")

    def _tile(
        self,
        run: CopyRunOp,
        stream: StreamPlan,
        src: SSAValue,
        dst: SSAValue,
        step: Value,
        first: Value,
        slots: Slots,
    ) -> Slots:
        """Tokens ``[first, first + step)`` of the run (fewer at its end), all their groups."""
        kb = self.kb
        row_stride = self.plan.block_size * NZ_ROW_BYTES
        tokens: Value
        if step is run.count or step == 1:
            tokens = step  # the whole run is one tile, or tiles of one token
        else:
            tokens = kb.minu(kb.sub(run.count, first), step, "tokens")
        burst = kb.mul(tokens, NZ_ROW_BYTES, "burst")
        gap = kb.sub(row_stride, burst, "gap")
        tile_src = kb.add(src, kb.mul(first, NZ_ROW_BYTES), "tile_src")
        tile_dst = kb.add(dst, kb.mul(first, stream.token_bytes), "tile_dst")
        if not stream.splits_tokens:
            slot = self.tile_slot(slots)
            self._load_groups(run, tile_src, slot, stream.groups, burst, gap)
            self._transpose(slot, stream.groups, tokens)
            size = kb.mul(tokens, stream.token_bytes, "bytes")
            self.store(TOKEN_MAJOR_BUFFER, kb.const(0), run.tokens, tile_dst, 1, size)
            return self.next_slots(slots)

        def chunk_body(group: SSAValue, carried: Slots) -> Slots:
            chunk_slot = self.tile_slot(carried)
            groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
            chunk_src = kb.add(tile_src, kb.mul(group, row_stride))
            self._load_groups(run, chunk_src, chunk_slot, groups, burst, gap)
            self._transpose(chunk_slot, groups, tokens)
            chunk_bytes = kb.mul(groups, NZ_ROW_BYTES, "chunk_bytes")
            # Token t's share of the chunk lands H bytes after token t - 1's: the GM gap
            # between bursts. With a single token there is no second burst to place.
            chunk_gap = 0 if tokens == 1 else kb.sub(stream.token_bytes, chunk_bytes, "chunk_gap")
            chunk_dst = kb.add(tile_dst, kb.mul(group, NZ_ROW_BYTES))
            self.store(
                TOKEN_MAJOR_BUFFER, kb.const(0), run.tokens, chunk_dst, tokens, chunk_bytes,
                chunk_gap,
            )  # fmt: skip
            return self.next_slots(carried)

        return kb.for_(0, stream.groups, stream.tile_groups, slots, chunk_body, "group")

    def _load_groups(
        self,
        run: CopyRunOp,
        src: SSAValue,
        slot: SSAValue,
        groups: Value,
        burst: Value,
        gap: Value,
    ) -> None:
        """CopyIn: ``groups`` bursts of ``burst`` bytes into UB, in loads of at most 4095
        bursts (a count known only at run time is at most ``tile_groups``, below that)."""
        kb = self.kb
        row_stride = self.plan.block_size * NZ_ROW_BYTES
        pieces: list[tuple[int, Value]] = (
            [(first, min(MAX_BURSTS, groups - first)) for first in range(0, groups, MAX_BURSTS)]
            if isinstance(groups, int)
            else [(0, groups)]
        )
        zero = kb.const(0)
        for first, bursts in pieces:
            kb.insert(
                LoadOp(
                    gm=run.cache,
                    gm_offset=kb.add(src, first * row_stride),
                    ub=self.buffers[GROUP_MAJOR_BUFFER],
                    slot=slot,
                    ub_offset=kb.value(kb.mul(burst, first)),
                    n_burst=kb.value(bursts),
                    burst_len=kb.value(burst),
                    gm_gap=kb.value(gap),
                    ub_gap=zero,
                )
            )

    def _transpose(self, slot: SSAValue, groups: Value, tokens: Value) -> None:
        """Compute: the tile's 32-byte blocks from group-major to token-major."""
        kb = self.kb
        source = self.buffers[GROUP_MAJOR_BUFFER]
        target = self.buffers[TOKEN_MAJOR_BUFFER]
        only = kb.const(0)
        with kb.stage("NZ to ND: transpose the tile's 32-byte blocks to token-major (V)."):
            op = TransposeBlocksOp(source, slot, target, only, kb.value(groups), kb.value(tokens))
            kb.insert(op)


TILES: dict[CacheMode, type[RunTiles]] = {CacheMode.Norm: NormTiles, CacheMode.PA_NZ: NzTiles}
"""The tile expansion of each cache layout."""
