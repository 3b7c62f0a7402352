"""What one validated call is: the compile-cache key and the bundle executors receive.

``GatherSignature`` is everything a compiled kernel depends on (mode, flags, element
types, the static layout dimensions, the SoC) and nothing it does not (num_blocks,
batch, table width, num_tokens reach the kernel at run time): two calls with equal
signatures share one compiled kernel. ``GatherCall`` is a call that passed every check
of SPEC section 3 and is not empty: its operands as GM tensors plus its runtime sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pakv_dialect.dtypes import ElementKind, index_kind_named, kv_kind_named
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import soc_info
from pakv_dialect.tiling import GatherTiling, gather_tiling
from runtime.memory import GmTensor

OPERAND_ROLES: tuple[str, ...] = (
    "key_cache",
    "value_cache",
    "block_tables",
    "seq_lens",
    "seq_offset",
    "key_out",
    "value_out",
)
"""``pakv.gather``'s operands in order; also the kernel function's argument order
(``seq_offset`` only when the signature has one)."""

API_NAMES: dict[str, str] = {
    "key_cache": "keyCache",
    "value_cache": "valueCache",
    "block_tables": "blockTables",
    "seq_lens": "seqLens",
    "seq_offset": "seqOffset",
    "key_out": "keyRef",
    "value_out": "valueRef",
}
"""The operator document's parameter name for each operand role."""


def _named_kv(name: str) -> ElementKind:
    kind = kv_kind_named(name)
    assert kind is not None, name
    return kind


@dataclass(frozen=True)
class GatherSignature:
    """The compile-cache key: what a kernel is specialised on (hashable)."""

    cache_mode: CacheMode
    cumsum: bool
    has_offset: bool
    key_kind: str
    """SPEC dtype name of keyCache/keyRef."""
    value_kind: str
    """SPEC dtype name of valueCache/valueRef."""
    index_kind: str
    """SPEC dtype name of blockTables, seqLens and seqOffset."""
    key_cache_dims: tuple[int, int, int]
    """keyCache dims 1..3: (block_size, heads, head_size) in Norm, (H/ea, block_size, ea)
    in PA_NZ. Dim 0 (num_blocks) is a runtime size."""
    value_cache_dims: tuple[int, int, int]
    soc: str

    @property
    def key_element(self) -> ElementKind:
        return _named_kv(self.key_kind)

    @property
    def value_element(self) -> ElementKind:
        return _named_kv(self.value_kind)

    @property
    def index_element(self) -> ElementKind:
        kind = index_kind_named(self.index_kind)
        assert kind is not None, self.index_kind
        return kind

    @property
    def block_size(self) -> int:
        return self.key_cache_dims[1 if self.cache_mode == CacheMode.PA_NZ else 0]

    def out_token_dims(self, cache_dims: tuple[int, int, int]) -> tuple[int, ...]:
        """The static dims of an output after num_tokens, for a cache's dims 1..3."""
        if self.cache_mode == CacheMode.PA_NZ:
            return (cache_dims[0] * cache_dims[2],)
        return cache_dims[1:]


@dataclass(frozen=True)
class GatherCall:
    """A call that passed every check and is not empty: what an executor runs.

    Executors write ``key_out``/``value_out`` through the GM tensors' byte views, which
    alias the caller's arrays.
    """

    signature: GatherSignature
    key_cache: GmTensor
    value_cache: GmTensor
    block_tables: GmTensor
    seq_lens: GmTensor
    seq_offset: GmTensor | None
    key_out: GmTensor
    value_out: GmTensor
    batch: int
    num_blocks: int
    table_width: int
    """max_blocks_per_seq: blockTables dim 1."""
    num_tokens: int
    """keyRef/valueRef dim 0."""
    total_tokens: int
    """Sum of the sequence lengths: rows that will be written (<= num_tokens)."""

    def arguments(self) -> tuple[GmTensor, ...]:
        """The operands in kernel-argument order (``OPERAND_ROLES``, offset if present)."""
        operands = (
            self.key_cache,
            self.value_cache,
            self.block_tables,
            self.seq_lens,
            self.seq_offset,
            self.key_out,
            self.value_out,
        )
        return tuple(t for t in operands if t is not None)

    def tiling(self) -> GatherTiling:
        """The launch's tiling data on the signature's SoC (SPEC section 4 core count)."""
        return gather_tiling(
            batch=self.batch,
            num_blocks=self.num_blocks,
            table_width=self.table_width,
            num_tokens=self.num_tokens,
            total_tokens=self.total_tokens,
            vector_cores=soc_info(self.signature.soc).vector_cores,
        )
