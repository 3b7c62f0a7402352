"""``ascend-plan-ub``: place every UB buffer of a kernel, or reject the plan.

The lowering decides *how big* buffers are (tile sizes from the UB budget, see
``passes/tile_plan.py``); this pass decides *where* they go, like HIVM's
``plan-memory`` before ``pointer_cast``, and checks that they fit:

* capacity is the ``ub_usable_bytes`` of the kernel's SoC (its ``ascend.soc``
  attribute; the ``soc`` option for a kernel that names none);
* buffers keep any offset they already have (those must fit and not overlap); the
  others are placed first-fit, in program order, at 32-byte aligned offsets. Slot sizes
  are multiples of 32 bytes (the ``ub_alloc`` verifier), so every slot of a
  multi-slot buffer is aligned too, and the double-buffered slots of one buffer are
  disjoint by construction;
* a buffer that does not fit is a located error naming the buffer, its size, what
  the kernel needs in total and what the SoC has.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.passes import ModulePass

from pakv_dialect.ascend import KERNEL_ATTR, UB_ALIGN, UbAllocOp, align_up, function_soc
from pakv_dialect.soc import DEFAULT_SOC, SocError, soc_info
from passes.diagnostics import fail_at


def _describe(alloc: UbAllocOp) -> str:
    return f"'{alloc.purpose.data}' ({alloc.slots} x {alloc.slot_bytes} = {alloc.size} bytes)"


def _first_fit(taken: list[tuple[int, int]], size: int, capacity: int) -> int | None:
    """Lowest aligned offset where ``size`` bytes fit between the ``taken`` ranges."""
    candidate = 0
    for begin, end in sorted(taken):
        if candidate + size <= begin:
            break
        candidate = max(candidate, align_up(end, UB_ALIGN))
    return candidate if candidate + size <= capacity else None


def place_buffers(func: FuncOp, default_soc: str) -> None:
    """Assign an offset to every ``ub_alloc`` of ``func`` within its SoC's UB."""
    soc_name = function_soc(func) or default_soc
    try:
        capacity = soc_info(soc_name).ub_usable_bytes
    except SocError as e:
        fail_at(func, str(e))
    allocs = [op for op in func.walk() if isinstance(op, UbAllocOp)]
    total = sum(alloc.size for alloc in allocs)

    def misfit(alloc: UbAllocOp, why: str) -> None:
        fail_at(
            alloc,
            f"UB plan does not fit: buffer {_describe(alloc)} {why}; the kernel's "
            f"{len(allocs)} buffer(s) need {total} bytes, {soc_name} has {capacity} "
            "usable UB bytes per vector core",
        )

    taken: list[tuple[int, int]] = []
    for alloc in allocs:
        offset = alloc.planned_offset
        if offset is None:
            continue
        end = offset + alloc.size
        if end > capacity:
            misfit(alloc, f"at offset {offset} ends past the UB")
        for begin, other_end in taken:
            if offset < other_end and begin < end:
                misfit(alloc, f"at offset {offset} overlaps [{begin}, {other_end})")
        taken.append((offset, end))
    for alloc in allocs:
        if alloc.planned_offset is not None:
            continue
        offset = _first_fit(taken, alloc.size, capacity)
        if offset is None:
            misfit(alloc, "finds no free room")
            return
        alloc.properties["offset"] = IntegerAttr(offset, 64)
        taken.append((offset, offset + alloc.size))


@dataclass(frozen=True)
class PlanUbPass(ModulePass):
    """Place every kernel's UB buffers at aligned offsets inside the SoC's UB."""

    name = "ascend-plan-ub"

    soc: str = DEFAULT_SOC
    """The SoC of kernels without an ``ascend.soc`` attribute."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in op.walk():
            if isinstance(func, FuncOp) and KERNEL_ATTR in func.attributes:
                place_buffers(func, self.soc)
