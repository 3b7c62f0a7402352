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

from xdsl.dialects.builtin import MemRefType, ModuleOp, NoneAttr, StridedLayoutAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue

from pakv_dialect.layouts import dense_strides
from pakv_dialect.pakv import CacheMode, GatherOp, KvOp, ScatterOp
from runtime.call import (
    CACHE_ROLES,
    DYNAMIC_SIZES,
    OPERAND_ROLES,
    SCATTER_ROLES,
    GatherSignature,
    KernelSignature,
    RunSizes,
    ScatterSignature,
)

KERNEL_NAME = "pakv_gather"
"""The symbol of the function holding the op."""
SCATTER_KERNEL_NAME = "pakv_scatter"
"""The symbol of the function holding a ``pakv.scatter``."""


def gather_module(
    operand_types: Mapping[str, MemRefType],
    *,
    cache_mode: CacheMode,
    cumsum: bool,
    soc: str | None,
) -> ModuleOp:
    """``func.func @pakv_gather(...)`` with one ``pakv.gather`` on its arguments.

    ``operand_types`` maps each role of ``OPERAND_ROLES`` to its memref type;
    ``seq_offset`` may be absent. Arguments follow ``OPERAND_ROLES`` order.
    """
    roles = [role for role in OPERAND_ROLES if role in operand_types]
    func = FuncOp(KERNEL_NAME, ([operand_types[r] for r in roles], []))
    args: dict[str, BlockArgument] = {}
    for role, arg in zip(roles, func.body.block.args, strict=True):
        arg.name_hint = role
        args[role] = arg
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
    )
    func.body.block.add_ops([gather, ReturnOp()])
    return ModuleOp([func])


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


def build_gather_module(signature: GatherSignature, sizes: RunSizes = DYNAMIC_SIZES) -> ModuleOp:
    """The module of ``signature``; every size that ``sizes`` leaves None stays ``?``.

    Without sizes this is the form that is compiled and cached per signature.
    """
    shapes = signature.operand_shapes(sizes)
    types = signature_types(signature, shapes, dynamic_blocks=sizes.num_blocks is None)
    return gather_module(
        types, cache_mode=signature.cache_mode, cumsum=signature.cumsum, soc=signature.soc
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
    operands: CheckedOperands, *, cache_mode: CacheMode, cumsum: bool, soc: str
) -> ModuleOp:
    """The static module of one concrete gather (:data:`CheckedOperands`)."""
    return gather_module(checked_types(operands), cache_mode=cache_mode, cumsum=cumsum, soc=soc)


def scatter_module(
    operand_types: Mapping[str, MemRefType], *, cache_mode: CacheMode, soc: str | None
) -> ModuleOp:
    """``func.func @pakv_scatter(...)`` with one ``pakv.scatter`` on its arguments, in
    ``SCATTER_ROLES`` order."""
    func = FuncOp(SCATTER_KERNEL_NAME, ([operand_types[r] for r in SCATTER_ROLES], []))
    args = dict(zip(SCATTER_ROLES, func.body.block.args, strict=True))
    for role, arg in args.items():
        arg.name_hint = role
    scatter = ScatterOp(
        args["key"],
        args["value"],
        args["slot_mapping"],
        args["key_cache"],
        args["value_cache"],
        cache_mode,
        soc=soc,
    )
    func.body.block.add_ops([scatter, ReturnOp()])
    return ModuleOp([func])


def build_scatter_module(
    signature: ScatterSignature, num_tokens: int | None = None, num_blocks: int | None = None
) -> ModuleOp:
    """The module of a scatter signature; sizes left None stay ``?`` (the compiled form,
    its caches strided as :func:`signature_types` says)."""
    shapes = signature.operand_shapes(num_tokens, num_blocks)
    types = signature_types(signature, shapes, dynamic_blocks=num_blocks is None)
    return scatter_module(types, cache_mode=signature.cache_mode, soc=signature.soc)


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
