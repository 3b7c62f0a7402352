"""A lowered kernel written out as one Python function: the fast path's code generator.

Interpreting the IR op by op (even through pre-built closures) costs about half a
microsecond per executed op: a call per op, registers in a list, an ``int_ops`` call
per integer op. Here the kernel becomes Python source once, and CPython runs it as
ordinary code:

* every SSA value is a local variable (named after its IR name) and every constant a
  literal at its uses;
* ``scf.for`` is a ``for`` over ``range``, ``scf.while`` a ``while True`` loop that
  breaks on the ``scf.condition``, ``scf.if`` an ``if``; block arguments and results are
  assigned from the terminators' operands (one tuple assignment, so swaps are safe);
* integer ops are inline expressions (``runtime.interpreter.int_ops``'s source forms, with the
  exact wrap-around of the op's width);
* every ``ascend`` op is a call of its machine method (``MACHINE_METHODS``: of the
  :class:`~runtime.interpreter.machine.AscendMachine` or of its current core's
  ``sync``), bound to a local once per core, with its
  :class:`~runtime.interpreter.faults.OpSite` and ``machine_arguments`` (the op's pipe
  first, from its ``OnPipe`` trait) before its operands, all literals: the machine keeps
  every check and every trace row;
* the executed-op count is kept the way xDSL's ``OpCounter`` counts it: each time a
  block runs, ``n`` grows by its number of ops, terminator included.

The generated function is ``run_core(machine, args) -> int``: one core's program over
the kernel's GM arguments, returning the ops it executed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import Float32Type, FloatAttr, IndexType, IntegerAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, Region, SSAValue

from runtime.interpreter import int_ops
from runtime.interpreter.faults import OpSite
from runtime.interpreter.machine import MACHINE_METHODS, machine_arguments

ENTRY = "run_core"
"""The name of the generated function."""

_TERMINATORS = (scf.YieldOp, scf.ConditionOp, func.ReturnOp)


class KernelCompileError(ValueError):
    """The kernel holds an op the fast path does not know; the message names it."""


@dataclass
class KernelSource:
    """The generated module: its text and the names it uses besides builtins."""

    text: str
    namespace: dict[str, Any] = field(default_factory=dict)
    """Sites (``S<ordinal>``) and the ``int_ops`` functions the text calls."""


def kernel_source(function: FuncOp, sites: Mapping[Operation, OpSite]) -> KernelSource:
    """Write ``function`` (a lowered kernel) as the Python function :data:`ENTRY`."""
    return _Writer(function, sites).module()


def _identifier(hint: str | None) -> str:
    """An SSA name hint as the tail of a Python name (ASCII letters, digits, _)."""
    return re.sub(r"[^0-9A-Za-z_]", "_", hint) if hint else ""


class _Writer:
    """Walks the kernel once, appending indented lines of Python."""

    def __init__(self, function: FuncOp, sites: Mapping[Operation, OpSite]):
        self.function = function
        self.sites = sites
        self.lines: list[str] = []
        self.depth = 1
        self.names: dict[SSAValue, str] = {}
        self.literals: dict[SSAValue, str] = {}
        self.in_range: set[SSAValue] = set()
        """Values known to lie in their width's signed range (see ``int_ops``)."""
        self.namespace: dict[str, Any] = {"wrap": int_ops.wrap}
        self.methods: dict[str, str] = {}
        """Machine method (a path from ``machine``) -> the local it is bound to."""

    # ------------------------------------------------------------ output

    def module(self) -> KernelSource:
        body = self.function.body.block
        params = ", ".join(self._define(arg) for arg in body.args)
        self._block(body)
        self.depth = 1
        header = [f"def {ENTRY}(machine, args):"]
        header += [f"    {local} = machine.{name}" for name, local in self.methods.items()]
        if params:
            header.append(f"    ({params},) = args")
        header.append("    n = 0")
        text = "\n".join([*header, *self.lines, "    return n", ""])
        return KernelSource(text, self.namespace)

    def _line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def _define(self, value: SSAValue) -> str:
        name = f"v{len(self.names)}"
        hint = _identifier(value.name_hint)
        name = self.names[value] = f"{name}_{hint}" if hint else name
        return name

    def _use(self, value: SSAValue) -> str:
        literal = self.literals.get(value)
        return literal if literal is not None else self.names[value]

    def _assign(self, targets: Sequence[SSAValue], sources: Sequence[SSAValue]) -> None:
        """``targets = sources`` at once; block arguments and results only get this."""
        pairs = [
            (self._define(t) if t not in self.names else self.names[t], self._use(s))
            for t, s in zip(targets, sources, strict=True)
        ]
        pairs = [(t, s) for t, s in pairs if t != s]
        if pairs:
            self._line(f"{', '.join(t for t, _ in pairs)} = {', '.join(s for _, s in pairs)}")

    # ------------------------------------------------------------ structure

    def _block(self, block: Block) -> Sequence[SSAValue]:
        """Emit ``block``'s ops; return its terminator's operands."""
        self._line(f"n += {len(block.ops)}")
        for op in block.ops:
            if isinstance(op, _TERMINATORS):
                return op.operands
            self._op(op)
        return ()

    def _single_block(self, region: Region) -> Block | None:
        if not region.blocks:
            return None
        if len(region.blocks) != 1:
            parent = region.parent_op()
            where = self.sites.get(parent, parent.name) if parent else "a region"
            raise KernelCompileError(f"{where}: multi-block regions are not supported")
        return region.block

    def _nested(self, block: Block, targets: Sequence[SSAValue]) -> None:
        """Emit ``block`` one level deeper, then assign its yields to ``targets``."""
        self.depth += 1
        self._assign(targets, self._block(block))
        self.depth -= 1

    def _op(self, op: Operation) -> None:
        write = _WRITERS.get(type(op))
        if write is None:
            raise KernelCompileError(f"the fast path cannot run {self.sites.get(op, op.name)}")
        write(self, op)

    # ------------------------------------------------------------ arith

    def _constant(self, op: arith.ConstantOp) -> None:
        value = op.value
        if isinstance(value, FloatAttr) and isinstance(op.result.type, Float32Type):
            # A clamp's bound (a quantising body): an exact float32, as its repr says.
            bound = float(value.value.data)  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
            self.literals[op.result] = f"({float(np.float32(bound))!r})"
            return
        if not isinstance(value, IntegerAttr):
            raise KernelCompileError(
                f"{self.sites[op]}: only integer and f32 constants are supported"
            )
        data = value.value.data
        if isinstance(op.result.type, IndexType):
            data = int_ops.wrap(data, int_ops.INDEX_WIDTH)
        self.literals[op.result] = f"({data})" if data < 0 else str(data)
        if int_ops.wrap(data, int_ops.width_of(op.result.type)) == data:
            self.in_range.add(op.result)

    def _operands_in_range(self, op: Operation) -> bool:
        return all(value in self.in_range for value in op.operands)

    def _emit(self, lines: list[str], result: SSAValue, in_range: bool) -> None:
        for line in lines:
            self._line(line)
        if in_range:
            self.in_range.add(result)

    def _call(self, function: Any, name: str, out: str, *args: str) -> list[str]:
        self.namespace[name] = function
        return [f"{out} = {name}({', '.join(args)})"]

    def _binary(self, op: Operation) -> None:
        (result,) = op.results
        out, width = self._define(result), int_ops.width_of(result.type)
        a, b = (self._use(v) for v in op.operands)
        kind = type(op)
        lines = int_ops.binary_source(kind, out, a, b, width, self._operands_in_range(op))
        if lines is None:
            fn_name = f"{op.name.replace('.', '_')}"
            lines = self._call(int_ops.BINARY[kind], fn_name, out, a, b, str(width))
        self._emit(lines, result, True)

    def _cmpi(self, op: arith.CmpiOp) -> None:
        out, width = self._define(op.result), int_ops.width_of(op.lhs.type)
        a, b = self._use(op.lhs), self._use(op.rhs)
        predicate = op.predicate.value.data
        lines = int_ops.cmpi_source(predicate, out, a, b, width, self._operands_in_range(op))
        if lines is None:
            lines = self._call(int_ops.cmpi, "cmpi", out, str(predicate), a, b, str(width))
        self._emit(lines, op.result, False)  # True is out of range for i1

    def _select(self, op: arith.SelectOp) -> None:
        out = self._define(op.result)
        cond, if_true, if_false = (self._use(v) for v in op.operands)
        in_range = op.lhs in self.in_range and op.rhs in self.in_range
        self._emit([f"{out} = {if_true} if {cond} else {if_false}"], op.result, in_range)

    def _cast(self, op: Operation) -> None:
        (source,), (result,) = op.operands, op.results
        lines = int_ops.cast_source(
            self._define(result),
            self._use(source),
            int_ops.width_of(source.type),
            int_ops.width_of(result.type),
            zero_extend=int_ops.CASTS[type(op)],
            in_range=source in self.in_range,
        )
        self._emit(lines, result, True)

    # ------------------------------------------------------------ scf

    def _for(self, op: scf.ForOp) -> None:
        body = self._single_block(op.body)
        assert body is not None
        iv, *carried = body.args
        self._assign(carried, op.iter_args)
        bounds = ", ".join(self._use(v) for v in (op.lb, op.ub, op.step))
        self._line(f"for {self._define(iv)} in range({bounds}):")
        self._nested(body, carried)
        self._assign(op.results, carried)

    def _if(self, op: scf.IfOp) -> None:
        then = self._single_block(op.true_region)
        otherwise = self._single_block(op.false_region)
        for result in op.results:
            self._define(result)
        self._line(f"if {self._use(op.cond)}:")
        if then is None:
            self.depth += 1
            self._line("pass")
            self.depth -= 1
        else:
            self._nested(then, op.results)
        if otherwise is not None:
            self._line("else:")
            self._nested(otherwise, op.results)

    def _while(self, op: scf.WhileOp) -> None:
        before = self._single_block(op.before_region)
        after = self._single_block(op.after_region)
        assert before is not None and after is not None
        self._assign(before.args, op.operands)
        self._line("while True:")
        self.depth += 1
        cond, *forwarded = self._block(before)
        self._line(f"if not {self._use(cond)}:")
        self.depth += 1
        self._assign(op.results, forwarded)
        self._line("break")
        self.depth -= 1
        self._assign(after.args, forwarded)
        self._assign(before.args, self._block(after))
        self.depth -= 1

    # ------------------------------------------------------------ ascend

    def _machine_call(self, op: Operation) -> None:
        site = self.sites[op]
        site_name = f"S{site.ordinal}"
        self.namespace[site_name] = site
        method = MACHINE_METHODS[type(op)]
        local = self.methods.setdefault(method, f"m_{method.replace('.', '_')}")
        args = [site_name, *map(repr, machine_arguments(op)), *map(self._use, op.operands)]
        call = f"{local}({', '.join(args)})"
        if op.results:
            (result,) = op.results
            call = f"{self._define(result)} = {call}"
        self._line(call)


_WRITERS: dict[type[Operation], Callable[[_Writer, Any], None]] = {
    arith.ConstantOp: _Writer._constant,
    arith.CmpiOp: _Writer._cmpi,
    arith.SelectOp: _Writer._select,
    scf.ForOp: _Writer._for,
    scf.IfOp: _Writer._if,
    scf.WhileOp: _Writer._while,
    **dict.fromkeys(int_ops.BINARY, _Writer._binary),
    **dict.fromkeys(int_ops.CASTS, _Writer._cast),
    **dict.fromkeys(MACHINE_METHODS, _Writer._machine_call),
}
"""How each op the fast path runs is written (terminators are its blocks' business)."""
