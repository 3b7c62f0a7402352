"""The static rules of a paged KV layout, shared by ``pakv.gather`` and ``pakv.scatter``.

Both ops move tokens between the paged caches (SPEC section 1: ``[num_blocks,
block_size, heads, head_size]`` in Norm, ``[num_blocks, H / ea, block_size, ea]`` in
PA_NZ) and token-major tensors (``[num_tokens, heads, head_size]`` or ``[num_tokens,
H]``): the gather reads the caches into its outputs, the scatter writes its inputs into
the caches. What makes such a pair well formed is the same rule set either way (SPEC
section 3, adapted to the scatter by section 8): ranks, static layout dimensions, the
caches agreeing with each other, the token tensors holding exactly a cache's tokens,
the dtype table, 32-byte NZ rows, the 147456-byte token limit, the SoC table. The
rules live here once; each op's verifier calls them with its operands' names and
adds what is its own (the gather's tables and lengths, the scatter's slot mapping).

Messages name the operand and the dimension, then what was expected and what was
given, the way SPEC section 3 asks of the runtime's messages (the host API renames the
operands to the operator's parameter names).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import irdl_attr_definition
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from pakv_dialect.dtypes import KV_ELEMENT_KINDS, ElementKind, kv_kind_of_type
from pakv_dialect.layouts import cache_layout_error, dense_layout_error, global_memory_error
from pakv_dialect.soc import SocError, soc_info

MAX_TOKEN_BYTES = 147456
"""The operator's per-token limit (the "148k" of the original document)."""

NZ_ROW_BYTES = 32
"""One FRACTAL_NZ row: the innermost dimension of a PA_NZ cache holds 32 bytes."""


class CacheMode(StrEnum):
    """Layout of the paged caches (the operator's ``cacheMode``)."""

    Norm = "Norm"
    PA_NZ = "PA_NZ"


@irdl_attr_definition
class CacheModeAttr(EnumAttribute[CacheMode], SpacedOpaqueSyntaxAttribute):
    """``#pakv<cache_mode Norm>`` / ``#pakv<cache_mode PA_NZ>``."""

    name = "pakv.cache_mode"


_KV_TYPE_NAMES = ", ".join(str(kind.ir_type) for kind in KV_ELEMENT_KINDS)

Named = tuple[str, MemRefType]
"""An operand's name (its role: ``key_cache``, ``key_out``, ``key``...) and its type."""


def block_dim(mode: CacheMode) -> int:
    """The cache dimension that counts the tokens of a block."""
    return 2 if mode == CacheMode.PA_NZ else 1


def cache_dim_names(mode: CacheMode) -> tuple[str, str, str, str]:
    if mode == CacheMode.Norm:
        return ("num_blocks", "block_size", "num_heads", "head_size")
    return ("num_blocks", "H / ea", "block_size", "ea")


def token_elements(mode: CacheMode, cache_shape: Sequence[int]) -> int:
    """``H`` of SPEC section 1: elements per token of a cache of this shape."""
    if mode == CacheMode.Norm:
        return cache_shape[2] * cache_shape[3]
    return cache_shape[1] * cache_shape[3]


def tokens_rank(mode: CacheMode) -> int:
    """Rank of a token-major tensor: ``[num_tokens, heads, head_size]`` or ``[num_tokens, H]``."""
    return 2 if mode == CacheMode.PA_NZ else 3


class Rules:
    """The single checks the layout rules are made of; each raises the first violation."""

    @staticmethod
    def memref(name: str, value: SSAValue) -> MemRefType:
        ty = value.type
        if not isinstance(ty, MemRefType):
            raise VerifyException(f"{name} must be a memref, got {ty}")
        return ty  # pyright: ignore[reportUnknownVariableType]

    @staticmethod
    def rank(name: str, ty: MemRefType, rank: int) -> None:
        if ty.get_num_dims() != rank:
            raise VerifyException(
                f"{name} must have rank {rank}, got rank {ty.get_num_dims()} ({ty})"
            )

    @staticmethod
    def static(name: str, ty: MemRefType, dim: int, what: str) -> int:
        size = ty.get_shape()[dim]
        if size == DYNAMIC_INDEX:
            raise VerifyException(f"{name} dim {dim} ({what}) must be static, got '?'")
        return size

    @staticmethod
    def equal(name: str, dim: int, what: str, expected: int, given: int) -> None:
        """Dims agree; a dynamic size on either side is checked at run time instead."""
        if DYNAMIC_INDEX in (expected, given) or expected == given:
            return
        raise VerifyException(f"{name} dim {dim} ({what}): expected {expected}, got {given}")

    @staticmethod
    def kv_kind(name: str, ty: MemRefType) -> ElementKind:
        kind = kv_kind_of_type(ty.get_element_type())
        if kind is None:
            raise VerifyException(
                f"{name} element type must be one of {_KV_TYPE_NAMES}, got {ty.get_element_type()}"
            )
        return kind

    @staticmethod
    def token_limit(name: str, elements: int, kind: ElementKind) -> None:
        token_bytes = elements * kind.size
        if token_bytes > MAX_TOKEN_BYTES:
            raise VerifyException(
                f"{name}: one token is {elements} x {kind.size} = {token_bytes} bytes, "
                f"above the operator's limit of {MAX_TOKEN_BYTES} bytes"
            )

    @staticmethod
    def positive(name: str, ty: MemRefType, dim: int, what: str) -> None:
        if ty.get_shape()[dim] == 0:
            raise VerifyException(f"{name} dim {dim} ({what}) must be positive, got 0")


def check_distinct_outputs(
    op_name: str, outputs: Sequence[str], roles: Sequence[tuple[str, SSAValue]]
) -> None:
    """An output must be a buffer of its own: not another operand, not the other output.

    The op writes its outputs while it reads the other operands, so an output that is
    also an input (or two outputs one buffer) has no meaning: the kernel would read
    indices or tokens from bytes it has already overwritten. The IR can only see the
    same SSA value; the host runtime checks real memory overlap (``runtime.host.checks``).
    """
    by_role = dict(roles)
    for out_role in outputs:
        out = by_role[out_role]
        for role, value in roles:
            if role != out_role and value is out:
                raise VerifyException(
                    f"{out_role} is the same value as {role}: an output of {op_name} "
                    "must be a buffer of its own (it is written while the other operands "
                    "are read)"
                )


def check_caches(mode: CacheMode, key: Named, value: Named) -> tuple[ElementKind, ElementKind]:
    """The two caches of a call: static layout dims, agreeing on ``num_blocks`` and
    ``block_size``, element types in the dtype table (one type in Norm), 32-byte NZ rows
    and the token limit. Returns the key and value element kinds."""
    names = cache_dim_names(mode)
    for name, ty in (key, value):
        for dim in (1, 2, 3):
            Rules.static(name, ty, dim, names[dim])
    (key_name, kc), (value_name, vc) = key, value
    block = block_dim(mode)
    Rules.equal(value_name, 0, "num_blocks", kc.get_shape()[0], vc.get_shape()[0])
    Rules.equal(value_name, block, "block_size", kc.get_shape()[block], vc.get_shape()[block])
    kinds = Rules.kv_kind(key_name, kc), Rules.kv_kind(value_name, vc)
    if mode == CacheMode.Norm and kinds[0] != kinds[1]:
        raise VerifyException(
            f"{value_name} element type must equal {key_name}'s {kinds[0].ir_type} in "
            f"Norm mode, got {kinds[1].ir_type}"
        )
    for (name, cache), kind in zip((key, value), kinds, strict=True):
        if mode == CacheMode.PA_NZ:
            row = cache.get_shape()[3] * kind.size
            if row != NZ_ROW_BYTES:
                raise VerifyException(
                    f"{name} dim 3 (ea) must hold one 32-byte NZ row: expected "
                    f"{NZ_ROW_BYTES // kind.size} elements of {kind.ir_type}, "
                    f"got {cache.get_shape()[3]} ({row} bytes)"
                )
        Rules.token_limit(name, token_elements(mode, cache.get_shape()), kind)
    return kinds


def check_token_tensors(
    mode: CacheMode, pairs: Sequence[tuple[Named, Named]], mapped: Collection[str] = ()
) -> None:
    """Each token-major tensor holds its cache's tokens: the cache's element type and
    static inner dims equal to one cache token (``[heads, head_size]`` in Norm, ``[H]`` in
    PA_NZ). ``pairs`` are (token tensor, its cache); ranks are checked by the caller.
    A tensor named in ``mapped`` holds a fused map's results (SPEC section 7): its
    element type is the map's, checked with the map's body."""
    nz = mode == CacheMode.PA_NZ
    inner_names = ("H",) if nz else ("num_heads", "head_size")
    for (name, tokens), (cache_name, cache) in pairs:
        if name not in mapped and tokens.get_element_type() != cache.get_element_type():
            raise VerifyException(
                f"{name} element type must equal {cache_name}'s "
                f"{cache.get_element_type()}, got {tokens.get_element_type()}"
            )
        for dim, what in enumerate(inner_names, start=1):
            Rules.static(name, tokens, dim, what)
        shape = cache.get_shape()
        if nz:
            Rules.equal(
                name, 1, "H = cache dim 1 * dim 3", shape[1] * shape[3], tokens.get_shape()[1]
            )
        else:
            Rules.equal(name, 1, "num_heads", shape[2], tokens.get_shape()[1])
            Rules.equal(name, 2, "head_size", shape[3], tokens.get_shape()[2])


def check_global_memory(operands: Sequence[tuple[str, MemRefType | None]]) -> None:
    """SPEC section 9: every operand lives in global memory (no memory space, or
    ``#ascend.address_space<gm>``); absent optional operands are None."""
    for name, ty in operands:
        if ty is not None:
            _fail_if(global_memory_error(name, ty))


def check_layouts(
    caches: Sequence[tuple[Named, ElementKind]], others: Sequence[tuple[str, MemRefType | None]]
) -> None:
    """SPEC section 9: a cache is dense but for the stride of its first axis (a multiple
    of 32 bytes: ``pakv_dialect.layouts``); every other operand is dense."""
    for (name, ty), kind in caches:
        _fail_if(cache_layout_error(name, ty, kind.size))
    for name, ty in others:
        if ty is not None:
            _fail_if(dense_layout_error(name, ty))


def _fail_if(message: str | None) -> None:
    """Raise ``message`` (a rule's own words) when there is one."""
    if message is not None:
        raise VerifyException(message)


def check_positive_caches(mode: CacheMode, caches: Sequence[Named]) -> None:
    """A static layout dimension of 0 can never describe a token.

    Dynamic dims (num_blocks, num_tokens...) may be 0: the runtime treats such a call
    as empty. Split from the other rules because SPEC section 3 waives positivity for an
    *empty* call, which the host runtime verifies without this rule.
    """
    names = cache_dim_names(mode)
    for name, ty in caches:
        for dim in (1, 2, 3):
            Rules.positive(name, ty, dim, names[dim])


def check_soc_support(
    soc_name: str,
    kv: Sequence[tuple[str, ElementKind]],
    index: tuple[str, ElementKind],
    operator: str = "GatherPaKvCache",
) -> None:
    """SPEC section 4: the SoC exists, runs ``operator``, and takes these dtypes."""
    try:
        soc = soc_info(soc_name, operator)
    except SocError as e:
        raise VerifyException(str(e)) from e
    for name, kind in kv:
        if not soc.supports_kv_dtype(kind):
            raise VerifyException(
                f"{name} element type {kind.name} is not supported on {soc.name} "
                f"(supported: {', '.join(sorted(soc.kv_dtypes))})"
            )
    name, kind = index
    if not soc.supports_index_dtype(kind):
        raise VerifyException(
            f"{name} element type {kind.name} is not supported on {soc.name} "
            f"(supported: {', '.join(sorted(soc.index_dtypes))})"
        )
