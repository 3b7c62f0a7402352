"""A ``pakv.gather`` described by a handful of numbers instead of an MLIR file.

``pakv run --example seed`` and ``pakv run --mode PA_NZ --dtype bf16 --heads 4 ...``
describe the op by its layout parameters; :func:`signature` turns them into a
``GatherSignature`` and :func:`build_module` builds its module with the builder the
host API uses (``runtime.ir_builder.build_gather_module``), so a flag-built op goes
through exactly the verifier, lowering and emitter a file does. :data:`EXAMPLES` holds the
original operator document's two examples (SPEC section 6) as presets that flags can
override (``--example seed --mode PA_NZ``); they are the one definition of those
shapes (the demo, the tests and the benchmark read them here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from pakv_dialect.dtypes import index_kind_named, kv_kind_named
from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode
from pakv_dialect.soc import DEFAULT_SOC
from runtime.call import DYNAMIC_SIZES, GatherSignature, RunSizes
from runtime.ir_builder import build_gather_module
from runtime.tool.workload import Inputs


class ShapeSpecError(ValueError):
    """Layout numbers that describe no valid operand types; the message names the flag."""


@dataclass(frozen=True)
class ShapeSpec:
    """The layout of one gather, in the operator document's terms (SPEC section 1)."""

    mode: str = CacheMode.Norm.value
    dtype: str = "fp16"
    """Key dtype (SPEC name); also the value dtype unless ``value_dtype`` says otherwise."""
    value_dtype: str | None = None
    index_dtype: str = "int32"
    block_size: int = 16
    heads: int = 2
    head_size: int = 32
    """Key head size; ``H_k = heads * head_size`` elements per token."""
    value_head_size: int | None = None
    cumsum: bool = False
    offsets: bool = False
    dynamic: bool = False
    """Leave num_blocks, batch, table width and num_tokens as ``?`` (one kernel for all)."""
    batch: int = 4
    num_blocks: int = 32
    table_width: int = 8
    num_tokens: int = 128
    soc: str = DEFAULT_SOC

    @property
    def value_kind_name(self) -> str:
        return self.value_dtype or self.dtype

    @property
    def value_head(self) -> int:
        return self.value_head_size if self.value_head_size is not None else self.head_size

    @property
    def run_sizes(self) -> RunSizes:
        """The sizes of the call (used for data even when the IR leaves them dynamic)."""
        return RunSizes(self.batch, self.num_blocks, self.table_width, self.num_tokens)


@dataclass(frozen=True)
class Example:
    """A named preset: its layout, and optionally the document's own data for it."""

    spec: ShapeSpec
    summary: str
    data: Callable[[], Inputs] | None = None


def _c_example_data() -> Inputs:
    """SPEC section 6's C example: its shapes, block tables, lengths and offsets.

    The document fills the caches with ones, which no wrong block, slot or head could
    reveal; here every cache element holds its own flat index (exact in fp16, all below
    2048), so a token read from the wrong place shows as wrong values. Every token
    still reads block 1 (the table is all ones), slot ``j % 2``.
    """
    return {
        "key_cache": np.arange(2 * 2 * 32 * 2, dtype=np.float16).reshape(2, 2, 32, 2),
        "value_cache": np.arange(2 * 2 * 32 * 4, dtype=np.float16).reshape(2, 2, 32, 4),
        "block_tables": np.ones((4, 6), np.int32),
        "seq_lens": np.full(4, 3, np.int32),
        "seq_offset": np.full(4, 2, np.int32),
        "key_out": np.zeros((12, 32, 2), np.float16),
        "value_out": np.zeros((12, 32, 4), np.float16),
    }


EXAMPLES: dict[str, Example] = {
    "seed": Example(
        ShapeSpec(
            block_size=128, heads=16, head_size=144, value_head_size=128,
            batch=16, num_blocks=128, table_width=12, num_tokens=8931,
        ),
        "SPEC section 6 shape example: keyCache [128,128,16,144] fp16, 8931 tokens",
    ),
    "seed-hand": Example(
        ShapeSpec(
            block_size=2, heads=32, head_size=2, value_head_size=4, offsets=True,
            batch=4, num_blocks=2, table_width=6, num_tokens=12,
        ),
        "SPEC section 6 C example: keyCache [2,2,32,2], seqOffset [2,2,2,2], caches numbered",
        _c_example_data,
    ),
}  # fmt: skip
"""``--example NAME`` presets: the original operator document's examples."""


def even_lengths(spec: ShapeSpec, rng: np.random.Generator) -> np.ndarray:
    """``spec.batch`` near-equal random lengths that add up to ``spec.num_tokens``.

    The document gives the shape example's total length, not how it splits over the
    sequences: this is the split the demo, the tests and the benchmark use.
    """
    return rng.multinomial(spec.num_tokens, np.full(spec.batch, 1 / spec.batch))


def _cache_dims(spec: ShapeSpec, head_size: int, dtype: str, which: str) -> tuple[int, int, int]:
    """A cache's dims after num_blocks: its layout (SPEC section 1)."""
    kind = kv_kind_named(dtype)
    if kind is None:
        raise ShapeSpecError(f"--{which}: unknown dtype {dtype!r}")
    if spec.mode == CacheMode.Norm:
        return (spec.block_size, spec.heads, head_size)
    elements = spec.heads * head_size
    ea = kind.elements_per_nz_row
    if elements % ea:
        raise ShapeSpecError(
            f"--mode PA_NZ: H = heads x head size = {spec.heads} x {head_size} = {elements} "
            f"{dtype} elements is not a whole number of {NZ_ROW_BYTES}-byte NZ rows "
            f"({ea} elements each)"
        )
    return (elements // ea, spec.block_size, ea)


def signature(spec: ShapeSpec) -> GatherSignature:
    """The ``GatherSignature`` that ``spec`` describes; ShapeSpecError names a bad flag."""
    if spec.mode not in (CacheMode.Norm.value, CacheMode.PA_NZ.value):
        raise ShapeSpecError(f"--mode: expected Norm or PA_NZ, got {spec.mode!r}")
    for flag, value in (
        ("block-size", spec.block_size), ("heads", spec.heads), ("head-size", spec.head_size),
        ("value-head-size", spec.value_head), ("batch", spec.batch),
        ("num-blocks", spec.num_blocks), ("table-width", spec.table_width),
    ):  # fmt: skip
        if value < 1:
            raise ShapeSpecError(f"--{flag} must be at least 1, got {value}")
    if spec.num_tokens < 0:
        raise ShapeSpecError(f"--num-tokens must be >= 0, got {spec.num_tokens}")
    if index_kind_named(spec.index_dtype) is None:
        raise ShapeSpecError(f"--index-dtype: expected int32 or int64, got {spec.index_dtype!r}")
    key_cache = _cache_dims(spec, spec.head_size, spec.dtype, "dtype")
    value_cache = _cache_dims(spec, spec.value_head, spec.value_kind_name, "value-dtype")
    return GatherSignature(
        cache_mode=CacheMode(spec.mode),
        cumsum=spec.cumsum,
        has_offset=spec.offsets,
        key_kind=spec.dtype,
        value_kind=spec.value_kind_name,
        index_kind=spec.index_dtype,
        key_cache_dims=key_cache,
        value_cache_dims=value_cache,
        soc=spec.soc,
    )


def build_module(spec: ShapeSpec) -> ModuleOp:
    """``func.func @pakv_gather`` holding the ``pakv.gather`` that ``spec`` describes."""
    return build_gather_module(signature(spec), DYNAMIC_SIZES if spec.dynamic else spec.run_sizes)
