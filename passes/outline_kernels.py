"""``pakv-outline-kernels``: one device kernel per ``pakv`` op of a program.

A program that gathers into buffers it allocates and then consumes them (the unfused
program of SPEC section 7, or one whose consumer could not be fused) is several
kernels run one after another, with host code around them. This pass splits it:
every ``pakv.gather`` and ``pakv.map`` moves into a function of its own,
``@<program>_<i>_<gather|map>``, whose arguments are the op's operands, and the
program calls it in its place (``func.call``). The program keeps its host code
(``memref.alloc`` of the intermediates, ``memref.dim``, ``memref.dealloc``) and gets
``pakv.host``: the runtime runs it op by op, launching each kernel on the vector
cores, and ``convert-pakv-to-ascend`` lowers the kernels. A function that already
is one op on its arguments (a fused gather) is left as it is: it is its own kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, UnitAttr
from xdsl.dialects.func import CallOp, FuncOp, ReturnOp
from xdsl.ir import BlockArgument, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from pakv_dialect.pakv import GatherOp, MapOp

HOST_ATTR = "pakv.host"
"""Unit attribute on a program whose kernels were outlined: host code, run op by op."""


def _is_program(func: FuncOp, ops: list[GatherOp | MapOp]) -> bool:
    """``func`` runs several pakv ops, or one on buffers it makes: a program of kernels.
    (A single op on the arguments is a kernel already; anything else beside it is
    ``convert-pakv-to-ascend``'s to report.)"""
    return len(ops) > 1 or any(
        not (isinstance(v, BlockArgument) and v.block is func.body.block)
        for op in ops
        for v in op.operands
    )


def outline_function(func: FuncOp, module: ModuleOp) -> None:
    """Move each pakv op of ``func`` into its own kernel function (module docstring)."""
    ops = [op for op in func.body.block.ops if isinstance(op, GatherOp | MapOp)]
    if not _is_program(func, ops):
        return
    for index, op in enumerate(ops):
        kind = "gather" if isinstance(op, GatherOp) else "map"
        name = f"{func.sym_name.data}_{index}_{kind}"
        operands = list(op.operands)
        kernel = FuncOp(name, ([v.type for v in operands], []))
        kernel.location = op.location
        mapping: dict[SSAValue, SSAValue] = {}
        for value, arg in zip(operands, kernel.body.block.args, strict=True):
            arg.name_hint = value.name_hint
            mapping[value] = arg
        kernel.body.block.add_ops([op.clone(value_mapper=mapping), ReturnOp()])
        Rewriter.insert_op(kernel, InsertPoint.before(func))
        call = CallOp(name, operands, [])
        call.location = op.location
        Rewriter.replace_op(op, call)
    func.attributes[HOST_ATTR] = UnitAttr()


@dataclass(frozen=True)
class OutlineKernelsPass(ModulePass):
    """Give each ``pakv.gather``/``pakv.map`` of a multi-op program a kernel function."""

    name = "pakv-outline-kernels"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in [f for f in op.ops if isinstance(f, FuncOp)]:
            outline_function(func, op)
