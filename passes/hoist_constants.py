"""``ascend-hoist-constants``: every constant of a kernel once, at the top of its entry.

The lowering creates its index constants at the top of the kernel (``KernelBuilder``),
but stock ``canonicalize`` materialises a folded constant where the folded op was,
often inside a tile loop, and does not merge it with an equal constant (xDSL's
``RehoistConstInLoops`` only lifts constants out of one ``scf.for`` level). A constant
inside a loop is an op the interpreter executes per iteration, and two constants for
one slot number are two slot values to ``ascend-insert-sync``. This pass moves every
``arith.constant`` of a kernel function to the top of its entry block, keeps one per
value and type, and names index constants as the lowering does (``%c0``, ``%c4096``).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from pakv_dialect.ascend import KERNEL_ATTR
from passes.kernel_builder import constant_name


def hoist_constants(func: FuncOp) -> None:
    """Move the constants of ``func`` to the top of its entry block, one per value."""
    entry = func.body.block
    kept: dict[tuple[Attribute, Attribute], arith.ConstantOp] = {}
    last: Operation | None = None
    for op in list(func.body.walk()):
        if not isinstance(op, arith.ConstantOp):
            continue
        key = (op.value, op.result.type)
        same = kept.get(key)
        if same is not None:
            op.result.replace_all_uses_with(same.result)
            Rewriter.erase_op(op)
            continue
        kept[key] = op
        value = op.value
        if isinstance(value, IntegerAttr) and isinstance(op.result.type, IndexType):
            op.result.name_hint = constant_name(value.value.data)
        if not (op.parent_block() is entry and op.prev_op is last):
            op.detach()
            Rewriter.insert_op(
                op, InsertPoint.at_start(entry) if last is None else InsertPoint.after(last)
            )
        last = op


@dataclass(frozen=True)
class HoistConstantsPass(ModulePass):
    """Move the ``arith.constant`` ops of every kernel to its entry block, one per value."""

    name = "ascend-hoist-constants"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in op.walk():
            if isinstance(func, FuncOp) and KERNEL_ATTR in func.attributes:
                hoist_constants(func)
