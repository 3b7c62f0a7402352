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
from pakv_dialect.pakv import CacheMode, GatherOp
from runtime.call import CACHE_ROLES, DYNAMIC_SIZES, OPERAND_ROLES, GatherSignature, RunSizes

KERNEL_NAME = "pakv_gather"
"""The symbol of the function holding the op."""


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


def build_gather_module(signature: GatherSignature, sizes: RunSizes = DYNAMIC_SIZES) -> ModuleOp:
    """The module of ``signature``; every size that ``sizes`` leaves None stays ``?``.

    Without sizes this is the form that is compiled and cached per signature. Where
    num_blocks is left to run time, so is where the blocks lie: the caches are
    ``strided<[?, inner dense strides]>`` (SPEC section 9), their block strides read
    from the tiling, so one kernel serves dense caches and strided views alike.
    """
    types: dict[str, MemRefType] = {}
    for role, shape in signature.operand_shapes(sizes).items():
        layout: StridedLayoutAttr | NoneAttr = NoneAttr()
        if role in CACHE_ROLES and sizes.num_blocks is None:
            layout = StridedLayoutAttr([None, *dense_strides(shape)[1:]])
        types[role] = MemRefType(signature.element(role).ir_type, shape, layout)
    return gather_module(
        types, cache_mode=signature.cache_mode, cumsum=signature.cumsum, soc=signature.soc
    )


def build_checked_module(
    operands: Mapping[str, tuple[Attribute, tuple[int, ...], tuple[int, ...] | None]],
    *,
    cache_mode: CacheMode,
    cumsum: bool,
    soc: str,
) -> ModuleOp:
    """The static module of one concrete call: each role's (element type, exact shape,
    element strides or None when dense)."""
    types = {
        role: MemRefType(
            element, shape, NoneAttr() if strides is None else StridedLayoutAttr(strides)
        )
        for role, (element, shape, strides) in operands.items()
    }
    return gather_module(types, cache_mode=cache_mode, cumsum=cumsum, soc=soc)


def gather_operands(op: GatherOp) -> dict[str, SSAValue]:
    """The op's operands by role (``OPERAND_ROLES`` order); an absent seq_offset is left out."""
    return dict(op.operands_by_role())


class GatherBindingError(ValueError):
    """The module holds no usable ``pakv.gather`` (none, several, or not on arguments)."""


@dataclass(frozen=True)
class GatherBinding:
    """Where a module's ``pakv.gather`` takes its operands from."""

    func: FuncOp
    op: GatherOp
    argument_of: dict[str, int]
    """Operand role -> index of the function argument feeding it."""


def find_gather(module: ModuleOp, func_name: str | None = None) -> GatherBinding:
    """The single ``pakv.gather`` (of ``@func_name`` if given) and its arguments' roles."""
    scope: Operation = module
    if func_name is not None:
        funcs = [op for op in module.ops if isinstance(op, FuncOp)]
        named = [f for f in funcs if f.sym_name.data == func_name]
        if not named:
            raise GatherBindingError(f"no func.func @{func_name} in the module")
        scope = named[0]
    gathers = [op for op in scope.walk() if isinstance(op, GatherOp)]
    if len(gathers) != 1:
        where = "" if func_name is None else f" in @{func_name}"
        raise GatherBindingError(f"expected exactly one pakv.gather{where}, found {len(gathers)}")
    op = gathers[0]
    func = op.parent_op()
    if not isinstance(func, FuncOp):
        raise GatherBindingError("pakv.gather must sit directly in a func.func")
    argument_of: dict[str, int] = {}
    for role, value in gather_operands(op).items():
        if not isinstance(value, BlockArgument) or value.block is not func.body.block:
            raise GatherBindingError(
                f"pakv.gather operand {role} must be an argument of @{func.sym_name.data}"
            )
        argument_of[role] = value.index
    return GatherBinding(func, op, argument_of)
