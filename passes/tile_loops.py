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
gaps are in bytes, as ``ascend.load``/``ascend.store`` take them. A run starts
``blk * block_stride`` bytes into its cache: blocks are a whole block apart in a dense
cache, the cache's first-axis stride apart in a strided view (SPEC section 9,
``RunTiles.block_stride``); inside a block the layout is dense either way.

Every DMA says its form (``pakv_dialect.dma``): the ``blocks`` form where its lengths
are 32-byte multiples and every value's bound (from the plan: a tile is at most a UB
slot, a PA_NZ gap at most a block's row group) fits ``DataCopyParams``, else the
``bytes`` form (``DataCopyPad``) where the SoC has it. A PA_NZ load whose GM gap fits
neither (a row group of more than 65536 32-byte rows on a SoC without ``DataCopyPad``)
is split by the plan into loads of one row group each, which have no gap at all
(``tile_plan.nz_load_gap_fits``).

A scatter's run (``ascend.copy_run`` in the ``scatter`` direction) is expanded by the
same classes the other way round: what a gather stores into the token-major tensor, a
scatter loads from it, and what a gather loads from the cache, a scatter stores into
it. Norm swaps the two GM sides of each tile; PA_NZ loads a tile token-major (one
burst), transposes it group-major and stores ``H / ea`` bursts of ``k * 32`` bytes with
the block's row stride (``NzTiles`` says how).

Zero runs (``ascend.zero_run``: a column past the table, a block id out of range, a
negative offset) write zeros with ``ascend.fill_zero`` + ``ascend.store`` and never
read the cache. They are the error path: they cost one fill and one store per chunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xdsl.ir import SSAValue

from pakv_dialect.ascend import (
    CopyDirection,
    CopyRunOp,
    FillZeroOp,
    LoadOp,
    StoreOp,
    TransposeBlocksOp,
    ZeroRunOp,
)
from pakv_dialect.dma import BLOCK_BYTES, MAX_BURSTS, DmaForm, pick_form
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode
from pakv_dialect.soc import SocInfo
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
    (the plan's ``ub_alloc`` results by purpose) for ``soc`` (its DMA forms)."""

    def __init__(
        self, kb: KernelBuilder, plan: TilePlan, buffers: Mapping[str, SSAValue], soc: SocInfo
    ):
        self.kb = kb
        self.plan = plan
        self.buffers = buffers
        self.soc = soc

    # ------------------------------------------------------------------ the interface

    def copy(self, run: CopyRunOp, stream: StreamPlan) -> SSAValue:
        """The tiles of ``run`` (of ``stream``); returns the cursor after them."""
        kb = self.kb
        cache_at = kb.add(
            kb.mul(run.blk, self.block_stride(run)),
            kb.mul(run.block_pos, self.token_stride(stream)),
            "dst" if run.scatters else "src",
        )
        slots: Slots = [run.cursor] if self.plan.load_slots > 1 else []
        slots = self.copy_tiles(run, stream, cache_at, slots)
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
        form = self.form(aligned=stream.token_bytes % BLOCK_BYTES == 0, burst_len=chunk)

        def chunk_body(at: SSAValue, carried: Sequence[SSAValue]) -> list[SSAValue]:
            only = kb.const(0)
            size = kb.minu(kb.sub(end, at), chunk, "bytes")
            kb.insert(FillZeroOp(self.buffers[purpose], only, size))
            self.store(purpose, only, run.tokens, at, 1, size, form=form)
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
    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        """The tiles of ``run``, whose first byte in the cache is ``cache_at``."""

    @abstractmethod
    def zero_buffer(self) -> str:
        """The one-slot buffer zero chunks are filled in (written on V, read on MTE3)."""

    # ------------------------------------------------------------------ shared pieces

    @staticmethod
    def block_stride(run: CopyRunOp) -> Value:
        """Bytes from one cache block to the next (SPEC section 9): the block itself for
        a dense cache, the stride of a strided one (the run's operand when dynamic)."""
        static = run.static_block_stride
        if static is not None:
            return static
        assert run.block_stride is not None  # the copy_run verifier checked it
        return run.block_stride

    def form(self, *, aligned: bool, **bounds: int) -> DmaForm:
        """The form of a DMA whose values are at most ``bounds`` (``pick_form``). One
        always fits: the plan bounds lengths by a UB slot and cuts PA_NZ loads whose
        GM gap no form holds into one-burst loads (``tile_plan.nz_load_gap_fits``)."""
        pad = self.soc.has_data_copy_pad
        form = pick_form(aligned=aligned, bounds=bounds, data_copy_pad=pad)
        assert form is not None, f"no DMA form holds {bounds}: the tile plan bounds them"
        return form

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
        *,
        form: DmaForm,
    ) -> None:
        """CopyOut: UB slot (from byte ``ub_offset``) -> GM ``out`` at byte ``offset``, in
        ``form``."""
        self.dma(StoreOp, buffer, slot, out, offset, bursts, length, gm_gap, ub_offset, form=form)

    def load(
        self,
        buffer: str,
        slot: SSAValue,
        source: SSAValue,
        offset: Value,
        bursts: Value,
        length: Value,
        gm_gap: Value = 0,
        ub_offset: Value = 0,
        *,
        form: DmaForm,
    ) -> None:
        """CopyIn: GM ``source`` at byte ``offset`` -> UB slot (from byte ``ub_offset``), in
        ``form``."""
        self.dma(LoadOp, buffer, slot, source, offset, bursts, length, gm_gap, ub_offset, form=form)

    def dma(
        self,
        op_type: type[LoadOp] | type[StoreOp],
        buffer: str,
        slot: SSAValue,
        gm: SSAValue,
        offset: Value,
        bursts: Value,
        length: Value,
        gm_gap: Value,
        ub_offset: Value,
        *,
        form: DmaForm,
    ) -> None:
        """One DMA of ``bursts`` bursts of ``length`` bytes between ``gm`` and a UB slot;
        in UB the bursts follow each other (no UB gap)."""
        kb = self.kb
        kb.insert(
            op_type(
                gm=gm,
                gm_offset=kb.value(offset),
                ub=self.buffers[buffer],
                slot=slot,
                ub_offset=kb.value(ub_offset),
                n_burst=kb.value(bursts),
                burst_len=kb.value(length),
                gm_gap=kb.value(gm_gap),
                ub_gap=kb.const(0),
                form=form,
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

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        token_bytes = stream.token_bytes
        run_bytes = kb.mul(run.count, token_bytes, "run_bytes")
        scatters = run.scatters
        # One burst of at most a slot: a 32-byte multiple when the token is one.
        form = self.form(aligned=token_bytes % BLOCK_BYTES == 0, burst_len=stream.tile_bytes)
        if self._single_tile(stream):
            tokens_at = kb.mul(run.token, token_bytes, "src" if scatters else "dst")
            src, dst = (tokens_at, cache_at) if scatters else (cache_at, tokens_at)
            return self._tile(run, src, run_bytes, dst, slots, form)
        src = kb.mul(run.token, token_bytes, "src") if scatters else cache_at
        src_end = kb.add(src, run_bytes, "src_end")
        dst = cache_at if scatters else kb.mul(run.token, token_bytes)
        distance = kb.sub(dst, src, "dst_minus_src")

        def tile_body(at: SSAValue, carried: Slots) -> Slots:
            size = kb.minu(kb.sub(src_end, at), stream.tile_bytes, "bytes")
            return self._tile(run, at, size, kb.add(at, distance, "dst"), carried, form)

        return kb.for_(src, src_end, stream.tile_bytes, slots, tile_body, "src_at")

    def _tile(
        self,
        run: CopyRunOp,
        src: SSAValue,
        size: SSAValue,
        dst: SSAValue,
        slots: Slots,
        form: DmaForm,
    ) -> Slots:
        """``size`` bytes from source byte ``src`` to destination byte ``dst`` (the cache
        and the tokens, or the other way round in a scatter): CopyIn, CopyOut."""
        source, target = (run.tokens, run.cache) if run.scatters else (run.cache, run.tokens)
        slot = self.tile_slot(slots)
        self.load(TILE_BUFFER, slot, source, src, 1, size, form=form)
        self.store(TILE_BUFFER, slot, target, dst, 1, size, form=form)
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
        loaded, stored = ("group-major", "token-major")
        if self.plan.direction == CopyDirection.scatter:
            loaded, stored = stored, loaded
        return (
            f"{tiles}, loaded {loaded} (MTE2) while the tile before is stored {stored} "
            f"(MTE3).{f' {slots} {loaded} slots.' if slots > 1 else ''}"
        )

    def copy_tiles(
        self, run: CopyRunOp, stream: StreamPlan, cache_at: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        count = run.count
        tokens_at = kb.mul(run.token, stream.token_bytes, "src" if run.scatters else "dst")
        most = stream.tile_tokens

        if most >= self.plan.block_size:
            # A whole block fits one tile: every run is a single tile, no loop.
            return self._tile(run, stream, cache_at, tokens_at, count, 0, slots)
        step: Value = most
        if most > 1 and not self.plan.row_align:
            # Equal tiles (the class docstring says why). ceil(count / tiles) <= most; the
            # min says so to the AscendC printer, which bounds burst counts with it.
            tiles = kb.ceildivu(count, most, "tiles")
            step = kb.minu(kb.ceildivu(count, tiles, "even"), most, "tile_tokens")

        def tile_body(first: SSAValue, carried: Slots) -> Slots:
            return self._tile(run, stream, cache_at, tokens_at, step, first, carried)

        return kb.for_(0, count, step, slots, tile_body, "tile_pos")

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
        tile_cache = kb.add(
            cache_at, kb.mul(first, NZ_ROW_BYTES), "tile_dst" if run.scatters else "tile_src"
        )
        tile_tokens = kb.add(
            tokens_at, kb.mul(first, stream.token_bytes), "tile_src" if run.scatters else "tile_dst"
        )
        groups_dma = GroupsDma(run, stream, burst, gap)
        if not stream.splits_tokens:
            slot = self.tile_slot(slots)
            form = self.form(aligned=True, burst_len=stream.tile_bytes)
            if run.scatters:
                size = kb.mul(tokens, stream.token_bytes, "bytes")
                self.load(TOKEN_MAJOR_BUFFER, slot, run.tokens, tile_tokens, 1, size, form=form)
                self._transpose(slot, tokens, stream.groups, scatters=True)
                self._groups(groups_dma, tile_cache, kb.const(0), stream.groups)
            else:
                self._groups(groups_dma, tile_cache, slot, stream.groups)
                self._transpose(slot, stream.groups, tokens, scatters=False)
                size = kb.mul(tokens, stream.token_bytes, "bytes")
                self.store(
                    TOKEN_MAJOR_BUFFER, kb.const(0), run.tokens, tile_tokens, 1, size, form=form
                )
            return self.next_slots(slots)

        # Each token's share of a chunk: tile_groups 32-byte rows, H bytes apart in GM.
        chunk_form = self.form(
            aligned=True,
            n_burst=stream.tile_tokens,
            burst_len=stream.tile_groups * NZ_ROW_BYTES,
            gm_gap=stream.token_bytes - NZ_ROW_BYTES,
        )

        def chunk_body(group: SSAValue, carried: Slots) -> Slots:
            chunk_slot = self.tile_slot(carried)
            groups = kb.minu(kb.sub(stream.groups, group), stream.tile_groups, "groups")
            chunk_cache = kb.add(tile_cache, kb.mul(group, row_stride))

            def token_side() -> tuple[SSAValue, Value, SSAValue]:
                # Token t's share of the chunk lies H bytes after token t - 1's: the GM
                # gap between bursts. With one token there is no second burst to place.
                chunk_bytes = kb.mul(groups, NZ_ROW_BYTES, "chunk_bytes")
                chunk_gap: Value = 0
                if tokens != 1:
                    chunk_gap = kb.sub(stream.token_bytes, chunk_bytes, "chunk_gap")
                chunk_tokens = kb.add(tile_tokens, kb.mul(group, NZ_ROW_BYTES))
                return chunk_bytes, chunk_gap, chunk_tokens

            if run.scatters:
                chunk_bytes, chunk_gap, chunk_tokens = token_side()
                self.load(
                    TOKEN_MAJOR_BUFFER, chunk_slot, run.tokens, chunk_tokens, tokens, chunk_bytes,
                    chunk_gap, form=chunk_form,
                )  # fmt: skip
                self._transpose(chunk_slot, tokens, groups, scatters=True)
                self._groups(groups_dma, chunk_cache, kb.const(0), groups)
            else:
                self._groups(groups_dma, chunk_cache, chunk_slot, groups)
                self._transpose(chunk_slot, groups, tokens, scatters=False)
                chunk_bytes, chunk_gap, chunk_tokens = token_side()
                self.store(
                    TOKEN_MAJOR_BUFFER, kb.const(0), run.tokens, chunk_tokens, tokens, chunk_bytes,
                    chunk_gap, form=chunk_form,
                )  # fmt: skip
            return self.next_slots(carried)

        return kb.for_(0, stream.groups, stream.tile_groups, slots, chunk_body, "group")

    def _groups(self, dma: GroupsDma, cache_at: SSAValue, slot: SSAValue, groups: Value) -> None:
        """The cache side of a tile: ``groups`` bursts of ``dma.burst`` bytes, one per row
        group, ``block_size * 32`` bytes apart in the cache and back to back in the
        group-major slot: a load (gather) or a store (scatter), in DMAs of at most 4095
        bursts (a count known only at run time is at most ``tile_groups``, below that).

        The gap is at most a row group less one row. Where no DMA form of the SoC holds
        that, the plan gives every tile one row group (``tile_plan.nz_load_gap_fits``):
        the DMA is then one burst, and says no gap."""
        stream = dma.stream
        kb = self.kb
        row_stride = self.plan.block_size * NZ_ROW_BYTES
        one_burst = stream.tile_groups == 1
        form = self.form(
            aligned=True,
            burst_len=stream.tile_tokens * NZ_ROW_BYTES,
            gm_gap=0 if one_burst else row_stride - NZ_ROW_BYTES,
        )
        pieces: list[tuple[int, Value]] = (
            [(first, min(MAX_BURSTS, groups - first)) for first in range(0, groups, MAX_BURSTS)]
            if isinstance(groups, int)
            else [(0, groups)]
        )
        move = self.store if dma.run.scatters else self.load
        for first, bursts in pieces:
            move(
                GROUP_MAJOR_BUFFER, slot, dma.run.cache, kb.add(cache_at, first * row_stride),
                bursts, dma.burst, 0 if one_burst else dma.gap, kb.mul(dma.burst, first),
                form=form,
            )  # fmt: skip

    def _transpose(self, slot: SSAValue, rows: Value, cols: Value, *, scatters: bool) -> None:
        """Compute: the tile's 32-byte blocks from the loaded layout to the stored one
        (group-major to token-major in a gather, the reverse in a scatter); the loaded
        buffer's slot is ``slot``, the stored buffer has one."""
        kb = self.kb
        loaded, stored = (
            (TOKEN_MAJOR_BUFFER, GROUP_MAJOR_BUFFER) if scatters
            else (GROUP_MAJOR_BUFFER, TOKEN_MAJOR_BUFFER)
        )  # fmt: skip
        note = (
            "ND to NZ: transpose the tile's 32-byte blocks to group-major (V)."
            if scatters
            else "NZ to ND: transpose the tile's 32-byte blocks to token-major (V)."
        )
        source, target = self.buffers[loaded], self.buffers[stored]
        only = kb.const(0)
        with kb.stage(note):
            kb.insert(TransposeBlocksOp(source, slot, target, only, kb.value(rows), kb.value(cols)))


@dataclass(frozen=True)
class GroupsDma:
    """The cache side of a PA_NZ tile: its run, and per row group a burst of ``burst``
    bytes followed by a GM gap of ``gap`` bytes."""

    run: CopyRunOp
    stream: StreamPlan
    burst: Value
    gap: Value


TILES: dict[CacheMode, type[RunTiles]] = {CacheMode.Norm: NormTiles, CacheMode.PA_NZ: NzTiles}
"""The tile expansion of each cache layout."""
