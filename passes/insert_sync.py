"""``ascend-insert-sync``: add the event flags that order the pipes around UB slots.

Model (``pakv_dialect/ascend.py``): ``set_flag[P, Q, e]`` lets pipe ``Q`` pass a
``wait_flag[P, Q, e]``; every wait consumes one earlier set. A UB buffer is a ring of
``slots`` slots; each slot is alternately *written* (by one pipe, its writer) and
*read* (by one pipe, its reader). Two flags per slot express that: "ready" (writer ->
reader) and "free" (reader -> writer), both with event ``base + slot``.

Scheme
------
* **Roles.** Every buffer has one writer pipe and one reader pipe, taken from the ops
  that touch it, as their ``OnPipe`` and ``UsesUbSlots`` traits declare
  (``ascend.ub_slot_uses``): ``load`` writes on MTE2, ``store`` reads on MTE3, ``fill_zero``
  writes on V, ``transpose_blocks`` reads its source and writes its target on V. So
  Norm's tile buffer is MTE2 -> MTE3, Norm's zero buffer V -> MTE3, PA_NZ's
  group-major buffer MTE2 -> V and its token-major buffer V -> MTE3. A buffer with
  two writer (or reader) pipes is rejected: one flag pair could not order it.
* **Groups.** In each block, consecutive accesses of one buffer with the same slot
  value and the same role form a group (a load split at 4095 bursts is one group).
  A write group is bracketed by ``wait_flag[reader, writer, e]`` (slot free) and
  ``set_flag[writer, reader, e]`` (slot ready); a read group by
  ``wait_flag[writer, reader, e]`` and ``set_flag[reader, writer, e]``.
* **Prologue / epilogue.** After the kernel's ``ub_alloc``s, ``set_flag[reader,
  writer, base + s]`` marks every slot free; before ``func.return``,
  ``wait_flag[reader, writer, base + s]`` waits for every slot's last reader.
* **Events.** Buffers sharing a pipe pair get consecutive event ranges
  (``base`` = slots of the earlier buffers on that pair), within the event-id budget of
  the kernel's SoC (``SocInfo.event_ids``: 8, or 4 on Ascend910).

Why it is balanced, checkably: the lowering writes each tile as straight-line code in
one block (write the slot, then read it), so the pass requires, per block and per
(buffer, slot value), that groups alternate write, read, write, read... starting with
a write and ending with a read, also before any nested region that touches the
buffer. Each write group consumes a "free" and produces a "ready", each read group the
reverse; so every block (every loop iteration, every ``scf.if`` branch) leaves each
slot as it found it: free. The prologue makes all slots free, the epilogue consumes
exactly that: sets and waits balance on every path, and nothing waits that no one set.
Double buffering follows: the load into slot ``n + 1`` waits only for the "free" of
that slot (set by the store of tile ``n - 1``), not for the store of tile ``n``. In
PA_NZ the token-major buffer is the second buffer: with one group-major slot, the load
of tile ``n + 1`` waits for the transpose of tile ``n`` (which frees the slot), and
only that transpose waits for the store of tile ``n - 1``.
A kernel that already holds flags (or barriers) is left as it is; one whose
``ascend.sync`` is ``barrier`` gets ``ascend.pipe_barrier`` after every UB access instead
(``passes/insert_barriers.py``).

Buffers loaded once (a compute kernel's per-channel parameters: every write of the
buffer sits in the kernel's entry block, before the walk) are not rings: they get one
``set_flag[writer, reader, e]`` / ``wait_flag`` pair right after their last write, and
their reads need no flags at all (nothing writes them again).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from pakv_dialect.ascend import (
    KERNEL_ATTR,
    NOTE_ATTR,
    SYNC_ATTR,
    Pipe,
    PipeBarrierOp,
    SetFlagOp,
    UbAllocOp,
    UbRole,
    UbSlotUse,
    WaitFlagOp,
    constant_value,
    function_soc,
    ub_slot_uses,
)
from pakv_dialect.soc import SOCS
from passes.diagnostics import fail_at
from passes.insert_barriers import insert_barriers
from passes.kernel_builder import KernelBuilder
from passes.strategy import Sync

MAX_EVENTS = 8
"""Event ids per pipe pair for a kernel that names no SoC (AscendC EVENT_ID0..7); a
kernel's ``ascend.soc`` gives its own budget (``SocInfo.event_ids``)."""


def event_budget(func: FuncOp) -> int:
    """Event ids per pipe pair on the kernel's SoC."""
    soc = SOCS.get(function_soc(func) or "")
    return MAX_EVENTS if soc is None else soc.event_ids


@dataclass
class SyncedBuffer:
    """A buffer with its two pipes and its event range."""

    alloc: UbAllocOp
    writer: Pipe
    reader: Pipe
    base: int = 0

    @property
    def name(self) -> str:
        return f"'{self.alloc.purpose.data}'"


@dataclass
class _Group:
    role: UbRole
    first: Operation
    last: Operation


@dataclass
class _KernelSync:
    """Synchronisation of one kernel function."""

    func: FuncOp
    buffers: dict[SSAValue, SyncedBuffer] = field(default_factory=dict[SSAValue, SyncedBuffer])
    preloaded: dict[SSAValue, Operation] = field(default_factory=dict[SSAValue, Operation])
    """Buffers written only in the entry block, by their last write (module docstring)."""

    def __post_init__(self) -> None:
        self._find_roles()
        self._find_preloaded()
        self._assign_events()

    # ------------------------------------------------------------------ analysis

    def _find_roles(self) -> None:
        writers: dict[SSAValue, Pipe] = {}
        readers: dict[SSAValue, Pipe] = {}
        for op in self.func.walk():
            for access in ub_slot_uses(op):
                alloc = access.buffer.owner
                if not isinstance(alloc, UbAllocOp):
                    fail_at(op, "ascend-insert-sync needs UB operands defined by ascend.ub_alloc")
                pipes = writers if access.role == UbRole.WRITE else readers
                known = pipes.setdefault(access.buffer, access.pipe)
                if known != access.pipe:
                    fail_at(
                        op,
                        f"buffer '{alloc.purpose.data}' is {access.role.value} on both "
                        f"{known} and {access.pipe}: ascend-insert-sync needs one writer "
                        "pipe and one reader pipe per buffer",
                    )
        for buffer, writer in writers.items():
            reader = readers.get(buffer)
            if reader is not None and reader != writer:
                assert isinstance(buffer.owner, UbAllocOp)
                self.buffers[buffer] = SyncedBuffer(buffer.owner, writer, reader)

    def _find_preloaded(self) -> None:
        """Buffers written only in the entry block and read only inside its regions."""
        entry = self.func.body.block
        accesses: dict[SSAValue, dict[UbRole, list[Operation]]] = {}
        for op in self.func.walk():
            for access in ub_slot_uses(op):
                if access.buffer in self.buffers:
                    roles = accesses.setdefault(access.buffer, {UbRole.WRITE: [], UbRole.READ: []})
                    roles[access.role].append(op)
        for buffer, roles in accesses.items():
            writes, reads = roles[UbRole.WRITE], roles[UbRole.READ]
            if all(op.parent_block() is entry for op in writes) and not any(
                op.parent_block() is entry for op in reads
            ):
                self.preloaded[buffer] = max(writes, key=entry.get_operation_index)

    def _assign_events(self) -> None:
        used: dict[frozenset[Pipe], int] = {}
        budget = event_budget(self.func)
        for buffer in self.buffers.values():
            pair = frozenset((buffer.writer, buffer.reader))
            buffer.base = used.get(pair, 0)
            used[pair] = buffer.base + buffer.alloc.slots
            if used[pair] > budget:
                fail_at(
                    buffer.alloc,
                    f"buffer {buffer.name} needs events up to {used[pair] - 1} on "
                    f"{buffer.writer}/{buffer.reader}, past the {budget} event ids",
                )

    def _ringed(self, buffer: SSAValue) -> bool:
        """Whether ``buffer``'s slots take turns (synced, and not preloaded)."""
        return buffer in self.buffers and buffer not in self.preloaded

    def _touched(self, op: Operation) -> set[SSAValue]:
        """Ring buffers accessed anywhere inside ``op``'s regions."""
        return {
            access.buffer
            for region in op.regions
            for inner in region.walk()
            for access in ub_slot_uses(inner)
            if self._ringed(access.buffer)
        }

    def _groups(self, block: Block) -> Iterator[tuple[UbSlotUse, _Group]]:
        """The access groups of ``block``, checked to alternate write/read per slot."""
        open_groups: dict[tuple[SSAValue, SSAValue], tuple[UbSlotUse, _Group]] = {}

        def close(
            key: tuple[SSAValue, SSAValue], at: Operation
        ) -> Iterator[tuple[UbSlotUse, _Group]]:
            access, group = open_groups.pop(key)
            if group.role != UbRole.READ:
                fail_at(
                    at,
                    f"slot of buffer {self.buffers[access.buffer].name} is written "
                    "and not read before this point of its block: ascend-insert-sync "
                    "needs each block to write then read every slot it touches",
                )
            yield access, group

        for op in block.ops:
            for buffer in self._touched(op):
                for key in [key for key in open_groups if key[0] == buffer]:
                    yield from close(key, op)
            for access in ub_slot_uses(op):
                if not self._ringed(access.buffer):
                    continue
                key = (access.buffer, access.slot)
                current = open_groups.get(key)
                if current is not None and current[1].role == access.role:
                    current[1].last = op
                    continue
                if current is not None:
                    del open_groups[key]
                    yield current
                elif access.role != UbRole.WRITE:
                    fail_at(
                        op,
                        f"buffer {self.buffers[access.buffer].name} is read before it is "
                        "written in this block: ascend-insert-sync needs each block to "
                        "write then read every slot it touches",
                    )
                open_groups[key] = (access, _Group(access.role, op, op))
        terminator = block.last_op
        for key in list(open_groups):
            assert terminator is not None
            yield from close(key, terminator)

    # ------------------------------------------------------------------ rewriting

    def _event(self, buffer: SyncedBuffer, slot: SSAValue, before: Operation) -> SSAValue:
        """Event ``base + slot``: the slot itself for a buffer first on its pipe pair, a
        number for a fixed slot (this pass runs after the pipeline's canonicalize)."""
        if buffer.base == 0:
            return slot
        kb = KernelBuilder.before(before, self.func.body.block)
        fixed = constant_value(slot)
        if fixed is not None:
            return kb.const(buffer.base + fixed)
        return kb.add(slot, buffer.base, "event")

    def _bracket(self, block: Block) -> None:
        """Wait before and set after every group of ``block``, in access order."""
        groups = list(self._groups(block))
        index = {op: position for position, op in enumerate(block.ops)}

        def order(op: Operation, access: UbSlotUse) -> tuple[int, int]:
            return index[op], ub_slot_uses(op).index(access)

        events: dict[int, SSAValue] = {}
        for access, group in sorted(groups, key=lambda g: order(g[1].first, g[0])):
            buffer = self.buffers[access.buffer]
            previous = group.first.prev_op
            event = events[id(group)] = self._event(buffer, access.slot, group.first)
            pipes = (buffer.reader, buffer.writer)
            if group.role == UbRole.READ:
                pipes = (buffer.writer, buffer.reader)
            wait = WaitFlagOp(*pipes, event)
            wait.location = group.first.location
            Rewriter.insert_op(wait, InsertPoint.before(group.first))
            _move_note(group.first, previous.next_op if previous else block.first_op)
        # Each insertion goes right after ``last``: insert in reverse to keep access order.
        for access, group in sorted(groups, key=lambda g: order(g[1].last, g[0]), reverse=True):
            buffer = self.buffers[access.buffer]
            pipes = (buffer.writer, buffer.reader)
            if group.role == UbRole.READ:
                pipes = (buffer.reader, buffer.writer)
            set_flag = SetFlagOp(*pipes, events[id(group)])
            set_flag.location = group.last.location
            Rewriter.insert_op(set_flag, InsertPoint.after(group.last))

    def _prologue_and_epilogue(self) -> None:
        entry = self.func.body.block
        allocs = [op for op in entry.ops if isinstance(op, UbAllocOp)]
        for buffer in self.buffers.values():
            if buffer.alloc.parent_block() is not entry:
                fail_at(
                    buffer.alloc, "ascend-insert-sync needs ub_alloc in the kernel's entry block"
                )
        terminator = entry.last_op
        assert terminator is not None and allocs
        # The flags belong to the buffers: they take the location of the op that made them.
        where = allocs[-1].location
        prologue = KernelBuilder(Builder(InsertPoint.after(allocs[-1])), entry, where)
        epilogue = KernelBuilder(Builder(InsertPoint.before(terminator)), entry, where)
        for value, buffer in self.buffers.items():
            if value in self.preloaded:
                continue
            for slot in range(buffer.alloc.slots):
                event = prologue.const(buffer.base + slot)
                prologue.insert(SetFlagOp(buffer.reader, buffer.writer, event))
                epilogue.insert(WaitFlagOp(buffer.reader, buffer.writer, event))
        for value, last in self.preloaded.items():
            buffer = self.buffers[value]
            after = KernelBuilder(Builder(InsertPoint.after(last)), entry, last.location)
            event = after.const(buffer.base)
            after.insert(SetFlagOp(buffer.writer, buffer.reader, event))
            after.insert(WaitFlagOp(buffer.writer, buffer.reader, event))

    def run(self) -> None:
        if not self.buffers:
            return
        blocks = [
            block for op in self.func.walk() for region in op.regions for block in region.blocks
        ]
        for block in blocks:
            self._bracket(block)
        self._prologue_and_epilogue()


def _move_note(source: Operation, target: Operation | None) -> None:
    """A stage's note stays on its first op: the flags put before it now open the stage."""
    note = source.attributes.pop(NOTE_ATTR, None)
    if note is not None and target is not None:
        target.attributes[NOTE_ATTR] = note


def synchronise_kernel(func: FuncOp) -> None:
    """Add the flags of the module docstring's scheme to one kernel function, or its
    barriers when the kernel's ``ascend.sync`` says ``barrier``
    (``passes/insert_barriers.py``)."""
    if any(isinstance(op, SetFlagOp | WaitFlagOp | PipeBarrierOp) for op in func.walk()):
        return
    discipline = func.attributes.get(SYNC_ATTR)
    if isinstance(discipline, StringAttr) and discipline.data == Sync.BARRIER.value:
        insert_barriers(func)
        return
    _KernelSync(func).run()


@dataclass(frozen=True)
class InsertSyncPass(ModulePass):
    """Insert set_flag/wait_flag pairs so every UB slot is written, then read, in order."""

    name = "ascend-insert-sync"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in op.walk():
            if isinstance(func, FuncOp) and KERNEL_ATTR in func.attributes:
                synchronise_kernel(func)
