"""Calls for the lowered executor, including data the host checks would reject.

``DeviceCase`` describes a call by the features the translation-validation grid varies
(mode, dtypes, index type, cumsum, offsets, block size, lengths, bad data, SoC);
``build`` turns it into arrays (``gather_cases.GatherCase``, random bits everywhere) and
``device_call`` into a ``GatherCall`` *without* the host checks, so the kernel itself
meets bad data. ``expected_outputs`` runs the golden reference on copies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from gather_cases import GatherCase, index_kind, kv_kind, random_bits, shape_example

from pakv_dialect.dtypes import index_kind_of_numpy
from pakv_dialect.pakv import CacheMode
from runtime.call import API_NAMES, GatherCall, GatherSignature
from runtime.golden import golden_gather, sequence_lengths
from runtime.lowered_executor import LoweredRun, run_lowered
from runtime.memory import GmTensor

BAD_DATA = ("columns", "block_ids", "negative_len", "negative_offset", "huge_offset")
"""Kinds of data the host would reject (161002) that the device must survive."""


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
    total = int(sequence_lengths(seq_lens, cumsum=case.cumsum).sum())
    num_tokens = max(total + case.extra_rows, 0)

    key_cache, key_row = _cache(rng, case, case.key_dtype, case.key_token, num_blocks)
    value_dtype = case.value_dtype or case.key_dtype
    value_token = case.value_token or case.key_token
    value_cache, value_row = _cache(rng, case, value_dtype, value_token, num_blocks)
    return GatherCase(
        cache_mode=case.mode,
        cumsum=case.cumsum,
        soc=case.soc,
        key_kind=kv_kind(case.key_dtype),
        value_kind=kv_kind(value_dtype),
        key_cache=key_cache,
        value_cache=value_cache,
        block_tables=tables.astype(index),
        seq_lens=seq_lens,
        seq_offset=offsets.astype(index) if case.offsets else None,
        key_ref=random_bits(rng, kv_kind(case.key_dtype), (num_tokens, *key_row)),
        value_ref=random_bits(rng, kv_kind(value_dtype), (num_tokens, *value_row)),
        lens=[int(n) for n in lens],
    )


def device_call(case: GatherCase) -> GatherCall:
    """``case`` as an executor's ``GatherCall``, skipping every host check.

    ``total_tokens`` follows the golden's device semantics (negative lengths count 0).
    """
    index = index_kind_of_numpy(case.block_tables.dtype)
    assert index is not None, case.block_tables.dtype
    signature = GatherSignature(
        cache_mode=CacheMode(case.cache_mode),
        cumsum=case.cumsum,
        has_offset=case.seq_offset is not None,
        key_kind=case.key_kind.name,
        value_kind=case.value_kind.name,
        index_kind=index.name,
        key_cache_dims=tuple(case.key_cache.shape[1:]),  # pyright: ignore[reportArgumentType]
        value_cache_dims=tuple(case.value_cache.shape[1:]),  # pyright: ignore[reportArgumentType]
        soc=case.soc,
    )

    def gm(role: str, array: np.ndarray, kind_name: str, *, kv: bool) -> GmTensor:
        kind = kv_kind(kind_name) if kv else index_kind(kind_name)
        return GmTensor.wrap(API_NAMES[role], array, kind)

    lens = sequence_lengths(case.seq_lens, cumsum=case.cumsum)
    return GatherCall(
        signature=signature,
        key_cache=gm("key_cache", case.key_cache, case.key_kind.name, kv=True),
        value_cache=gm("value_cache", case.value_cache, case.value_kind.name, kv=True),
        block_tables=gm("block_tables", case.block_tables, index.name, kv=False),
        seq_lens=gm("seq_lens", case.seq_lens, index.name, kv=False),
        seq_offset=None
        if case.seq_offset is None
        else gm("seq_offset", case.seq_offset, index.name, kv=False),
        key_out=gm("key_out", case.key_ref, case.key_kind.name, kv=True),
        value_out=gm("value_out", case.value_ref, case.value_kind.name, kv=True),
        batch=case.block_tables.shape[0],
        num_blocks=case.key_cache.shape[0],
        table_width=case.block_tables.shape[1],
        num_tokens=case.key_ref.shape[0],
        total_tokens=int(lens.sum()),
    )


def expected_outputs(case: GatherCase) -> tuple[np.ndarray, np.ndarray]:
    """What the golden reference writes, on copies of the outputs."""
    key_out, value_out = case.key_ref.copy(), case.value_ref.copy()
    golden_gather(
        case.key_cache,
        case.value_cache,
        case.block_tables,
        case.seq_lens,
        key_out,
        value_out,
        case.seq_offset,
        cache_mode=case.cache_mode,
        cumsum=case.cumsum,
    )
    return key_out, value_out


def payload_bytes(case: GatherCase) -> int:
    """Bytes the call copies into the outputs (rows below num_tokens, keys + values)."""
    lens = sequence_lengths(case.seq_lens, cumsum=case.cumsum)
    rows = min(int(lens.sum()), case.key_ref.shape[0])
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


def nz_shape_example(rng: np.random.Generator) -> GatherCase:
    """SPEC section 6's shape example in PA_NZ layout (caches [128, H/16, 128, 16])."""
    norm = shape_example(rng)
    fp16 = kv_kind("fp16")
    return replace(
        norm,
        cache_mode="PA_NZ",
        key_cache=random_bits(rng, fp16, (128, 16 * 144 // 16, 128, 16)),
        value_cache=random_bits(rng, fp16, (128, 16 * 128 // 16, 128, 16)),
        key_ref=norm.key_ref.reshape(norm.key_ref.shape[0], -1),
        value_ref=norm.value_ref.reshape(norm.value_ref.shape[0], -1),
    )
