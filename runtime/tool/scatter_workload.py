"""Data for one ``pakv.scatter``: random valid inputs that fit its types, or ``.npy`` files.

The scatter's counterpart of ``runtime.tool.workload`` (which it shares its pieces
with: random bits, the memory check, ``.npy`` reading): :class:`ScatterOperands` reads
what the op expects from the op itself, :func:`random_inputs` draws a valid call (every
slot in the cache, none twice, a few padding slots of -1 at the end as a serving
stack's fixed-size batches have), :func:`load_inputs` reads ``<role>.npy`` files, and
:func:`scatter_call` runs the host checks (SPEC section 8) on either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.pakv import CacheMode, ScatterOp
from pakv_dialect.soc import soc_info
from runtime.call import API_NAMES, CACHE_ROLES, SCATTER_ROLES, SCATTER_TOKEN_ROLES, ScatterCall
from runtime.host.checks import expected_format
from runtime.host.scatter_checks import check_scatter_parameters
from runtime.host.tensor import Tensor
from runtime.tool.workload import (
    DEFAULT_SIZES,
    DYNAMIC,
    Inputs,
    WorkloadError,
    cache_block_strides,
    check_memory,
    data_file,
    laid_out,
    operand_file,
    random_bits,
)

DEFAULT_TOKENS = 64
"""Tokens of a scatter whose ``num_tokens`` is dynamic and not chosen (a decode batch)."""


@dataclass(frozen=True)
class ScatterOperands:
    """What a ``pakv.scatter`` expects of its operands, read from the op's types."""

    mode: CacheMode
    block_size: int
    kinds: Mapping[str, ElementKind]
    shapes: Mapping[str, tuple[int, ...]]
    """Shape of every operand role; ``DYNAMIC`` (-1) where it is ``?``."""
    block_strides: Mapping[str, int | None]
    """Each cache's dim 0 stride in elements as its type fixes it (SPEC section 9)."""

    token_roles = SCATTER_TOKEN_ROLES
    """The token-major tensors (the scatter's inputs)."""
    written_roles = CACHE_ROLES
    """What a call writes: the caches."""

    @staticmethod
    def of(op: ScatterOp) -> ScatterOperands:
        kinds: dict[str, ElementKind] = {}
        shapes: dict[str, tuple[int, ...]] = {}
        for role, value in op.operands_by_role():
            ty = op.memref_type(value)
            element = ty.get_element_type()
            kind = kv_kind_of_type(element) or index_kind_of_type(element)
            assert kind is not None, f"{role}: {element} (the verifier admits no such type)"
            kinds[role] = kind
            shapes[role] = tuple(ty.get_shape())
        return ScatterOperands(op.mode, op.block_size(), kinds, shapes, cache_block_strides(op))

    def sizes(self, num_tokens: int | None, num_blocks: int | None) -> tuple[int, int]:
        """``(num_tokens, num_blocks)``: the IR's static ones, else the flags', else defaults.

        WorkloadError: a flag contradicts the IR.
        """

        def pick(flag: str, static: int, chosen: int | None, default: int) -> int:
            if static != DYNAMIC:
                if chosen is not None and chosen != static:
                    raise WorkloadError(f"--{flag} {chosen} conflicts with the IR's {static}")
                return static
            if chosen is not None and chosen < 0:
                raise WorkloadError(f"--{flag} must be >= 0, got {chosen}")
            return default if chosen is None else chosen

        assert DEFAULT_SIZES.num_blocks is not None
        blocks = pick(
            "num-blocks", self.shapes["key_cache"][0], num_blocks, DEFAULT_SIZES.num_blocks
        )
        static_tokens = self.shapes["slot_mapping"][0]
        default_tokens = min(DEFAULT_TOKENS, blocks * self.block_size)
        return pick("num-tokens", static_tokens, num_tokens, default_tokens), blocks

    def concrete(self, num_tokens: int, num_blocks: int) -> dict[str, tuple[int, ...]]:
        """Every role's shape with its dynamic leading dimension filled in."""
        first = {role: num_tokens for role in (*SCATTER_TOKEN_ROLES, "slot_mapping")}
        first |= {role: num_blocks for role in CACHE_ROLES}
        return {role: (first[role], *shape[1:]) for role, shape in self.shapes.items()}


def random_slots(
    rng: np.random.Generator, tokens: int, num_blocks: int, block_size: int
) -> np.ndarray:
    """``tokens`` valid slots, as a paged allocator hands them out: sequences of random
    lengths, each starting at the beginning of a free block and filling blocks in turn;
    the last few tokens (up to 1 in 8, and any the cache has no room left for) are
    padding (-1)."""
    padding = int(rng.integers(0, tokens // 8 + 1)) if tokens else 0
    placed = min(tokens - padding, num_blocks * block_size)
    free = list(rng.permutation(num_blocks))
    slots: list[np.ndarray] = []
    left = placed
    while left > 0 and free:  # a sequence's last block is partly used: blocks may run out
        length = min(left, int(rng.integers(1, 2 * block_size + 1)), len(free) * block_size)
        need = -(-length // block_size)
        mine, free = np.asarray(free[:need], dtype=np.int64), free[need:]
        positions = np.arange(length)
        slots.append(mine[positions // block_size] * block_size + positions % block_size)
        left -= length
    filled = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    return np.concatenate([filled, np.full(tokens - filled.size, -1, dtype=np.int64)])


def random_inputs(
    operands: ScatterOperands,
    num_tokens: int | None,
    num_blocks: int | None,
    rng: np.random.Generator,
    what: str = "the sizes",
) -> Inputs:
    """Valid random data for ``operands`` (module docstring); caches start as random bits,
    so bytes the call must leave alone are visible."""
    tokens, blocks = operands.sizes(num_tokens, num_blocks)
    shapes = operands.concrete(tokens, blocks)
    check_memory(shapes, operands.kinds, what)
    inputs: Inputs = {}
    for role in SCATTER_ROLES:
        if role == "slot_mapping":
            slots = random_slots(rng, tokens, blocks, operands.block_size)
            inputs[role] = slots.astype(operands.kinds[role].storage)
        else:
            bits = random_bits(rng, operands.kinds[role], shapes[role])
            inputs[role] = laid_out(bits, operands.block_strides.get(role))
    return inputs


def load_inputs(directory: Path, operands: ScatterOperands) -> Inputs:
    """``<role>.npy`` (or ``<apiName>.npy``) for every operand, caches included (they are
    read and written), checked against the op's types."""
    if not directory.is_dir():
        raise WorkloadError(f"--data {directory}: not a directory")
    inputs: Inputs = {}
    for role, shape in operands.shapes.items():
        path = data_file(directory, role, {})
        if path is None:
            raise WorkloadError(
                f"--data {directory}: missing {role}.npy (or {API_NAMES[role]}.npy) that the "
                "op's operands need"
            )
        array = operand_file(path, role, operands.kinds[role], shape)
        inputs[role] = laid_out(array, operands.block_strides.get(role))
    return inputs


def scatter_call(inputs: Inputs, operands: ScatterOperands, soc: str) -> ScatterCall | None:
    """The host checks of SPEC section 8 on ``inputs``; None: an empty call.

    AclnnError: the data breaks a rule (the message says which).
    """
    chip = soc_info(soc)

    def tensor(role: str) -> Tensor:
        kind = operands.kinds[role]
        return Tensor(
            inputs[role], dtype=kind.name, format=expected_format(role, operands.mode, chip).value
        )

    return check_scatter_parameters(
        tensor("key"),
        tensor("value"),
        tensor("key_cache"),
        tensor("value_cache"),
        inputs["slot_mapping"],
        cache_mode=operands.mode.value,
        soc=soc,
    ).at_launch()
