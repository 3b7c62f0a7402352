"""What the AscendC printer can prove about an integer value before the kernel runs.

The lowered program computes lengths, gaps and event numbers at run time, but the
printed kernel must choose some things statically: ``DataCopy`` is only legal for a
length that is a multiple of 32 bytes (anything else is silently rounded down), a copy
instruction carries at most 4095 bursts, event ids are allocated up front, and an
unsigned ``arith`` op prints as plain C++ only when its operands are never negative.
The three analyses here follow an SSA value through constants, ``arith`` ops and the
values a loop or branch can carry (its initial value and every yield, assuming the
property inductively), and answer conservatively: when in doubt, "unknown".
"""

from __future__ import annotations

from collections.abc import Callable
from math import gcd

from xdsl.dialects import arith, scf
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue

from pakv_dialect import ascend


def constant_of(value: SSAValue) -> int | None:
    """The integer behind ``value`` when an ``arith.constant`` defines it."""
    return ascend.constant_value(value)


def _for_induction(value: SSAValue) -> scf.ForOp | None:
    """The ``scf.for`` whose induction variable ``value`` is."""
    if not isinstance(value, BlockArgument) or value.index != 0:
        return None
    owner = value.block.parent_op()
    return owner if isinstance(owner, scf.ForOp) else None


def _yielded(block_op: Operation | None, index: int) -> SSAValue | None:
    if isinstance(block_op, scf.YieldOp | scf.ConditionOp):
        operands = (
            block_op.operands[1:] if isinstance(block_op, scf.ConditionOp) else block_op.operands
        )
        return operands[index] if index < len(operands) else None
    return None


def carried_sources(value: SSAValue) -> list[SSAValue] | None:
    """The values a loop-carried or branch-merged ``value`` can take, or None.

    Iteration arguments and results of ``scf.for``/``scf.while`` take their initial
    value or what an iteration yields; ``scf.if`` results take either branch's yield.
    """
    if isinstance(value, BlockArgument):
        owner = value.block.parent_op()
        if isinstance(owner, scf.ForOp) and value.index > 0:
            i = value.index - 1
            return _present(owner.iter_args[i], _yielded(owner.body.block.last_op, i))
        if isinstance(owner, scf.WhileOp):
            i = value.index
            if value.block is owner.before_region.block:
                return _present(owner.arguments[i], _yielded(owner.after_region.block.last_op, i))
            return _present(_yielded(owner.before_region.block.last_op, i))
        return None
    if not isinstance(value, OpResult):
        return None
    op, i = value.op, value.index
    match op:
        case scf.ForOp():
            return _present(op.iter_args[i], _yielded(op.body.block.last_op, i))
        case scf.WhileOp():
            return _present(_yielded(op.before_region.block.last_op, i))
        case scf.IfOp() if op.false_region.blocks:
            return _present(
                _yielded(op.true_region.block.last_op, i),
                _yielded(op.false_region.block.last_op, i),
            )
        case _:
            return None


def _present(*values: SSAValue | None) -> list[SSAValue] | None:
    found = [v for v in values if v is not None]
    return found if len(found) == len(values) else None


def _fixed_point(
    value: SSAValue,
    assume: dict[SSAValue, int],
    start: int,
    step: Callable[[SSAValue, dict[SSAValue, int]], int],
    combine: Callable[[int, int], int],
) -> int | None:
    """Combine a carried value's sources, assuming the value's fact inductively."""
    sources = carried_sources(value)
    if sources is None:
        return None
    if value in assume:
        return assume[value]
    fact = start
    while True:
        inner = {**assume, value: fact}
        new = fact
        for source in sources:
            new = combine(new, step(source, inner))
        if new == fact:
            return fact
        fact = new


def known_multiple(value: SSAValue, assume: dict[SSAValue, int] | None = None) -> int:
    """A number ``m`` such that ``value`` is always a multiple of it (0: always zero).

    1 means nothing is known. Products multiply, sums and choices take the gcd.
    """
    assume = assume or {}
    constant = constant_of(value)
    if constant is not None:
        return abs(constant)
    loop = _for_induction(value)
    if loop is not None:
        return gcd(known_multiple(loop.lb, assume), known_multiple(loop.step, assume))
    carried = _fixed_point(value, assume, 0, known_multiple, gcd)
    if carried is not None:
        return carried
    op = value.owner
    match op:
        case arith.MuliOp():
            return known_multiple(op.lhs, assume) * known_multiple(op.rhs, assume)
        case (
            arith.AddiOp()
            | arith.SubiOp()
            | arith.MinUIOp()
            | arith.MinSIOp()
            | arith.MaxUIOp()
            | arith.MaxSIOp()
            | arith.RemUIOp()
            | arith.RemSIOp()
            | arith.SelectOp()
        ):
            return gcd(known_multiple(op.lhs, assume), known_multiple(op.rhs, assume))
        case arith.IndexCastOp() | arith.ExtSIOp() | arith.ExtUIOp():
            return known_multiple(op.input, assume)
        case _:
            return 1


def is_multiple_of(value: SSAValue, alignment: int) -> bool:
    """Whether ``value`` is provably a multiple of ``alignment``."""
    return known_multiple(value) % alignment == 0


def is_non_negative(value: SSAValue, assume: dict[SSAValue, int] | None = None) -> bool:
    """Whether ``value`` is provably >= 0 as a signed 64-bit integer.

    Tiling fields and the core index are sizes; sums, products, quotients and
    remainders of non-negative values stay non-negative (the kernel's sizes are far
    below 2**62), and so does an unsigned remainder by a positive constant.
    """
    assume = assume or {}
    constant = constant_of(value)
    if constant is not None:
        return constant >= 0
    loop = _for_induction(value)
    if loop is not None:
        return is_non_negative(loop.lb, assume)
    carried = _fixed_point(value, assume, 1, _non_negative_fact, min)
    if carried is not None:
        return carried == 1
    op = value.owner

    def both() -> bool:
        assert isinstance(op, Operation)
        lhs, rhs = op.operands[-2:]
        return is_non_negative(lhs, assume) and is_non_negative(rhs, assume)

    match op:
        case ascend.GetTilingOp() | ascend.GetBlockIdxOp() | ascend.GetBlockNumOp():
            return True
        case arith.RemUIOp():
            divisor = constant_of(op.rhs)
            return (divisor is not None and divisor > 0) or both()
        case arith.MaxSIOp():
            return is_non_negative(op.lhs, assume) or is_non_negative(op.rhs, assume)
        case (
            arith.AddiOp()
            | arith.MuliOp()
            | arith.DivUIOp()
            | arith.DivSIOp()
            | arith.RemSIOp()
            | arith.CeilDivUIOp()
            | arith.CeilDivSIOp()
            | arith.MinUIOp()
            | arith.MaxUIOp()
            | arith.MinSIOp()
            | arith.SelectOp()
            | arith.AndIOp()
            | arith.OrIOp()
            | arith.XOrIOp()
        ):
            return both()
        case _:
            return False


def _non_negative_fact(value: SSAValue, assume: dict[SSAValue, int]) -> int:
    return int(is_non_negative(value, assume))


UNBOUNDED_ROUNDS = 8
"""Rounds of bound growth before a loop-carried value is declared unbounded."""


def upper_bound(value: SSAValue, assume: dict[SSAValue, int] | None = None) -> int | None:
    """An inclusive upper bound of ``value`` (as a signed 64-bit integer), or None.

    A loop-carried value's bound grows from its initial value through its yields until
    it settles (an event slot toggled by ``xori``) or keeps growing (a counter): None.
    """
    assume = assume or {}
    constant = constant_of(value)
    if constant is not None:
        return constant
    loop = _for_induction(value)
    if loop is not None:
        bound = upper_bound(loop.ub, assume)
        return None if bound is None else bound - 1
    sources = carried_sources(value)
    if sources is not None:
        return _carried_upper_bound(value, sources, assume)
    op = value.owner
    match op:
        case arith.RemUIOp() | arith.RemSIOp():
            divisor = constant_of(op.rhs)
            if divisor is None or divisor <= 0:
                return None
            unsigned = isinstance(op, arith.RemUIOp)
            return divisor - 1 if unsigned or is_non_negative(op.lhs) else None
        case arith.MinSIOp():
            return _min_known(upper_bound(op.lhs, assume), upper_bound(op.rhs, assume))
        case arith.MinUIOp() | arith.AndIOp() if _both_non_negative(op):
            return _min_known(upper_bound(op.lhs, assume), upper_bound(op.rhs, assume))
        case arith.MaxSIOp() | arith.SelectOp():
            lhs, rhs = upper_bound(op.lhs, assume), upper_bound(op.rhs, assume)
            return None if lhs is None or rhs is None else max(lhs, rhs)
        case arith.XOrIOp() | arith.OrIOp() if _both_non_negative(op):
            lhs, rhs = upper_bound(op.lhs, assume), upper_bound(op.rhs, assume)
            if lhs is None or rhs is None:
                return None
            return (1 << max(lhs, rhs, 0).bit_length()) - 1
        case _:
            return None


def _both_non_negative(op: Operation) -> bool:
    lhs, rhs = op.operands
    return is_non_negative(lhs) and is_non_negative(rhs)


def _carried_upper_bound(
    value: SSAValue, sources: list[SSAValue], assume: dict[SSAValue, int]
) -> int | None:
    if value in assume:
        return assume[value]
    bound = -(1 << 63)
    for _ in range(UNBOUNDED_ROUNDS):
        inner = {**assume, value: bound}
        grown = bound
        for source in sources:
            limit = upper_bound(source, inner)
            if limit is None:
                return None
            grown = max(grown, limit)
        if grown == bound:
            return bound
        bound = grown
    return None


def _min_known(lhs: int | None, rhs: int | None) -> int | None:
    if lhs is None:
        return rhs
    if rhs is None:
        return lhs
    return min(lhs, rhs)


def fits(value: SSAValue, bound: int) -> bool:
    """Whether ``value`` is provably at most ``bound``."""
    limit = upper_bound(value)
    return limit is not None and limit <= bound
