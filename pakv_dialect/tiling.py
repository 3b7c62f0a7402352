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

from dataclasses import asdict, dataclass

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
