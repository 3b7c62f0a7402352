"""Test data for aclnnGatherPaKvCache: random valid calls and the SPEC section 6 examples.

Shared by the pytest files (imported through conftest.py's sys.path entry). Outputs
start as random bits, so a test can tell written rows from untouched ones, and every
float tensor carries NaN payloads and -0.0 so that any conversion would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from pakv_dialect.dtypes import ElementKind, index_kind_named, kv_kind_named
from pakv_dialect.soc import SOCS, TensorFormat
from runtime.tensor import Tensor, TensorLike

SPECIAL_BITS: dict[int, list[int]] = {
    1: [0x80, 0xFF, 0x7F, 0x81, 0xFE],
    2: [0x8000, 0x7C01, 0xFE01, 0x7F81, 0xFFFF],
    4: [0x80000000, 0x7F800001, 0xFFC00001, 0xFFFFFFFF, 0x7FC12345],
}
"""Bit patterns any conversion would disturb: -0.0, signalling NaNs with payloads
(fp16, bf16, fp32), and all-ones; for integer dtypes they are just more values."""


def kv_kind(name: str) -> ElementKind:
    kind = kv_kind_named(name)
    assert kind is not None, name
    return kind


def index_kind(name: str) -> ElementKind:
    kind = index_kind_named(name)
    assert kind is not None, name
    return kind


def random_bits(rng: np.random.Generator, kind: ElementKind, shape: tuple[int, ...]) -> np.ndarray:
    """Random bit patterns in ``kind``'s storage dtype, starting with SPECIAL_BITS."""
    unsigned = np.dtype(f"u{kind.size}")
    bits = rng.integers(0, 1 << (8 * kind.size), size=shape, dtype=unsigned)
    flat = bits.reshape(-1)
    special = np.array(SPECIAL_BITS[kind.size], dtype=unsigned)
    count = min(special.size, flat.size)
    flat[:count] = special[:count]
    return bits.view(kind.storage)


CallArgs = tuple[
    TensorLike, TensorLike, np.ndarray, np.ndarray, TensorLike, TensorLike, np.ndarray | None
]
"""Positional arguments of ``gather_pa_kv_cache``, in its order."""


class CallOptions(TypedDict):
    """Keyword arguments of ``gather_pa_kv_cache`` that describe the call."""

    cache_mode: str
    is_seq_lens_cumsum: bool
    soc: str


@dataclass
class GatherCase:
    """One call's parameters, as arrays in storage dtypes."""

    cache_mode: str
    cumsum: bool
    soc: str
    key_kind: ElementKind
    value_kind: ElementKind
    key_cache: np.ndarray
    value_cache: np.ndarray
    block_tables: np.ndarray
    seq_lens: np.ndarray
    seq_offset: np.ndarray | None
    key_ref: np.ndarray
    value_ref: np.ndarray
    lens: list[int] = field(default_factory=list[int])
    """Per-sequence lengths (what seq_lens encodes)."""

    @property
    def total(self) -> int:
        return sum(self.lens)

    def _wrap(self, array: np.ndarray, kind: ElementKind, *, cache: bool) -> TensorLike:
        nz = cache and self.cache_mode == "PA_NZ" and SOCS[self.soc].distinguishes_nz_format
        fmt = TensorFormat.FRACTAL_NZ if nz else TensorFormat.ND
        if kind.name == "hifloat8" or fmt != TensorFormat.ND:
            return Tensor(array, dtype=kind.name, format=fmt.value)
        return array

    def args(self) -> CallArgs:
        """Positional arguments of ``gather_pa_kv_cache`` (HiFloat8 / NZ wrapped)."""
        return (
            self._wrap(self.key_cache, self.key_kind, cache=True),
            self._wrap(self.value_cache, self.value_kind, cache=True),
            self.block_tables,
            self.seq_lens,
            self._wrap(self.key_ref, self.key_kind, cache=False),
            self._wrap(self.value_ref, self.value_kind, cache=False),
            self.seq_offset,
        )

    def kwargs(self) -> CallOptions:
        return CallOptions(cache_mode=self.cache_mode, is_seq_lens_cumsum=self.cumsum, soc=self.soc)

    def output_bytes(self) -> tuple[bytes, bytes]:
        return self.key_ref.tobytes(), self.value_ref.tobytes()


def _cache_shape(
    mode: str, kind: ElementKind, num_blocks: int, block_size: int, rng: np.random.Generator
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A random cache shape and the matching output row shape."""
    if mode == "PA_NZ":
        groups = int(rng.integers(1, 4))
        ea = kind.elements_per_nz_row
        return (num_blocks, groups, block_size, ea), (groups * ea,)
    heads, head_size = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    return (num_blocks, block_size, heads, head_size), (heads, head_size)


def random_case(
    rng: np.random.Generator,
    *,
    cache_mode: str = "Norm",
    cumsum: bool = False,
    with_offset: bool = False,
    key_dtype: str = "fp16",
    value_dtype: str | None = None,
    index_dtype: str = "int32",
    soc: str = "Ascend910_95",
) -> GatherCase:
    """A random valid call. Table columns no token reads hold out-of-range ids."""
    key = kv_kind(key_dtype)
    value = kv_kind(value_dtype or key_dtype)
    index = index_kind(index_dtype).storage
    block_size = int(rng.choice([1, 2, 3, 4, 8]))
    num_blocks = int(rng.integers(2, 7))
    key_shape, key_row = _cache_shape(cache_mode, key, num_blocks, block_size, rng)
    value_shape, value_row = _cache_shape(cache_mode, value, num_blocks, block_size, rng)

    batch = int(rng.integers(1, 5))
    lens = rng.integers(0, 3 * block_size + 2, size=batch)
    if lens.sum() == 0:
        lens[0] = 1
    offsets = rng.integers(0, 3 * block_size, size=batch) if with_offset else np.zeros(batch)
    first_col = offsets.astype(np.int64) // block_size
    last_col = first_col + np.maximum(lens - 1, 0) // block_size
    width = int(last_col.max()) + 1 + int(rng.integers(0, 2))
    tables = rng.integers(0, num_blocks, size=(batch, width))
    cols = np.arange(width)
    unread = (lens[:, None] == 0) | (cols < first_col[:, None]) | (cols > last_col[:, None])
    poison = rng.choice([-1, num_blocks, num_blocks + 7], size=tables.shape)
    tables = np.where(unread, poison, tables)

    num_tokens = int(lens.sum()) + int(rng.integers(0, 3))
    seq_lens = np.concatenate(([0], np.cumsum(lens))) if cumsum else lens
    return GatherCase(
        cache_mode=cache_mode,
        cumsum=cumsum,
        soc=soc,
        key_kind=key,
        value_kind=value,
        key_cache=random_bits(rng, key, key_shape),
        value_cache=random_bits(rng, value, value_shape),
        block_tables=tables.astype(index),
        seq_lens=seq_lens.astype(index),
        seq_offset=offsets.astype(index) if with_offset else None,
        key_ref=random_bits(rng, key, (num_tokens, *key_row)),
        value_ref=random_bits(rng, value, (num_tokens, *value_row)),
        lens=[int(n) for n in lens],
    )


def c_example() -> GatherCase:
    """SPEC section 6, the original's C example: keyRef must become all ones."""
    fp16 = kv_kind("fp16")
    return GatherCase(
        cache_mode="Norm",
        cumsum=False,
        soc="Ascend910B",
        key_kind=fp16,
        value_kind=fp16,
        key_cache=np.ones((2, 2, 32, 2), np.float16),
        value_cache=np.ones((2, 2, 32, 4), np.float16),
        block_tables=np.ones((4, 6), np.int32),
        seq_lens=np.full(4, 3, np.int32),
        seq_offset=np.full(4, 2, np.int32),
        key_ref=np.zeros((12, 32, 2), np.float16),
        value_ref=np.zeros((12, 32, 4), np.float16),
        lens=[3, 3, 3, 3],
    )


def shape_example(rng: np.random.Generator) -> GatherCase:
    """SPEC section 6, the original's shape example, with random bits and lengths."""
    fp16 = kv_kind("fp16")
    lens = rng.multinomial(8931, np.full(16, 1 / 16))
    assert lens.max() <= 12 * 128
    return GatherCase(
        cache_mode="Norm",
        cumsum=False,
        soc="Ascend910B",
        key_kind=fp16,
        value_kind=fp16,
        key_cache=random_bits(rng, fp16, (128, 128, 16, 144)),
        value_cache=random_bits(rng, fp16, (128, 128, 16, 128)),
        block_tables=rng.integers(0, 128, size=(16, 12)).astype(np.int32),
        seq_lens=lens.astype(np.int32),
        seq_offset=None,
        key_ref=random_bits(rng, fp16, (8931, 16, 144)),
        value_ref=random_bits(rng, fp16, (8931, 16, 128)),
        lens=[int(n) for n in lens],
    )
