"""The ``barrier`` sync discipline: ``ascend.pipe_barrier`` after every op on the UB.

The older A2/A3 vendor kernel orders its PA_NZ copies with ``PipeBarrier<PIPE_ALL>``
after each one (``op_kernel/gather_pa_kv_cache_nz.h``): the copy's pipe finishes, and
every pipe knows it, before anything else is issued. ``ascend-insert-sync`` applies this
instead of its event flags to a kernel whose ``ascend.sync`` says ``barrier``
(``passes/strategy.py``). It is trivially correct, since no two UB accesses ever
overlap in time, and it is the slowest discipline there is: the cost model shows by
how much.
"""

from __future__ import annotations

from xdsl.dialects.func import FuncOp
from xdsl.rewriter import InsertPoint, Rewriter

from pakv_dialect.ascend import PipeBarrierOp, ub_slot_uses


def insert_barriers(func: FuncOp) -> None:
    """A ``pipe_barrier`` after every op of ``func`` that reads or writes a UB slot."""
    for op in list(func.walk()):
        if ub_slot_uses(op):
            barrier = PipeBarrierOp()
            barrier.location = op.location
            Rewriter.insert_op(barrier, InsertPoint.after(op))
