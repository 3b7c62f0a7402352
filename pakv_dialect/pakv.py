"""The ``pakv`` dialect: the high-level, layout-aware ``pakv.gather`` and ``pakv.scatter``.

``pakv.gather`` says *what* aclnnGatherPaKvCache computes (SPEC section 2), and
``pakv.scatter`` what its write-side counterpart ScatterPaKvCache computes (SPEC
section 8), both in destination-passing style over memrefs; the passes in ``passes/``
decide *how* the vector cores move the bytes. Their verifiers enforce every rule the
IR can see statically (ranks, dimensions, dtypes, NZ rows, the per-token limit, and SoC
support when the op names a SoC), through the rules both share
(``pakv_dialect.kv_layout``), the memory rules of SPEC section 9 included (operands in
global memory, dense but for a cache's first-axis stride: ``pakv_dialect.layouts``);
data-dependent rules are the host runtime's.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    MemRefType,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Attribute, Dialect, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    AttrSizedRegionSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    opt_region_def,
    prop_def,
    region_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.elementwise import (
    ElementwiseProgram,
    ExtFOp,
    YieldOp,
    check_body,
    check_params,
    hardware_casts,
)
from pakv_dialect.hifloat8 import HiFloat8Type
from pakv_dialect.kv_layout import MAX_TOKEN_BYTES as MAX_TOKEN_BYTES
from pakv_dialect.kv_layout import NZ_ROW_BYTES as NZ_ROW_BYTES
from pakv_dialect.kv_layout import (
    CacheMode,
    CacheModeAttr,
    Rules,
    block_dim,
    cache_dim_names,
    check_caches,
    check_distinct_outputs,
    check_global_memory,
    check_layouts,
    check_positive_caches,
    check_soc_support,
    check_token_tensors,
    token_elements,
    tokens_rank,
)
from pakv_dialect.soc import soc_info


def _index_kind(name: str, ty: MemRefType) -> ElementKind:
    """The index element kind of ``name`` (block tables, slot mapping): i32 or i64."""
    kind = index_kind_of_type(ty.get_element_type())
    if kind is None:
        raise VerifyException(
            f"{name} element type must be i32 or i64, got {ty.get_element_type()}"
        )
    return kind


def _memref_type(value: SSAValue) -> MemRefType:
    assert isinstance(value.type, MemRefType)
    return value.type  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]


class StreamMaps:
    """What the gather and the scatter share about their streams' fused bodies: each
    stream (``key``, ``value``) may carry a per-element body (``key_map`` /
    ``value_map``, ``pakv_dialect.elementwise``) with its parameters (``key_params`` /
    ``value_params``: one f32 per tensor, or one per channel of the token-major tensor).
    A gather's body maps a cache's elements to its output's (SPEC section 7), a
    scatter's the new tokens' to the cache's (section 8); everything else about the
    bodies (the verifier, the SoC's casts) is one piece of code here. The ops say where
    their bodies are (:meth:`stream_map`) and what they connect (:meth:`stream_ends`,
    :meth:`stream_tokens`)."""

    def stream_map(self, stream: str) -> tuple[Region | None, Sequence[SSAValue]]:
        """The body and parameters of ``stream`` (``key`` or ``value``)."""
        raise NotImplementedError

    def stream_ends(self, stream: str) -> tuple[SSAValue, SSAValue]:
        """The tensors ``stream``'s body reads elements of and writes elements to."""
        raise NotImplementedError

    def stream_tokens(self, stream: str) -> SSAValue:
        """``stream``'s token-major tensor: its channels index the parameters."""
        raise NotImplementedError

    def stream_program(self, stream: str) -> ElementwiseProgram | None:
        """What ``stream``'s map computes (valid after verification); None: no map."""
        region, params = self.stream_map(stream)
        if region is None:
            return None
        source, target = self.stream_ends(stream)
        return check_body(
            f"{stream}_map",
            region.block,
            _memref_type(source).get_element_type(),
            _memref_type(target).get_element_type(),
            len(params),
        )

    @property
    def is_fused(self) -> bool:
        """Whether a body is fused into either stream."""
        return any(self.stream_map(stream)[0] is not None for stream in ("key", "value"))

    def verify_maps(self) -> None:
        """Each stream's map: its parameters' shapes and its body, against the stream's
        element types. A stream without a map takes no parameters."""
        for stream in ("key", "value"):
            region, params = self.stream_map(stream)
            if region is None:
                if params:
                    raise VerifyException(
                        f"{stream}_params are the parameters of {stream}_map, which is absent"
                    )
                continue
            tokens = _memref_type(self.stream_tokens(stream))
            check_params(f"{stream}_map", params, tokens.get_shape()[1:])
            self.stream_program(stream)

    def verify_map_casts(self, soc_name: str) -> None:
        """The SoC's ``Cast`` table runs every conversion of the bodies (SPEC section 4;
        the SoC is known to exist)."""
        soc = soc_info(soc_name)
        for stream in ("key", "value"):
            program = self.stream_program(stream)
            if program is not None:
                try:
                    hardware_casts(program, soc)
                except VerifyException as e:
                    raise VerifyException(f"{stream}_map: {e}") from e


@irdl_op_definition
class GatherOp(IRDLOperation, StreamMaps):
    """Gather a paged KV cache into contiguous token-major key and value outputs.

    For each sequence ``i`` and token ``j < len_i`` (SPEC section 2), the row
    ``start_i + j`` of ``key_out``/``value_out`` receives token ``j % block_size`` of
    block ``block_tables[i, seq_offset[i] // block_size + j // block_size]``.
    Norm caches are ``[num_blocks, block_size, heads, head_size]`` and the outputs
    ``[num_tokens, heads, head_size]``; PA_NZ caches are
    ``[num_blocks, H / ea, block_size, ea]`` (32-byte rows) and the outputs
    ``[num_tokens, H]``. The op writes its outputs in place and returns nothing.
    """

    name = "pakv.gather"

    key_cache = operand_def(MemRefType)
    value_cache = operand_def(MemRefType)
    block_tables = operand_def(MemRefType)
    seq_lens = operand_def(MemRefType)
    seq_offset = opt_operand_def(MemRefType)
    key_out = operand_def(MemRefType)
    value_out = operand_def(MemRefType)
    key_params = var_operand_def(MemRefType)
    """The tensors ``key_map`` reads besides the element (scales, offsets)."""
    value_params = var_operand_def(MemRefType)

    key_map = opt_region_def("single_block")
    """When present, the per-element body applied to every gathered key before it is
    stored (``pakv_dialect.elementwise``): ``key_out`` holds its results."""
    value_map = opt_region_def("single_block")

    cache_mode = prop_def(CacheModeAttr)
    seq_lens_cumsum = opt_prop_def(UnitAttr)
    soc = opt_prop_def(StringAttr)
    """When present, the SoC the op must run on; its support table is checked too."""

    irdl_options = (
        AttrSizedOperandSegments(as_property=True),
        AttrSizedRegionSegments(as_property=True),
        ParsePropInAttrDict(),
    )

    assembly_format = (
        "$cache_mode (`cumsum` $seq_lens_cumsum^)? "
        "`caches` `(` $key_cache `,` $value_cache `)` "
        "`tables` `(` $block_tables `)` `lens` `(` $seq_lens `)` "
        "(`offsets` `(` $seq_offset^ `)`)? "
        "`into` `(` $key_out `,` $value_out `)` "
        "(`key_params` `(` $key_params^ `:` type($key_params) `)`)? "
        "(`value_params` `(` $value_params^ `:` type($value_params) `)`)? "
        "attr-dict "
        "`:` type($key_cache) `,` type($value_cache) `,` type($block_tables) `,` "
        "type($seq_lens) (`,` type($seq_offset)^)? `->` type($key_out) `,` type($value_out) "
        "(`key_map` $key_map^)? (`value_map` $value_map^)?"
    )

    def __init__(
        self,
        key_cache: SSAValue,
        value_cache: SSAValue,
        block_tables: SSAValue,
        seq_lens: SSAValue,
        seq_offset: SSAValue | None,
        key_out: SSAValue,
        value_out: SSAValue,
        cache_mode: CacheMode,
        seq_lens_cumsum: bool = False,
        soc: str | None = None,
        *,
        key_params: Sequence[SSAValue] = (),
        value_params: Sequence[SSAValue] = (),
        key_map: Region | None = None,
        value_map: Region | None = None,
    ):
        properties: dict[str, Attribute] = {"cache_mode": CacheModeAttr(cache_mode)}
        if seq_lens_cumsum:
            properties["seq_lens_cumsum"] = UnitAttr()
        if soc is not None:
            properties["soc"] = StringAttr(soc)
        offsets: Sequence[SSAValue] = [] if seq_offset is None else [seq_offset]
        super().__init__(
            operands=[
                key_cache, value_cache, block_tables, seq_lens, offsets, key_out, value_out,
                key_params, value_params,
            ],
            properties=properties,
            regions=[
                [] if key_map is None else [key_map],
                [] if value_map is None else [value_map],
            ],
        )  # fmt: skip

    @property
    def mode(self) -> CacheMode:
        return self.cache_mode.data

    @property
    def is_cumsum(self) -> bool:
        return self.seq_lens_cumsum is not None

    def kv_kinds(self) -> tuple[ElementKind, ElementKind]:
        """Key and value element kinds (valid after verification)."""
        key = kv_kind_of_type(self.memref_type(self.key_cache).get_element_type())
        value = kv_kind_of_type(self.memref_type(self.value_cache).get_element_type())
        assert key is not None and value is not None
        return key, value

    @staticmethod
    def memref_type(value: SSAValue) -> MemRefType:
        return _memref_type(value)

    def token_elements(self) -> tuple[int, int]:
        """``H`` of SPEC section 1 for keys and values: elements per token."""
        key = self.memref_type(self.key_cache).get_shape()
        value = self.memref_type(self.value_cache).get_shape()
        return token_elements(self.mode, key), token_elements(self.mode, value)

    def cache_dim_names(self) -> tuple[str, str, str, str]:
        return cache_dim_names(self.mode)

    def block_size(self) -> int:
        return self.memref_type(self.key_cache).get_shape()[block_dim(self.mode)]

    def operands_by_role(self) -> tuple[tuple[str, SSAValue], ...]:
        """Every operand present, named by its role, in operand order (the parameters of
        a stream's map are ``key_param_0``, ``key_param_1``, ...)."""
        roles = (
            ("key_cache", self.key_cache), ("value_cache", self.value_cache),
            ("block_tables", self.block_tables), ("seq_lens", self.seq_lens),
            ("seq_offset", self.seq_offset), ("key_out", self.key_out),
            ("value_out", self.value_out),
            *((f"key_param_{i}", v) for i, v in enumerate(self.key_params)),
            *((f"value_param_{i}", v) for i, v in enumerate(self.value_params)),
        )  # fmt: skip
        return tuple((role, value) for role, value in roles if value is not None)

    def stream_map(self, stream: str) -> tuple[Region | None, Sequence[SSAValue]]:
        if stream == "key":
            return self.key_map, self.key_params
        return self.value_map, self.value_params

    def stream_ends(self, stream: str) -> tuple[SSAValue, SSAValue]:
        """A gather's body maps a cache's elements to its output's."""
        if stream == "key":
            return self.key_cache, self.key_out
        return self.value_cache, self.value_out

    def stream_tokens(self, stream: str) -> SSAValue:
        return self.key_out if stream == "key" else self.value_out

    def verify_(self) -> None:
        self.verify_distinct_outputs()
        self.verify_layout()
        self.verify_positive_layout()
        if self.soc is not None:
            self.verify_soc(self.soc.data)

    def verify_distinct_outputs(self) -> None:
        """An output is a buffer of its own (``kv_layout.check_distinct_outputs``)."""
        check_distinct_outputs(self.name, ("key_out", "value_out"), self.operands_by_role())

    def verify_layout(self) -> None:
        """Every static rule of SPEC section 3 except that layout dimensions be positive.

        Split out because SPEC section 3 waives positivity for an *empty* call (a cache
        or output with no elements succeeds and writes nothing): the host runtime runs
        this part alone on such calls, and the whole verifier on all others.
        """
        r = Rules
        kc = r.memref("key_cache", self.key_cache)
        vc = r.memref("value_cache", self.value_cache)
        bt = r.memref("block_tables", self.block_tables)
        sl = r.memref("seq_lens", self.seq_lens)
        ko = r.memref("key_out", self.key_out)
        vo = r.memref("value_out", self.value_out)
        so = None if self.seq_offset is None else r.memref("seq_offset", self.seq_offset)

        out_rank = tokens_rank(self.mode)
        for name, ty, rank in (
            ("key_cache", kc, 4), ("value_cache", vc, 4), ("block_tables", bt, 2),
            ("seq_lens", sl, 1), ("key_out", ko, out_rank), ("value_out", vo, out_rank),
        ):  # fmt: skip
            r.rank(name, ty, rank)
        if so is not None:
            r.rank("seq_offset", so, 1)
        named = (
            ("key_cache", kc), ("value_cache", vc), ("block_tables", bt), ("seq_lens", sl),
            ("seq_offset", so), ("key_out", ko), ("value_out", vo),
        )  # fmt: skip
        check_global_memory(named)

        # Batch: seq_lens has batch (or batch + 1 when cumsum) entries, seq_offset batch.
        batch = bt.get_shape()[0]
        lens = sl.get_shape()[0]
        if batch != DYNAMIC_INDEX and lens != DYNAMIC_INDEX:
            expected = batch + 1 if self.is_cumsum else batch
            if lens != expected:
                form = "batch + 1 (cumsum)" if self.is_cumsum else "batch"
                raise VerifyException(f"seq_lens dim 0 must be {form} = {expected}, got {lens}")
        if so is not None:
            r.equal("seq_offset", 0, "batch", batch, so.get_shape()[0])

        caches = ("key_cache", kc), ("value_cache", vc)
        kinds = check_caches(self.mode, *caches)
        mapped = {f"{s}_out" for s in ("key", "value") if self.stream_map(s)[0] is not None}
        check_token_tensors(
            self.mode, ((("key_out", ko), caches[0]), (("value_out", vo), caches[1])), mapped
        )
        check_layouts(list(zip(caches, kinds, strict=True)), named[2:])
        bt_type = bt.get_element_type()
        _index_kind("block_tables", bt)
        for name, ty in (("seq_lens", sl), ("seq_offset", so)):
            if ty is not None and ty.get_element_type() != bt_type:
                raise VerifyException(
                    f"{name} element type must equal block_tables' {bt_type}, "
                    f"got {ty.get_element_type()}"
                )
        r.equal("value_out", 0, "num_tokens", ko.get_shape()[0], vo.get_shape()[0])
        self.verify_maps()

    def verify_positive_layout(self) -> None:
        """A static layout dimension of 0 can never describe a token."""
        check_positive_caches(
            self.mode,
            (
                ("key_cache", self.memref_type(self.key_cache)),
                ("value_cache", self.memref_type(self.value_cache)),
            ),
        )

    def verify_soc(self, soc_name: str) -> None:
        """SPEC section 4: the SoC exists, runs the operator, and takes these dtypes."""
        key_kind, value_kind = self.kv_kinds()
        index = _index_kind("block_tables", self.memref_type(self.block_tables))
        check_soc_support(
            soc_name,
            (("key_cache", key_kind), ("value_cache", value_kind)),
            ("block_tables", index),
        )
        self.verify_map_casts(soc_name)


@irdl_op_definition
class MapOp(IRDLOperation):
    """Apply a per-element body to a token-major tensor: the consumer of a gather that
    was not fused into it.

    ``target[t, ...] = body(source[t, ...], params[...])`` for every token ``t``; each
    parameter is one f32 per tensor (0-d) or one per channel (the token's inner dims).
    ``pakv-fuse-consumers`` raises an elementwise ``linalg.generic`` to this op and
    folds it into the producing ``pakv.gather`` when it can; when it cannot (or with
    ``fuse=false``), ``pakv-to-ascend`` lowers it to a kernel of its own that loads a
    tile, computes and stores, split by tokens over the cores.
    """

    name = "pakv.map"
    source = operand_def(MemRefType)
    params = var_operand_def(MemRefType)
    target = operand_def(MemRefType)
    body = region_def("single_block")
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "`ins` `(` $source `:` type($source) `)` "
        "(`params` `(` $params^ `:` type($params) `)`)? "
        "`outs` `(` $target `:` type($target) `)` $body attr-dict"
    )

    def __init__(
        self, source: SSAValue, params: Sequence[SSAValue], target: SSAValue, body: Region
    ):
        super().__init__(operands=[source, params, target], regions=[body])

    def program(self) -> ElementwiseProgram:
        """What the body computes (valid after verification)."""
        return check_body(
            "pakv.map",
            self.body.block,
            GatherOp.memref_type(self.source).get_element_type(),
            GatherOp.memref_type(self.target).get_element_type(),
            len(self.params),
        )

    def verify_(self) -> None:
        source = Rules.memref("source", self.source)
        target = Rules.memref("target", self.target)
        if source.get_num_dims() < 2 or source.get_num_dims() != target.get_num_dims():
            raise VerifyException(
                f"pakv.map maps a token-major tensor [num_tokens, ...] onto one of the same "
                f"rank, got {source} and {target}"
            )
        for dim, (a, b) in enumerate(zip(source.get_shape(), target.get_shape(), strict=True)):
            Rules.equal("target", dim, "as source", a, b)
            if dim and a == DYNAMIC_INDEX:
                raise VerifyException(f"source dim {dim} (a token's inner dim) must be static")
        if self.source is self.target:
            raise VerifyException("pakv.map writes a tensor of its own, not its source")
        check_params("pakv.map", self.params, source.get_shape()[1:])
        self.program()


SCATTER_OPERATOR = "ScatterPaKvCache"
"""The vendor operator ``pakv.scatter`` computes, as messages name it."""


@irdl_op_definition
class ScatterOp(IRDLOperation, StreamMaps):
    """Scatter new tokens into the paged key and value caches (SPEC section 8).

    Token ``t`` of ``key``/``value`` goes to slot ``s = slot_mapping[t]``: position
    ``s % block_size`` of block ``s // block_size``. A negative slot is skipped (padding);
    nothing else in the caches changes. Tokens are ``[num_tokens, heads, head_size]``
    (Norm) or ``[num_tokens, H]`` (PA_NZ), the caches are laid out as ``pakv.gather``'s.
    The op writes the caches in place and returns nothing: the gather's mirror image,
    checked by the same layout rules (``pakv_dialect.kv_layout``). Data rules (slots
    past the cache, duplicate slots) are the host runtime's; the device kernel skips an
    out-of-range slot.
    """

    name = "pakv.scatter"

    key = operand_def(MemRefType)
    value = operand_def(MemRefType)
    slot_mapping = operand_def(MemRefType)
    key_cache = operand_def(MemRefType)
    value_cache = operand_def(MemRefType)
    key_params = var_operand_def(MemRefType)
    """The tensors ``key_map`` reads besides the element (inverse scales, offsets)."""
    value_params = var_operand_def(MemRefType)

    key_map = opt_region_def("single_block")
    """When present, the per-element body applied to every key token before it is
    stored (SPEC section 8's quantisation; ``pakv_dialect.elementwise``): ``key_cache``
    receives its results."""
    value_map = opt_region_def("single_block")

    cache_mode = prop_def(CacheModeAttr)
    soc = opt_prop_def(StringAttr)
    """When present, the SoC the op must run on; its support table is checked too."""

    irdl_options = (
        AttrSizedOperandSegments(as_property=True),
        AttrSizedRegionSegments(as_property=True),
        ParsePropInAttrDict(),
    )

    assembly_format = (
        "$cache_mode `tokens` `(` $key `,` $value `)` `slots` `(` $slot_mapping `)` "
        "`into` `(` $key_cache `,` $value_cache `)` "
        "(`key_params` `(` $key_params^ `:` type($key_params) `)`)? "
        "(`value_params` `(` $value_params^ `:` type($value_params) `)`)? "
        "attr-dict "
        "`:` type($key) `,` type($value) `,` type($slot_mapping) `->` "
        "type($key_cache) `,` type($value_cache) "
        "(`key_map` $key_map^)? (`value_map` $value_map^)?"
    )

    def __init__(
        self,
        key: SSAValue,
        value: SSAValue,
        slot_mapping: SSAValue,
        key_cache: SSAValue,
        value_cache: SSAValue,
        cache_mode: CacheMode,
        soc: str | None = None,
        *,
        key_params: Sequence[SSAValue] = (),
        value_params: Sequence[SSAValue] = (),
        key_map: Region | None = None,
        value_map: Region | None = None,
    ):
        properties: dict[str, Attribute] = {"cache_mode": CacheModeAttr(cache_mode)}
        if soc is not None:
            properties["soc"] = StringAttr(soc)
        super().__init__(
            operands=[key, value, slot_mapping, key_cache, value_cache, key_params, value_params],
            properties=properties,
            regions=[
                [] if key_map is None else [key_map],
                [] if value_map is None else [value_map],
            ],
        )

    def stream_map(self, stream: str) -> tuple[Region | None, Sequence[SSAValue]]:
        if stream == "key":
            return self.key_map, self.key_params
        return self.value_map, self.value_params

    def stream_ends(self, stream: str) -> tuple[SSAValue, SSAValue]:
        """A scatter's body maps the new tokens' elements to the cache's."""
        if stream == "key":
            return self.key, self.key_cache
        return self.value, self.value_cache

    def stream_tokens(self, stream: str) -> SSAValue:
        return self.key if stream == "key" else self.value

    @property
    def mode(self) -> CacheMode:
        return self.cache_mode.data

    @staticmethod
    def memref_type(value: SSAValue) -> MemRefType:
        return _memref_type(value)

    def kv_kinds(self) -> tuple[ElementKind, ElementKind]:
        """Key and value element kinds (valid after verification)."""
        key = kv_kind_of_type(self.memref_type(self.key_cache).get_element_type())
        value = kv_kind_of_type(self.memref_type(self.value_cache).get_element_type())
        assert key is not None and value is not None
        return key, value

    def block_size(self) -> int:
        return self.memref_type(self.key_cache).get_shape()[block_dim(self.mode)]

    def operands_by_role(self) -> tuple[tuple[str, SSAValue], ...]:
        """Every operand, named by its role, in operand order."""
        return (
            ("key", self.key), ("value", self.value), ("slot_mapping", self.slot_mapping),
            ("key_cache", self.key_cache), ("value_cache", self.value_cache),
            *((f"key_param_{i}", v) for i, v in enumerate(self.key_params)),
            *((f"value_param_{i}", v) for i, v in enumerate(self.value_params)),
        )  # fmt: skip

    def verify_(self) -> None:
        self.verify_distinct_outputs()
        self.verify_layout()
        self.verify_positive_layout()
        if self.soc is not None:
            self.verify_soc(self.soc.data)

    def verify_distinct_outputs(self) -> None:
        """A cache is a buffer of its own (``kv_layout.check_distinct_outputs``)."""
        check_distinct_outputs(self.name, ("key_cache", "value_cache"), self.operands_by_role())

    def verify_layout(self) -> None:
        """Every static rule of SPEC section 8 except that layout dimensions be positive
        (waived for an empty call, as for the gather)."""
        r = Rules
        key = r.memref("key", self.key)
        value = r.memref("value", self.value)
        slots = r.memref("slot_mapping", self.slot_mapping)
        kc = r.memref("key_cache", self.key_cache)
        vc = r.memref("value_cache", self.value_cache)
        token_rank = tokens_rank(self.mode)
        for name, ty, rank in (
            ("key", key, token_rank), ("value", value, token_rank), ("slot_mapping", slots, 1),
            ("key_cache", kc, 4), ("value_cache", vc, 4),
        ):  # fmt: skip
            r.rank(name, ty, rank)
        check_global_memory(
            (("key", key), ("value", value), ("slot_mapping", slots), ("key_cache", kc),
             ("value_cache", vc))
        )  # fmt: skip
        caches = ("key_cache", kc), ("value_cache", vc)
        kinds = check_caches(self.mode, *caches)
        mapped = {s for s in ("key", "value") if self.stream_map(s)[0] is not None}
        check_token_tensors(
            self.mode, ((("key", key), caches[0]), (("value", value), caches[1])), mapped
        )
        check_layouts(
            list(zip(caches, kinds, strict=True)),
            (("key", key), ("value", value), ("slot_mapping", slots)),
        )
        _index_kind("slot_mapping", slots)
        num_tokens = slots.get_shape()[0]
        r.equal("key", 0, "num_tokens = slot_mapping dim 0", num_tokens, key.get_shape()[0])
        r.equal("value", 0, "num_tokens = slot_mapping dim 0", num_tokens, value.get_shape()[0])
        r.equal("value", 0, "num_tokens", key.get_shape()[0], value.get_shape()[0])
        self.verify_maps()

    def verify_positive_layout(self) -> None:
        """A static layout dimension of 0 can never describe a token."""
        check_positive_caches(
            self.mode,
            (
                ("key_cache", self.memref_type(self.key_cache)),
                ("value_cache", self.memref_type(self.value_cache)),
            ),
        )

    def verify_soc(self, soc_name: str) -> None:
        """SPEC section 4 (the gather's table: section 8 adapts section 3's rules)."""
        key_kind, value_kind = self.kv_kinds()
        index = _index_kind("slot_mapping", self.memref_type(self.slot_mapping))
        check_soc_support(
            soc_name,
            (("key_cache", key_kind), ("value_cache", value_kind)),
            ("slot_mapping", index),
            SCATTER_OPERATOR,
        )
        self.verify_map_casts(soc_name)


KvOp = GatherOp | ScatterOp
"""The ops of the dialect: each moves tokens between paged caches and token-major tensors."""


PAKV = Dialect("pakv", [GatherOp, ScatterOp, MapOp, YieldOp, ExtFOp], [CacheModeAttr, HiFloat8Type])
