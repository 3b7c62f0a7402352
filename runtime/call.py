"""What one validated call is: the compile-cache key and the bundle executors receive.

Two operators, one shape: ``GatherSignature``/``GatherCall`` for ``pakv.gather`` and
``ScatterSignature``/``ScatterCall`` for ``pakv.scatter`` (SPEC section 8). Executors,
the lowered kernel's cache and the launch take either (:data:`KernelCall`): a call
names its operands by role, in kernel-argument order (``operands``), and computes the
tiling of its operator's ABI (``tiling``).

``GatherSignature`` is everything a compiled kernel depends on (mode, flags, element
types, the static layout dimensions, the SoC) and nothing it does not (num_blocks,
batch, table width, num_tokens reach the kernel at run time): two calls with equal
signatures share one compiled kernel. ``GatherCall`` is a call that passed every check
of SPEC section 3 and is not empty: its operands as GM tensors plus its runtime sizes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from xdsl.dialects.builtin import DYNAMIC_INDEX

from pakv_dialect.dtypes import ElementKind, index_kind_named, kv_kind_named
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import soc_info
from pakv_dialect.tiling import GatherTiling, ScatterTiling, gather_tiling, scatter_tiling
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

CACHE_ROLES = ("key_cache", "value_cache")
OUTPUT_ROLES = ("key_out", "value_out")
INDEX_ROLES = ("block_tables", "seq_lens", "seq_offset")
_KEY_ROLES = ("key_cache", "key_out")

API_NAMES: dict[str, str] = {
    "key_cache": "keyCache",
    "value_cache": "valueCache",
    "block_tables": "blockTables",
    "seq_lens": "seqLens",
    "seq_offset": "seqOffset",
    "key_out": "keyRef",
    "value_out": "valueRef",
    "key_param_0": "keyScale",
    "key_param_1": "keyOffset",
    "value_param_0": "valueScale",
    "value_param_1": "valueOffset",
    "key": "key",
    "value": "value",
    "slot_mapping": "slotMapping",
}
"""The operator documents' parameter name for each operand role (the gather's, then the
scatter's own; the caches are named alike; a dequantising call's parameters: scale
first, then offset)."""

SCATTER_API_NAMES: dict[str, str] = API_NAMES | {
    "key_param_0": "keyInvScale",
    "value_param_0": "valueInvScale",
}
"""The scatter's: a quantising call's parameters are inverse scales, then offsets."""

Broadcast = Literal["tensor", "channel"]
"""A parameter's reach: one value per tensor, or one per channel (position in a token)."""


@dataclass(frozen=True)
class DequantSpec:
    """SPEC section 7's consumer of one stream, as the host API builds it:
    ``out = convert((float32(x) - offset) * scale)`` (no offset: ``x_f * scale``; no
    scale either: a plain cast). ``out_kind`` is fp16, bf16 or fp32."""

    out_kind: str
    scale: Broadcast | None = "tensor"
    offset: Broadcast | None = None

    @property
    def params(self) -> tuple[tuple[str, Broadcast], ...]:
        """The parameters in operand order: (``scale`` | ``offset``, its reach)."""
        found: list[tuple[str, Broadcast | None]] = [("scale", self.scale), ("offset", self.offset)]
        return tuple((name, reach) for name, reach in found if reach is not None)

    @property
    def out_element(self) -> ElementKind:
        return _named_kv(self.out_kind)


@dataclass(frozen=True)
class QuantSpec:
    """SPEC section 8's quantisation of one stream, as the host API builds it:
    ``q = saturate(round_half_even(float32(x) * inv_scale + offset))`` into an int8
    cache, ``q = fp8(float32(x) * inv_scale)`` saturating into an fp8 one (no offset:
    SPEC section 8 defines none for fp8). ``cache_kind`` is the cache's dtype."""

    cache_kind: str
    inv_scale: Broadcast = "tensor"
    offset: Broadcast | None = None

    @property
    def params(self) -> tuple[tuple[str, Broadcast], ...]:
        """The parameters in operand order: (``inv_scale`` | ``offset``, its reach)."""
        found: list[tuple[str, Broadcast | None]] = [
            ("inv_scale", self.inv_scale), ("offset", self.offset),
        ]  # fmt: skip
        return tuple((name, reach) for name, reach in found if reach is not None)

    @property
    def out_element(self) -> ElementKind:
        return _named_kv(self.cache_kind)


def stream_of(role: str) -> str:
    """``key`` or ``value``: the stream an operand role belongs to (caches, outputs and
    parameters)."""
    return "key" if role.startswith("key_") else "value"


def argument_name(role: str, spec: DequantSpec | QuantSpec | None) -> str:
    """The IR argument name of an operand role: the role itself, a parameter by meaning
    (``key_scale``, ``value_offset``; ``spec`` is its stream's consumer). The printed
    kernel's C++ parameters are named after these."""
    if "_param_" not in role:
        return role
    assert spec is not None, role
    return f"{stream_of(role)}_{spec.params[int(role.rsplit('_', 1)[1])][0]}"


SCATTER_ROLES: tuple[str, ...] = ("key", "value", "slot_mapping", "key_cache", "value_cache")
"""``pakv.scatter``'s operands in order; also its kernel function's argument order."""
SCATTER_TOKEN_ROLES = ("key", "value")
"""The scatter's token-major inputs (the caches are its outputs)."""


@dataclass(frozen=True)
class RunSizes:
    """The sizes a signature leaves to run time; None: not fixed (``?`` in the IR)."""

    batch: int | None = None
    num_blocks: int | None = None
    table_width: int | None = None
    """max_blocks_per_seq (blockTables dim 1)."""
    num_tokens: int | None = None
    """Rows of keyRef/valueRef."""


DYNAMIC_SIZES = RunSizes()
"""No size fixed: the form one compiled kernel serves every call of a signature in."""


def size_dims(role: str, sizes: RunSizes, *, cumsum: bool) -> tuple[int, ...]:
    """The leading dims of ``role`` that are run-time sizes; ``DYNAMIC_INDEX`` where unset.

    The dims after them are the signature's layout (``GatherSignature.layout_dims``).
    """

    def dim(size: int | None, extra: int = 0) -> int:
        return DYNAMIC_INDEX if size is None else size + extra

    if "_param_" in role:
        return ()
    return {
        "key_cache": (dim(sizes.num_blocks),),
        "value_cache": (dim(sizes.num_blocks),),
        "block_tables": (dim(sizes.batch), dim(sizes.table_width)),
        "seq_lens": (dim(sizes.batch, 1 if cumsum else 0),),
        "seq_offset": (dim(sizes.batch),),
        "key_out": (dim(sizes.num_tokens),),
        "value_out": (dim(sizes.num_tokens),),
    }[role]


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
    options: str = ""
    """Extra ``pakv-to-ascend`` options the kernel is lowered with (a tuned plan, what
    ``pakv tune`` prints), space separated and normalised; "" is the default plan."""
    key_map: DequantSpec | None = None
    """The consumer fused into the keys (SPEC section 7), if any."""
    value_map: DequantSpec | None = None

    def stream_map(self, stream: str) -> DequantSpec | None:
        return self.key_map if stream == "key" else self.value_map

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
    def roles(self) -> tuple[str, ...]:
        """The operand roles of its calls, in kernel-argument order (``pakv.gather``'s
        operands: the maps' parameters last)."""
        roles = [r for r in OPERAND_ROLES if r != "seq_offset" or self.has_offset]
        for stream in ("key", "value"):
            spec = self.stream_map(stream)
            if spec is not None:
                roles += [f"{stream}_param_{i}" for i in range(len(spec.params))]
        return tuple(roles)

    def element(self, role: str) -> ElementKind:
        """The element kind of an operand role."""
        if role in INDEX_ROLES:
            return self.index_element
        if "_param_" in role:
            return _named_kv("fp32")
        spec = self.stream_map(stream_of(role))
        if role in OUTPUT_ROLES and spec is not None:
            return spec.out_element
        return self.key_element if role in _KEY_ROLES else self.value_element

    def param_reach(self, role: str) -> Broadcast:
        """Whether a parameter role holds one value or one per channel."""
        spec = self.stream_map(stream_of(role))
        assert spec is not None, role
        return spec.params[int(role.rsplit("_", 1)[1])][1]

    def argument_name(self, role: str) -> str:
        """The name of ``role``'s function argument in the IR built for the signature
        (:func:`argument_name`)."""
        return argument_name(role, self.stream_map(stream_of(role)))

    def layout_dims(self, role: str) -> tuple[int, ...]:
        """The dims of ``role`` that the signature fixes: those after its ``size_dims``."""
        nz = self.cache_mode == CacheMode.PA_NZ
        cache = self.key_cache_dims if stream_of(role) == "key" else self.value_cache_dims
        if role in CACHE_ROLES:
            return cache
        token = (cache[0] * cache[2],) if nz else cache[1:]
        if role in OUTPUT_ROLES:  # one token: H elements in PA_NZ, heads x head_size in Norm
            return token
        if "_param_" in role:  # per channel: the token's inner dims
            return token if self.param_reach(role) == "channel" else ()
        return ()

    def operand_shapes(self, sizes: RunSizes = DYNAMIC_SIZES) -> dict[str, tuple[int, ...]]:
        """Every operand's shape at ``sizes`` (``DYNAMIC_INDEX`` for an unset size)."""
        return {
            role: (*size_dims(role, sizes, cumsum=self.cumsum), *self.layout_dims(role))
            for role in self.roles
        }


class PagedCacheCall(ABC):
    """What a validated call of either operator has: two paged caches (possibly strided
    views: SPEC section 9) and its GM operands by role, in kernel-argument order."""

    key_cache: GmTensor
    value_cache: GmTensor

    @abstractmethod
    def operands(self) -> dict[str, GmTensor]: ...

    def arguments(self) -> tuple[GmTensor, ...]:
        """The operands in kernel-argument order."""
        return tuple(self.operands().values())

    @property
    def key_block_stride(self) -> int:
        """Bytes from one block of keyCache to the next (SPEC section 9)."""
        return self.key_cache.dim0_stride

    @property
    def value_block_stride(self) -> int:
        """Bytes from one block of valueCache to the next."""
        return self.value_cache.dim0_stride


@dataclass(frozen=True)
class GatherCall(PagedCacheCall):
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
    params: Mapping[str, GmTensor] = field(default_factory=dict[str, GmTensor])
    """A dequantising call's scales and offsets by role (``key_param_0``, ...)."""

    @staticmethod
    def wrap(
        arrays: Mapping[str, np.ndarray],
        kinds: Mapping[str, ElementKind],
        *,
        cache_mode: CacheMode,
        cumsum: bool,
        soc: str,
        total_tokens: int,
        options: str = "",
        key_map: DequantSpec | None = None,
        value_map: DequantSpec | None = None,
    ) -> GatherCall:
        """The call on the caller's arrays (by role; no copy), trusted as given.

        Checking is the caller's job: ``runtime.host.checks`` wraps a call only after SPEC
        section 3 passed; tests wrap bad data on purpose to reach the kernel with it.
        """
        key_cache, value_cache = arrays["key_cache"], arrays["value_cache"]
        tables = arrays["block_tables"]
        signature = GatherSignature(
            cache_mode=cache_mode,
            cumsum=cumsum,
            has_offset="seq_offset" in arrays,
            key_kind=kinds["key_cache"].name,
            value_kind=kinds["value_cache"].name,
            index_kind=kinds["block_tables"].name,
            key_cache_dims=_layout_of(key_cache),
            value_cache_dims=_layout_of(value_cache),
            soc=soc,
            options=options,
            key_map=key_map,
            value_map=value_map,
        )
        gm = {
            role: GmTensor.wrap(API_NAMES[role], array, kinds[role])
            for role, array in arrays.items()
        }
        for role, tensor in gm.items():
            if tensor.block_stride is not None and role not in CACHE_ROLES:
                raise ValueError(f"{tensor.name}: only a cache may be a strided view")
        return GatherCall(
            signature=signature,
            key_cache=gm["key_cache"],
            value_cache=gm["value_cache"],
            block_tables=gm["block_tables"],
            seq_lens=gm["seq_lens"],
            seq_offset=gm.get("seq_offset"),
            key_out=gm["key_out"],
            value_out=gm["value_out"],
            batch=tables.shape[0],
            num_blocks=key_cache.shape[0],
            table_width=tables.shape[1],
            num_tokens=arrays["key_out"].shape[0],
            total_tokens=total_tokens,
            params={role: gm[role] for role in signature.roles if "_param_" in role},
        )

    def operands(self) -> dict[str, GmTensor]:
        """The operands by role, in kernel-argument order (offset only if present, the
        maps' parameters last)."""
        present = {role: getattr(self, role) for role in OPERAND_ROLES}
        found = {role: tensor for role, tensor in present.items() if tensor is not None}
        return found | dict(self.params)

    def tiling(self, max_cores: int = 0) -> GatherTiling:
        """The launch's tiling data on the signature's SoC (SPEC section 4 core count; at
        most ``max_cores`` when a kernel's plan asks for fewer, ``ascend.cores``)."""
        return gather_tiling(
            batch=self.batch,
            num_blocks=self.num_blocks,
            table_width=self.table_width,
            num_tokens=self.num_tokens,
            total_tokens=self.total_tokens,
            vector_cores=launch_cores(self.signature.soc, max_cores),
            key_block_stride=self.key_block_stride,
            value_block_stride=self.value_block_stride,
        )


def launch_cores(soc: str, max_cores: int = 0) -> int:
    """The vector cores a launch on ``soc`` uses: the SoC's (SPEC section 4), at most
    ``max_cores`` when a kernel's plan asks for fewer (``ascend.cores``; 0: no limit)."""
    cores = soc_info(soc).vector_cores
    return min(cores, max_cores) if max_cores > 0 else cores


def _layout_of(cache: np.ndarray) -> tuple[int, int, int]:
    """A cache's dims 1..3 (dim 0, num_blocks, is a run-time size)."""
    _, a, b, c = cache.shape
    return (a, b, c)


@dataclass(frozen=True)
class ScatterSignature:
    """What a compiled scatter kernel is specialised on (hashable): num_tokens and
    num_blocks reach the kernel at run time."""

    cache_mode: CacheMode
    key_kind: str
    """SPEC dtype name of key / keyCache."""
    value_kind: str
    index_kind: str
    """SPEC dtype name of slotMapping."""
    key_cache_dims: tuple[int, int, int]
    """keyCache dims 1..3 (as ``GatherSignature``'s)."""
    value_cache_dims: tuple[int, int, int]
    soc: str
    options: str = ""
    """Extra ``pakv-to-ascend`` options (as ``GatherSignature.options``); the scatter
    honours the plan's sizes, cores and sync, and refuses another strategy or split."""
    key_map: QuantSpec | None = None
    """The quantisation fused into the keys (SPEC section 8), if any: ``key_kind`` is
    then the tokens' dtype and the spec's ``cache_kind`` the cache's."""
    value_map: QuantSpec | None = None

    def stream_map(self, stream: str) -> QuantSpec | None:
        return self.key_map if stream == "key" else self.value_map

    @property
    def roles(self) -> tuple[str, ...]:
        """``SCATTER_ROLES``, then each quantised stream's parameters."""
        roles = list(SCATTER_ROLES)
        for stream in ("key", "value"):
            spec = self.stream_map(stream)
            if spec is not None:
                roles += [f"{stream}_param_{i}" for i in range(len(spec.params))]
        return tuple(roles)

    def element(self, role: str) -> ElementKind:
        if role == "slot_mapping":
            kind = index_kind_named(self.index_kind)
            assert kind is not None, self.index_kind
            return kind
        if "_param_" in role:
            return _named_kv("fp32")
        spec = self.stream_map(stream_of(role))
        if role in CACHE_ROLES and spec is not None:
            return spec.out_element
        return _named_kv(self.key_kind if role.startswith("key") else self.value_kind)

    def argument_name(self, role: str) -> str:
        """The IR argument name of ``role`` (``key_inv_scale``, ``value_offset``, ...)."""
        return argument_name(role, self.stream_map(stream_of(role)))

    def operand_shapes(
        self, num_tokens: int | None = None, num_blocks: int | None = None
    ) -> dict[str, tuple[int, ...]]:
        """Every operand's shape (``DYNAMIC_INDEX`` for a size left None)."""
        tokens = DYNAMIC_INDEX if num_tokens is None else num_tokens
        blocks = DYNAMIC_INDEX if num_blocks is None else num_blocks
        nz = self.cache_mode == CacheMode.PA_NZ

        def token(cache: tuple[int, int, int]) -> tuple[int, ...]:
            return (tokens, cache[0] * cache[2]) if nz else (tokens, *cache[1:])

        shapes = {
            "key": token(self.key_cache_dims),
            "value": token(self.value_cache_dims),
            "slot_mapping": (tokens,),
            "key_cache": (blocks, *self.key_cache_dims),
            "value_cache": (blocks, *self.value_cache_dims),
        }
        for role in self.roles:
            if "_param_" in role:  # per channel: one token's inner dims
                stream = stream_of(role)
                reach = self.stream_map(stream).params[int(role.rsplit("_", 1)[1])][1]  # pyright: ignore[reportOptionalMemberAccess]
                shapes[role] = shapes[stream][1:] if reach == "channel" else ()
        return shapes


@dataclass(frozen=True)
class ScatterCall(PagedCacheCall):
    """A scatter that passed every check and is not empty: what an executor runs.

    Executors write ``key_cache``/``value_cache`` through the GM tensors' byte views,
    which alias the caller's arrays.
    """

    signature: ScatterSignature
    key: GmTensor
    value: GmTensor
    slot_mapping: GmTensor
    key_cache: GmTensor
    value_cache: GmTensor
    num_tokens: int
    """key / value / slotMapping dim 0."""
    num_blocks: int
    """keyCache dim 0."""
    params: Mapping[str, GmTensor] = field(default_factory=dict[str, GmTensor])
    """A quantising call's inverse scales and offsets by role (``key_param_0``, ...)."""

    @staticmethod
    def wrap(
        arrays: Mapping[str, np.ndarray],
        kinds: Mapping[str, ElementKind],
        *,
        cache_mode: CacheMode,
        soc: str,
        options: str = "",
        key_map: QuantSpec | None = None,
        value_map: QuantSpec | None = None,
    ) -> ScatterCall:
        """The call on the caller's arrays (by role; no copy), trusted as given."""
        signature = ScatterSignature(
            cache_mode=cache_mode,
            key_kind=kinds["key"].name,
            value_kind=kinds["value"].name,
            index_kind=kinds["slot_mapping"].name,
            key_cache_dims=_layout_of(arrays["key_cache"]),
            value_cache_dims=_layout_of(arrays["value_cache"]),
            soc=soc,
            options=options,
            key_map=key_map,
            value_map=value_map,
        )
        gm = {
            role: GmTensor.wrap(SCATTER_API_NAMES[role], arrays[role], kinds[role])
            for role in signature.roles
        }
        for role, tensor in gm.items():
            if tensor.block_stride is not None and role not in CACHE_ROLES:
                raise ValueError(f"{tensor.name}: only a cache may be a strided view")
        return ScatterCall(
            signature=signature,
            num_tokens=arrays["slot_mapping"].shape[0],
            num_blocks=arrays["key_cache"].shape[0],
            params={role: gm.pop(role) for role in signature.roles if "_param_" in role},
            **gm,
        )

    def operands(self) -> dict[str, GmTensor]:
        """The operands by role, in kernel-argument order (the parameters last)."""
        return {role: getattr(self, role) for role in SCATTER_ROLES} | dict(self.params)

    def tiling(self, max_cores: int = 0) -> ScatterTiling:
        """The launch's tiling data: sizes, cores (at most ``max_cores`` when the plan
        asks for fewer, as ``GatherCall.tiling``) and the caches' block strides."""
        return scatter_tiling(
            num_tokens=self.num_tokens,
            num_blocks=self.num_blocks,
            vector_cores=launch_cores(self.signature.soc, max_cores),
            key_block_stride=self.key_block_stride,
            value_block_stride=self.value_block_stride,
        )


KernelSignature = GatherSignature | ScatterSignature
"""What a compiled kernel is specialised on, for either operator."""
KernelCall = GatherCall | ScatterCall
"""A validated call of either operator: what executors run."""
