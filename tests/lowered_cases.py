"""Calls for the lowered executor, including data the host checks would reject.

``DeviceCase`` describes a call by the features the translation-validation grid varies
(mode, dtypes, index type, cumsum, offsets, block size, lengths, bad data, SoC);
``build`` turns it into arrays (``gather_cases.GatherCase``, random bits everywhere) and
``device_call`` into a ``GatherCall`` *without* the host checks, so the kernel itself
meets bad data. ``run_and_compare`` checks a run against the golden reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from gather_cases import GatherCase, case_of, expected_outputs, index_kind, kv_kind, random_bits

from pakv_dialect.pakv import CacheMode
from runtime.call import GatherCall
from runtime.golden import total_length
from runtime.host.lowered import LoweredRun, run_lowered

BAD_DATA = ("columns", "block_ids", "negative_len", "negative_offset", "huge_offset")
"""Kinds of data the host would reject (161002) that the device must survive."""

CACHE_VIEWS = ("dense", "layers", "interleaved")
"""How a case's caches lie in memory (SPEC section 9): ``dense`` arrays; ``layers``, each
cache layer 1 of 3 of a buffer ``[num_blocks, 3, block]`` (the other layers random);
``interleaved``, keys and values block by block in one buffer. Each block row of a
buffer is padded to a multiple of 32 bytes, so the caches' first axes are strided."""


def block_views(
    rng: np.random.Generator, parts: list[np.ndarray | int], extra: int = 0
) -> list[np.ndarray]:
    """Views into one new buffer of random bytes, row ``b`` of which holds block ``b`` of
    every array of ``parts`` in turn (an int: that many bytes of filler), then
    ``extra`` bytes, padded to a multiple of 32 bytes: each array's values, its first
    axis strided by the buffer's rows."""
    arrays = [part for part in parts if isinstance(part, np.ndarray)]
    blocks = arrays[0].shape[0]
    widths = [part if isinstance(part, int) else part[0:1].nbytes for part in parts]
    row = -(-(sum(widths) + extra) // 32) * 32
    buffer = rng.integers(0, 256, size=(blocks, row), dtype=np.uint8)
    views: list[np.ndarray] = []
    at = 0
    for part, width in zip(parts, widths, strict=True):
        if isinstance(part, np.ndarray):
            view = buffer[:, at : at + width].view(part.dtype).reshape(part.shape)
            view[...] = part
            views.append(view)
        at += width
    return views


@dataclass(frozen=True)
class DeviceCase:
    mode: str = "Norm"
    key_dtype: str = "fp16"
    value_dtype: str | None = None
    index_dtype: str = "int32"
    cumsum: bool = False
    offsets: bool = False
    block_size: int = 16
    lens: tuple[int, ...] = (5, 0, 37)
    key_token: tuple[int, ...] = (2, 3)
    """Norm: (heads, head_size); PA_NZ: (row groups,)."""
    value_token: tuple[int, ...] | None = None
    soc: str = "Ascend910_95"
    extra_rows: int = 2
    """num_tokens - total: negative truncates the last sequences."""
    repeated_blocks: bool = False
    """Every table entry is one of two block ids."""
    bad: str | None = None
    """One of BAD_DATA, or None for valid data."""
    view: str = "dense"
    """How the caches lie in memory: one of CACHE_VIEWS."""
    seed: int = 0

    def __str__(self) -> str:
        fields = [f"{k}={v}" for k, v in vars(self).items() if v != getattr(DEFAULT, k)]
        return ",".join(fields) or "default"

    def with_(self, **changes: object) -> DeviceCase:
        return replace(self, **changes)  # pyright: ignore[reportArgumentType]


DEFAULT = DeviceCase()


def _cache(
    rng: np.random.Generator, case: DeviceCase, dtype: str, token: tuple[int, ...], blocks: int
) -> tuple[np.ndarray, tuple[int, ...]]:
    kind = kv_kind(dtype)
    if case.mode == "PA_NZ":
        (groups,) = token
        ea = kind.elements_per_nz_row
        return random_bits(rng, kind, (blocks, groups, case.block_size, ea)), (groups * ea,)
    return random_bits(rng, kind, (blocks, case.block_size, *token)), token


def build(case: DeviceCase) -> GatherCase:
    """The arrays of ``case`` (outputs start as random bits)."""
    rng = np.random.default_rng(case.seed)
    bs = case.block_size
    lens = np.array(case.lens, dtype=np.int64)
    batch = lens.size
    offsets = rng.integers(0, 3 * bs + 1, size=batch) if case.offsets else np.zeros(batch, int)
    first_col = offsets // bs
    cols_needed = first_col + -(-lens // bs)
    width = max(int(cols_needed.max()), 1)
    num_blocks = 3 if case.repeated_blocks else int(max(width, 2) * 2)
    if case.repeated_blocks:
        tables = rng.choice([1, 2], size=(batch, width))
    else:
        tables = rng.integers(0, num_blocks, size=(batch, width))
    if case.bad == "columns":
        width = max(width - 2, 1)  # the last columns of long sequences are missing
        tables = tables[:, :width]
    elif case.bad == "block_ids":
        huge = (1 << 40) if case.index_dtype == "int64" else (1 << 31) - 1
        poison = rng.choice([-1, num_blocks, huge, -(1 << 30)], size=tables.shape)
        tables = np.where(rng.random(tables.shape) < 0.4, poison, tables)
    signed_lens = lens.copy()
    if case.bad == "negative_len":
        signed_lens[rng.integers(0, batch)] = -int(rng.integers(1, 50))
    if case.bad in ("negative_offset", "huge_offset"):
        assert case.offsets, "offset faults need offsets"
        which = rng.integers(0, batch)
        offsets[which] = -int(rng.integers(1, 40)) if case.bad == "negative_offset" else 1 << 30

    if case.cumsum:
        seq_lens = np.concatenate(([0], np.cumsum(signed_lens)))
    else:
        seq_lens = signed_lens
    index = index_kind(case.index_dtype).storage
    seq_lens = seq_lens.astype(index)
    total = total_length(seq_lens, cumsum=case.cumsum)
    num_tokens = max(total + case.extra_rows, 0)

    key_cache, key_row = _cache(rng, case, case.key_dtype, case.key_token, num_blocks)
    value_dtype = case.value_dtype or case.key_dtype
    value_token = case.value_token or case.key_token
    value_cache, value_row = _cache(rng, case, value_dtype, value_token, num_blocks)
    key, value = kv_kind(case.key_dtype), kv_kind(value_dtype)
    if case.view == "layers":
        (key_cache,) = block_views(rng, [key_cache[0:1].nbytes, key_cache, 7])
        (value_cache,) = block_views(rng, [value_cache[0:1].nbytes, value_cache, 7])
    elif case.view == "interleaved":
        key_cache, value_cache = block_views(rng, [key_cache, value_cache])
    inputs = {
        "key_cache": key_cache,
        "value_cache": value_cache,
        "block_tables": tables.astype(index),
        "seq_lens": seq_lens,
        "key_out": random_bits(rng, key, (num_tokens, *key_row)),
        "value_out": random_bits(rng, value, (num_tokens, *value_row)),
    }
    if case.offsets:
        inputs["seq_offset"] = offsets.astype(index)
    return case_of(
        inputs, cache_mode=case.mode, cumsum=case.cumsum, soc=case.soc, kinds=(key, value)
    )


def device_call(case: GatherCase) -> GatherCall:
    """``case`` as an executor's ``GatherCall``, skipping every host check.

    ``total_tokens`` follows the golden's device semantics (negative lengths count 0,
    the sum is exact however large).
    """
    return GatherCall.wrap(
        case.inputs(),
        case.kinds(),
        cache_mode=CacheMode(case.cache_mode),
        cumsum=case.cumsum,
        soc=case.soc,
        total_tokens=total_length(case.seq_lens, cumsum=case.cumsum),
    )


def payload_bytes(case: GatherCase) -> int:
    """Bytes the call copies into the outputs (rows below num_tokens, keys + values)."""
    rows = min(total_length(case.seq_lens, cumsum=case.cumsum), case.key_ref.shape[0])
    key_row = case.key_ref[0:1].nbytes if case.key_ref.shape[0] else 0
    value_row = case.value_ref[0:1].nbytes if case.value_ref.shape[0] else 0
    return rows * (key_row + value_row)


def run_and_compare(case: GatherCase, *, options: str = "", reference: bool = False) -> LoweredRun:
    """Run ``case`` on the lowered kernel and assert bit-exact equality with the golden."""
    key_expected, value_expected = expected_outputs(case)
    run = run_lowered(device_call(case), options=options, reference=reference)
    for name, got, expected in (
        ("keyRef", case.key_ref, key_expected),
        ("valueRef", case.value_ref, value_expected),
    ):
        got_bytes, expected_bytes = got.view(np.uint8), expected.view(np.uint8)
        if not np.array_equal(got_bytes, expected_bytes):
            rows = np.nonzero((got_bytes != expected_bytes).reshape(got.shape[0], -1).any(1))[0]
            raise AssertionError(f"{name} differs from the golden in rows {rows[:10].tolist()}")
    return run
