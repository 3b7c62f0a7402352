"""The integer ``arith`` ops a lowered kernel may use that xDSL 0.74's interpreter lacks.

xDSL's ``ArithFunctions`` runs the common integer ops; ``ArithExtraFunctions`` adds the
rest (unsigned and ceiling division, min/max, logical shift right, extensions,
truncation), one ``@impl`` per op, each running the op's function of
``runtime.interpreter.int_ops``: the semantics the fast path writes inline too.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.ir import Operation

from runtime.interpreter import int_ops


def _binary(op: Operation, args: PythonValues) -> PythonValues:
    """``int_ops.BINARY[op](lhs, rhs, width)`` at the width of the op's result."""
    return (int_ops.BINARY[type(op)](args[0], args[1], int_ops.width_of(op.results[0].type)),)


def _cast(op: Operation, args: PythonValues) -> PythonValues:
    """``int_ops.cast`` from the operand's width to the result's, as the op extends."""
    source = int_ops.width_of(op.operands[0].type)
    target = int_ops.width_of(op.results[0].type)
    return (int_ops.cast(args[0], source, target, zero_extend=int_ops.CASTS[type(op)]),)


@register_impls
class ArithExtraFunctions(InterpreterFunctions):
    """The integer ``arith`` ops xDSL's ``ArithFunctions`` does not interpret."""

    @impl(arith.DivUIOp)
    def run_divui(
        self, interpreter: Interpreter, op: arith.DivUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.RemUIOp)
    def run_remui(
        self, interpreter: Interpreter, op: arith.RemUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.CeilDivSIOp)
    def run_ceildivsi(
        self, interpreter: Interpreter, op: arith.CeilDivSIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.CeilDivUIOp)
    def run_ceildivui(
        self, interpreter: Interpreter, op: arith.CeilDivUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.MinSIOp)
    def run_minsi(
        self, interpreter: Interpreter, op: arith.MinSIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.MaxSIOp)
    def run_maxsi(
        self, interpreter: Interpreter, op: arith.MaxSIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.MinUIOp)
    def run_minui(
        self, interpreter: Interpreter, op: arith.MinUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.MaxUIOp)
    def run_maxui(
        self, interpreter: Interpreter, op: arith.MaxUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.ShRUIOp)
    def run_shrui(
        self, interpreter: Interpreter, op: arith.ShRUIOp, args: PythonValues
    ) -> PythonValues:
        return _binary(op, args)

    @impl(arith.ExtSIOp)
    def run_extsi(
        self, interpreter: Interpreter, op: arith.ExtSIOp, args: PythonValues
    ) -> PythonValues:
        return _cast(op, args)

    @impl(arith.ExtUIOp)
    def run_extui(
        self, interpreter: Interpreter, op: arith.ExtUIOp, args: PythonValues
    ) -> PythonValues:
        return _cast(op, args)

    @impl(arith.TruncIOp)
    def run_trunci(
        self, interpreter: Interpreter, op: arith.TruncIOp, args: PythonValues
    ) -> PythonValues:
        return _cast(op, args)
