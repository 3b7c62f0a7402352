"""The kernel's tiling data: runtime sizes the host computes and the kernel reads.

This is the ABI between the host (``runtime``'s API, and the emitted AscendC host
code) and a lowered kernel, which reads each field with ``ascend.get_tiling "<field>"``.
One compiled kernel serves every shape its dynamic dimensions admit, because every
runtime size reaches it here and nothing is baked in.

Work is split over cores by **tokens** (the rows of keyRef/valueRef), never by batch:
core ``b`` of ``used_cores`` owns tokens ``balanced_range(split_tokens, used_cores, b)``,
so a sequence 1000x longer than the rest is shared by all cores. The lowering's
``ascend-distribute-tokens`` pass emits exactly this arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

from pakv_dialect.layouts import BLOCK_STRIDE_ALIGN


@dataclass(frozen=True)
class GatherTiling:
    """Tiling of one ``pakv.gather`` launch. Field names are the ``get_tiling`` keys."""

    batch: int
    """Sequences in the batch (block_tables dim 0)."""
    num_blocks: int
    """Blocks in each cache (dim 0): block ids outside [0, num_blocks) give zeros."""
    table_width: int
    """max_blocks_per_seq (block_tables dim 1): columns past it give zeros."""
    num_tokens: int
    """Tokens of key_out / value_out (their dim 0): no core writes at or past this one."""
    split_tokens: int
    """Tokens the cores share: min(total tokens, num_tokens)."""
    used_cores: int
    """Cores launched (AscendC blockDim): min(SoC vector cores, split_tokens)."""
    key_block_stride: int
    """Bytes from one block of keyCache to the next: its dim 0 stride, which a kernel
    whose cache type says ``strided<[?, ...]>`` reads here (SPEC section 9)."""
    value_block_stride: int
    """The same for valueCache."""

    def fields(self) -> dict[str, int]:
        return asdict(self)


TILING_FIELDS: tuple[str, ...] = tuple(GatherTiling.__dataclass_fields__)
"""The gather's fields, in the order of its tiling struct."""

BLOCK_STRIDE_FIELDS: dict[str, str] = {
    "key_cache": "key_block_stride",
    "value_cache": "value_block_stride",
}
"""The tiling field holding each cache's block stride, by operand role."""

FIELD_MULTIPLES: dict[str, int] = dict.fromkeys(BLOCK_STRIDE_FIELDS.values(), BLOCK_STRIDE_ALIGN)
"""What the host guarantees a field is a multiple of (absent: nothing): a block stride
is a multiple of 32 bytes (SPEC section 9; the host API refuses any other)."""


def balanced_range(total: int, parts: int, index: int) -> tuple[int, int]:
    """Tokens ``[begin, end)`` of part ``index`` when ``total`` tokens are cut in ``parts``.

    The first ``total % parts`` parts get one token more than the others, so no two
    parts differ by more than one token.
    """
    base, extra = divmod(total, parts)
    begin = index * base + min(index, extra)
    return begin, begin + base + (1 if index < extra else 0)


def gather_tiling(
    *,
    batch: int,
    num_blocks: int,
    table_width: int,
    num_tokens: int,
    total_tokens: int,
    vector_cores: int,
    key_block_stride: int,
    value_block_stride: int,
) -> GatherTiling:
    """The tiling for one launch, from runtime shapes, the caches' block strides (bytes)
    and the total of seqLens."""
    split = max(0, min(total_tokens, num_tokens))
    return GatherTiling(
        batch=batch,
        num_blocks=num_blocks,
        table_width=table_width,
        num_tokens=num_tokens,
        split_tokens=split,
        used_cores=min(vector_cores, split),
        key_block_stride=key_block_stride,
        value_block_stride=value_block_stride,
    )


@dataclass(frozen=True)
class ScatterTiling:
    """Tiling of one ``pakv.scatter`` launch. Field names are the ``get_tiling`` keys.

    The scatter splits its tokens (the rows of key/value, one slot each) over the cores
    the way the gather splits its output rows, so ``ascend-distribute-tokens`` serves
    both: core ``b`` owns ``balanced_range(split_tokens, used_cores, b)``.
    """

    num_tokens: int
    """Tokens of key / value (slot_mapping dim 0)."""
    num_blocks: int
    """Blocks in each cache (dim 0): a slot at or past num_blocks * block_size is skipped."""
    split_tokens: int
    """Tokens the cores share: all of them."""
    used_cores: int
    """Cores launched (AscendC blockDim): min(SoC vector cores, split_tokens)."""
    key_block_stride: int
    """Bytes from one block of key_cache to the next (as the gather's, SPEC section 9)."""
    value_block_stride: int

    def fields(self) -> dict[str, int]:
        return asdict(self)


def scatter_tiling(
    *,
    num_tokens: int,
    num_blocks: int,
    vector_cores: int,
    key_block_stride: int,
    value_block_stride: int,
) -> ScatterTiling:
    """The tiling for one scatter launch, from runtime shapes and the caches' block
    strides (bytes)."""
    split = max(0, num_tokens)
    return ScatterTiling(
        num_tokens=num_tokens,
        num_blocks=num_blocks,
        split_tokens=split,
        used_cores=min(vector_cores, split),
        key_block_stride=key_block_stride,
        value_block_stride=value_block_stride,
    )


class Tiling(Protocol):
    """What every tiling offers: its fields by ``get_tiling`` key, and the split."""

    @property
    def used_cores(self) -> int: ...

    @property
    def split_tokens(self) -> int: ...

    def fields(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class TilingAbi:
    """One operator's tiling ABI: the struct the host fills and the function that does.

    ``compute`` takes the runtime sizes by keyword (its parameter names are the host
    function's parameters, ``vector_cores`` included); ``fields`` are the struct's
    fields, in order. A lowered kernel names its ABI with the ``ascend.tiling``
    attribute (``pakv_dialect.ascend.kernel_tiling_abi``).
    """

    name: str
    struct: str
    """The C++ struct of the printed unit."""
    function: str
    """The printed unit's host function computing it."""
    fields: tuple[str, ...]
    compute: Callable[..., Tiling]


GATHER_ABI = TilingAbi(
    "gather", "GatherTilingData", "ComputeGatherTiling", TILING_FIELDS, gather_tiling
)
SCATTER_ABI = TilingAbi(
    "scatter",
    "ScatterTilingData",
    "ComputeScatterTiling",
    tuple(ScatterTiling.__dataclass_fields__),
    scatter_tiling,
)
TILING_ABIS: dict[str, TilingAbi] = {abi.name: abi for abi in (GATHER_ABI, SCATTER_ABI)}
"""Every operator's tiling ABI by name (the value of a kernel's ``ascend.tiling``)."""
