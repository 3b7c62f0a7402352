"""How big a tile is: the UB budget of one vector core, cut into tiles (pure arithmetic).

``convert-pakv-to-ascend`` asks this module how to cut the work and creates one
``ascend.ub_alloc`` per :class:`BufferPlan`; ``ascend-plan-ub`` then places those
buffers and rejects a plan that does not fit. Keeping the arithmetic here, free of IR,
makes it testable on its own and keeps the lowering about loops.

Norm (one buffer of ``slots`` slots plus a small zero buffer)
    A run of tokens inside one block is one contiguous byte range in the cache and in
    the output, so a tile is simply the next ``slot`` bytes of the run: token
    boundaries do not matter, and even a 144 KiB token needs no special case. The slot
    is ``(UB - zero buffer) / slots`` rounded down to 32 bytes, but never more than a
    whole block of the larger stream (a run never crosses a block). The zero buffer
    (at most ``ZERO_CHUNK_BYTES``) serves the error path: zero tokens are written from
    it chunk by chunk, so it is kept small to leave the UB to the tiles.

PA_NZ (group-major in: ``slots`` slots; token-major out: one slot)
    A tile is ``tile_tokens`` consecutive tokens of one block by ``tile_groups`` of the
    token's ``groups = H / ea`` 32-byte row groups. Each slot gets
    ``UB / (slots + 1)`` bytes. Only the loads are multi-buffered: the load of tile
    ``n + 1`` (MTE2) overlaps the store of tile ``n`` (MTE3), and only the transpose of
    tile ``n + 1`` (V, fast: UB to UB) waits for that store to free the single
    token-major slot. A second token-major slot would shrink every tile from a third to
    a quarter of the UB: a third more tiles, DMAs and flags for the same bytes, with
    shorter GM bursts. When a whole token fits (the usual case) a tile holds
    every group and as many tokens as fit, at most ``block_size``: the load then reads
    ``groups`` bursts of ``tile_tokens * 32`` bytes and the store is one contiguous
    burst. When one token alone is larger than a slot (up to 144 KiB on a 192 KiB UB)
    the tile takes a square-ish ``tile_tokens x tile_groups`` share of the slot, which
    keeps both the load bursts (``tile_tokens * 32`` bytes) and the store bursts
    (``tile_groups * 32`` bytes) long; the op count per byte is the same for any shape.

Key and value are separate streams (their token sizes, and in PA_NZ their dtypes, may
differ) sharing the same buffers: a tile of either kind takes the next slot.
``slots`` is the number of slots of the buffer the loads write (2: double buffering).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

from pakv_dialect.ascend import MAX_BURSTS, UB_ALIGN, align_up
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode

ZERO_CHUNK_BYTES = 4096
"""Largest zero buffer of the Norm lowering: one ``fill_zero`` + ``store`` per chunk."""

TILE_BUFFER = "tile"
"""Norm: the double-buffered tile (written by MTE2 loads, read by MTE3 stores)."""
ZERO_BUFFER = "zeros"
"""Norm: zeros for out-of-range tokens (written by V fills, read by MTE3 stores)."""
GROUP_MAJOR_BUFFER = "group_major"
"""PA_NZ: tiles as loaded, row group by row group (MTE2 writes, V transposes)."""
TOKEN_MAJOR_BUFFER = "token_major"
"""PA_NZ: one tile token by token (V transposes or zero-fills, MTE3 stores)."""


class TilePlanError(ValueError):
    """The options or the UB leave no room for even one tile."""


@dataclass(frozen=True)
class StreamPlan:
    """How the tiles of one stream (keys or values) are cut."""

    token_bytes: int
    """Bytes of one token in the output (``H * element size``)."""
    tile_bytes: int
    """Most bytes one tile moves (Norm: the slot; PA_NZ: tokens x groups x 32)."""
    groups: int = 0
    """PA_NZ: 32-byte row groups per token (``H / ea``); 0 in Norm."""
    tile_tokens: int = 0
    """PA_NZ: most tokens per tile (at most ``block_size``); 0 in Norm."""
    tile_groups: int = 0
    """PA_NZ: most row groups per tile; ``groups`` unless a token is split."""

    @property
    def splits_tokens(self) -> bool:
        """PA_NZ: a token's row groups are spread over several tiles."""
        return self.tile_groups < self.groups


@dataclass(frozen=True)
class BufferPlan:
    """One ``ascend.ub_alloc``: ``slots`` slots of ``slot_bytes`` bytes."""

    purpose: str
    slots: int
    slot_bytes: int

    @property
    def size(self) -> int:
        return self.slots * self.slot_bytes


@dataclass(frozen=True)
class TilePlan:
    mode: CacheMode
    block_size: int
    slots: int
    key: StreamPlan
    value: StreamPlan
    buffers: tuple[BufferPlan, ...]

    @property
    def ub_bytes(self) -> int:
        """UB bytes the buffers need together."""
        return sum(buffer.size for buffer in self.buffers)

    def buffer(self, purpose: str) -> BufferPlan:
        return next(buffer for buffer in self.buffers if buffer.purpose == purpose)


def _align_down(size: int) -> int:
    return size // UB_ALIGN * UB_ALIGN


def _nz_stream(token_bytes: int, block_size: int, slot_bytes: int) -> StreamPlan:
    groups = token_bytes // NZ_ROW_BYTES
    blocks = slot_bytes // NZ_ROW_BYTES
    if groups <= blocks:
        tokens = min(block_size, blocks // groups, MAX_BURSTS)
        tile_groups = groups
    else:
        tokens = min(block_size, isqrt(blocks))
        tile_groups = min(groups, blocks // tokens, MAX_BURSTS)
    return StreamPlan(
        token_bytes,
        tokens * tile_groups * NZ_ROW_BYTES,
        groups=groups,
        tile_tokens=tokens,
        tile_groups=tile_groups,
    )


def plan_tiles(
    mode: CacheMode,
    *,
    block_size: int,
    key_token_bytes: int,
    value_token_bytes: int,
    ub_bytes: int,
    slots: int = 2,
    tile_bytes: int = 0,
) -> TilePlan:
    """Cut one core's UB (``ub_bytes`` usable) into tiles; see the module docstring.

    ``tile_bytes`` (a multiple of 32), when not 0, replaces the slot size derived from
    the UB: tests use it to force tiny tiles, or a plan that ``ascend-plan-ub`` rejects.
    """
    if slots < 1:
        raise TilePlanError(f"slots must be at least 1, got {slots}")
    if tile_bytes < 0 or tile_bytes % UB_ALIGN:
        raise TilePlanError(
            f"tile-bytes must be a non-negative multiple of {UB_ALIGN}, got {tile_bytes}"
        )
    largest_run = align_up(block_size * max(key_token_bytes, value_token_bytes))
    if mode == CacheMode.Norm:
        zero_bytes = min(ZERO_CHUNK_BYTES, largest_run)
        slot = tile_bytes or min(_align_down((ub_bytes - zero_bytes) // slots), largest_run)
        if slot < UB_ALIGN:
            raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots} tile slots")
        key = StreamPlan(key_token_bytes, slot)
        value = StreamPlan(value_token_bytes, slot)
        buffers = (BufferPlan(TILE_BUFFER, slots, slot), BufferPlan(ZERO_BUFFER, 1, zero_bytes))
    else:
        slot = tile_bytes or _align_down(ub_bytes // (slots + 1))
        if slot < NZ_ROW_BYTES:
            raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots + 1} tile slots")
        key = _nz_stream(key_token_bytes, block_size, slot)
        value = _nz_stream(value_token_bytes, block_size, slot)
        used = max(key.tile_bytes, value.tile_bytes)
        buffers = (
            BufferPlan(GROUP_MAJOR_BUFFER, slots, used),
            BufferPlan(TOKEN_MAJOR_BUFFER, 1, used),
        )
    return TilePlan(mode, block_size, slots, key, value, buffers)
