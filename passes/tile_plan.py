"""How big a tile is: the UB budget of one vector core, cut into tiles (pure arithmetic).

``ascend-tile-runs`` asks this module how to cut the runs and creates one
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

PA_NZ (group-major in, token-major out: ``slots`` tiles in all)
    A tile is ``tile_tokens`` consecutive tokens of one block by ``tile_groups`` of the
    token's ``groups = H / ea`` 32-byte row groups. It is loaded into a group-major slot
    (MTE2), transposed into the token-major slot (V, UB to UB, fast) and stored from there
    (MTE3). The token-major buffer itself is the second buffer of double buffering: the
    transpose frees the group-major slot at once, so the load of tile ``n + 1`` runs
    while tile ``n`` is stored even with one group-major slot. The UB is therefore cut
    into ``slots`` tiles of ``UB / slots`` bytes: one token-major slot and ``slots - 1``
    group-major ones (the default 2: one each, half the UB per tile).

    Why not more slots of smaller tiles: a load moves ``groups`` bursts (one per row
    group), a store one, so MTE2 is the busy pipe and every tile costs it ``groups``
    burst set-ups; the store of tile ``n``, which the transpose of tile ``n + 1`` waits
    for, is shorter than the load of tile ``n + 1`` (``tile_loops.NzTiles`` cuts runs
    into nearly equal tiles to keep it so). More slots only buy smaller tiles. The SPEC
    section 6 shape example (144 and 128 row groups, block 128) on Ascend910B, by
    ``runtime/tool/timeline.py``'s cost model: one group-major + one token-major slot of
    96 KiB, 935 loads, 178 us; two + one of 64 KiB, 1307 loads, 196 us; two + two of
    48 KiB (the token-major buffer double-buffered too), 1741 loads, 222 us (on
    Ascend910_95: 148, 154 and 167 us).
    The one exception: when a whole block already fits a tile of ``UB / (slots + 1)``
    (every stream), every run is one tile whatever the slot size, so the group-major
    buffer takes ``slots`` slots of that size instead: the tiles are the same, and with
    the spare slot the load of tile ``n + 1`` waits for the store of tile ``n - 2``, not
    of tile ``n - 1`` (those tiles are whole runs, whose sizes vary with the sequences).

    When a whole token fits (the usual case) a tile holds every group and as many
    tokens as fit, at most ``block_size``: the load then reads ``groups`` bursts of
    ``tile_tokens * 32`` bytes and the store is one contiguous burst. When one token
    alone is larger than a slot (up to 144 KiB on a 192 KiB UB) the tile takes a
    square-ish ``tile_tokens x tile_groups`` share of the slot, which keeps both the
    load bursts (``tile_tokens * 32`` bytes) and the store bursts (``tile_groups * 32``
    bytes) long; the op count per byte is the same for any shape.

    The load of several row groups has a GM gap of up to a row group less one row
    (``(block_size - 1) * 32`` bytes). Where no DMA form of the SoC can say it (more
    than 65536 rows per block without ``DataCopyPad``: :func:`nz_load_gap_fits`), every
    tile takes one row group (``tile_groups`` 1): its load is one burst with no gap, its
    store ``tile_tokens`` bursts of 32 bytes.

The scatter (``ascend.copy_run`` in the ``scatter`` direction) is the same plan run
backwards: a Norm tile loads from the tokens and stores into the cache, with no zero
buffer (a scatter skips what it cannot place, it never writes zeros); a PA_NZ tile loads
its tokens token-major in one burst, the transpose makes it group-major and the store
writes ``groups`` bursts into the block. The buffer the loads write then is the
token-major one, so it takes the ``slots - 1`` (or ``slots``) load slots and the
group-major one, written by the transpose and read by the store, takes one: the
gather's schedule reversed in time, with MTE3 (``groups`` bursts per tile) the busy
pipe instead of MTE2.

The runs of a kernel come in streams, one per token-major tensor (keys and values:
their token sizes, and in PA_NZ their dtypes, may differ), which share the same
buffers: a tile of any stream takes the next slot of the buffer the loads write
(:attr:`TilePlan.load_slots`). ``slots`` is how many tiles the UB is cut into (2:
double buffering; PA_NZ may add the spare slot above).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import isqrt

from pakv_dialect.ascend import MAX_BURSTS, UB_ALIGN, CopyDirection, align_up
from pakv_dialect.dma import pick_form
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
"""PA_NZ: one tile token by token (V transposes or zero-fills, MTE3 stores); one slot.
In a scatter the roles of the two PA_NZ buffers swap: MTE2 loads token-major tiles
(in turns over its slots), V transposes them into the one group-major slot, MTE3
stores from there."""
INPUT_BUFFER = "input"
"""Compute kernels, Norm: tiles as loaded (MTE2 writes, V reads)."""
WORK_BUFFER = "work"
"""Compute kernels: float32 work space (V only): 1 slot, or 2 to convert slot to slot."""
OUTPUT_BUFFER = "output"
"""Compute kernels: the results (V writes, MTE3 stores)."""
PARAMS_BUFFER = "params"
"""Compute kernels: per-channel parameters, loaded once per core (MTE2 writes, V reads)."""

MAX_PARAM_SHARE = 2
"""Per-channel parameters stay in UB for the whole kernel; they may take at most
1 / MAX_PARAM_SHARE of it (the tiles need the rest)."""


class TilePlanError(ValueError):
    """The options or the UB leave no room for even one tile."""


@dataclass(frozen=True)
class StreamPlan:
    """How the tiles of one stream (e.g. keys or values) are cut."""

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
    row_pitch: int = 0
    """Compute kernels: elements from one token's row of a tile to the next, in every
    buffer (so rows stay 32-byte aligned in each); 0 in copy kernels."""
    tile_channels: int = 0
    """Compute kernels: most elements of a token per tile (its ``H`` unless a token is
    cut into chunks of channels)."""

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
    streams: tuple[StreamPlan, ...]
    """One per stream, in the order of ``plan_tiles``'s ``token_bytes``."""
    buffers: tuple[BufferPlan, ...]
    row_align: bool = False
    """PA_NZ: tiles are whole multiples of 16 tokens (512 bytes of a row group), so a
    run's tiles after its first start on 512-byte GM rows; they are not cut evenly."""
    direction: CopyDirection = CopyDirection.gather

    @property
    def ub_bytes(self) -> int:
        """UB bytes the buffers need together."""
        return sum(buffer.size for buffer in self.buffers)

    def buffer(self, purpose: str) -> BufferPlan:
        return next(buffer for buffer in self.buffers if buffer.purpose == purpose)

    compute: bool = False
    """Every stream's tiles go through a compute stage (the kernel has a fused or
    unfused consumer): input, work and output buffers instead of copy buffers."""

    @property
    def load_buffer(self) -> str:
        """The buffer the loads write: the tile (Norm), else the one holding the side the
        tiles come from (group-major in a gather, token-major in a scatter); a Norm
        compute kernel loads its input buffer."""
        gather = self.direction == CopyDirection.gather
        if self.mode == CacheMode.Norm or (self.compute and not gather):
            return INPUT_BUFFER if self.compute else TILE_BUFFER
        return GROUP_MAJOR_BUFFER if gather else TOKEN_MAJOR_BUFFER

    @property
    def store_buffer(self) -> str:
        """The buffer the stores read (PA_NZ: the transpose's target, one slot)."""
        if self.mode == CacheMode.Norm:
            return TILE_BUFFER
        gather = self.direction == CopyDirection.gather
        return TOKEN_MAJOR_BUFFER if gather else GROUP_MAJOR_BUFFER

    @property
    def load_slots(self) -> int:
        """Slots of the buffer the loads write, in turn: tile ``n`` uses ``n % load_slots``
        (a PA_NZ plan that loads token-major at once, ``passes/nz_tiles.py``, has only
        the tile buffer)."""
        loaded = self.load_buffer
        if all(buffer.purpose != loaded for buffer in self.buffers):
            loaded = TILE_BUFFER
        return self.buffer(loaded).slots


def _align_down(size: int) -> int:
    return size // UB_ALIGN * UB_ALIGN


ROW_ALIGN_TOKENS = 16
"""Tokens per 512 bytes of one 32-byte row group (the GM alignment of full-rate DMA)."""


def nz_load_gap_fits(block_size: int, *, data_copy_pad: bool) -> bool:
    """Whether a PA_NZ load of several row groups can say its GM gap (up to a row group
    less one row, ``(block_size - 1) * 32`` bytes) in a DMA form the SoC has
    (``pakv_dialect.dma``). When it cannot, every tile takes one row group: its load is
    one burst, with no gap to say."""
    gap = (block_size - 1) * NZ_ROW_BYTES
    return pick_form(aligned=True, bounds={"gm_gap": gap}, data_copy_pad=data_copy_pad) is not None


def nz_stream(
    token_bytes: int,
    block_size: int,
    slot_bytes: int,
    row_align: bool = False,
    one_group: bool = False,
) -> StreamPlan:
    """The tile of one PA_NZ stream in a slot of ``slot_bytes`` (module docstring):
    whole tokens when one fits, else a square-ish share of tokens and row groups; one
    row group per tile when ``one_group`` (``nz_load_gap_fits``)."""
    groups = token_bytes // NZ_ROW_BYTES
    blocks = slot_bytes // NZ_ROW_BYTES
    if one_group:
        tokens = min(block_size, blocks, MAX_BURSTS)
        tile_groups = 1
    elif groups <= blocks:
        tokens = min(block_size, blocks // groups, MAX_BURSTS)
        if row_align and ROW_ALIGN_TOKENS <= tokens < block_size:
            tokens = tokens // ROW_ALIGN_TOKENS * ROW_ALIGN_TOKENS
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
    token_bytes: Sequence[int],
    ub_bytes: int,
    slots: int = 2,
    tile_bytes: int = 0,
    row_align: bool = False,
    direction: CopyDirection = CopyDirection.gather,
    data_copy_pad: bool = True,
) -> TilePlan:
    """Cut one core's UB (``ub_bytes`` usable) into tiles for streams of tokens of
    ``token_bytes`` each, moved in ``direction``; see the module docstring.

    ``tile_bytes`` (a multiple of 32), when not 0, replaces the slot size derived from
    the UB: tests use it to force tiny tiles, or a plan that ``ascend-plan-ub`` rejects.
    ``data_copy_pad``: the SoC has ``DataCopyPad`` (its DMA forms: ``nz_load_gap_fits``).
    """
    if not token_bytes:
        raise TilePlanError("there is no stream to tile")
    if slots < 1:
        raise TilePlanError(f"slots must be at least 1, got {slots}")
    if tile_bytes < 0 or tile_bytes % UB_ALIGN:
        raise TilePlanError(
            f"tile-bytes must be a non-negative multiple of {UB_ALIGN}, got {tile_bytes}"
        )
    largest_run = align_up(block_size * max(token_bytes))
    gather = direction == CopyDirection.gather
    streams: tuple[StreamPlan, ...]
    if mode == CacheMode.Norm:
        zero_bytes = min(ZERO_CHUNK_BYTES, largest_run) if gather else 0
        slot = tile_bytes or min(_align_down((ub_bytes - zero_bytes) // slots), largest_run)
        if slot < UB_ALIGN:
            raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots} tile slots")
        streams = tuple(StreamPlan(size, slot) for size in token_bytes)
        buffers = (BufferPlan(TILE_BUFFER, slots, slot),)
        if gather:
            buffers += (BufferPlan(ZERO_BUFFER, 1, zero_bytes),)
    else:
        one_group = not nz_load_gap_fits(block_size, data_copy_pad=data_copy_pad)
        streams, load_slots = _nz_split(
            block_size, token_bytes, ub_bytes, slots, tile_bytes, row_align, one_group
        )
        used = max(stream.tile_bytes for stream in streams)
        loaded, stored = (
            (GROUP_MAJOR_BUFFER, TOKEN_MAJOR_BUFFER) if gather
            else (TOKEN_MAJOR_BUFFER, GROUP_MAJOR_BUFFER)
        )  # fmt: skip
        buffers = (BufferPlan(loaded, load_slots, used), BufferPlan(stored, 1, used))
    return TilePlan(
        mode, block_size, streams, buffers, row_align and mode == CacheMode.PA_NZ, direction
    )


def _nz_split(
    block_size: int,
    token_bytes: Sequence[int],
    ub_bytes: int,
    slots: int,
    tile_bytes: int,
    row_align: bool,
    one_group: bool,
) -> tuple[tuple[StreamPlan, ...], int]:
    """PA_NZ: the tiles of each stream and the load buffer's slot count (module docstring)."""
    if slots < 2:
        raise TilePlanError(
            f"PA_NZ needs at least 2 slots (one the loads write, one the transpose writes "
            f"for the stores), got {slots}"
        )

    def streams(slot: int) -> tuple[StreamPlan, ...]:
        return tuple(
            nz_stream(size, block_size, slot, row_align, one_group) for size in token_bytes
        )

    narrow_slot = tile_bytes or _align_down(ub_bytes // (slots + 1))
    if narrow_slot >= NZ_ROW_BYTES:
        narrow = streams(narrow_slot)
        if all(s.tile_tokens >= block_size and not s.splits_tokens for s in narrow):
            return narrow, slots  # every run is one tile either way: take the spare slot
    slot = tile_bytes or _align_down(ub_bytes // slots)
    if slot < NZ_ROW_BYTES:
        raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots} tile slots")
    return streams(slot), slots - 1


# --------------------------------------------------------------------------- compute


@dataclass(frozen=True)
class ComputeStream:
    """What the plan needs to know of one stream of a compute kernel."""

    elements: int
    """``H``: elements per token."""
    in_size: int
    """Bytes per element as loaded (the cache's, or a map's source)."""
    out_size: int
    """Bytes per element as stored."""
    intermediates: int
    """Conversions whose result is neither the tile as loaded nor the output (they need
    a second float32 work slot)."""


def _norm_compute_stream(
    stream: ComputeStream, elements: int, block_size: int | None
) -> StreamPlan:
    """Tiles of whole tokens, as many as ``elements`` allows (at most a block), rows padded
    to keep them aligned; a token too large for a tile is cut into chunks of channels."""
    h = stream.elements
    aligned = (h * stream.in_size) % UB_ALIGN == 0 and (h * stream.out_size) % UB_ALIGN == 0
    pitch = h if aligned else align_up(h, UB_ALIGN)
    if pitch <= elements:
        tokens = elements // pitch
        if block_size is not None:
            tokens = min(tokens, block_size)
        if pitch != h:
            tokens = min(tokens, MAX_BURSTS)  # one burst per token
        channels = h
    else:
        tokens, channels = 1, _align_down(elements)
        pitch = channels
    return StreamPlan(
        h * stream.out_size,
        tokens * channels * stream.out_size,
        tile_tokens=tokens,
        row_pitch=pitch,
        tile_channels=channels,
    )


def _nz_compute_stream(
    stream: ComputeStream, elements: int, block_size: int, one_group: bool, *, cache_size: int
) -> StreamPlan:
    """The copy kernel's PA_NZ tile shape (``nz_stream``) for a slot of ``elements``
    elements of the cache's element (``cache_size`` bytes: the loaded one in a gather,
    the computed one in a scatter), ``one_group``: :func:`nz_load_gap_fits` says no.
    After the gather's transpose, or before the scatter's, a tile's rows are contiguous:
    each ``tile_groups`` 32-byte rows of the cache's element, as many channels."""
    copy = nz_stream(
        stream.elements * cache_size, block_size, elements * cache_size, one_group=one_group
    )
    channels = copy.tile_groups * (NZ_ROW_BYTES // cache_size)
    return StreamPlan(
        stream.elements * stream.out_size,
        copy.tile_tokens * channels * stream.out_size,
        groups=copy.groups,
        tile_tokens=copy.tile_tokens,
        tile_groups=copy.tile_groups,
        row_pitch=channels,
        tile_channels=channels,
    )


def plan_compute_tiles(
    mode: CacheMode,
    *,
    block_size: int | None,
    streams: Sequence[ComputeStream],
    ub_bytes: int,
    slots: int = 2,
    tile_bytes: int = 0,
    param_bytes: int = 0,
    data_copy_pad: bool = True,
    direction: CopyDirection = CopyDirection.gather,
) -> TilePlan:
    """Cut one core's UB for a kernel whose tiles are computed between load and store.

    Every tile of ``E`` elements takes a slot of the load buffer (``input`` in Norm,
    ``group_major`` in PA_NZ), the float32 ``work`` buffer (1 slot, 2 when a body
    converts twice in a row: each conversion writes the other slot) and a slot of the
    ``output`` buffer, so ``E`` is what the UB holds of ``slots x (in + out) + work x 4``
    bytes per element, after the per-channel ``params`` (loaded once per core). Loads
    and stores take turns over the slots as in copy kernels (PA_NZ: ``slots - 1`` of
    them, its transpose frees the load slot at once); the output slot of a tile is its
    load slot's index. In PA_NZ the tile is transposed into the first work slot, and a
    tile of zero tokens is zero-filled there in both layouts (the body runs on zeros:
    the unfused program gives f(0) for them, not 0). ``tile_bytes`` forces the work
    slot's bytes (``E = tile_bytes / 4``), for tests. ``block_size`` None: the runs are
    a tensor's tokens, not a cache block's (an unfused consumer's kernel).
    ``data_copy_pad``: the SoC has ``DataCopyPad`` (as in :func:`plan_tiles`).

    A scatter (``direction``) with a map quantises on the write side (SPEC section 8):
    in Norm its tiles are the gather's with the GM sides swapped; in PA_NZ a tile is
    loaded token-major into the ``input`` buffer (``slots - 1`` slots), computed into the
    one-slot ``output`` buffer (V reads it next, no DMA), transposed group-major into the
    one-slot ``group_major`` buffer and stored from there as ``H / ea`` bursts; its
    tiles are cut on the cache's side (the narrower element: the UB accounts for the
    narrowing), ``E`` per ``slots - 1`` input slots of ``in`` bytes, work slots of 4 and
    two buffers of ``out`` bytes.
    """
    nz = mode == CacheMode.PA_NZ
    nz_scatter = nz and direction == CopyDirection.scatter
    if slots < 1:
        raise TilePlanError(f"slots must be at least 1, got {slots}")
    if tile_bytes < 0 or tile_bytes % UB_ALIGN:
        raise TilePlanError(
            f"tile-bytes must be a non-negative multiple of {UB_ALIGN}, got {tile_bytes}"
        )
    if param_bytes * MAX_PARAM_SHARE > ub_bytes:
        raise TilePlanError(
            f"the per-channel parameters need {param_bytes} bytes, more than 1/"
            f"{MAX_PARAM_SHARE} of the {ub_bytes}-byte UB (they stay in UB while the kernel "
            "runs): use per-tensor parameters or fewer channels"
        )
    load_slots = max(1, slots - 1) if nz else slots
    work_slots = 2 if any(s.intermediates for s in streams) else 1
    in_size = max(s.in_size for s in streams)
    out_size = max(s.out_size for s in streams)
    per_element = load_slots * (in_size + out_size) + work_slots * 4
    if nz_scatter:
        per_element = load_slots * in_size + work_slots * 4 + 2 * out_size
    elements = tile_bytes // 4 if tile_bytes else (ub_bytes - align_up(param_bytes)) // per_element
    elements = _align_down(elements)
    if elements < UB_ALIGN:
        raise TilePlanError(f"a {ub_bytes}-byte UB leaves no room for {slots} computed tiles")
    if nz:
        assert block_size is not None
        one_group = not nz_load_gap_fits(block_size, data_copy_pad=data_copy_pad)
        plans = tuple(
            _nz_compute_stream(
                s, elements, block_size, one_group,
                cache_size=s.out_size if nz_scatter else s.in_size,
            )
            for s in streams
        )  # fmt: skip
    else:
        plans = tuple(_norm_compute_stream(s, elements, block_size) for s in streams)
    loaded = GROUP_MAJOR_BUFFER if nz and not nz_scatter else INPUT_BUFFER
    buffers = [
        BufferPlan(loaded, load_slots, elements * in_size),
        BufferPlan(WORK_BUFFER, work_slots, elements * 4),
        BufferPlan(OUTPUT_BUFFER, 1 if nz_scatter else load_slots, elements * out_size),
    ]
    if nz_scatter:
        buffers.append(BufferPlan(GROUP_MAJOR_BUFFER, 1, elements * out_size))
    if param_bytes:
        buffers.append(BufferPlan(PARAMS_BUFFER, 1, align_up(param_bytes)))
    return TilePlan(mode, block_size or 0, plans, tuple(buffers), direction=direction, compute=True)
