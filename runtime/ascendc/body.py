"""Print a lowered kernel's body as C++ statements: the kernel class's ``Process``.

Modelled on xDSL's ``CslPrintContext`` (``xdsl/backend/csl/print_csl.py``): the context
owns the SSA-value-to-name map and the indentation, ``descend`` opens a nested block,
and ``print_op`` is one ``match`` over op classes. A pure value used once and without
a name hint is inlined into its use (CSL's promotion rule); every other value gets a
``const`` named after its hint, in camelCase.

Integer semantics are MLIR's, exactly: ``index`` is ``uint64_t`` (the lowering's
arithmetic is mostly unsigned, like AscendC's sizes and offsets), ``iN`` is ``intN_t``,
and an op whose signedness differs from its operands' C++ type casts them, unless
``runtime.ascendc.facts`` proves them non-negative (then both readings agree).
``scf.for`` compares signed, so a loop whose bounds may be negative casts too.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from io import StringIO
from typing import IO

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    Float32Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    StringAttr,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.traits import is_side_effect_free

from pakv_dialect import ascend
from runtime.ascendc.compute import SCALAR_HELPERS, element_type, round_mode
from runtime.ascendc.errors import AscendCEmitError, emit_error
from runtime.ascendc.facts import constant_of
from runtime.ascendc.identifiers import RESERVED
from runtime.ascendc.plan import (
    GmParam,
    KernelPlan,
    camel,
    copy_variant,
    events_member,
    hard_event,
)

TABLE_ROW_FIELD = "table_width"
"""The one GM tensor the kernel reads by two indices is blockTables, whose rows
(dim 1, dynamic) are the tiling's ``table_width`` long: a scalar read linearises its
indices with that row length."""

MAX_INLINE = 60
"""Longest expression inlined into its single use rather than named."""

LINE_WIDTH = 100


def cpp_type(ty: Attribute) -> str:
    if isinstance(ty, IndexType):
        return "uint64_t"
    if isinstance(ty, Float32Type):
        return "float"
    if isinstance(ty, IntegerType):
        width = ty.width.data
        return "bool" if width == 1 else f"int{width}_t"
    raise AscendCEmitError(f"no C++ type for {ty}")


def _natively_signed(ty: Attribute) -> bool:
    return not isinstance(ty, IndexType)


def _typed(ty: Attribute, signed: bool) -> str:
    width = 64 if isinstance(ty, IndexType) else cpp_type(ty)[3:-2]
    return f"{'' if signed else 'u'}int{width}_t"


_SIGNED_BINARY: dict[type[Operation], str] = {
    arith.DivSIOp: "/",
    arith.RemSIOp: "%",
    arith.ShRSIOp: ">>",
}
_UNSIGNED_BINARY: dict[type[Operation], str] = {
    arith.DivUIOp: "/",
    arith.RemUIOp: "%",
    arith.ShRUIOp: ">>",
}
_PLAIN_BINARY: dict[type[Operation], str] = {
    arith.AddiOp: "+",
    arith.SubiOp: "-",
    arith.MuliOp: "*",
    arith.ShLIOp: "<<",
}
_BITWISE: dict[type[Operation], tuple[str, str]] = {
    arith.AndIOp: ("&", "&&"),
    arith.OrIOp: ("|", "||"),
    arith.XOrIOp: ("^", "!="),
}
_MIN_MAX: dict[type[Operation], tuple[str, bool]] = {
    arith.MinSIOp: ("<", True),
    arith.MaxSIOp: (">", True),
    arith.MinUIOp: ("<", False),
    arith.MaxUIOp: (">", False),
}
_CMPI = ("==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">=")

ATOM, UNARY, TERNARY = 0, 3, 16
"""C++ precedence levels (lower binds tighter): names, literals, calls and casts are
atoms; a negative literal is unary; the conditional operator binds loosest."""
_LEVEL = {
    "*": 5, "/": 5, "%": 5, "+": 6, "-": 6, "<<": 7, ">>": 7,
    "<": 9, "<=": 9, ">": 9, ">=": 9, "==": 10, "!=": 10,
    "&": 11, "^": 12, "|": 13, "&&": 14, "||": 15,
}  # fmt: skip
OR = _LEVEL["||"]
_STRICT = frozenset({"&", "^", "|", "<<", ">>"})
_ARITH = frozenset(
    {
        *_SIGNED_BINARY, *_UNSIGNED_BINARY, *_PLAIN_BINARY, *_BITWISE, *_MIN_MAX,
        arith.CeilDivUIOp,
    }
)  # fmt: skip


def wrap_line(prefix: str, text: str, width: int = LINE_WIDTH) -> list[str]:
    """``text`` at ``prefix``; when too long, its outermost argument list (or the clauses
    of a ``for`` header) continue on lines indented one level deeper."""
    if len(prefix) + len(text) <= width or text.lstrip().startswith("//"):
        return [prefix + text]
    indent = prefix + text[: len(text) - len(text.lstrip())]
    text = text.lstrip()
    if text.startswith("for ("):
        head, pieces, separator = "for (", _split_top_level(text[5:], ";"), ";"
    else:
        opening = _last_top_level_paren(text)
        head, separator = text[: opening + 1], ","
        pieces = _split_top_level(text[opening + 1 :], ",") if opening >= 0 else []
    if len(pieces) < 2:
        assignment = text.find(" = ")
        if assignment < 0:
            return [indent + text]
        return [indent + text[: assignment + 2], indent + "    " + text[assignment + 3 :]]
    lines, current = [], indent + head
    for index, piece in enumerate(pieces):
        piece = piece.strip() + (separator if index < len(pieces) - 1 else "")
        if len(current) + len(piece) + 1 > width and current.strip() != head.strip():
            lines.append(current.rstrip())
            current = indent + "    " + piece
        else:
            current += piece if current.endswith("(") else " " + piece
    lines.append(current)
    return lines


def _last_top_level_paren(text: str) -> int:
    """Where the last ``(`` outside any bracket opens (the outermost call's arguments)."""
    depth, found = 0, -1
    for position, char in enumerate(text):
        if char in "([{":
            if depth == 0 and char == "(":
                found = position
            depth += 1
        elif char in ")]}":
            depth -= 1
    return found


def _split_top_level(arguments: str, separator: str) -> list[str]:
    """Split ``a, f(b, c), d) rest`` at separators outside brackets; the tail stays on the
    last piece."""
    pieces, depth, start = [], 0, 0
    for position, char in enumerate(arguments):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            pieces.append(arguments[start:position])
            start = position + 1
    pieces.append(arguments[start:])
    return pieces


@dataclass
class AscendCPrintContext:
    """Output, indentation and SSA names while printing one kernel (cf. CslPrintContext)."""

    output: IO[str]
    plan: KernelPlan
    variables: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    levels: dict[SSAValue, int] = field(default_factory=dict[SSAValue, int])
    """Precedence level of each inlined value's expression (absent: an atom)."""
    taken: set[str] = field(default_factory=set[str])
    """Every C++ name in use in the unit; shared by nested contexts."""
    force_inline: bool = False
    """Inline every pure value (a ``while`` condition must be one expression)."""
    prefix: str = ""
    INDENT = "    "

    # ----------------------------------------------------------------- basics

    def print(self, text: str = "") -> None:
        for line in text.split("\n"):
            for wrapped in wrap_line(self.prefix, line) if line else [""]:
                print(wrapped.rstrip(), file=self.output)

    def nested(self) -> AscendCPrintContext:
        return replace(
            self,
            variables=self.variables.copy(),
            levels=self.levels.copy(),
            prefix=self.prefix + self.INDENT,
        )

    @contextmanager
    def descend(self, header: str) -> Iterator[AscendCPrintContext]:
        """A control-flow block: ``header {`` ... ``}`` one level deeper."""
        self.print(f"{header} {{")
        yield self.nested()
        self.print("}")

    @contextmanager
    def function(self, signature: str) -> Iterator[AscendCPrintContext]:
        """A function definition, its brace on a line of its own."""
        self.print(signature)
        self.print("{")
        yield self.nested()
        self.print("}")

    def fresh(self, hint: str) -> str:
        base = camel(hint)
        if base in RESERVED:
            base += "Value"
        name, counter = base, 1
        while name in self.taken:
            name, counter = f"{base}{counter}", counter + 1
        self.taken.add(name)
        return name

    def name_of(self, value: SSAValue) -> str:
        """The C++ expression of an already printed value."""
        if value in self.variables:
            return self.variables[value]
        owner = value.owner
        if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
            constant = owner.value.value.data
            if value.type == IntegerType(1):
                return "true" if constant else "false"
            if constant < 0 and not _natively_signed(value.type):
                return f"static_cast<{cpp_type(value.type)}>({constant})"
            return str(constant)
        if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, FloatAttr):
            # A clamp's bound (a quantising body): an integer-valued float, exact in C++.
            return f"{float(owner.value.value.data)!r}f"  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
        raise AscendCEmitError(f"value {value} used before it was printed")

    def level_of(self, value: SSAValue) -> int:
        if value in self.levels:
            return self.levels[value]
        constant = constant_of(value)
        return UNARY if constant is not None and constant < 0 else ATOM

    def reinterpreted(self, value: SSAValue, signed: bool) -> bool:
        """Whether reading ``value`` as ``signed`` takes a cast: its C++ type reads it
        the other way and it may be negative."""
        if _natively_signed(value.type) == signed:
            return False
        constant = constant_of(value)
        if constant is not None:
            return constant < 0 and not signed
        return not self.plan.facts.is_non_negative(value)

    def operand(
        self, value: SSAValue, level: int, *, right: bool = False, signed: bool | None = None
    ) -> str:
        """``value`` as an operand of an operator of precedence ``level``, parenthesised
        when needed; ``signed`` reads it as a signed or unsigned integer of its width."""
        text, own = self.name_of(value), self.level_of(value)
        constant = constant_of(value)
        if signed and constant is not None and constant < 0:
            text, own = str(constant), UNARY
        elif signed is not None and self.reinterpreted(value, signed):
            text, own = f"static_cast<{_typed(value.type, signed)}>({text})", ATOM
        if own > level or (right and own == level and own != ATOM):
            return f"({text})"
        return text

    def binary(
        self, lhs: SSAValue, symbol: str, rhs: SSAValue, signed: bool | None = None
    ) -> tuple[str, int]:
        level = _LEVEL[symbol]
        # g++ -Wparentheses wants any compound operand of a bitwise or shift operator,
        # and && under ||, in parentheses: bind them tighter than the operator needs.
        tight = UNARY if symbol in _STRICT else _LEVEL["&&"] - 1 if symbol == "||" else level
        a = self.operand(lhs, tight, signed=signed)
        b = self.operand(rhs, tight, right=True, signed=signed)
        return f"{a} {symbol} {b}", level

    def declare(self, value: SSAValue, expression: str, hint: str) -> None:
        name = self.fresh(value.name_hint or hint)
        self.variables[value] = name
        self.print(f"const {cpp_type(value.type)} {name} = {expression};")

    def define(self, value: SSAValue, expression: str, level: int = ATOM) -> None:
        """Name ``value``, or inline it into its single use (CSL's promotion rule).

        A value whose one use is a ``yield`` is inlined even when it has a hint: the
        yield assigns it to the loop variable that already carries that meaning.
        """
        op = value.owner
        single = value.has_one_use()
        into_yield = single and isinstance(value.get_user_of_unique_use(), scf.YieldOp)
        inline = (
            isinstance(op, Operation)
            and is_side_effect_free(op)
            and len(expression) <= MAX_INLINE
            and (self.force_inline or into_yield or (single and value.name_hint is None))
        )
        if inline:
            self.variables[value] = expression
            self.levels[value] = level
        else:
            self.declare(value, expression, self.hint_for(value))

    def hint_for(self, value: SSAValue) -> str:
        """A name for a value the lowering left unnamed: ``x + 1`` is ``nextX``."""
        op = value.owner
        if isinstance(op, arith.AddiOp) and constant_of(op.rhs) == 1 and op.lhs in self.variables:
            return f"next_{self.variables[op.lhs]}"
        return "value"

    def declare_mutable(self, value: SSAValue, hint: str, init: str | None) -> str:
        name = self.fresh(value.name_hint or hint)
        self.variables[value] = name
        self.print(f"{cpp_type(value.type)} {name}{'' if init is None else f' = {init}'};")
        return name

    def assign_all(self, targets: Sequence[str], values: Sequence[SSAValue]) -> None:
        """Parallel assignment ``targets = values`` (loop-carried variables).

        Temporaries are needed only when a later value reads an earlier target.
        """
        pending = [(t, self.name_of(v)) for t, v in zip(targets, values, strict=True)]
        pending = [(t, e) for t, e in pending if t != e]
        clash = any(
            re.search(rf"\b{re.escape(target)}\b", later)
            for i, (target, _) in enumerate(pending)
            for _, later in pending[i + 1 :]
        )
        if clash:
            staged: list[tuple[str, str]] = []
            for target, expression in pending:
                temp = self.fresh(f"{target}_next")
                self.print(f"const auto {temp} = {expression};")
                staged.append((target, temp))
            pending = staged
        for target, expression in pending:
            self.print(f"{target} = {expression};")

    # ----------------------------------------------------------------- blocks

    def print_block(self, block: Block) -> None:
        ops = list(block.ops)
        prologue, epilogue = _flag_runs(ops) if block is self.plan.func.body.block else (None, None)
        for position, op in enumerate(ops):
            if position == prologue:
                self.print(
                    "// Prologue: every slot starts free; each flag is set before its first wait."
                )
            if position == epilogue:
                self.print(
                    "// Epilogue: consume the last set of every flag before the kernel ends."
                )
            note = op.attributes.get(ascend.NOTE_ATTR)
            if isinstance(note, StringAttr):
                width = max(LINE_WIDTH - len(self.prefix) - len("// "), 40)
                for line in textwrap.wrap(note.data, width):
                    self.print(f"// {line}")
            self.print_op(op)

    def print_op(self, op: Operation) -> None:
        match op:
            case arith.ConstantOp() | ascend.UbAllocOp():
                pass  # constants print inline; UB buffers are members set up in Init
            case ascend.GetTilingOp():
                self.variables[op.result] = f"tiling_.{camel(op.field.data)}"
            case ascend.GetBlockIdxOp():
                self.declare(op.result, "GetBlockIdx()", "block_idx")
            case ascend.GetBlockNumOp():
                self.variables[op.result] = "GetBlockNum()"
            case arith.CmpiOp():
                predicate = op.predicate.value.data
                symbol = _CMPI[predicate]
                self.define(op.result, *self.binary(op.lhs, symbol, op.rhs, signed=predicate < 6))
            case arith.SelectOp():
                self.define(op.result, self.ternary(op.cond, op.lhs, op.rhs), TERNARY)
            case arith.IndexCastOp() | arith.ExtSIOp() | arith.TruncIOp() | arith.ExtUIOp():
                source = self.name_of(op.input)
                if isinstance(op, arith.ExtUIOp):
                    source = f"static_cast<{_typed(op.input.type, False)}>({source})"
                self.define(op.result, f"static_cast<{cpp_type(op.result.type)}>({source})")
            case Operation() if type(op) in _ARITH:
                self.print_arith(op)
            case scf.ForOp():
                self.print_for(op)
            case scf.IfOp():
                self.print_if(op)
            case scf.WhileOp():
                self.print_while(op)
            case scf.YieldOp():
                self.print_yield(op)
            case func.ReturnOp():
                self.print_release_events()
                if op.next_op is not None or op.parent_block() is not self.plan.func.body.block:
                    self.print("return;")
            case ascend.LoadScalarOp():
                self.print_load_scalar(op)
            case ascend.RunLengthOp():
                self.print_run_length(op)
            case ascend.LoadOp() | ascend.StoreOp():
                self.print_copy(op)
            case ascend.TransposeBlocksOp():
                source = self.slot_view(op.source, op.source_slot)
                target = self.slot_view(op.target, op.target_slot)
                rows, cols = self.name_of(op.rows), self.name_of(op.cols)
                self.print(f"TransposeBlocks({target}, {source}, {rows}, {cols});")
            case ascend.LoadTransposedOp():
                ub = self.slot_view(op.ub, op.slot, op.ub_offset)
                sizes = (op.gm_offset, op.rows, op.cols, op.gm_gap)
                operands = [ub, self.gm_param(op.gm).member, *map(self.name_of, sizes)]
                self.print(f"CopyInTransposed({', '.join(operands)});")
            case ascend.PipeBarrierOp():
                self.print("PipeBarrier<PIPE_ALL>();")
            case ascend.FillZeroOp():
                view = self.slot_view(op.target, op.slot)
                self.print(f"ZeroFill({view}, {self.name_of(op.bytes)});")
            case ascend.VCastOp() | ascend.VScalarOp() | ascend.VRowsOp():
                self.print_vector(op)
            case ascend.SetFlagOp() | ascend.WaitFlagOp():
                verb = "SetFlag" if isinstance(op, ascend.SetFlagOp) else "WaitFlag"
                kind = hard_event(op)
                event = f"{events_member(kind)}[{self.name_of(op.event)}]"
                self.print(f"{verb}<HardEvent::{kind}>({event});")
            case _:
                raise emit_error(op, "the AscendC target does not print this op")

    def ternary(self, cond: SSAValue | str, lhs: SSAValue, rhs: SSAValue) -> str:
        test = cond if isinstance(cond, str) else self.operand(cond, OR)
        return f"{test} ? {self.operand(lhs, OR)} : {self.operand(rhs, OR)}"

    def print_arith(self, op: Operation) -> None:
        lhs, rhs = op.operands
        result = op.results[0]
        kind = type(op)
        if kind in _PLAIN_BINARY:
            self.define(result, *self.binary(lhs, _PLAIN_BINARY[kind], rhs))
        elif kind in _BITWISE:
            bits, logic = _BITWISE[kind]
            symbol = logic if result.type == IntegerType(1) else bits
            self.define(result, *self.binary(lhs, symbol, rhs))
        elif kind in _MIN_MAX:
            symbol, signed = _MIN_MAX[kind]
            test, _ = self.binary(lhs, symbol, rhs, signed=signed)
            self.define(result, self.ternary(test, lhs, rhs), TERNARY)
        elif kind is arith.CeilDivUIOp:
            a = self.operand(lhs, _LEVEL["+"], signed=False)
            b = self.operand(rhs, _LEVEL["+"], right=True, signed=False)
            divisor = self.operand(rhs, _LEVEL["/"], right=True, signed=False)
            expression = (f"({a} + {b} - 1) / {divisor}", _LEVEL["/"])
            self.define(result, *self.cast_back(op, expression, signed=False))
        else:
            signed = kind in _SIGNED_BINARY
            symbol = (_SIGNED_BINARY if signed else _UNSIGNED_BINARY)[kind]
            expression = self.binary(lhs, symbol, rhs, signed)
            self.define(result, *self.cast_back(op, expression, signed=signed))

    def cast_back(
        self, op: Operation, expression: tuple[str, int], *, signed: bool
    ) -> tuple[str, int]:
        """``op``'s expression, computed on operands cast to another signedness, back in
        its result's type (so it compares and mixes like every other value of that type)."""
        if not any(self.reinterpreted(v, signed) for v in op.operands):
            return expression
        return f"static_cast<{cpp_type(op.results[0].type)}>({expression[0]})", ATOM

    # ----------------------------------------------------------------- control flow

    def print_for(self, op: scf.ForOp) -> None:
        body = op.body.block
        index, *carried = body.args
        for result, init, arg in zip(op.res, op.iter_args, carried, strict=True):
            name = self.declare_mutable(arg, result.name_hint or "carried", self.name_of(init))
            self.variables[result] = name
        i = self.fresh(index.name_hint or "i")
        self.variables[index] = i
        lower, step = self.name_of(op.lb), self.name_of(op.step)
        facts = self.plan.facts
        test = f"{i} < {self.operand(op.ub, _LEVEL['<'], right=True)}"
        if not (facts.is_non_negative(op.lb) and facts.is_non_negative(op.ub)):
            # scf.for compares signed: bounds that may be negative are read as int64_t.
            bound = self.operand(op.ub, _LEVEL["<"], right=True, signed=True)
            test = f"static_cast<int64_t>({i}) < {bound}"
        increment = f"++{i}" if step == "1" else f"{i} += {step}"
        header = f"for ({cpp_type(index.type)} {i} = {lower}; {test}; {increment})"
        with self.descend(header) as inner:
            inner.print_block(body)

    def print_if(self, op: scf.IfOp) -> None:
        for result in op.output:
            self.declare_mutable(result, "chosen", None)
        else_block = op.false_region.block if op.false_region.blocks else None
        self.print(f"if ({self.name_of(op.cond)}) {{")
        self.nested().print_block(op.true_region.block)
        if else_block is not None and not _only_empty_yield(else_block):
            self.print("} else {")
            self.nested().print_block(else_block)
        self.print("}")

    def print_while(self, op: scf.WhileOp) -> None:
        before, after = op.before_region.block, op.after_region.block
        condition = before.last_op
        assert isinstance(condition, scf.ConditionOp)
        names = [
            self.declare_mutable(arg, result.name_hint or "carried", self.name_of(init))
            for arg, result, init in zip(before.args, op.res, op.arguments, strict=True)
        ]
        forwards = list(condition.args) == list(before.args)
        if forwards:
            for result, arg, name in zip(op.res, after.args, names, strict=True):
                self.variables[result] = name
                self.variables[arg] = name
            if all(is_side_effect_free(o) for o in before.ops if o is not condition):
                with self.descend(f"while ({self.condition_expression(before)})") as inner:
                    inner.print_block(after)
                return
        results = [] if forwards else [self.declare_mutable(r, "result", None) for r in op.res]
        with self.descend("while (true)") as inner:
            for o in before.ops:
                if o is not condition:
                    inner.print_op(o)
            test = inner.operand(condition.condition, UNARY)
            with inner.descend(f"if (!{test})") as exit_:
                if results:
                    exit_.assign_all(results, condition.args)
                exit_.print("break;")
            if not forwards:
                for arg, value in zip(after.args, condition.args, strict=True):
                    inner.declare(arg, inner.name_of(value), "carried")
            inner.print_block(after)

    def condition_expression(self, before: Block) -> str:
        """The loop condition as one expression: the before-block's pure ops, inlined."""
        condition = before.last_op
        assert isinstance(condition, scf.ConditionOp)
        lines = StringIO()
        scratch = replace(
            self,
            output=lines,
            variables=self.variables.copy(),
            levels=self.levels.copy(),
            force_inline=True,
        )
        for o in before.ops:
            if o is not condition:
                scratch.print_op(o)
        if lines.getvalue():
            raise emit_error(condition, "the loop condition is too long to inline")
        return scratch.name_of(condition.condition)

    def print_yield(self, op: scf.YieldOp) -> None:
        parent = op.parent_op()
        match parent:
            case scf.ForOp():
                targets = parent.body.block.args[1:]
            case scf.IfOp():
                targets = parent.output
            case scf.WhileOp():
                targets = parent.before_region.block.args
            case _:
                raise emit_error(op, "yield outside scf.for/scf.if/scf.while")
        self.assign_all([self.variables[t] for t in targets], op.arguments)

    # ----------------------------------------------------------------- memory

    def slot_view(self, buffer: SSAValue, slot: SSAValue, offset: SSAValue | None = None) -> str:
        """``tile_[slot * TILE_SLOT_BYTES + offset]``: a UB byte position as a LocalTensor."""
        ub = self.plan.ub.get(buffer)
        if ub is None:
            raise AscendCEmitError(f"UB operand {buffer} is not an ascend.ub_alloc")
        terms: list[str] = []
        if ub.slots > 1 or constant_of(slot) != 0:
            terms.append(f"{self.operand(slot, _LEVEL['*'])} * {ub.slot_constant}")
        if offset is not None and constant_of(offset) != 0:
            terms.append(self.operand(offset, _LEVEL["+"], right=True))
        return f"{ub.member}[{' + '.join(terms)}]" if terms else ub.member

    def gm_param(self, value: SSAValue) -> GmParam:
        tensor = self.plan.gm.get(value)
        if tensor is None:
            raise AscendCEmitError(f"GM operand {value} is not a kernel argument")
        return tensor

    def print_vector(self, op: ascend.VCastOp | ascend.VScalarOp | ascend.VRowsOp) -> None:
        """A Compute-stage instruction through its helper (``runtime.ascendc.compute``)."""
        source = self.slot_view(op.source, op.source_slot, op.source_offset)
        target = self.slot_view(op.target, op.target_slot, op.target_offset)
        match op:
            case ascend.VCastOp():
                types = f"{element_type(op.to_type)}, {element_type(op.from_type)}"
                count = self.name_of(op.count)
                self.print(f"CastTile<{types}>({target}, {source}, {round_mode(op)}, {count});")
            case ascend.VScalarOp():
                kind = op.kind.data.value
                scalar = self.name_of(op.scalar)
                if kind == "sub":
                    scalar = f"-{scalar}"
                helper = SCALAR_HELPERS[kind]
                self.print(f"{helper}({target}, {source}, {scalar}, {self.name_of(op.count)});")
            case ascend.VRowsOp():
                vector = self.slot_view(op.vector, op.vector_slot, op.vector_offset)
                sizes = ", ".join(self.name_of(v) for v in (op.rows, op.cols, op.pitch))
                helper = {"add": "AddRows", "sub": "SubRows", "mul": "MulRows"}[op.kind.data.value]
                self.print(f"{helper}({target}, {source}, {vector}, {sizes});")

    def print_load_scalar(self, op: ascend.LoadScalarOp) -> None:
        """``tensorGm_.GetValue(linear index)``: the indices in row-major order."""
        tensor = self.gm_param(op.source)
        shape = tensor.memref.get_shape()
        if not op.indices:  # a 0-d tensor: a consumer's per-tensor parameter
            self.declare(op.result, f"{tensor.member}.GetValue(0)", f"{tensor.role}_value")
            return
        linear, level = self.name_of(op.indices[0]), self.level_of(op.indices[0])
        for dim, index in enumerate(op.indices[1:], start=1):
            extent = shape[dim]
            row = str(extent)
            if extent < 0:
                if (len(shape), dim) != (2, 1):
                    raise emit_error(op, f"dim {dim} of a rank-{len(shape)} tensor is dynamic")
                row = f"tiling_.{camel(TABLE_ROW_FIELD)}"
            scaled = f"({linear})" if level > _LEVEL["*"] else linear
            linear = f"{scaled} * {row} + {self.operand(index, _LEVEL['+'], right=True)}"
            level = _LEVEL["+"]
        self.declare(op.result, f"{tensor.member}.GetValue({linear})", f"{tensor.role}_value")

    def print_run_length(self, op: ascend.RunLengthOp) -> None:
        """A scalar loop that stops at the first element off the run: every element is
        sign-extended (as ``arith.index_cast``) and compared as ``uint64_t``, the type
        of ``index``."""
        tensor = self.gm_param(op.source)
        count = self.declare_mutable(op.result, "count", "0")
        begin = self.operand(op.begin, _LEVEL["+"])
        start = self.operand(op.start, _LEVEL["+"])
        limit = self.operand(op.limit, _LEVEL["<"], right=True)
        element = f"{tensor.member}.GetValue({begin} + {count})"
        value = f"static_cast<uint64_t>(static_cast<int64_t>({element}))"
        test = f"{count} < {limit} && {value} == {start} + {count}"
        with self.descend(f"while ({test})") as inner:
            inner.print(f"++{count};")

    def print_copy(self, op: ascend.LoadOp | ascend.StoreOp) -> None:
        """``CopyIn(ub, gm, gmByte, ...)`` or ``CopyOut(gm, gmByte, ub, ...)``."""
        variant = copy_variant(op, self.plan.soc, self.plan.facts)
        ub = self.slot_view(op.ub, op.slot, op.ub_offset)
        gm = [self.gm_param(op.gm).member, self.name_of(op.gm_offset)]
        sizes = (
            [op.burst_len] if variant.single else [op.n_burst, op.burst_len, op.gm_gap, op.ub_gap]
        )
        operands = [ub, *gm] if variant.to_ub else [*gm, ub]
        operands += [self.name_of(v) for v in sizes]
        self.print(f"{variant.helper}({', '.join(operands)});")

    def print_release_events(self) -> None:
        if self.plan.events:
            self.print("// Give the event ids back to the pipe.")
        for count, kinds in events_by_count(self.plan.events):
            with self.descend(f"for (int32_t id = 0; id < {count}; ++id)") as inner:
                for kind in kinds:
                    inner.print(
                        f"pipe_.ReleaseEventID<HardEvent::{kind}>({events_member(kind)}[id]);"
                    )


def events_by_count(events: dict[str, int]) -> list[tuple[int, list[str]]]:
    """HardEvent kinds grouped by how many ids they need (one loop per group)."""
    groups: dict[int, list[str]] = {}
    for kind, count in sorted(events.items()):
        groups.setdefault(count, []).append(kind)
    return sorted(groups.items())


def _flag_runs(ops: list[Operation]) -> tuple[int | None, int | None]:
    """Where the kernel's prologue of set_flag ops starts (after the constants and UB
    buffers, which print nothing) and where its epilogue of wait_flag ops before the
    final return starts; None for either when the kernel has none."""
    first = 0
    while first < len(ops) and isinstance(ops[first], arith.ConstantOp | ascend.UbAllocOp):
        first += 1
    prologue = first if first < len(ops) and isinstance(ops[first], ascend.SetFlagOp) else None
    end = len(ops) - 1 if ops and isinstance(ops[-1], func.ReturnOp) else len(ops)
    start = end
    while start > first and isinstance(ops[start - 1], ascend.WaitFlagOp):
        start -= 1
    return prologue, (start if start < end else None)


def _only_empty_yield(block: Block) -> bool:
    return isinstance(block.first_op, scf.YieldOp) and not block.first_op.arguments
