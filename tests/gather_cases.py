"""Test data for aclnnGatherPaKvCache: random valid calls and the SPEC section 6 examples.

Shared by the pytest files (imported through conftest.py's sys.path entry). Outputs
start as random bits, so a test can tell written rows from untouched ones, and every
float tensor carries NaN payloads and -0.0 so that any conversion would show. The
examples' shapes (and the C example's data) are ``runtime.tool.shape_spec.EXAMPLES``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np

from pakv_dialect.dtypes import (
    KV_ELEMENT_KINDS,
    ElementKind,
    index_kind_named,
    index_kind_of_numpy,
    kv_kind_named,
    kv_kind_of_numpy,
)
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import DEFAULT_SOC, TensorFormat, soc_info
from runtime.call import CACHE_ROLES, OUTPUT_ROLES
from runtime.golden import golden_outputs, total_length
from runtime.host.checks import expected_format
from runtime.host.tensor import Tensor, TensorLike
from runtime.tool import workload
from runtime.tool.shape_spec import EXAMPLES, even_lengths
from runtime.tool.sources import from_spec
from runtime.tool.workload import Inputs

ALL_DTYPES = [kind.name for kind in KV_ELEMENT_KINDS]
"""Every KV dtype's SPEC name."""

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


def plant_special_bits(array: np.ndarray) -> np.ndarray:
    """``array`` with its first elements overwritten by SPECIAL_BITS (in place)."""
    unsigned = np.dtype(f"u{array.dtype.itemsize}")
    flat = array.reshape(-1).view(unsigned)
    special = np.array(SPECIAL_BITS[array.dtype.itemsize], dtype=unsigned)
    count = min(special.size, flat.size)
    flat[:count] = special[:count]
    return array


def random_bits(rng: np.random.Generator, kind: ElementKind, shape: tuple[int, ...]) -> np.ndarray:
    """``runtime.tool.workload.random_bits``, starting with SPECIAL_BITS."""
    return plant_special_bits(workload.random_bits(rng, kind, shape))


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

    @property
    def total(self) -> int:
        """The lengths' total (device semantics: a negative length counts 0; exact)."""
        return total_length(self.seq_lens, cumsum=self.cumsum)

    def inputs(self) -> Inputs:
        """The arrays by operand role (the case's own arrays, not copies)."""
        arrays = {
            "key_cache": self.key_cache,
            "value_cache": self.value_cache,
            "block_tables": self.block_tables,
            "seq_lens": self.seq_lens,
            "seq_offset": self.seq_offset,
            "key_out": self.key_ref,
            "value_out": self.value_ref,
        }
        return {role: array for role, array in arrays.items() if array is not None}

    def kinds(self) -> dict[str, ElementKind]:
        """The element kind of every operand role present."""
        index = index_kind_of_numpy(self.block_tables.dtype)
        assert index is not None, self.block_tables.dtype
        kv = {"key_cache": self.key_kind, "key_out": self.key_kind}
        kv |= {"value_cache": self.value_kind, "value_out": self.value_kind}
        return {role: kv.get(role, index) for role in self.inputs()}

    def args(self) -> CallArgs:
        """Positional arguments of ``gather_pa_kv_cache`` (HiFloat8 / NZ wrapped)."""
        inputs, kinds = self.inputs(), self.kinds()
        mode, soc = CacheMode(self.cache_mode), soc_info(self.soc)

        def wrap(role: str) -> TensorLike:
            kind, fmt = kinds[role], expected_format(role, mode, soc)
            if kind.name == "hifloat8" or fmt != TensorFormat.ND:
                return Tensor(inputs[role], dtype=kind.name, format=fmt.value)
            return inputs[role]

        return (
            wrap("key_cache"),
            wrap("value_cache"),
            self.block_tables,
            self.seq_lens,
            wrap("key_out"),
            wrap("value_out"),
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
    inputs = {
        "key_cache": random_bits(rng, key, key_shape),
        "value_cache": random_bits(rng, value, value_shape),
        "block_tables": tables.astype(index),
        "seq_lens": seq_lens.astype(index),
        "key_out": random_bits(rng, key, (num_tokens, *key_row)),
        "value_out": random_bits(rng, value, (num_tokens, *value_row)),
    }
    if with_offset:
        inputs["seq_offset"] = offsets.astype(index)
    return case_of(inputs, cache_mode=cache_mode, cumsum=cumsum, soc=soc, kinds=(key, value))


def mixed_case(
    rng: np.random.Generator, *, cache_mode: str, cumsum: bool, with_offset: bool, key_dtype: str
) -> GatherCase:
    """``random_case`` with a random index dtype and, in PA_NZ (which allows it), a random
    value dtype next to ``key_dtype``."""
    value_dtype = str(rng.choice(ALL_DTYPES)) if cache_mode == "PA_NZ" else key_dtype
    return random_case(
        rng,
        cache_mode=cache_mode,
        cumsum=cumsum,
        with_offset=with_offset,
        key_dtype=key_dtype,
        value_dtype=value_dtype,
        index_dtype=str(rng.choice(["int32", "int64"])),
    )


def case_of(
    inputs: Inputs,
    *,
    cache_mode: str = "Norm",
    cumsum: bool = False,
    soc: str = DEFAULT_SOC,
    kinds: tuple[ElementKind, ElementKind] | None = None,
) -> GatherCase:
    """A case holding ``inputs`` (arrays by role, not copied).

    ``kinds``: the (key, value) element kinds; by default the ones the numpy dtypes map
    to, which cannot tell HiFloat8 from uint8.
    """
    if kinds is None:
        key = kv_kind_of_numpy(inputs["key_cache"].dtype)
        value = kv_kind_of_numpy(inputs["value_cache"].dtype)
        assert key is not None and value is not None
    else:
        key, value = kinds
    return GatherCase(
        cache_mode=cache_mode,
        cumsum=cumsum,
        soc=soc,
        key_kind=key,
        value_kind=value,
        key_cache=inputs["key_cache"],
        value_cache=inputs["value_cache"],
        block_tables=inputs["block_tables"],
        seq_lens=inputs["seq_lens"],
        seq_offset=inputs.get("seq_offset"),
        key_ref=inputs["key_out"],
        value_ref=inputs["value_out"],
    )


def c_example() -> GatherCase:
    """SPEC section 6, the original's C example, its caches numbered element by element
    (``runtime.tool.shape_spec``): :func:`c_example_expected` says what keyRef becomes."""
    example = EXAMPLES["seed-hand"]
    assert example.data is not None
    spec = example.spec
    return case_of(example.data(), cache_mode=spec.mode, cumsum=spec.cumsum, soc=spec.soc)


def c_example_expected(column_blocks: tuple[int, int] = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """keyRef and valueRef of :func:`c_example`, worked out by hand from SPEC section 6.

    block_size is 2 and every seqOffset is 2, so token ``j`` (0, 1, 2) of each of the 4
    sequences reads table column ``2 // 2 + j // 2`` = 1, 1, 2, slot ``j % 2``, and lands
    in row ``3 * i + j``. ``column_blocks`` are the block ids in columns 1 and 2 (the
    document's table is all ones). Key element ``[blk, slot, head, dim]`` holds its flat
    index ``128 * blk + 64 * slot + 2 * head + dim``; a value element holds
    ``256 * blk + 128 * slot + 4 * head + dim``.
    """
    blocks = [column_blocks[j // 2] for j in range(3)]  # token j reads column 1 + j // 2
    key = [128 * blocks[j] + 64 * (j % 2) + np.arange(64) for _ in range(4) for j in range(3)]
    value = [256 * blocks[j] + 128 * (j % 2) + np.arange(128) for _ in range(4) for j in range(3)]
    return (
        np.array(key, np.float16).reshape(12, 32, 2),
        np.array(value, np.float16).reshape(12, 32, 4),
    )


def assert_c_example_result(case: GatherCase, column_blocks: tuple[int, int] = (1, 1)) -> None:
    """``case`` (a :func:`c_example` after a call) holds exactly :func:`c_example_expected`."""
    key, value = c_example_expected(column_blocks)
    np.testing.assert_array_equal(case.key_ref, key)
    np.testing.assert_array_equal(case.value_ref, value)


def shape_example(rng: np.random.Generator, mode: str = CacheMode.Norm.value) -> GatherCase:
    """SPEC section 6, the original's shape example (in ``mode``'s layout), with random
    bits, tables and lengths."""
    spec = replace(EXAMPLES["seed"].spec, mode=mode)
    lens = even_lengths(spec, rng)
    operands = from_spec(spec, "example seed", "seed").gather_operands
    inputs = workload.random_inputs(operands, spec.run_sizes, rng, lens=lens)
    for role in (*CACHE_ROLES, *OUTPUT_ROLES):
        plant_special_bits(inputs[role])
    return case_of(inputs, cache_mode=spec.mode, cumsum=spec.cumsum, soc=spec.soc)


def expected_outputs(case: GatherCase) -> tuple[np.ndarray, np.ndarray]:
    """What the golden reference writes, on copies of the outputs."""
    expected = golden_outputs(case.inputs(), cache_mode=case.cache_mode, cumsum=case.cumsum)
    return expected["key_out"], expected["value_out"]


def golden_bytes(case: GatherCase) -> tuple[bytes, bytes]:
    """The bytes the golden reference gives keyRef and valueRef (``case.output_bytes()``)."""
    key_out, value_out = expected_outputs(case)
    return key_out.tobytes(), value_out.tobytes()
