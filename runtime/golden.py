"""The golden reference: SPEC sections 2 and 8 in numpy, the yardstick every executor meets.

Written for clarity first. Each sequence is one vectorised step: its tokens' table
columns, block ids and slots are index vectors, and one fancy-indexing expression
copies all of its rows. The data is viewed as unsigned integers of the element's size
before it moves, so nothing is ever converted: NaN payloads, -0.0 and HiFloat8 (stored
as uint8) survive bit for bit.

Device semantics on data the host would reject
----------------------------------------------
The host API rejects bad data before anything runs (``runtime.host.checks``), but the
device kernel must stay memory-safe when those checks are skipped, and the lowered
kernel must produce exactly what this function produces. This is what the kernel
computes (``passes/gather_lowering.py``: 64-bit index arithmetic, lengths and offsets
sign-extended from the index dtype), for any data:

* ``len_i = max(raw_len_i, 0)`` where ``raw_len_i`` is ``seq_lens[i]``, or, when cumsum,
  ``seq_lens[i + 1] - seq_lens[i]`` computed in 64-bit two's complement (it wraps, as
  the kernel's ``arith.subi`` on ``index`` does). A negative length copies nothing.
* ``start_i = len_0 + ... + len_(i-1)``, exactly. The kernel adds in 64 bits too, but it
  compares unsigned and stops at its last row (below ``num_tokens``), so no start it
  uses ever wraps: the exact sum is what it computes. On valid data this is SPEC's
  ``start_i`` (for cumsum, ``seq_lens[i]`` since ``seq_lens[0] == 0``).
* A negative ``seq_offset[i]`` makes every token of sequence ``i`` zero.
* A table column ``>= max_blocks_per_seq``, or a block id outside ``[0, num_blocks)``,
  gives a zero-filled token (never an out-of-bounds read).
* Rows at or past ``num_tokens`` (``key_out``'s dim 0) are never written: a sequence
  running past the end is truncated there. Rows past ``total`` are left untouched.

Any ``seq_lens`` the kernel takes, this function takes: lengths whose sum passes
``2**63`` (int64 ``[2**62, 2**62, 2]``) are summed exactly, never through numpy's
wrapping ``cumsum``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import accumulate

import numpy as np

from pakv_dialect.dtypes import SATURATION_BOUNDS, ElementKind, convert_values, kv_kind_named
from pakv_dialect.pakv import CacheMode
from runtime.call import OUTPUT_ROLES, DequantSpec, QuantSpec

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


def raw_bits(array: np.ndarray) -> np.ndarray:
    """``array`` viewed (not copied) as unsigned integers of its element size."""
    return array.view(np.dtype(f"u{array.dtype.itemsize}"))


def sequence_lengths(seq_lens: np.ndarray, *, cumsum: bool) -> IntArray:
    """``len_i`` of every sequence, negative raw lengths clamped to 0 (device semantics).

    The cumsum differences are int64 arithmetic, which wraps like the kernel's.
    """
    lens = seq_lens.astype(np.int64)
    raw = np.diff(lens) if cumsum else lens
    return np.maximum(raw, 0)


def total_length(seq_lens: np.ndarray, *, cumsum: bool) -> int:
    """``total``, the sum of every ``len_i``: exact (a Python int), however large."""
    return sum(sequence_lengths(seq_lens, cumsum=cumsum).tolist())


def golden_gather(
    key_cache: np.ndarray,
    value_cache: np.ndarray,
    block_tables: np.ndarray,
    seq_lens: np.ndarray,
    key_out: np.ndarray,
    value_out: np.ndarray,
    seq_offset: np.ndarray | None = None,
    *,
    cache_mode: CacheMode | str,
    cumsum: bool,
) -> None:
    """Gather the paged caches into ``key_out``/``value_out`` in place (SPEC section 2).

    Arrays are in their storage dtypes (HiFloat8 as uint8) and shapes of SPEC section 1.
    The module docstring defines what happens on data the host would reject.
    """
    mode = CacheMode(cache_mode)
    block_dim = 2 if mode == CacheMode.PA_NZ else 1
    block_size = key_cache.shape[block_dim]
    num_blocks = key_cache.shape[0]
    table_width = block_tables.shape[1]
    num_tokens = key_out.shape[0]
    lens: list[int] = sequence_lengths(seq_lens, cumsum=cumsum).tolist()
    starts = accumulate(lens, initial=0)  # exact Python ints: no int64 wrap-around
    offsets = None if seq_offset is None else seq_offset.astype(np.int64)

    pairs = [
        (raw_bits(key_cache), raw_bits(key_out)),
        (raw_bits(value_cache), raw_bits(value_out)),
    ]
    for i, (start, length) in enumerate(zip(starts, lens, strict=False)):  # batch of them
        if start >= num_tokens:
            break  # lengths are >= 0: every later sequence starts here or further on
        count = min(length, num_tokens - start)
        if count == 0:
            continue
        token = np.arange(count, dtype=np.int64)
        # Clamped to the width: any column at or past it reads zeros, and the clamp
        # keeps a huge offset from overflowing int64.
        first_col = 0 if offsets is None else min(int(offsets[i]) // block_size, table_width)
        col = first_col + token // block_size
        slot = token % block_size
        readable = col < table_width
        if offsets is not None and offsets[i] < 0:
            readable[:] = False
        blk = np.zeros(count, dtype=np.int64)
        blk[readable] = block_tables[i, col[readable]]
        readable &= (blk >= 0) & (blk < num_blocks)
        blk[~readable] = 0  # any in-range id: those rows are zeroed below
        rows = slice(start, start + count)
        for cache, out in pairs:
            if mode == CacheMode.Norm:
                # cache [num_blocks, block_size, heads, head_size] -> out [n, heads, head_size]
                tokens = cache[blk, slot]
            else:
                # cache [num_blocks, H/ea, block_size, ea] -> out [n, H]: row group k of
                # token j lands at out[j, k*ea:(k+1)*ea].
                groups = np.arange(cache.shape[1])
                tokens = cache[blk[:, None], groups[None, :], slot[:, None]]
                tokens = tokens.reshape(count, -1)
            tokens[~readable] = 0
            out[rows] = tokens


def golden_outputs(
    arrays: Mapping[str, np.ndarray], *, cache_mode: CacheMode | str, cumsum: bool
) -> dict[str, np.ndarray]:
    """What ``key_out`` and ``value_out`` must become, computed on copies of them.

    ``arrays`` holds a call's operands by role (``runtime.call.OPERAND_ROLES``, which
    are :func:`golden_gather`'s parameter names); none of them is written.
    """
    expected = {role: arrays[role].copy() for role in OUTPUT_ROLES}
    golden_gather(**{**arrays, **expected}, cache_mode=cache_mode, cumsum=cumsum)
    return expected


# --------------------------------------------------------------------------- SPEC 7


def dequantize(
    values: np.ndarray,
    kind: ElementKind,
    spec: DequantSpec,
    scale: np.ndarray | None,
    offset: np.ndarray | None,
) -> np.ndarray:
    """SPEC section 7 on ``values`` (stored as ``kind``): ``x_f = float32(x)``, then
    ``(x_f - offset) * scale`` as two float32 ops (numpy rounds each to nearest even;
    no FMA), then the conversion to ``spec.out_kind``. ``scale`` and ``offset`` are
    float32 arrays broadcastable to ``values`` (0-d, or a token's inner dims), or None
    where ``spec`` has none."""
    fp32 = kv_kind_named("fp32")
    assert fp32 is not None
    x = convert_values(values, kind, fp32)
    with np.errstate(over="ignore", invalid="ignore"):
        if offset is not None:
            x = np.subtract(x, offset, dtype=np.float32)
        if scale is not None:
            x = np.multiply(x, scale, dtype=np.float32)
    return convert_values(x, fp32, spec.out_element)


def golden_dequant_outputs(
    arrays: Mapping[str, np.ndarray],
    kinds: Mapping[str, ElementKind],
    maps: Mapping[str, DequantSpec],
    *,
    cache_mode: CacheMode | str,
    cumsum: bool,
) -> dict[str, np.ndarray]:
    """What a dequantising gather's outputs must become (copies; nothing is written):
    the gathered rows ``[0, min(total, num_tokens))`` of each mapped stream dequantised
    by :func:`dequantize` (``maps`` by stream, parameters by role ``<stream>_param_<i>``,
    scale first), every later row left as it was (SPEC section 7)."""
    plain = {role: arrays[role] for role in arrays if "_param_" not in role}
    gathered: dict[str, np.ndarray] = {}
    for role in OUTPUT_ROLES:
        stream = role.removesuffix("_out")
        cache = arrays[f"{stream}_cache"]
        if stream in maps:
            gathered[role] = np.zeros(arrays[role].shape, dtype=cache.dtype)
        else:
            gathered[role] = arrays[role].copy()
    golden_gather(**{**plain, **gathered}, cache_mode=cache_mode, cumsum=cumsum)
    rows = min(total_length(arrays["seq_lens"], cumsum=cumsum), arrays["key_out"].shape[0])
    expected = {role: arrays[role].copy() for role in OUTPUT_ROLES}
    for role in OUTPUT_ROLES:
        stream = role.removesuffix("_out")
        spec = maps.get(stream)
        if spec is None:
            expected[role] = gathered[role]
            continue
        params = dict(
            zip(
                (n for n, _ in spec.params),
                (arrays[f"{stream}_param_{i}"] for i in range(len(spec.params))),
                strict=True,
            )
        )
        values = gathered[role][:rows]
        expected[role][:rows] = dequantize(
            values, kinds[f"{stream}_cache"], spec, params.get("scale"), params.get("offset")
        )
    return expected


def golden_scatter(
    key: np.ndarray,
    value: np.ndarray,
    slot_mapping: np.ndarray,
    key_cache: np.ndarray,
    value_cache: np.ndarray,
    *,
    cache_mode: CacheMode | str,
) -> None:
    """Scatter ``key``/``value`` into the paged caches in place (SPEC section 8).

    Token ``t`` goes to slot ``s = slot_mapping[t]``: position ``s % block_size`` of block
    ``s // block_size``. A negative slot is skipped (padding), and so is one at or past
    ``num_blocks * block_size`` (the host rejects such a call; the device kernel skips
    the token, and this defines what it computes). Every other byte of the caches stays
    as it was. Two tokens with one slot are not defined (the host rejects them too).
    """
    mode = CacheMode(cache_mode)
    num_blocks = key_cache.shape[0]
    block_size = key_cache.shape[2 if mode == CacheMode.PA_NZ else 1]
    slots = slot_mapping.astype(np.int64)
    placed = (slots >= 0) & (slots < num_blocks * block_size)
    blk, pos = slots[placed] // block_size, slots[placed] % block_size
    for tokens, cache in (
        (raw_bits(key), raw_bits(key_cache)),
        (raw_bits(value), raw_bits(value_cache)),
    ):
        new = tokens[placed]
        if mode == CacheMode.Norm:
            # tokens [n, heads, head_size] -> cache[blk, pos] of [num_blocks, bs, heads, head_size]
            cache[blk, pos] = new
        else:
            # tokens [n, H] -> cache[blk, k, pos, :] = token[k*ea : (k+1)*ea] for each row group k
            groups, ea = cache.shape[1], cache.shape[3]
            cache[blk[:, None], np.arange(groups)[None, :], pos[:, None]] = new.reshape(
                -1, groups, ea
            )


# --------------------------------------------------------------------------- SPEC 8


def quantize(
    values: np.ndarray,
    kind: ElementKind,
    spec: QuantSpec,
    inv_scale: np.ndarray,
    offset: np.ndarray | None,
) -> np.ndarray:
    """SPEC section 8 on ``values`` (stored as ``kind``, fp16 or bf16), written as the
    SPEC reads: ``x_f = float32(x)``; ``y = x_f * inv_scale`` (then ``+ offset``), each a
    float32 op rounded to nearest even; an int8 cache takes ``saturate(round_half_even
    (y))`` in ``[-128, 127]`` (NaN, which the SPEC leaves open, as 0: the project's
    choice, ``pakv_dialect.elementwise``), an fp8 cache ``fp8(y)`` rounded to nearest
    even and saturated to its largest finite value (NaN stays NaN)."""
    x = values.astype(kind.storage).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.multiply(x, inv_scale, dtype=np.float32)
        if offset is not None:
            y = np.add(y, offset, dtype=np.float32)
        low, high = SATURATION_BOUNDS[spec.cache_kind]
        if spec.cache_kind == "int8":
            rounded = np.rint(y)
            saturated = np.where(rounded < low, low, np.where(rounded > high, high, rounded))
            return np.where(np.isnan(y), 0, saturated).astype(np.int8)
        saturated = np.where(y < low, low, np.where(y > high, high, y))
        return saturated.astype(spec.out_element.storage)


def golden_quant_caches(
    arrays: Mapping[str, np.ndarray],
    kinds: Mapping[str, ElementKind],
    maps: Mapping[str, QuantSpec],
    *,
    cache_mode: CacheMode | str,
) -> dict[str, np.ndarray]:
    """What a quantising scatter's caches must become (copies; nothing is written): each
    mapped stream's tokens quantised by :func:`quantize` (parameters by role
    ``<stream>_param_<i>``, inverse scale first), then scattered (SPEC section 8)."""
    tokens = {"key": arrays["key"], "value": arrays["value"]}
    for stream, spec in maps.items():
        params = [arrays[f"{stream}_param_{i}"] for i in range(len(spec.params))]
        tokens[stream] = quantize(
            arrays[stream], kinds[stream], spec, params[0], params[1] if len(params) > 1 else None
        )
    return golden_caches({**arrays, **tokens}, cache_mode=cache_mode)


def golden_caches(
    arrays: Mapping[str, np.ndarray], *, cache_mode: CacheMode | str
) -> dict[str, np.ndarray]:
    """What ``key_cache`` and ``value_cache`` must become after a scatter, computed on
    copies (``arrays`` holds the call's operands by role; none of them is written)."""
    expected = {role: arrays[role].copy() for role in ("key_cache", "value_cache")}
    golden_scatter(
        arrays["key"], arrays["value"], arrays["slot_mapping"], **expected, cache_mode=cache_mode
    )
    return expected
