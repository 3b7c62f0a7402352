"""Run IR holding ``pakv.gather`` in xDSL's interpreter, on host data.

Memref values are ``GmTensor``s (``runtime.memory``): flat byte views of the caller's
arrays, so the op writes straight into them and nothing is packed per element. The
same memory model serves the interpreter of the lowered ``ascend`` program: its
functions register on the same ``Interpreter`` through ``run_function``'s
``functions`` argument, beside ``PakvFunctions`` and xDSL's own ``FuncFunctions``.

``pakv.gather`` has an implementation of its own here, deliberately unlike
``runtime.golden`` (which copies each sequence with one fancy-indexing expression on
typed arrays): it walks each sequence *run by run* (the tokens that share one cache
block) and copies each run with one basic slice of byte views, the way the lowered
kernel thinks about the data. The two share no code, so a test that compares them
checks the semantics (SPEC section 2, and the device semantics on bad data that
``runtime.golden``'s docstring defines), not one function against itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.func import FuncFunctions

from pakv_dialect.pakv import NZ_ROW_BYTES, CacheMode, GatherOp, ScatterOp
from runtime.interpreter.array_functions import (
    ArrayCastFunctions,
    ArrayLinalgFunctions,
    ArrayMemrefFunctions,
    ArrayQuantFunctions,
    apply_map,
)
from runtime.ir_builder import KERNEL_NAME
from runtime.memory import GmTensor

_INDEX_BITS = 64
"""The kernel's index arithmetic is 64-bit two's complement."""


def _index(value: int) -> int:
    """``value`` wrapped to a signed 64-bit integer, as the kernel's ``index`` ops wrap."""
    half = 1 << (_INDEX_BITS - 1)
    return (value + half) % (1 << _INDEX_BITS) - half


def _token_views(cache: GmTensor, out: GmTensor, mode: CacheMode) -> tuple[np.ndarray, np.ndarray]:
    """Byte views ``[block, slot, token bytes]`` of a cache and ``[row, token bytes]`` of its
    output (PA_NZ: ``[block, row group, slot, 32]`` and ``[row, row group, 32]``)."""
    num_blocks, *layout = cache.shape
    rows = out.shape[0]
    blocks = cache.rows()  # [block, block bytes], blocks as far apart as the cache's stride
    if mode == CacheMode.PA_NZ:
        groups, block_size, _ = layout
        return (
            blocks.reshape(num_blocks, groups, block_size, NZ_ROW_BYTES),
            out.bytes.reshape(rows, groups, NZ_ROW_BYTES),
        )
    block_size, heads, head_size = layout
    token_bytes = heads * head_size * cache.kind.size
    return (
        blocks.reshape(num_blocks, block_size, token_bytes),
        out.bytes.reshape(rows, token_bytes),
    )


def interpret_gather(
    op: GatherOp,
    key_cache: GmTensor,
    value_cache: GmTensor,
    block_tables: GmTensor,
    seq_lens: GmTensor,
    seq_offset: GmTensor | None,
    key_out: GmTensor,
    value_out: GmTensor,
) -> int:
    """``op`` on GM tensors: each sequence's rows, one block run at a time; returns how
    many rows were written (``min(total, num_tokens)``).

    For sequence ``i`` the rows ``[start, start + len)`` (cut at ``num_tokens``) are
    filled run by run; a run is copied from its block, or zeroed when its table column
    is past the table, its block id out of range, or the sequence's offset negative.
    ``op``'s maps are not applied here (:func:`interpret_fused_gather` does).
    """
    nz = op.mode == CacheMode.PA_NZ
    num_blocks = key_cache.shape[0]
    block_size = key_cache.shape[2 if nz else 1]
    batch, width = block_tables.shape
    num_tokens = key_out.shape[0]
    tables = block_tables.typed()
    lens: list[int] = seq_lens.typed().tolist()
    offsets: list[int] | None = None if seq_offset is None else seq_offset.typed().tolist()
    streams = [
        _token_views(key_cache, key_out, op.mode),
        _token_views(value_cache, value_out, op.mode),
    ]

    start = 0
    for seq in range(batch):
        if start >= num_tokens:
            break
        raw = _index(lens[seq + 1] - lens[seq]) if op.is_cumsum else lens[seq]
        length = max(raw, 0)
        end = min(start + length, num_tokens)
        offset = 0 if offsets is None else offsets[seq]
        first_col = width if offset < 0 else offset // block_size
        done = 0  # tokens of this sequence already placed
        while start + done < end:
            col, slot = first_col + done // block_size, done % block_size
            count = min(block_size - slot, end - start - done)
            block = int(tables[seq, col]) if col < width else -1
            rows = slice(start + done, start + done + count)
            for blocks, out_rows in streams:
                if not 0 <= block < num_blocks:
                    out_rows[rows] = 0
                elif nz:  # [row group, slot, 32] -> [row, row group, 32]
                    out_rows[rows] = blocks[block, :, slot : slot + count].transpose(1, 0, 2)
                else:
                    out_rows[rows] = blocks[block, slot : slot + count]
            done += count
        start += length
    return min(start, num_tokens)


def interpret_fused_gather(
    interpreter: Interpreter, op: GatherOp, tensors: dict[str, GmTensor]
) -> None:
    """``op`` with its maps (SPEC section 7): each mapped stream is gathered into a
    buffer of the cache's element type, then its body runs over the rows written, as
    the unfused program would (rows at or past the total stay untouched)."""
    gathered: dict[str, GmTensor] = {}
    for stream in ("key", "value"):
        out = tensors[f"{stream}_out"]
        if op.stream_map(stream)[0] is None:
            gathered[stream] = out
            continue
        cache = tensors[f"{stream}_cache"]
        buffer = np.zeros(out.shape, dtype=cache.kind.storage)
        gathered[stream] = GmTensor.wrap(f"{stream}_gathered", buffer, cache.kind)
    rows = interpret_gather(
        op, tensors["key_cache"], tensors["value_cache"], tensors["block_tables"],
        tensors["seq_lens"], tensors.get("seq_offset"), gathered["key"], gathered["value"],
    )  # fmt: skip
    for stream in ("key", "value"):
        body, params = op.stream_map(stream)
        if body is None:
            continue
        values = [tensors[f"{stream}_param_{i}"] for i in range(len(params))]
        target = tensors[f"{stream}_out"].typed()[:rows]
        apply_map(interpreter, body, gathered[stream].typed()[:rows], values, target)


def scatter_runs(slots: np.ndarray, num_slots: int, block_size: int) -> list[tuple[int, int, int]]:
    """The runs of a scatter: ``(first token, first slot, count)`` for each stretch of
    tokens whose slots are in the cache and consecutive inside one block (vectorised:
    one Python step per run, not per token)."""
    placed = (slots >= 0) & (slots < num_slots)
    previous = np.concatenate(([-2], slots[:-1]))
    placed_before = np.concatenate(([False], placed[:-1]))
    continues = placed & placed_before & (slots == previous + 1) & (slots % block_size != 0)
    starts = np.flatnonzero(placed & ~continues)
    # A run ends at the first later token that does not continue it.
    breaks = np.append(np.flatnonzero(~continues), slots.size)
    ends = breaks[np.searchsorted(breaks, starts, side="right")]
    return list(zip(starts.tolist(), slots[starts].tolist(), (ends - starts).tolist(), strict=True))


def interpret_scatter(
    op: ScatterOp,
    key: GmTensor,
    value: GmTensor,
    slot_mapping: GmTensor,
    key_cache: GmTensor,
    value_cache: GmTensor,
) -> None:
    """``op`` on GM tensors, one run of consecutive slots at a time (slots outside the
    cache are skipped). Unlike ``runtime.golden.golden_scatter``, which places every
    token with one fancy-indexing assignment, this copies each run with one basic slice
    of byte views, as the lowered kernel does."""
    nz = op.mode == CacheMode.PA_NZ
    num_blocks = key_cache.shape[0]
    block_size = key_cache.shape[2 if nz else 1]
    slots = slot_mapping.typed().astype(np.int64)
    streams = [_token_views(key_cache, key, op.mode), _token_views(value_cache, value, op.mode)]
    for token, slot, count in scatter_runs(slots, num_blocks * block_size, block_size):
        block, pos = divmod(slot, block_size)
        for blocks, rows in streams:
            if nz:  # [row, row group, 32] -> [row group, slot, 32]
                blocks[block, :, pos : pos + count] = rows[token : token + count].transpose(1, 0, 2)
            else:
                blocks[block, pos : pos + count] = rows[token : token + count]


@register_impls
class PakvFunctions(InterpreterFunctions):
    """``pakv.gather`` and ``pakv.scatter`` on GM tensors, by :func:`interpret_gather`
    (with its maps: :func:`interpret_fused_gather`) and :func:`interpret_scatter`."""

    @impl(ScatterOp)
    def run_scatter(
        self, interpreter: Interpreter, op: ScatterOp, args: PythonValues
    ) -> PythonValues:
        for value in args:
            interpreter.interpreter_assert(
                isinstance(value, GmTensor), f"pakv.scatter expects GmTensor operands, got {value}"
            )
        roles = [role for role, _ in op.operands_by_role()]
        tensors: dict[str, GmTensor] = dict(zip(roles, args, strict=True))
        tokens = {stream: tensors[stream] for stream in ("key", "value")}
        for stream in ("key", "value"):  # SPEC section 8: quantise, then place
            body, params = op.stream_map(stream)
            if body is None:
                continue
            cache = tensors[f"{stream}_cache"]
            buffer = np.zeros(tokens[stream].shape, dtype=cache.kind.storage)
            values = [tensors[f"{stream}_param_{i}"] for i in range(len(params))]
            apply_map(interpreter, body, tokens[stream].typed(), values, buffer)
            tokens[stream] = GmTensor.wrap(f"{stream}_quantised", buffer, cache.kind)
        interpret_scatter(
            op, tokens["key"], tokens["value"], tensors["slot_mapping"], tensors["key_cache"],
            tensors["value_cache"],
        )  # fmt: skip
        return ()

    @impl(GatherOp)
    def run_gather(
        self, interpreter: Interpreter, op: GatherOp, args: PythonValues
    ) -> PythonValues:
        for value in args:
            interpreter.interpreter_assert(
                isinstance(value, GmTensor), f"pakv.gather expects GmTensor operands, got {value}"
            )
        roles = [role for role, _ in op.operands_by_role()]
        tensors: dict[str, GmTensor] = dict(zip(roles, args, strict=True))
        if op.is_fused:
            interpret_fused_gather(interpreter, op, tensors)
            return ()
        interpret_gather(
            op, tensors["key_cache"], tensors["value_cache"], tensors["block_tables"],
            tensors["seq_lens"], tensors.get("seq_offset"), tensors["key_out"],
            tensors["value_out"],
        )  # fmt: skip
        return ()


def run_function(
    module: ModuleOp,
    args: Sequence[GmTensor],
    *,
    name: str = KERNEL_NAME,
    functions: Iterable[InterpreterFunctions] = (),
) -> PythonValues:
    """Call ``@name`` of ``module`` with GM tensors as its memref arguments.

    The unfused program's ops run too (``runtime.interpreter.array_functions``: memref
    buffers, elementwise ``linalg.generic`` and ``pakv.map``, the float conversions, and
    xDSL's own ``ArithFunctions``); ``functions`` adds implementations for further
    dialects (scf, ascend, ...).
    """
    interpreter = Interpreter(module)
    for own in (
        FuncFunctions(), PakvFunctions(), ArithFunctions(), ArrayCastFunctions(),
        ArrayLinalgFunctions(), ArrayMemrefFunctions(),
    ):  # fmt: skip
        interpreter.register_implementations(own)
    # xDSL's maximumf / minimumf compute on Python floats: these take whole arrays.
    interpreter.register_implementations(ArrayQuantFunctions(), override=True)
    for extra in functions:
        interpreter.register_implementations(extra)
    return interpreter.call_op(name, tuple(args))
