"""The golden reference against an independent, deliberately slow per-token oracle.

The oracle below is SPEC section 2 read literally, one token and one 32-byte NZ row
at a time, on byte views (so it shares no code and no vectorisation with the golden).
"""

from __future__ import annotations

import numpy as np
import pytest
from gather_cases import (
    ALL_DTYPES,
    GatherCase,
    c_example,
    expected_outputs,
    kv_kind,
    mixed_case,
    random_bits,
)

from runtime.golden import golden_gather


def byte_rows(array: np.ndarray) -> np.ndarray:
    """``array`` as bytes, the last axis widened by the element size (a view)."""
    return array.view(np.uint8)


def oracle_gather(case: GatherCase) -> tuple[np.ndarray, np.ndarray]:
    """SPEC section 2, token by token; returns new outputs (copies of the case's)."""
    key_out, value_out = case.key_ref.copy(), case.value_ref.copy()
    nz = case.cache_mode == "PA_NZ"
    block_size = case.key_cache.shape[2 if nz else 1]
    seq_lens = [int(x) for x in case.seq_lens]
    for i in range(case.block_tables.shape[0]):
        if case.cumsum:
            length, start = seq_lens[i + 1] - seq_lens[i], seq_lens[i]
        else:
            length, start = seq_lens[i], sum(seq_lens[:i])
        offset = 0 if case.seq_offset is None else int(case.seq_offset[i]) // block_size
        for j in range(length):
            blk = int(case.block_tables[i, offset + j // block_size])
            slot = j % block_size
            for cache, out in ((case.key_cache, key_out), (case.value_cache, value_out)):
                src, dst = byte_rows(cache), byte_rows(out)
                if nz:
                    for k in range(cache.shape[1]):
                        dst[start + j, k * 32 : (k + 1) * 32] = src[blk, k, slot, :]
                else:
                    dst[start + j] = src[blk, slot]
    return key_out, value_out


def assert_same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert got.tobytes() == expected.tobytes()


def test_c_example_gives_all_ones() -> None:
    key_out, value_out = expected_outputs(c_example())
    assert (key_out == 1).all()
    assert (value_out == 1).all()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
@pytest.mark.parametrize("cumsum", [False, True], ids=["lens", "cumsum"])
@pytest.mark.parametrize("with_offset", [False, True], ids=["no-offset", "offset"])
def test_golden_matches_per_token_oracle(
    rng: np.random.Generator, dtype: str, cache_mode: str, cumsum: bool, with_offset: bool
) -> None:
    for _ in range(3):
        case = mixed_case(
            rng, cache_mode=cache_mode, cumsum=cumsum, with_offset=with_offset, key_dtype=dtype
        )
        expected_key, expected_value = oracle_gather(case)
        key_out, value_out = expected_outputs(case)
        assert_same_bits(key_out, expected_key)
        assert_same_bits(value_out, expected_value)
        assert key_out[case.total :].tobytes() == case.key_ref[case.total :].tobytes()


def test_special_bit_patterns_survive() -> None:
    """-0.0 and signalling NaNs with payloads reach the output unchanged."""
    patterns = np.array([0x80000000, 0x7F800001, 0xFFC00001, 0x7FA00005], np.uint32)
    key_cache = patterns.view(np.float32).reshape(1, 4, 1, 1)
    key_out = np.zeros((4, 1, 1), np.float32)
    golden_gather(
        key_cache,
        key_cache.copy(),
        np.zeros((1, 1), np.int32),
        np.array([4], np.int32),
        key_out,
        np.zeros((4, 1, 1), np.float32),
        cache_mode="Norm",
        cumsum=False,
    )
    assert key_out.view(np.uint32).reshape(-1).tolist() == patterns.tolist()


# --- device semantics on data the host rejects (runtime.golden's docstring) ---------


def labelled_norm_case(
    block_tables: list[list[int]], seq_lens: list[int], num_tokens: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Norm int32 cache whose token (blk, slot) holds 100 * (blk + 1) + slot.

    Returns (key_cache, tables, outputs initialised to -1).
    """
    num_blocks, block_size = 3, 2
    blk, slot = np.meshgrid(np.arange(num_blocks), np.arange(block_size), indexing="ij")
    cache = (100 * (blk + 1) + slot).astype(np.int32).reshape(num_blocks, block_size, 1, 1)
    tables = np.array(block_tables, np.int32)
    out = np.full((num_tokens, 1, 1), -1, np.int32)
    return cache, tables, out


def run_labelled(
    block_tables: list[list[int]],
    seq_lens: list[int],
    num_tokens: int,
    *,
    seq_offset: list[int] | None = None,
    cumsum: bool = False,
) -> list[int]:
    cache, tables, out = labelled_norm_case(block_tables, seq_lens, num_tokens)
    value_out = out.copy()
    golden_gather(
        cache,
        cache.copy(),
        tables,
        np.array(seq_lens, np.int32),
        out,
        value_out,
        None if seq_offset is None else np.array(seq_offset, np.int32),
        cache_mode="Norm",
        cumsum=cumsum,
    )
    assert out.tobytes() == value_out.tobytes()
    return out.reshape(-1).tolist()


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


@pytest.mark.parametrize("dtype", ["int8", "fp16", "fp32"])
def test_nz_device_semantics_zero_fill(rng: np.random.Generator, dtype: str) -> None:
    """PA_NZ: an out-of-range block zero-fills the whole H-element row."""
    kind = kv_kind(dtype)
    ea = kind.elements_per_nz_row
    cache = random_bits(rng, kind, (2, 3, 4, ea))
    out = random_bits(rng, kind, (2, 3 * ea))
    golden_gather(
        cache,
        cache.copy(),
        np.array([[5]], np.int64),
        np.array([2], np.int64),
        out,
        out.copy(),
        cache_mode="PA_NZ",
        cumsum=False,
    )
    assert not out.view(np.uint8).any()
