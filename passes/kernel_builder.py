"""Index arithmetic and scf loops at a ``Builder``'s insertion point, for kernel bodies.

The lowering patterns build through their ``PatternRewriter`` (a ``Builder``), and
write loops the way one reads them (``kb.for_(lb, ub, step, carried, body)``,
``kb.mul(blk, block_bytes)``) instead of moving insertion points by hand. What the
helpers add to a plain ``Builder``:

* index constants are created once, at the top of the kernel's entry block, whatever
  loop asks for them: the interpreter pays per executed op, and ``ascend-insert-sync``
  recognises a slot by its SSA value;
* arithmetic on two Python ints is Python arithmetic (a layout parameter times a byte
  size); any other operation becomes an op, even ``x * 1`` or ``x + 0``: stock
  ``canonicalize``, which ``pakv-to-ascend`` runs after the tiling, folds those;
* every op created gets ``location``, that of the op being lowered, so a later
  diagnostic (a UB plan that does not fit, say) points at the source line that asked
  for it;
* ``stage(note)`` marks the first op of a stage of the kernel with ``ascend.note``,
  which the AscendC target prints as a comment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, overload

from xdsl.builder import Builder
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, LocationAttr, StringAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from pakv_dialect.ascend import NOTE_ATTR

Value = SSAValue | int
"""An index value, or a Python int that becomes a hoisted constant where an op needs it."""

OpT = TypeVar("OpT", bound=Operation)

_INDEX = IndexType()


class KernelBuilder:
    """Builds ops at ``builder``'s insertion point; index constants live at the top of
    ``entry``, the kernel function's entry block.

    Constants already at the top of ``entry`` are reused and new ones added after them,
    so every pass shares the kernel's ``%c0``/``%c1``. ``builder`` is usually the
    rewriter of the pattern being applied (its insertion point is before the matched
    op); the region helpers move it into the blocks they build and back.
    """

    def __init__(self, builder: Builder, entry: Block, location: LocationAttr | None = None):
        self.builder = builder
        self.entry = entry
        self.location = location
        self._constants: dict[int, SSAValue] = {}
        self._last_constant: Operation | None = None
        for op in entry.ops:
            if not (isinstance(op, arith.ConstantOp) and isinstance(op.result.type, IndexType)):
                break
            value = op.value
            if isinstance(value, IntegerAttr):
                self._constants.setdefault(value.value.data, op.result)
            self._last_constant = op

    @classmethod
    def before(cls, op: Operation, entry: Block) -> KernelBuilder:
        """A builder at ``op``, giving what it builds ``op``'s location."""
        return cls(Builder(InsertPoint.before(op)), entry, op.location)

    # ------------------------------------------------------------------ placement

    def insert(self, op: OpT, name: str | None = None) -> OpT:
        """Insert ``op`` at the current point; ``name`` hints its first result's name."""
        self._locate(op)
        self.builder.insert(op)
        if name is not None and op.results:
            op.results[0].name_hint = name
        return op

    def _locate(self, op: Operation) -> None:
        if self.location is not None:
            op.location = self.location

    @contextmanager
    def stage(self, note: str | None) -> Iterator[None]:
        """Build one stage of the kernel inside the ``with``; its first op (constants
        aside) carries ``note`` as ``ascend.note``, a comment in the printed kernel
        (nothing when ``note`` is None).

        The first op must not be an ``arith.cmpi``: its custom syntax drops attributes.
        """
        if note is None:
            yield
            return
        point = self.builder.insertion_point
        end = point.insert_before
        previous = end.prev_op if end is not None else point.block.last_op
        yield
        first = previous.next_op if previous is not None else point.block.first_op
        while isinstance(first, arith.ConstantOp):
            first = first.next_op
        if first is not None and first is not end:
            assert not isinstance(first, arith.CmpiOp), f"stage {note!r} starts with a cmpi"
            first.attributes[NOTE_ATTR] = StringAttr(note)

    @contextmanager
    def at_end(self, block: Block) -> Iterator[None]:
        """Build at the end of ``block`` inside the ``with``."""
        saved = self.builder.insertion_point
        self.builder.insertion_point = InsertPoint.at_end(block)
        try:
            yield
        finally:
            self.builder.insertion_point = saved

    def const(self, value: int) -> SSAValue:
        """The index constant ``value``, created once at the top of ``entry``."""
        cached = self._constants.get(value)
        if cached is not None:
            return cached
        op = arith.ConstantOp(IntegerAttr(value, _INDEX))
        op.result.name_hint = f"c{value}" if value >= 0 else f"c_{-value}"
        self._locate(op)
        point = (
            InsertPoint.at_start(self.entry)
            if self._last_constant is None
            else InsertPoint.after(self._last_constant)
        )
        self.builder.insert(op, point)
        self._last_constant = op
        self._constants[value] = op.result
        return op.result

    def value(self, value: Value) -> SSAValue:
        return self.const(value) if isinstance(value, int) else value

    # ------------------------------------------------------------------ arithmetic

    def _binary(
        self,
        op_type: type[arith.SignlessIntegerBinaryOperation],
        lhs: Value,
        rhs: Value,
        name: str | None,
    ) -> SSAValue:
        return self.insert(op_type(self.value(lhs), self.value(rhs)), name).result

    @overload
    def add(self, lhs: int, rhs: int, name: str | None = None) -> int: ...
    @overload
    def add(self, lhs: SSAValue, rhs: Value, name: str | None = None) -> SSAValue: ...
    @overload
    def add(self, lhs: Value, rhs: SSAValue, name: str | None = None) -> SSAValue: ...
    def add(self, lhs: Value, rhs: Value, name: str | None = None) -> Value:
        if isinstance(lhs, int) and isinstance(rhs, int):
            return lhs + rhs
        return self._binary(arith.AddiOp, lhs, rhs, name)

    @overload
    def sub(self, lhs: int, rhs: int, name: str | None = None) -> int: ...
    @overload
    def sub(self, lhs: SSAValue, rhs: Value, name: str | None = None) -> SSAValue: ...
    @overload
    def sub(self, lhs: Value, rhs: SSAValue, name: str | None = None) -> SSAValue: ...
    def sub(self, lhs: Value, rhs: Value, name: str | None = None) -> Value:
        if isinstance(lhs, int) and isinstance(rhs, int):
            return lhs - rhs
        return self._binary(arith.SubiOp, lhs, rhs, name)

    @overload
    def mul(self, lhs: int, rhs: int, name: str | None = None) -> int: ...
    @overload
    def mul(self, lhs: SSAValue, rhs: Value, name: str | None = None) -> SSAValue: ...
    @overload
    def mul(self, lhs: Value, rhs: SSAValue, name: str | None = None) -> SSAValue: ...
    def mul(self, lhs: Value, rhs: Value, name: str | None = None) -> Value:
        if isinstance(lhs, int) and isinstance(rhs, int):
            return lhs * rhs
        return self._binary(arith.MuliOp, lhs, rhs, name)

    def divu(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.DivUIOp, lhs, rhs, name)

    def ceildivu(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.CeilDivUIOp, lhs, rhs, name)

    def remu(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.RemUIOp, lhs, rhs, name)

    def minu(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.MinUIOp, lhs, rhs, name)

    def maxu(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.MaxUIOp, lhs, rhs, name)

    def maxs(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.MaxSIOp, lhs, rhs, name)

    def xor(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self._binary(arith.XOrIOp, lhs, rhs, name)

    def ult(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self.insert(arith.CmpiOp(self.value(lhs), self.value(rhs), "ult"), name).result

    def slt(self, lhs: Value, rhs: Value, name: str | None = None) -> SSAValue:
        return self.insert(arith.CmpiOp(self.value(lhs), self.value(rhs), "slt"), name).result

    def and_(self, lhs: SSAValue, rhs: SSAValue, name: str | None = None) -> SSAValue:
        return self.insert(arith.AndIOp(lhs, rhs), name).result

    def select(
        self, cond: SSAValue, if_true: Value, if_false: Value, name: str | None = None
    ) -> SSAValue:
        op = arith.SelectOp(cond, self.value(if_true), self.value(if_false))
        return self.insert(op, name).result

    def to_index(self, value: SSAValue, name: str | None = None) -> SSAValue:
        """Sign-extend an ``i32``/``i64`` GM scalar to ``index``."""
        return self.insert(arith.IndexCastOp(value, _INDEX), name).result

    # ------------------------------------------------------------------ control flow

    def for_(
        self,
        lower: Value,
        upper: Value,
        step: Value,
        carried: Sequence[SSAValue],
        body: Callable[[SSAValue, Sequence[SSAValue]], Sequence[SSAValue]],
        name: str | None = None,
    ) -> Sequence[SSAValue]:
        """``scf.for``; ``body(induction, carried)`` returns the values to carry on."""
        block = Block(arg_types=[_INDEX, *(value.type for value in carried)])
        if name is not None:
            block.args[0].name_hint = name
        for arg, value in zip(block.args[1:], carried, strict=True):
            arg.name_hint = value.name_hint
        with self.at_end(block):
            self.insert(scf.YieldOp(*body(block.args[0], block.args[1:])))
        op = scf.ForOp(
            self.value(lower), self.value(upper), self.value(step), carried, Region(block)
        )
        for result, value in zip(op.results, carried, strict=True):
            result.name_hint = value.name_hint
        return self.insert(op).results

    def if_(
        self,
        cond: SSAValue,
        result_types: Sequence[Attribute],
        then_body: Callable[[], Sequence[SSAValue]],
        else_body: Callable[[], Sequence[SSAValue]] | None = None,
        names: Sequence[str] = (),
    ) -> Sequence[SSAValue]:
        """``scf.if``; each body returns the values the branch yields, named ``names``."""
        regions: list[Region] = []
        for branch in (then_body, else_body):
            if branch is None:
                regions.append(Region())
                continue
            block = Block()
            with self.at_end(block):
                self.insert(scf.YieldOp(*branch()))
            regions.append(Region(block))
        op = scf.IfOp(cond, result_types, regions[0], regions[1])
        for result, name in zip(op.results, names, strict=False):
            result.name_hint = name
        return self.insert(op).results

    def while_(
        self,
        initial: Sequence[SSAValue],
        names: Sequence[str],
        condition: Callable[[Sequence[SSAValue]], SSAValue],
        body: Callable[[Sequence[SSAValue]], Sequence[SSAValue]],
    ) -> Sequence[SSAValue]:
        """``scf.while`` carrying ``initial``: loop while ``condition(values)`` holds."""
        types = [value.type for value in initial]
        before, after = Block(arg_types=types), Block(arg_types=types)
        for block in (before, after):
            for arg, name in zip(block.args, names, strict=True):
                arg.name_hint = name
        with self.at_end(before):
            self.insert(scf.ConditionOp(condition(before.args), *before.args))
        with self.at_end(after):
            self.insert(scf.YieldOp(*body(after.args)))
        op = scf.WhileOp(initial, types, Region(before), Region(after))
        return self.insert(op).results
