"""Build the IR of one call, and find the ``pakv.gather`` inside a user's IR.

One builder (``gather_module``) serves every use. The *dynamic* module
(``build_gather_module`` without sizes) is what the host API compiles: num_blocks,
batch, max_blocks_per_seq and num_tokens are ``?``, so one kernel serves every call
with the same ``GatherSignature``; with sizes it is the static module a tool's shape
flags describe (``runtime.tool.shape_spec``). The *checked* module (``build_checked_module``)
carries one call's exact shapes and element types, valid or not, so that the
``pakv.gather`` verifier is the one place that checks a call's static rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import arith, math, memref
from xdsl.dialects.builtin import (
    AffineMapAttr,
    Float32Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    NoneAttr,
    StridedLayoutAttr,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.dialects.linalg.attrs import IteratorTypeAttr
from xdsl.dialects.linalg.ops import GenericOp
from xdsl.dialects.linalg.ops import YieldOp as LinalgYieldOp
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from pakv_dialect.dtypes import SATURATION_BOUNDS, ElementKind, kv_kind_of_type
from pakv_dialect.elementwise import ExtFOp, YieldOp
from pakv_dialect.layouts import dense_strides
from pakv_dialect.pakv import CacheMode, GatherOp, KvOp, ScatterOp
from runtime.call import (
    CACHE_ROLES,
    DYNAMIC_SIZES,
    OPERAND_ROLES,
    OUTPUT_ROLES,
    SCATTER_ROLES,
    DequantSpec,
    GatherSignature,
    KernelSignature,
    QuantSpec,
    RunSizes,
    ScatterSignature,
    argument_name,
    stream_of,
)

KERNEL_NAME = "pakv_gather"
"""The symbol of the function holding the op."""
SCATTER_KERNEL_NAME = "pakv_scatter"
"""The symbol of the function holding a ``pakv.scatter``."""


_F32 = Float32Type()


def _convert_to_f32(kind: ElementKind, value: SSAValue) -> Operation:
    """The body op that converts an element of ``kind`` to f32 exactly."""
    if kind.name == "hifloat8":
        return ExtFOp(value, _F32)
    if kind.name in ("int8", "int16"):
        return arith.SIToFPOp(value, _F32)
    if kind.name in ("uint8", "uint16"):
        return arith.UIToFPOp(value, _F32)
    return arith.ExtFOp(value, _F32)


def _dequant_ops(
    kind: ElementKind, spec: DequantSpec, element: SSAValue, params: list[SSAValue]
) -> tuple[list[Operation], SSAValue]:
    """SPEC section 7's ops on ``element``: to f32, minus the offset, times the scale,
    to the output kind; returns them and the result."""
    by_name = dict(zip((name for name, _ in spec.params), params, strict=True))
    ops: list[Operation] = [_convert_to_f32(kind, element)]
    ops[-1].results[0].name_hint = "x_f"
    if "offset" in by_name:
        ops.append(arith.SubfOp(ops[-1].results[0], by_name["offset"]))
    if "scale" in by_name:
        ops.append(arith.MulfOp(ops[-1].results[0], by_name["scale"]))
    if spec.out_kind != "fp32":
        ops.append(arith.TruncFOp(ops[-1].results[0], spec.out_element.ir_type))
    return ops, ops[-1].results[0]


def dequant_body(kind: ElementKind, spec: DequantSpec) -> Region:
    """A ``pakv`` body (``^bb0(%x, %scale?, %offset?)``) computing ``spec`` on ``kind``."""
    block = Block(arg_types=[kind.ir_type, *(_F32 for _ in spec.params)])
    block.args[0].name_hint = "x"
    for arg, (name, _) in zip(block.args[1:], spec.params, strict=True):
        arg.name_hint = name
    ops, result = _dequant_ops(kind, spec, block.args[0], list(block.args[1:]))
    block.add_ops([*ops, YieldOp(result)])
    return Region(block)


def _quant_ops(
    kind: ElementKind, spec: QuantSpec, element: SSAValue, params: list[SSAValue]
) -> tuple[list[Operation], SSAValue]:
    """SPEC section 8's ops on ``element`` in the accepted upstream spelling
    (``pakv_dialect.elementwise``): to f32, times the inverse scale, plus the offset,
    then roundeven, clamp and fptosi (int8) or clamp and truncf (fp8)."""
    by_name = dict(zip((name for name, _ in spec.params), params, strict=True))
    ops: list[Operation] = [_convert_to_f32(kind, element)]
    ops[-1].results[0].name_hint = "x_f"
    ops.append(arith.MulfOp(ops[-1].results[0], by_name["inv_scale"]))
    if "offset" in by_name:
        ops.append(arith.AddfOp(ops[-1].results[0], by_name["offset"]))
    target = spec.out_element
    if target.name == "int8":
        ops.append(math.RoundEvenOp(ops[-1].results[0]))
    low, high = SATURATION_BOUNDS[target.name]
    bounds = [arith.ConstantOp(FloatAttr(bound, _F32)) for bound in (low, high)]
    bounds[0].result.name_hint, bounds[1].result.name_hint = "low", "high"
    value = ops[-1].results[0]
    clamp_low = arith.MaximumfOp(value, bounds[0].result)
    clamp_high = arith.MinimumfOp(clamp_low.result, bounds[1].result)
    convert: Operation = (
        arith.FPToSIOp(clamp_high.result, target.ir_type)  # pyright: ignore[reportArgumentType]
        if target.name == "int8"
        else arith.TruncFOp(clamp_high.result, target.ir_type)
    )
    convert.results[0].name_hint = "q"
    return [*bounds, *ops, clamp_low, clamp_high, convert], convert.results[0]


def quant_body(kind: ElementKind, spec: QuantSpec) -> Region:
    """A ``pakv`` body (``^bb0(%x, %inv_scale, %offset?)``) computing ``spec`` on ``kind``."""
    block = Block(arg_types=[kind.ir_type, *(_F32 for _ in spec.params)])
    block.args[0].name_hint = "x"
    for arg, (name, _) in zip(block.args[1:], spec.params, strict=True):
        arg.name_hint = name
    ops, result = _quant_ops(kind, spec, block.args[0], list(block.args[1:]))
    block.add_ops([*ops, YieldOp(result)])
    return Region(block)


def gather_module(
    operand_types: Mapping[str, MemRefType],
    *,
    cache_mode: CacheMode,
    cumsum: bool,
    soc: str | None,
    maps: Mapping[str, DequantSpec] | None = None,
) -> ModuleOp:
    """``func.func @pakv_gather(...)`` with one ``pakv.gather`` on its arguments.

    ``operand_types`` maps each role of ``OPERAND_ROLES`` to its memref type;
    ``seq_offset`` may be absent. Arguments follow ``OPERAND_ROLES`` order, then each
    stream's map parameters (``key_param_0``, ...) when ``maps`` gives the stream a
    consumer (:class:`~runtime.call.DequantSpec`; the parameters' types are in
    ``operand_types`` too).
    """
    maps = maps or {}
    roles = [role for role in OPERAND_ROLES if role in operand_types]
    roles += [role for role in operand_types if "_param_" in role]
    func = FuncOp(KERNEL_NAME, ([operand_types[r] for r in roles], []))
    args: dict[str, BlockArgument] = {}
    for role, arg in zip(roles, func.body.block.args, strict=True):
        arg.name_hint = argument_name(role, maps.get(stream_of(role)))
        args[role] = arg

    def stream(name: str) -> tuple[list[SSAValue], Region | None]:
        spec = maps.get(name)
        if spec is None:
            return [], None
        params: list[SSAValue] = [args[f"{name}_param_{i}"] for i in range(len(spec.params))]
        cache = operand_types[f"{name}_cache"].get_element_type()
        return params, dequant_body(_kind_of(cache), spec)

    key_params, key_map = stream("key")
    value_params, value_map = stream("value")
    gather = GatherOp(
        args["key_cache"],
        args["value_cache"],
        args["block_tables"],
        args["seq_lens"],
        args.get("seq_offset"),
        args["key_out"],
        args["value_out"],
        cache_mode,
        seq_lens_cumsum=cumsum,
        soc=soc,
        key_params=key_params,
        value_params=value_params,
        key_map=key_map,
        value_map=value_map,
    )
    func.body.block.add_ops([gather, ReturnOp()])
    return ModuleOp([func])


def _kind_of(ty: Attribute) -> ElementKind:
    kind = kv_kind_of_type(ty)
    assert kind is not None, ty
    return kind


def _maps(signature: GatherSignature) -> dict[str, DequantSpec]:
    return {
        stream: spec
        for stream in ("key", "value")
        if (spec := signature.stream_map(stream)) is not None
    }


def signature_types(
    signature: KernelSignature, shapes: Mapping[str, tuple[int, ...]], *, dynamic_blocks: bool
) -> dict[str, MemRefType]:
    """Each operand's memref type at ``shapes``. Where num_blocks is left to run time
    (``dynamic_blocks``), so is where the blocks lie: the caches are ``strided<[?, inner
    dense strides]>`` (SPEC section 9), their block strides read from the tiling, so one
    kernel serves dense caches and strided views alike."""
    types: dict[str, MemRefType] = {}
    for role, shape in shapes.items():
        layout: StridedLayoutAttr | NoneAttr = NoneAttr()
        if role in CACHE_ROLES and dynamic_blocks:
            layout = StridedLayoutAttr([None, *dense_strides(shape)[1:]])
        types[role] = MemRefType(signature.element(role).ir_type, shape, layout)
    return types


def _operand_types(signature: GatherSignature, sizes: RunSizes) -> dict[str, MemRefType]:
    """Every operand's memref type at ``sizes`` (:func:`signature_types`)."""
    shapes = signature.operand_shapes(sizes)
    return signature_types(signature, shapes, dynamic_blocks=sizes.num_blocks is None)


def build_gather_module(signature: GatherSignature, sizes: RunSizes = DYNAMIC_SIZES) -> ModuleOp:
    """The module of ``signature``; every size that ``sizes`` leaves None stays ``?``.

    Without sizes this is the form that is compiled and cached per signature. Where
    num_blocks is left to run time, so is where the blocks lie: the caches are
    ``strided<[?, inner dense strides]>`` (SPEC section 9), their block strides read
    from the tiling, so one kernel serves dense caches and strided views alike. A
    signature with consumers gives the fused op (``key_map``/``value_map``).
    """
    return gather_module(
        _operand_types(signature, sizes),
        cache_mode=signature.cache_mode,
        cumsum=signature.cumsum,
        soc=signature.soc,
        maps=_maps(signature),
    )


def build_unfused_module(
    signature: GatherSignature, sizes: RunSizes = DYNAMIC_SIZES, name: str = KERNEL_NAME
) -> ModuleOp:
    """The program a researcher writes for ``signature``'s consumers (SPEC section 7):
    ``pakv.gather`` into buffers it allocates, then one elementwise ``linalg.generic``
    per consumer, each reading its intermediate and writing the output argument.

    The arguments are the fused module's (the same roles, in the same order), so
    both take the same data. ``pakv-fuse-consumers`` turns this into
    :func:`build_gather_module`'s op.
    """
    types = _operand_types(signature, sizes)
    roles = list(signature.roles)
    func = FuncOp(name, ([types[r] for r in roles], []))
    args = dict(zip(roles, func.body.block.args, strict=True))
    for role, arg in args.items():
        arg.name_hint = signature.argument_name(role)
    block = func.body.block
    intermediates: dict[str, SSAValue] = {}
    frees: list[Operation] = []
    for out_role in OUTPUT_ROLES:
        stream = out_role.removesuffix("_out")
        if signature.stream_map(stream) is None:
            intermediates[out_role] = args[out_role]
            continue
        out_type = types[out_role]
        cache = signature.element(f"{stream}_cache")
        buffer_type = MemRefType(cache.ir_type, out_type.get_shape())
        dynamic: list[SSAValue] = []
        if out_type.get_shape()[0] < 0:
            zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
            dim = memref.DimOp(args[out_role], zero.result)
            block.add_ops([zero, dim])
            dynamic = [dim.result]
        alloc = memref.AllocOp(dynamic, [], buffer_type)
        block.add_op(alloc)
        alloc.memref.name_hint = f"{stream}_gathered"
        intermediates[out_role] = alloc.memref
        frees.append(memref.DeallocOp.get(alloc.memref))
    block.add_op(
        GatherOp(
            args["key_cache"], args["value_cache"], args["block_tables"], args["seq_lens"],
            args.get("seq_offset"), intermediates["key_out"], intermediates["value_out"],
            signature.cache_mode, seq_lens_cumsum=signature.cumsum, soc=signature.soc,
        )
    )  # fmt: skip
    for out_role in OUTPUT_ROLES:
        stream = out_role.removesuffix("_out")
        spec = signature.stream_map(stream)
        if spec is not None:
            params: list[SSAValue] = [args[f"{stream}_param_{i}"] for i in range(len(spec.params))]
            block.add_op(_linalg_consumer(intermediates[out_role], params, args[out_role], spec))
    block.add_ops([*frees, ReturnOp()])
    return ModuleOp([func])


def _linalg_consumer(
    source: SSAValue, params: list[SSAValue], target: SSAValue, spec: DequantSpec | QuantSpec
) -> GenericOp:
    """``linalg.generic`` computing ``spec`` from ``source`` into ``target`` (SPEC
    section 7's consumer, or section 8's quantising producer)."""
    source_type = source.type
    target_type = target.type
    assert isinstance(source_type, MemRefType) and isinstance(target_type, MemRefType)
    rank = target_type.get_num_dims()
    identity = AffineMapAttr(AffineMap.identity(rank))
    channel = AffineMapAttr(AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in range(1, rank))))
    per_tensor = AffineMapAttr(AffineMap(rank, 0, ()))
    maps = [identity]
    for (_, reach), _value in zip(spec.params, params, strict=True):
        maps.append(channel if reach == "channel" else per_tensor)
    maps.append(identity)
    kind = _kind_of(source_type.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
    block = Block(arg_types=[kind.ir_type, *(_F32 for _ in params), spec.out_element.ir_type])
    build = _quant_ops if isinstance(spec, QuantSpec) else _dequant_ops
    ops, result = build(kind, spec, block.args[0], list(block.args[1:-1]))  # pyright: ignore[reportArgumentType]
    block.add_ops([*ops, LinalgYieldOp(result)])
    return GenericOp(
        [source, *params],
        [target],
        Region(block),
        maps,
        [IteratorTypeAttr.parallel()] * rank,
    )


CheckedOperands = Mapping[str, tuple[Attribute, tuple[int, ...], tuple[int, ...] | None]]
"""One concrete call's operands by role: (element type, exact shape, element strides or
None when dense)."""


def checked_types(operands: CheckedOperands) -> dict[str, MemRefType]:
    """The exact memref type of each operand of one concrete call, strides included."""
    return {
        role: MemRefType(
            element, shape, NoneAttr() if strides is None else StridedLayoutAttr(strides)
        )
        for role, (element, shape, strides) in operands.items()
    }


def build_checked_module(
    operands: CheckedOperands,
    *,
    cache_mode: CacheMode,
    cumsum: bool,
    soc: str,
    maps: Mapping[str, DequantSpec] | None = None,
) -> ModuleOp:
    """The static module of one concrete gather (:data:`CheckedOperands`), with the
    call's consumers (``maps``) when it dequantises."""
    types = checked_types(operands)
    return gather_module(types, cache_mode=cache_mode, cumsum=cumsum, soc=soc, maps=maps)


def scatter_module(
    operand_types: Mapping[str, MemRefType],
    *,
    cache_mode: CacheMode,
    soc: str | None,
    maps: Mapping[str, QuantSpec] | None = None,
) -> ModuleOp:
    """``func.func @pakv_scatter(...)`` with one ``pakv.scatter`` on its arguments, in
    ``SCATTER_ROLES`` order, then each quantised stream's parameters (``maps``: the
    fused quantisation of SPEC section 8)."""
    maps = maps or {}
    roles = [*SCATTER_ROLES, *(role for role in operand_types if "_param_" in role)]
    func = FuncOp(SCATTER_KERNEL_NAME, ([operand_types[r] for r in roles], []))
    args = dict(zip(roles, func.body.block.args, strict=True))
    for role, arg in args.items():
        arg.name_hint = argument_name(role, maps.get(stream_of(role)))

    def stream(name: str) -> tuple[list[SSAValue], Region | None]:
        spec = maps.get(name)
        if spec is None:
            return [], None
        params: list[SSAValue] = [args[f"{name}_param_{i}"] for i in range(len(spec.params))]
        return params, quant_body(_kind_of(operand_types[name].get_element_type()), spec)

    key_params, key_map = stream("key")
    value_params, value_map = stream("value")
    scatter = ScatterOp(
        args["key"], args["value"], args["slot_mapping"], args["key_cache"],
        args["value_cache"], cache_mode, soc=soc, key_params=key_params,
        value_params=value_params, key_map=key_map, value_map=value_map,
    )  # fmt: skip
    func.body.block.add_ops([scatter, ReturnOp()])
    return ModuleOp([func])


def _scatter_types(
    signature: ScatterSignature, num_tokens: int | None, num_blocks: int | None
) -> dict[str, MemRefType]:
    shapes = signature.operand_shapes(num_tokens, num_blocks)
    return signature_types(signature, shapes, dynamic_blocks=num_blocks is None)


def _scatter_maps(signature: ScatterSignature) -> dict[str, QuantSpec]:
    return {
        stream: spec
        for stream in ("key", "value")
        if (spec := signature.stream_map(stream)) is not None
    }


def build_scatter_module(
    signature: ScatterSignature, num_tokens: int | None = None, num_blocks: int | None = None
) -> ModuleOp:
    """The module of a scatter signature; sizes left None stay ``?`` (the compiled form,
    its caches strided as :func:`signature_types` says). A quantising signature gives
    the fused op (``key_map`` / ``value_map``)."""
    return scatter_module(
        _scatter_types(signature, num_tokens, num_blocks),
        cache_mode=signature.cache_mode,
        soc=signature.soc,
        maps=_scatter_maps(signature),
    )


def build_unfused_scatter_module(
    signature: ScatterSignature, num_tokens: int | None = None, num_blocks: int | None = None
) -> ModuleOp:
    """The program a researcher writes for a quantising scatter (SPEC section 8): one
    elementwise ``linalg.generic`` per quantised stream, from the tokens into a buffer
    of the cache's dtype it allocates, then ``pakv.scatter`` of those buffers. The
    arguments are the fused module's; ``pakv-fuse-consumers`` turns this into
    :func:`build_scatter_module`'s op."""
    types = _scatter_types(signature, num_tokens, num_blocks)
    roles = list(signature.roles)
    func = FuncOp(SCATTER_KERNEL_NAME, ([types[r] for r in roles], []))
    args = dict(zip(roles, func.body.block.args, strict=True))
    for role, arg in args.items():
        arg.name_hint = signature.argument_name(role)
    block = func.body.block
    tokens: dict[str, SSAValue] = {}
    frees: list[Operation] = []
    for stream in ("key", "value"):
        spec = signature.stream_map(stream)
        if spec is None:
            tokens[stream] = args[stream]
            continue
        token_type = types[stream]
        dynamic: list[SSAValue] = []
        if token_type.get_shape()[0] < 0:
            zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
            dim = memref.DimOp(args[stream], zero.result)
            block.add_ops([zero, dim])
            dynamic = [dim.result]
        alloc = memref.AllocOp(
            dynamic, [], MemRefType(spec.out_element.ir_type, token_type.get_shape())
        )
        alloc.memref.name_hint = f"{stream}_quantised"
        block.add_op(alloc)
        params: list[SSAValue] = [args[f"{stream}_param_{i}"] for i in range(len(spec.params))]
        block.add_op(_linalg_consumer(args[stream], params, alloc.memref, spec))
        tokens[stream] = alloc.memref
        frees.append(memref.DeallocOp.get(alloc.memref))
    block.add_op(
        ScatterOp(
            tokens["key"], tokens["value"], args["slot_mapping"], args["key_cache"],
            args["value_cache"], signature.cache_mode, soc=signature.soc,
        )
    )  # fmt: skip
    block.add_ops([*frees, ReturnOp()])
    return ModuleOp([func])


def build_module(signature: KernelSignature) -> ModuleOp:
    """The dynamic module of either operator's signature: what is compiled and cached."""
    if isinstance(signature, ScatterSignature):
        return build_scatter_module(signature)
    return build_gather_module(signature)


def kernel_name(signature: KernelSignature) -> str:
    """The symbol of the function :func:`build_module` makes."""
    return SCATTER_KERNEL_NAME if isinstance(signature, ScatterSignature) else KERNEL_NAME


def gather_operands(op: GatherOp) -> dict[str, SSAValue]:
    """The op's operands by role (``OPERAND_ROLES`` order); an absent seq_offset is left out."""
    return dict(op.operands_by_role())


class GatherBindingError(ValueError):
    """The module holds no usable op (none, several, or not on arguments)."""


@dataclass(frozen=True)
class GatherBinding:
    """Where a module's ``pakv.gather`` (or ``pakv.scatter``) takes its operands from."""

    func: FuncOp
    op: KvOp
    argument_of: dict[str, int]
    """Operand role -> index of the function argument feeding it."""


def find_gather(module: ModuleOp, func_name: str | None = None) -> GatherBinding:
    """The single ``pakv.gather`` (of ``@func_name`` if given) and its arguments' roles."""
    return find_kv_op(module, func_name, (GatherOp,))


def find_kv_op(
    module: ModuleOp,
    func_name: str | None = None,
    op_types: tuple[type[GatherOp] | type[ScatterOp], ...] = (GatherOp, ScatterOp),
) -> GatherBinding:
    """The single op of ``op_types`` (of ``@func_name`` if given) and its arguments' roles."""
    scope: Operation = module
    if func_name is not None:
        funcs = [op for op in module.ops if isinstance(op, FuncOp)]
        named = [f for f in funcs if f.sym_name.data == func_name]
        if not named:
            raise GatherBindingError(f"no func.func @{func_name} in the module")
        scope = named[0]
    found = [op for op in scope.walk() if isinstance(op, op_types)]
    if len(found) != 1:
        where = "" if func_name is None else f" in @{func_name}"
        names = " or ".join(t.name for t in op_types)
        raise GatherBindingError(f"expected exactly one {names}{where}, found {len(found)}")
    op = found[0]
    func = op.parent_op()
    if not isinstance(func, FuncOp):
        raise GatherBindingError(f"{op.name} must sit directly in a func.func")
    argument_of: dict[str, int] = {}
    for role, value in op.operands_by_role():
        if not isinstance(value, BlockArgument) or value.block is not func.body.block:
            raise GatherBindingError(
                f"{op.name} operand {role} must be an argument of @{func.sym_name.data}"
            )
        argument_of[role] = value.index
    return GatherBinding(func, op, argument_of)
