"""The device semantics against an independent, deliberately slow per-token oracle.

The oracle below is SPEC section 2 read literally, one token and one 32-byte NZ row at
a time, on byte views, extended to the device semantics on data the host rejects (the
rules of ``runtime.golden``'s docstring: negative lengths copy nothing, a bad column or
block or a negative offset gives zeros, rows at or past num_tokens are never written,
cumsum differences wrap in 64 bits, starts are exact sums). It shares no code and no
vectorisation with any implementation, and it judges all three directly: the golden
reference, the xDSL interpreter's ``pakv.gather`` (its own run-by-run implementation)
and the lowered kernel on the machine model, each run without the host checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from gather_cases import (
    ALL_DTYPES,
    GatherCase,
    c_example,
    c_example_expected,
    case_of,
    index_kind,
    kv_kind,
    mixed_case,
    random_bits,
)
from lowered_cases import device_call

from runtime.call import GatherCall
from runtime.host.executors import run_golden, run_high_level_interpreter
from runtime.host.lowered import run_lowered_call

IMPLEMENTATIONS: dict[str, Callable[[GatherCall], None]] = {
    "golden": run_golden,
    "interpreter": run_high_level_interpreter,
    "lowered": run_lowered_call,
}
"""Each implementation of the semantics, called directly (no host checks)."""

FAST = ("golden", "interpreter")
"""The implementations cheap enough for every case of a large grid (the lowered kernel
compiles once per signature; ``test_translation_validation`` runs it on valid grids)."""


def wrap64(value: int) -> int:
    """``value`` as a signed 64-bit integer."""
    return (value + 2**63) % 2**64 - 2**63


def oracle_gather(case: GatherCase) -> tuple[bytes, bytes]:
    """The device semantics, token by token; returns the outputs' bytes (copies)."""
    key_out, value_out = case.key_ref.copy(), case.value_ref.copy()
    nz = case.cache_mode == "PA_NZ"
    block_size = case.key_cache.shape[2 if nz else 1]
    num_blocks = case.key_cache.shape[0]
    batch, width = case.block_tables.shape
    num_tokens = key_out.shape[0]
    seq_lens = [int(x) for x in case.seq_lens]
    start = 0
    for i in range(batch):
        raw = wrap64(seq_lens[i + 1] - seq_lens[i]) if case.cumsum else seq_lens[i]
        length = max(raw, 0)
        offset = 0 if case.seq_offset is None else int(case.seq_offset[i])
        for j in range(max(0, min(length, num_tokens - start))):
            col = offset // block_size + j // block_size
            blk = int(case.block_tables[i, col]) if offset >= 0 and col < width else -1
            slot = j % block_size
            for cache, out in ((case.key_cache, key_out), (case.value_cache, value_out)):
                src, dst = cache.view(np.uint8), out.view(np.uint8)
                if not 0 <= blk < num_blocks:
                    dst[start + j] = 0
                elif nz:
                    for k in range(cache.shape[1]):
                        dst[start + j, k * 32 : (k + 1) * 32] = src[blk, k, slot, :]
                else:
                    dst[start + j] = src[blk, slot]
        start += length
    return key_out.tobytes(), value_out.tobytes()


def outputs_of(case: GatherCase, name: str) -> tuple[bytes, bytes]:
    """The outputs' bytes after implementation ``name`` ran on a copy of ``case``."""
    fresh = replace(case, key_ref=case.key_ref.copy(), value_ref=case.value_ref.copy())
    IMPLEMENTATIONS[name](device_call(fresh))
    return fresh.output_bytes()


def assert_all_match_oracle(case: GatherCase, names: tuple[str, ...] = tuple(IMPLEMENTATIONS)):
    expected = oracle_gather(case)
    for name in names:
        got = outputs_of(case, name)
        assert got[0] == expected[0], f"{name}: keyRef differs from the oracle"
        assert got[1] == expected[1], f"{name}: valueRef differs from the oracle"


# --- SPEC section 6's C example, worked out by hand ----------------------------------


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_c_example_by_hand(name: str) -> None:
    case = c_example()
    expected_key, expected_value = c_example_expected()
    key_out, value_out = outputs_of(case, name)
    assert key_out == expected_key.tobytes() and value_out == expected_value.tobytes()
    assert oracle_gather(case) == (expected_key.tobytes(), expected_value.tobytes())


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_c_example_with_a_table_that_tells_columns_apart(name: str) -> None:
    """Column 2 holds block 0: token 2 of each sequence comes from block 0, slot 0.
    Columns no token reads hold ids out of range (device semantics never read them)."""
    tables = np.array([[7, 1, 0, -1, 9, 9]] * 4, np.int32)
    case = replace(c_example(), block_tables=tables, soc="Ascend910B")
    expected_key, expected_value = c_example_expected(column_blocks=(1, 0))
    assert outputs_of(case, name) == (expected_key.tobytes(), expected_value.tobytes())


# --- valid calls: every dtype, both layouts -----------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
@pytest.mark.parametrize("cumsum", [False, True], ids=["lens", "cumsum"])
@pytest.mark.parametrize("with_offset", [False, True], ids=["no-offset", "offset"])
def test_valid_calls_match_the_oracle(
    rng: np.random.Generator, dtype: str, cache_mode: str, cumsum: bool, with_offset: bool
) -> None:
    for _ in range(3):
        case = mixed_case(
            rng, cache_mode=cache_mode, cumsum=cumsum, with_offset=with_offset, key_dtype=dtype
        )
        assert_all_match_oracle(case, FAST)
        key_out, _ = outputs_of(case, "golden")
        row = case.key_ref[:1].nbytes
        assert key_out[case.total * row :] == case.key_ref[case.total :].tobytes()


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_special_bit_patterns_survive(name: str) -> None:
    """-0.0 and signalling NaNs with payloads reach the output unchanged."""
    patterns = np.array([0x80000000, 0x7F800001, 0xFFC00001, 0x7FA00005], np.uint32)
    key_cache = patterns.view(np.float32).reshape(1, 4, 1, 1)
    case = labelled_case(key_cache, [[0]], [4], num_tokens=4)
    key_out, _ = outputs_of(case, name)
    assert np.frombuffer(key_out, np.uint32).tolist() == patterns.tolist()


# --- device semantics on data the host rejects (runtime.golden's docstring) ---------


def labelled_case(
    cache: np.ndarray,
    block_tables: list[list[int]],
    seq_lens: list[int],
    num_tokens: int,
    *,
    seq_offset: list[int] | None = None,
    cumsum: bool = False,
    index: type[np.integer] = np.int32,
) -> GatherCase:
    """A Norm call on ``cache`` (also the value cache), outputs starting at -1 bits."""
    out = np.full((num_tokens, *cache.shape[2:]), -1, np.int32).view(cache.dtype)
    inputs = {
        "key_cache": cache,
        "value_cache": cache.copy(),
        "block_tables": np.array(block_tables, index),
        "seq_lens": np.array(seq_lens, index),
        "key_out": out,
        "value_out": out.copy(),
    }
    if seq_offset is not None:
        inputs["seq_offset"] = np.array(seq_offset, index)
    return case_of(inputs, cumsum=cumsum, soc="Ascend910_95")


def run_labelled(
    block_tables: list[list[int]],
    seq_lens: list[int],
    num_tokens: int,
    *,
    seq_offset: list[int] | None = None,
    cumsum: bool = False,
    index: type[np.integer] = np.int32,
) -> list[int]:
    """Rows written by every implementation (which must agree, with the oracle too) on a
    Norm int32 cache of 3 blocks of 2 tokens whose token (blk, slot) holds
    ``100 * (blk + 1) + slot``; rows left alone read -1."""
    blk, slot = np.meshgrid(np.arange(3), np.arange(2), indexing="ij")
    cache = (100 * (blk + 1) + slot).astype(np.int32).reshape(3, 2, 1, 1)
    case = labelled_case(
        cache, block_tables, seq_lens, num_tokens, seq_offset=seq_offset, cumsum=cumsum, index=index
    )
    assert_all_match_oracle(case)
    key_out, value_out = outputs_of(case, "golden")
    assert key_out == value_out
    return np.frombuffer(key_out, np.int32).tolist()


def test_negative_length_copies_nothing_and_starts_stay_packed() -> None:
    # Sequence 0 has length -2 (treated as 0), sequence 1 starts at row 0.
    assert run_labelled([[0, 1], [2, 0]], [-2, 3], 4) == [300, 301, 100, -1]


def test_cumsum_lengths_are_differences_clamped_at_zero() -> None:
    # seq_lens [0, 3, 1, 2]: lengths 3, max(-2, 0) = 0, 1.
    assert run_labelled([[0, 1], [1, 1], [2, 2]], [0, 3, 1, 2], 5, cumsum=True) == [
        100, 101, 200, 300, -1,
    ]  # fmt: skip


def test_negative_offset_zero_fills_the_sequence() -> None:
    assert run_labelled([[0, 1], [2, 1]], [2, 2], 4, seq_offset=[-1, 0]) == [0, 0, 300, 301]


def test_column_past_table_width_gives_zeros() -> None:
    # Offset 2 // 2 = column 1; token 2 would read column 2 of a 2-wide table.
    assert run_labelled([[0, 1]], [3], 3, seq_offset=[2]) == [200, 201, 0]


def test_block_id_out_of_range_gives_zeros() -> None:
    assert run_labelled([[3, -1, 2]], [6], 6) == [0, 0, 0, 0, 300, 301]


def test_rows_past_num_tokens_are_never_written() -> None:
    assert run_labelled([[0, 1], [2, 2]], [3, 3], 4) == [100, 101, 200, 300]


def test_int64_lengths_whose_sum_passes_2_to_the_63() -> None:
    """``[2**62, 2**62, 2]``: the first sequence fills every row (truncated at 4), the
    others start past the end; numpy's int64 cumsum would wrap to a negative start."""
    lens = [2**62, 2**62, 2]
    assert run_labelled([[0, 1]] * 3, lens, 4, index=np.int64) == [100, 101, 200, 201]
    assert run_labelled([[0, 1]] * 3, [2, *lens[:2]], 4, index=np.int64) == [100, 101, 100, 101]


def test_int64_cumsum_differences_wrap_like_the_kernel() -> None:
    """Differences are 64-bit: ``-2**63 - (2**63 - 1)`` wraps to 1, ``3 - (-2**63)`` to
    ``-2**63 + 3`` (negative: 0 tokens)."""
    seq_lens = [0, 2**63 - 1, -(2**63), 3]
    tables = [[0, 1], [2, 1], [1, 0]]
    got = run_labelled(tables, seq_lens, 3, cumsum=True, index=np.int64)
    assert got == [100, 101, 200]  # sequence 0 fills every row; nothing is left for 1 and 2
    got = run_labelled(tables, [0, 1, *seq_lens[2:]], 3, cumsum=True, index=np.int64)
    # lengths 1, wrap(-2**63 - 1) = 2**63 - 1 (huge), wrap(3 + 2**63) < 0: rows 0 | 1, 2.
    assert got == [100, 300, 301]


@pytest.mark.parametrize("dtype", ["int8", "fp16", "fp32"])
def test_nz_device_semantics_zero_fill(rng: np.random.Generator, dtype: str) -> None:
    """PA_NZ: an out-of-range block zero-fills the whole H-element row."""
    kind = kv_kind(dtype)
    ea = kind.elements_per_nz_row
    cache = random_bits(rng, kind, (2, 3, 4, ea))
    out = random_bits(rng, kind, (2, 3 * ea))
    inputs = {
        "key_cache": cache,
        "value_cache": cache.copy(),
        "block_tables": np.array([[5]], np.int64),
        "seq_lens": np.array([2], np.int64),
        "key_out": out,
        "value_out": out.copy(),
    }
    case = case_of(inputs, cache_mode="PA_NZ", soc="Ascend910_95")
    assert_all_match_oracle(case)
    assert not any(outputs_of(case, "golden")[0])


def bad_data_case(
    rng: np.random.Generator,
    *,
    mode: str,
    block_size: int,
    index: str,
    cumsum: bool,
    offsets: bool,
    dtype: str,
) -> GatherCase:
    """Random data of every kind the host rejects and the device must survive: negative
    and huge lengths, cumsums that start anywhere and go down, ids out of range, columns
    past the table, negative and huge offsets, totals past num_tokens."""
    kind, storage = kv_kind(dtype), index_kind(index).storage
    info = np.iinfo(np.int64 if index == "int64" else np.int32)
    num_blocks, batch, width = (int(n) for n in rng.integers(1, 5, size=3))
    lens = rng.integers(-2 * block_size, 3 * block_size + 2, size=batch)
    if cumsum:
        seq_lens = np.concatenate(([rng.integers(-3, 4)], rng.integers(-3, 4) + np.cumsum(lens)))
    else:
        seq_lens = lens
    tables = rng.integers(-2, num_blocks + 2, size=(batch, width))
    offset_values = rng.integers(-block_size, 3 * block_size, size=batch)
    if rng.random() < 0.5:  # extremes of the index type
        extreme = rng.integers(0, seq_lens.size)
        seq_lens[extreme] = rng.choice([info.max, info.min, info.max // 2 + 1])
        tables[rng.integers(0, batch), rng.integers(0, width)] = rng.choice([info.max, info.min])
        offset_values[rng.integers(0, batch)] = rng.choice([info.max, info.min])
    lengths = np.maximum(np.diff(seq_lens) if cumsum else seq_lens, 0)
    total = min(sum(lengths.tolist()), 40 * block_size)
    num_tokens = int(rng.integers(1, total + 3))
    if mode == "PA_NZ":
        groups = int(rng.integers(1, 3))
        cache_shape = (num_blocks, groups, block_size, kind.elements_per_nz_row)
        row = (groups * kind.elements_per_nz_row,)
    else:
        cache_shape = (num_blocks, block_size, int(rng.integers(1, 3)), int(rng.integers(1, 4)))
        row = cache_shape[2:]
    inputs = {
        "key_cache": random_bits(rng, kind, cache_shape),
        "value_cache": random_bits(rng, kind, cache_shape),
        "block_tables": tables.astype(storage),
        "seq_lens": seq_lens.astype(storage),
        "key_out": random_bits(rng, kind, (num_tokens, *row)),
        "value_out": random_bits(rng, kind, (num_tokens, *row)),
    }
    if offsets:
        inputs["seq_offset"] = offset_values.astype(storage)
    return case_of(inputs, cache_mode=mode, cumsum=cumsum, soc="Ascend910_95", kinds=(kind, kind))


DEVICE_GRID = [
    (mode, block_size, index, cumsum, offsets, dtype)
    for mode, dtype in (("Norm", "bf16"), ("PA_NZ", "int8"), ("PA_NZ", "fp32"))
    for block_size, index, cumsum, offsets in (
        (1, "int32", False, True),
        (3, "int64", True, True),
        (16, "int64", False, False),
        (128, "int32", True, True),
        (128, "int64", True, False),
    )
]


@pytest.mark.parametrize(
    ("mode", "block_size", "index", "cumsum", "offsets", "dtype"),
    DEVICE_GRID,
    ids=["-".join(str(x) for x in entry) for entry in DEVICE_GRID],
)
def test_device_semantics_on_random_bad_data(
    rng: np.random.Generator,
    mode: str,
    block_size: int,
    index: str,
    cumsum: bool,
    offsets: bool,
    dtype: str,
) -> None:
    for _ in range(4):  # one signature: the lowered kernel compiles once
        case = bad_data_case(
            rng,
            mode=mode,
            block_size=block_size,
            index=index,
            cumsum=cumsum,
            offsets=offsets,
            dtype=dtype,
        )
        assert_all_match_oracle(case)
