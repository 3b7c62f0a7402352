"""The ``pakv`` dialect: the high-level, layout-aware ``pakv.gather`` operation.

``pakv.gather`` says *what* aclnnGatherPaKvCache computes (SPEC section 2) in
destination-passing style over memrefs; the passes in ``passes/`` decide *how* the
vector cores move the bytes. Its verifier enforces every rule of SPEC section 3 that
the IR can see statically (ranks, dimensions, dtypes, NZ rows, the per-token limit,
and SoC support when the op names a SoC) and the memory rules of SPEC section 9
(operands in global memory, dense but for a cache's first-axis stride:
``pakv_dialect.layouts``); data-dependent rules are the host runtime's.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    MemRefType,
    StringAttr,
    UnitAttr,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Region, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    AttrSizedRegionSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
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
from xdsl.utils.str_enum import StrEnum

from pakv_dialect.dtypes import (
    KV_ELEMENT_KINDS,
    ElementKind,
    index_kind_of_type,
    kv_kind_of_type,
)
from pakv_dialect.elementwise import (
    ElementwiseProgram,
    ExtFOp,
    YieldOp,
    check_body,
    check_params,
    hardware_casts,
)
from pakv_dialect.hifloat8 import HiFloat8Type
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


class _Checker:
    """Collects the facts the rules need and raises the first violated one.

    Messages name the operand and the dimension, then what was expected and what was
    given, the way SPEC section 3 asks of the runtime's messages.
    """

    def __init__(self, op: GatherOp):
        self.op = op

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
    def fail_if(message: str | None) -> None:
        """Raise ``message`` (a rule's own words) when there is one."""
        if message is not None:
            raise VerifyException(message)

    @staticmethod
    def positive(name: str, ty: MemRefType, dim: int, what: str) -> None:
        if ty.get_shape()[dim] == 0:
            raise VerifyException(f"{name} dim {dim} ({what}) must be positive, got 0")


@irdl_op_definition
class GatherOp(IRDLOperation):
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
        assert isinstance(value.type, MemRefType)
        return value.type  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]

    def token_elements(self) -> tuple[int, int]:
        """``H`` of SPEC section 1 for keys and values: elements per token."""
        key = self.memref_type(self.key_cache).get_shape()
        value = self.memref_type(self.value_cache).get_shape()
        if self.mode == CacheMode.Norm:
            return key[2] * key[3], value[2] * value[3]
        return key[1] * key[3], value[1] * value[3]

    def cache_dim_names(self) -> tuple[str, str, str, str]:
        if self.mode == CacheMode.Norm:
            return ("num_blocks", "block_size", "num_heads", "head_size")
        return ("num_blocks", "H / ea", "block_size", "ea")

    def block_size(self) -> int:
        return self.memref_type(self.key_cache).get_shape()[
            2 if self.mode == CacheMode.PA_NZ else 1
        ]

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
        """The body and parameters of ``stream`` (``key`` or ``value``)."""
        if stream == "key":
            return self.key_map, self.key_params
        return self.value_map, self.value_params

    def stream_program(self, stream: str) -> ElementwiseProgram | None:
        """What ``stream``'s map computes (valid after verification); None: no map."""
        region, params = self.stream_map(stream)
        if region is None:
            return None
        cache = self.key_cache if stream == "key" else self.value_cache
        out = self.key_out if stream == "key" else self.value_out
        return check_body(
            f"{stream}_map",
            region.block,
            self.memref_type(cache).get_element_type(),
            self.memref_type(out).get_element_type(),
            len(params),
        )

    @property
    def is_fused(self) -> bool:
        """Whether a consumer is fused into either stream."""
        return self.key_map is not None or self.value_map is not None

    def verify_(self) -> None:
        self.verify_distinct_outputs()
        self.verify_layout()
        self.verify_positive_layout()
        if self.soc is not None:
            self.verify_soc(self.soc.data)

    def verify_distinct_outputs(self) -> None:
        """An output must be a buffer of its own: not another operand, not the other output.

        The op writes ``key_out``/``value_out`` while it reads the other operands, so an
        output that is also an input (or both outputs one buffer) has no meaning: the
        kernel would read block ids or tokens from bytes it has already overwritten.
        The IR can only see the same SSA value; the host runtime checks real memory
        overlap (``runtime.host.checks``).
        """
        roles = self.operands_by_role()
        for out_role in ("key_out", "value_out"):
            out = getattr(self, out_role)
            for role, value in roles:
                if role != out_role and value is out:
                    raise VerifyException(
                        f"{out_role} is the same value as {role}: an output of pakv.gather "
                        "must be a buffer of its own (it is written while the other operands "
                        "are read)"
                    )

    def verify_layout(self) -> None:
        """Every static rule of SPEC section 3 except that layout dimensions be positive.

        Split out because SPEC section 3 waives positivity for an *empty* call (a cache
        or output with no elements succeeds and writes nothing): the host runtime runs
        this part alone on such calls, and the whole verifier on all others.
        """
        c = _Checker
        kc = c.memref("key_cache", self.key_cache)
        vc = c.memref("value_cache", self.value_cache)
        bt = c.memref("block_tables", self.block_tables)
        sl = c.memref("seq_lens", self.seq_lens)
        ko = c.memref("key_out", self.key_out)
        vo = c.memref("value_out", self.value_out)
        so = None if self.seq_offset is None else c.memref("seq_offset", self.seq_offset)

        nz = self.mode == CacheMode.PA_NZ
        out_rank = 2 if nz else 3
        for name, ty, rank in (
            ("key_cache", kc, 4), ("value_cache", vc, 4), ("block_tables", bt, 2),
            ("seq_lens", sl, 1), ("key_out", ko, out_rank), ("value_out", vo, out_rank),
        ):  # fmt: skip
            c.rank(name, ty, rank)
        if so is not None:
            c.rank("seq_offset", so, 1)
        named = {
            "key_cache": kc, "value_cache": vc, "block_tables": bt, "seq_lens": sl,
            "seq_offset": so, "key_out": ko, "value_out": vo,
        }  # fmt: skip
        for name, ty in named.items():
            if ty is not None:
                c.fail_if(global_memory_error(name, ty))

        # Batch: seq_lens has batch (or batch + 1 when cumsum) entries, seq_offset batch.
        batch = bt.get_shape()[0]
        lens = sl.get_shape()[0]
        if batch != DYNAMIC_INDEX and lens != DYNAMIC_INDEX:
            expected = batch + 1 if self.is_cumsum else batch
            if lens != expected:
                form = "batch + 1 (cumsum)" if self.is_cumsum else "batch"
                raise VerifyException(f"seq_lens dim 0 must be {form} = {expected}, got {lens}")
        if so is not None:
            c.equal("seq_offset", 0, "batch", batch, so.get_shape()[0])

        # Static layout dimensions.
        names = self.cache_dim_names()
        for name, ty in (("key_cache", kc), ("value_cache", vc)):
            for dim in (1, 2, 3):
                c.static(name, ty, dim, names[dim])
        block_dim = 2 if nz else 1
        c.equal("value_cache", 0, "num_blocks", kc.get_shape()[0], vc.get_shape()[0])
        c.equal(
            "value_cache", block_dim, "block_size",
            kc.get_shape()[block_dim], vc.get_shape()[block_dim],
        )  # fmt: skip

        # Element types.
        key_kind = c.kv_kind("key_cache", kc)
        value_kind = c.kv_kind("value_cache", vc)
        for name, out, cache_name, cache in (
            ("key_out", ko, "key_cache", kc), ("value_out", vo, "value_cache", vc)
        ):  # fmt: skip
            region, _ = self.stream_map(name.removesuffix("_out"))
            if region is None and out.get_element_type() != cache.get_element_type():
                raise VerifyException(
                    f"{name} element type must equal {cache_name}'s "
                    f"{cache.get_element_type()}, got {out.get_element_type()}"
                )
        if not nz and key_kind != value_kind:
            raise VerifyException(
                f"value_cache element type must equal key_cache's {key_kind.ir_type} in "
                f"Norm mode, got {value_kind.ir_type}"
            )
        # Layouts (SPEC section 9): dense, but for the stride of a cache's first axis.
        c.fail_if(cache_layout_error("key_cache", kc, key_kind.size))
        c.fail_if(cache_layout_error("value_cache", vc, value_kind.size))
        for name, ty in named.items():
            if ty is not None and name not in ("key_cache", "value_cache"):
                c.fail_if(dense_layout_error(name, ty))
        index_kind = index_kind_of_type(bt.get_element_type())
        if index_kind is None:
            raise VerifyException(
                f"block_tables element type must be i32 or i64, got {bt.get_element_type()}"
            )
        for name, ty in (("seq_lens", sl), ("seq_offset", so)):
            if ty is not None and ty.get_element_type() != bt.get_element_type():
                raise VerifyException(
                    f"{name} element type must equal block_tables' "
                    f"{bt.get_element_type()}, got {ty.get_element_type()}"
                )

        # Output dimensions against the caches: only num_tokens (dim 0) may be dynamic.
        out_names = ("H",) if nz else ("num_heads", "head_size")
        for name, out in (("key_out", ko), ("value_out", vo)):
            for dim, what in enumerate(out_names, start=1):
                c.static(name, out, dim, what)
        if nz:
            for name, cache, kind in (("key_cache", kc, key_kind), ("value_cache", vc, value_kind)):
                row = cache.get_shape()[3] * kind.size
                if row != NZ_ROW_BYTES:
                    raise VerifyException(
                        f"{name} dim 3 (ea) must hold one 32-byte NZ row: expected "
                        f"{NZ_ROW_BYTES // kind.size} elements of {kind.ir_type}, "
                        f"got {cache.get_shape()[3]} ({row} bytes)"
                    )
            for name, out, cache in (("key_out", ko, kc), ("value_out", vo, vc)):
                h = cache.get_shape()[1] * cache.get_shape()[3]
                c.equal(name, 1, "H = cache dim 1 * dim 3", h, out.get_shape()[1])
        else:
            for name, out, cache in (("key_out", ko, kc), ("value_out", vo, vc)):
                c.equal(name, 1, "num_heads", cache.get_shape()[2], out.get_shape()[1])
                c.equal(name, 2, "head_size", cache.get_shape()[3], out.get_shape()[2])
        c.equal("value_out", 0, "num_tokens", ko.get_shape()[0], vo.get_shape()[0])

        key_h, value_h = self.token_elements()
        c.token_limit("key_cache", key_h, key_kind)
        c.token_limit("value_cache", value_h, value_kind)
        self.verify_maps()

    def verify_maps(self) -> None:
        """Each stream's map: its parameters' shapes and its body (SPEC section 7),
        against the stream's cache and output element types. A stream without a map
        takes no parameters."""
        for stream in ("key", "value"):
            region, params = self.stream_map(stream)
            if region is None:
                if params:
                    raise VerifyException(
                        f"{stream}_params are the parameters of {stream}_map, which is absent"
                    )
                continue
            out = self.memref_type(self.key_out if stream == "key" else self.value_out)
            check_params(f"{stream}_map", params, out.get_shape()[1:])
            self.stream_program(stream)

    def verify_positive_layout(self) -> None:
        """A static layout dimension of 0 can never describe a token.

        Dynamic dims (num_blocks, batch, max_blocks_per_seq, num_tokens) may be 0: the
        runtime treats such a call as empty.
        """
        names = self.cache_dim_names()
        for name, value in (("key_cache", self.key_cache), ("value_cache", self.value_cache)):
            ty = self.memref_type(value)
            for dim in (1, 2, 3):
                _Checker.positive(name, ty, dim, names[dim])

    def verify_soc(self, soc_name: str) -> None:
        """SPEC section 4: the SoC exists, runs the operator, and takes these dtypes."""
        try:
            soc = soc_info(soc_name)
        except SocError as e:
            raise VerifyException(str(e)) from e
        key_kind, value_kind = self.kv_kinds()
        for name, kind in (("key_cache", key_kind), ("value_cache", value_kind)):
            if not soc.supports_kv_dtype(kind):
                raise VerifyException(
                    f"{name} element type {kind.name} is not supported on {soc.name} "
                    f"(supported: {', '.join(sorted(soc.kv_dtypes))})"
                )
        index_kind = index_kind_of_type(self.memref_type(self.block_tables).get_element_type())
        assert index_kind is not None
        if not soc.supports_index_dtype(index_kind):
            raise VerifyException(
                f"block_tables element type {index_kind.name} is not supported on {soc.name} "
                f"(supported: {', '.join(sorted(soc.index_dtypes))})"
            )
        for stream in ("key", "value"):
            program = self.stream_program(stream)
            if program is not None:
                try:
                    hardware_casts(program, soc)
                except VerifyException as e:
                    raise VerifyException(f"{stream}_map: {e}") from e


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
        source = _Checker.memref("source", self.source)
        target = _Checker.memref("target", self.target)
        if source.get_num_dims() < 2 or source.get_num_dims() != target.get_num_dims():
            raise VerifyException(
                f"pakv.map maps a token-major tensor [num_tokens, ...] onto one of the same "
                f"rank, got {source} and {target}"
            )
        for dim, (a, b) in enumerate(zip(source.get_shape(), target.get_shape(), strict=True)):
            _Checker.equal("target", dim, "as source", a, b)
            if dim and a == DYNAMIC_INDEX:
                raise VerifyException(f"source dim {dim} (a token's inner dim) must be static")
        if self.source is self.target:
            raise VerifyException("pakv.map writes a tensor of its own, not its source")
        check_params("pakv.map", self.params, source.get_shape()[1:])
        self.program()


PAKV = Dialect("pakv", [GatherOp, MapOp, YieldOp, ExtFOp], [CacheModeAttr, HiFloat8Type])
