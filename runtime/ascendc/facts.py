"""What the AscendC printer can prove about the integers of a kernel before it runs.

The lowered program computes lengths, gaps and event numbers at run time, but the
printed kernel must choose some things statically: ``DataCopy`` is only legal for a
length that is a multiple of 32 bytes (anything else is silently rounded down), a copy
instruction carries at most 4095 bursts, event ids are allocated up front, and an
unsigned ``arith`` op prints as plain C++ only when its operands are never negative.

``KernelFacts`` is a forward dataflow analysis over one kernel function, run once: for
every integer value, a number it is always a multiple of, whether it is non-negative
(as a signed 64-bit integer) and an inclusive upper bound. A loop-carried value (an
iteration argument or result of ``scf.for``/``scf.while``, a result of ``scf.if``)
joins its initial value with what each iteration yields; the walk repeats until
nothing changes, and a bound still growing after ``WIDEN_AFTER`` rounds (a counter)
becomes unknown. Every answer is conservative: when in doubt, "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import gcd

from xdsl.dialects import arith, func, scf
from xdsl.ir import Block, Operation, SSAValue

from pakv_dialect import ascend
from pakv_dialect.tiling import FIELD_MULTIPLES

WIDEN_AFTER = 8
"""Rounds after which a loop-carried bound that still grows is given up."""


@dataclass(frozen=True)
class Fact:
    """What is known about one integer value."""

    multiple: int
    """The value is always a multiple of this (0: always zero; 1: nothing known)."""
    non_negative: bool
    upper: int | None
    """Inclusive upper bound (signed), None when unknown."""


UNKNOWN = Fact(1, False, None)
SIZE = Fact(1, True, None)
"""A runtime size: tiling fields, core index and count. A tiling field the host keeps a
multiple of something (``pakv_dialect.tiling.FIELD_MULTIPLES``: the block strides, of
32 bytes) is known to be that multiple."""


def constant_of(value: SSAValue) -> int | None:
    """The integer behind ``value`` when an ``arith.constant`` defines it."""
    return ascend.constant_value(value)


def join(facts: Sequence[Fact]) -> Fact:
    """What holds of a value that may be any one of ``facts``."""
    multiple = 0
    for fact in facts:
        multiple = gcd(multiple, fact.multiple)
    uppers = [f.upper for f in facts]
    upper = None if any(u is None for u in uppers) else max(u for u in uppers if u is not None)
    return Fact(multiple, all(f.non_negative for f in facts), upper)


def _bounded_min(a: Fact, b: Fact) -> int | None:
    known = [u for u in (a.upper, b.upper) if u is not None]
    return min(known) if known else None


def _both_bounded(a: Fact, b: Fact, combine: Callable[[int, int], int]) -> int | None:
    if a.upper is None or b.upper is None or not (a.non_negative and b.non_negative):
        return None
    return combine(a.upper, b.upper)


def _divisor(op: Operation) -> int | None:
    divisor = constant_of(op.operands[1])
    return divisor if divisor is not None and divisor > 0 else None


def _binary(op: Operation, a: Fact, b: Fact) -> Fact:
    """The transfer function of a binary ``arith`` op."""
    both = a.non_negative and b.non_negative
    divisor = _divisor(op)
    match op:
        case arith.AddiOp():
            return Fact(gcd(a.multiple, b.multiple), both, _both_bounded(a, b, int.__add__))
        case arith.SubiOp():
            multiple = gcd(a.multiple, b.multiple)
            minuend = constant_of(op.operands[0])
            if minuend is not None and b.non_negative and b.upper is not None:
                # c - x with x in [0, c] lies in [0, c] (a room left, e.g. in a block).
                if b.upper <= minuend:
                    return Fact(multiple, True, minuend)
            constant = constant_of(op.operands[1])
            upper = None if a.upper is None or constant is None else a.upper - constant
            return Fact(multiple, False, upper)
        case arith.MuliOp():
            return Fact(a.multiple * b.multiple, both, _both_bounded(a, b, int.__mul__))
        case arith.DivUIOp() | arith.CeilDivUIOp():
            # An unsigned quotient by 2 or more is below 2**63: non-negative as signed.
            non_negative = both or (divisor is not None and divisor >= 2)
            known = a.upper is not None and divisor is not None and a.non_negative
            upper = None
            if known and a.upper is not None and divisor:
                rounds_up = isinstance(op, arith.CeilDivUIOp)
                upper = -(-a.upper // divisor) if rounds_up else a.upper // divisor
            return Fact(1, non_negative, upper)
        case arith.DivSIOp() | arith.CeilDivSIOp():
            upper = a.upper if both and a.upper is not None and divisor is not None else None
            return Fact(1, both, upper)
        case arith.RemUIOp() if divisor is None and b.non_negative:
            # An unsigned remainder is below its divisor: non-negative when that is
            # (a core index dealt over used_cores, passes/work_split.py).
            return Fact(1, True, None if b.upper is None else max(b.upper - 1, 0))
        case arith.RemUIOp() | arith.RemSIOp():
            unsigned = isinstance(op, arith.RemUIOp)
            in_range = divisor is not None and (unsigned or a.non_negative)
            upper = divisor - 1 if in_range and divisor is not None else None
            return Fact(gcd(a.multiple, b.multiple), both or in_range, upper)
        case arith.MinUIOp():
            upper = _bounded_min(a, b) if both else (a.upper if a.non_negative else b.upper)
            return Fact(gcd(a.multiple, b.multiple), a.non_negative or b.non_negative, upper)
        case arith.MinSIOp():
            return Fact(gcd(a.multiple, b.multiple), both, _bounded_min(a, b))
        case arith.MaxUIOp():
            return Fact(gcd(a.multiple, b.multiple), both, _both_bounded(a, b, max))
        case arith.MaxSIOp():
            upper = None if a.upper is None or b.upper is None else max(a.upper, b.upper)
            return Fact(gcd(a.multiple, b.multiple), a.non_negative or b.non_negative, upper)
        case arith.AndIOp():
            upper = _bounded_min(a, b) if both else None
            return Fact(1, a.non_negative or b.non_negative, upper)
        case arith.OrIOp() | arith.XOrIOp():
            bits = _both_bounded(a, b, lambda x, y: max(x, y, 0).bit_length())
            return Fact(1, both, None if bits is None else (1 << bits) - 1)
        case _:
            return UNKNOWN


def _guarantees(condition: SSAValue) -> list[tuple[SSAValue, SSAValue, bool]]:
    """``(x, y, strict)`` for each ``x < y`` (unsigned; ``<=`` when not strict) that holds
    where ``condition`` is true: a comparison, or a conjunction of them."""
    op = condition.owner
    match op:
        case arith.AndIOp():
            return _guarantees(op.lhs) + _guarantees(op.rhs)
        case arith.CmpiOp():
            predicate = arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate in ("ult", "ule"):
                return [(op.lhs, op.rhs, predicate == "ult")]
            if predicate in ("ugt", "uge"):
                return [(op.rhs, op.lhs, predicate == "ugt")]
            return []
        case _:
            return []


class KernelFacts:
    """The facts of every integer value of one kernel function."""

    def __init__(self, function: func.FuncOp):
        self._facts: dict[SSAValue, Fact] = {}
        self._rounds: dict[SSAValue, int] = {}
        self._block_guards: dict[Block, list[tuple[SSAValue, SSAValue, bool]]] = {}
        for _ in range(4 * WIDEN_AFTER):
            self._changed = False
            for op in function.body.walk():
                self._visit(op)
            if not self._changed:
                return
        raise AssertionError("index facts did not settle")  # widening guarantees it

    # ----------------------------------------------------------------- queries

    def fact(self, value: SSAValue) -> Fact:
        return self._facts.get(value, UNKNOWN)

    def is_multiple_of(self, value: SSAValue, alignment: int) -> bool:
        return self.fact(value).multiple % alignment == 0

    def is_non_negative(self, value: SSAValue) -> bool:
        return self.fact(value).non_negative

    def upper_bound(self, value: SSAValue) -> int | None:
        return self.fact(value).upper

    def fits(self, value: SSAValue, bound: int) -> bool:
        """Whether ``value`` is provably at most ``bound``."""
        upper = self.upper_bound(value)
        return upper is not None and upper <= bound

    # ----------------------------------------------------------------- analysis

    def _set(self, value: SSAValue, fact: Fact) -> None:
        old = self._facts.get(value)
        if old == fact:
            return
        rounds = self._rounds.get(value, 0) + 1
        self._rounds[value] = rounds
        if old is not None and rounds > WIDEN_AFTER and old.upper != fact.upper:
            fact = replace(fact, upper=None)
            if old == fact:
                return
        self._facts[value] = fact
        self._changed = True

    def _carried(self, value: SSAValue, sources: Sequence[SSAValue | None]) -> None:
        """A loop-carried or merged value: the join of the sources computed so far.

        With no source computed yet the value is left unset (it reads as unknown until
        a source is known), not set to unknown: a loop whose carried value feeds an
        ``scf.if`` whose result feeds it back would otherwise alternate between two
        answers, one round apart, and never settle."""
        known = [self._facts[s] for s in sources if s is not None and s in self._facts]
        if known:
            self._set(value, join(known))

    def _guards(self, op: Operation) -> list[tuple[SSAValue, SSAValue, bool]]:
        """The ``x < y`` guarantees of the ``scf.if`` true-regions enclosing ``op``
        (structural, so computed once per block)."""
        block = op.parent_block()
        if block is None:
            return []
        cached = self._block_guards.get(block)
        if cached is not None:
            return cached
        guards: list[tuple[SSAValue, SSAValue, bool]] = []
        region = block.parent
        owner = None if region is None else region.parent_op()
        if owner is not None:
            if isinstance(owner, scf.IfOp) and region is owner.true_region:
                guards += _guarantees(owner.cond)
            guards += self._guards(owner)
        self._block_guards[block] = guards
        return guards

    def _operand_fact(self, value: SSAValue, guards: list[tuple[SSAValue, SSAValue, bool]]) -> Fact:
        """``value``'s fact where ``guards`` hold: inside ``if (x < y)`` with ``y`` a
        non-negative bound, ``x`` is below it (so non-negative too)."""
        fact = self.fact(value)
        for x, y, strict in guards:
            if x is not value:
                continue
            bound = self.fact(y)
            if bound.non_negative:
                limit = None if bound.upper is None else bound.upper - int(strict)
                upper = fact.upper if limit is None else limit
                if fact.upper is not None and fact.non_negative:
                    upper = min(fact.upper, upper) if upper is not None else fact.upper
                fact = Fact(fact.multiple, True, upper)
        return fact

    def _visit(self, op: Operation) -> None:
        guards = self._guards(op)
        facts = [self._operand_fact(v, guards) for v in op.operands]
        match op:
            case arith.ConstantOp():
                constant = constant_of(op.result)
                if constant is not None:
                    self._set(op.result, Fact(abs(constant), constant >= 0, constant))
            case ascend.GetTilingOp():
                multiple = FIELD_MULTIPLES.get(op.field.data, 1)
                self._set(op.result, replace(SIZE, multiple=multiple))
            case ascend.GetBlockIdxOp() | ascend.GetBlockNumOp():
                self._set(op.results[0], SIZE)
            case ascend.RunLengthOp():
                # At most its limit (the run stops there), never negative.
                self._set(op.result, Fact(1, True, self.fact(op.limit).upper))
            case arith.ExtUIOp():
                self._set(op.result, replace(facts[0], non_negative=True))
            case arith.IndexCastOp() | arith.ExtSIOp():
                self._set(op.result, facts[0])
            case arith.SelectOp():
                self._set(op.result, join(facts[1:]))
            case arith.SubiOp() if self._max_minus_operand(op):
                self._set(op.result, replace(_binary(op, *facts), non_negative=True))
            case scf.ForOp():
                self._visit_for(op)
            case scf.WhileOp():
                self._visit_while(op)
            case scf.IfOp():
                for i, result in enumerate(op.output):
                    self._carried(
                        result, [_yielded(r.blocks[0], i) for r in op.regions if r.blocks]
                    )
            case Operation() if len(op.operands) == 2 and len(op.results) == 1:
                self._set(op.results[0], _binary(op, facts[0], facts[1]))
            case _:
                for result in op.results:
                    self._set(result, UNKNOWN)

    def _max_minus_operand(self, op: arith.SubiOp) -> bool:
        """``max(x, y) - x`` (or ``- y``) of non-negative ``x`` and ``y`` is non-negative."""
        maximum = op.lhs.owner
        return (
            isinstance(maximum, arith.MaxUIOp | arith.MaxSIOp)
            and op.rhs in maximum.operands
            and all(self.fact(v).non_negative for v in maximum.operands)
        )

    def _visit_for(self, op: scf.ForOp) -> None:
        body = op.body.block
        lower, step, upper = self.fact(op.lb), self.fact(op.step), self.fact(op.ub)
        bound = None if upper.upper is None else upper.upper - 1
        induction = Fact(gcd(lower.multiple, step.multiple), lower.non_negative, bound)
        self._set(body.args[0], induction)
        for i, (arg, result) in enumerate(zip(body.args[1:], op.res, strict=True)):
            sources = [op.iter_args[i], _yielded(body, i)]
            self._carried(arg, sources)
            self._carried(result, sources)

    def _visit_while(self, op: scf.WhileOp) -> None:
        before, after = op.before_region.block, op.after_region.block
        for i, arg in enumerate(before.args):
            self._carried(arg, [op.arguments[i], _yielded(after, i)])
        for i, (arg, result) in enumerate(zip(after.args, op.res, strict=True)):
            self._carried(arg, [_yielded(before, i)])
            self._carried(result, [_yielded(before, i)])


def _yielded(block: Block, index: int) -> SSAValue | None:
    """The ``index``-th value a block's ``scf.yield``/``scf.condition`` passes on."""
    terminator = block.last_op
    if isinstance(terminator, scf.ConditionOp):
        return terminator.args[index] if index < len(terminator.args) else None
    if isinstance(terminator, scf.YieldOp):
        return terminator.arguments[index] if index < len(terminator.arguments) else None
    return None
