"""Integer semantics of the ``arith`` ops a lowered kernel uses, on Python ints.

Values are held as xDSL's interpreter holds them: signed two's complement of the
op's width (``index`` is 64 bits). xDSL's own ``ArithFunctions`` cover part of
``arith``; the rest (min/max, unsigned and ceiling division, extensions, truncation)
is defined here once and used by both the reference interpreter
(``runtime.interpreter.arith_functions``) and the compiled fast path
(``runtime.interpreter.fast_path``), which also takes the ops xDSL does cover from this
table so one table describes it.

The fast path writes the kernel out as Python source; the ``*_source`` functions at the
end say how each op is written there: plain Python int arithmetic plus, where it can
leave the op's width, a range check that calls :func:`wrap` only when the value is out
of range. Each form gives the very value the function of the table gives (an ``i1``
operand may come through as the bool it is); ``tests/test_ascend_machine.py`` checks
that on edge values of every width.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerType
from xdsl.ir import Attribute, Operation

INDEX_WIDTH = 64
"""Bits of ``index`` (the interpreter's ``index_bitwidth`` on a 64-bit host)."""


def width_of(ty: Attribute) -> int:
    """Bits of an integer or index type."""
    if isinstance(ty, IntegerType):
        return ty.width.data
    if isinstance(ty, IndexType):
        return INDEX_WIDTH
    raise TypeError(f"not an integer type: {ty}")


def wrap(value: int, width: int) -> int:
    """``value`` as a signed ``width``-bit integer (two's complement wrap-around)."""
    half = 1 << (width - 1)
    if -half <= value < half:
        return value
    return ((value + half) & ((half << 1) - 1)) - half


def unsigned(value: int, width: int) -> int:
    return value & ((1 << width) - 1)


def _div_toward_zero(lhs: int, rhs: int) -> int:
    quotient = abs(lhs) // abs(rhs)
    return -quotient if (lhs < 0) != (rhs < 0) else quotient


def _divsi(a: int, b: int, w: int) -> int:
    return wrap(_div_toward_zero(wrap(a, w), wrap(b, w)), w)


def _remsi(a: int, b: int, w: int) -> int:
    lhs, rhs = wrap(a, w), wrap(b, w)
    return lhs - _div_toward_zero(lhs, rhs) * rhs


def _ceildivsi(a: int, b: int, w: int) -> int:
    return wrap(-(wrap(a, w) // -wrap(b, w)), w)


def _ceildivui(a: int, b: int, w: int) -> int:
    return wrap(-(unsigned(a, w) // -unsigned(b, w)), w)


BinaryFn = Callable[[int, int, int], int]

BINARY: dict[type[Operation], BinaryFn] = {
    arith.AddiOp: lambda a, b, w: wrap(a + b, w),
    arith.SubiOp: lambda a, b, w: wrap(a - b, w),
    arith.MuliOp: lambda a, b, w: wrap(a * b, w),
    arith.DivSIOp: _divsi,
    arith.DivUIOp: lambda a, b, w: wrap(unsigned(a, w) // unsigned(b, w), w),
    arith.RemSIOp: _remsi,
    arith.RemUIOp: lambda a, b, w: wrap(unsigned(a, w) % unsigned(b, w), w),
    arith.FloorDivSIOp: lambda a, b, w: wrap(wrap(a, w) // wrap(b, w), w),
    arith.CeilDivSIOp: _ceildivsi,
    arith.CeilDivUIOp: _ceildivui,
    arith.MinSIOp: lambda a, b, w: min(wrap(a, w), wrap(b, w)),
    arith.MaxSIOp: lambda a, b, w: max(wrap(a, w), wrap(b, w)),
    arith.MinUIOp: lambda a, b, w: wrap(min(unsigned(a, w), unsigned(b, w)), w),
    arith.MaxUIOp: lambda a, b, w: wrap(max(unsigned(a, w), unsigned(b, w)), w),
    arith.AndIOp: lambda a, b, w: wrap(a & b, w),
    arith.OrIOp: lambda a, b, w: wrap(a | b, w),
    arith.XOrIOp: lambda a, b, w: wrap(a ^ b, w),
    arith.ShLIOp: lambda a, b, w: wrap(a << min(b, w), w),  # 0 from w on: no huge int
    arith.ShRSIOp: lambda a, b, w: wrap(a, w) >> b,
    arith.ShRUIOp: lambda a, b, w: wrap(unsigned(a, w) >> b, w),
}
"""Binary integer ops: ``fn(lhs, rhs, width)``."""

CMPI: tuple[Callable[[int, int], bool], ...] = (
    lambda a, b: a == b,
    lambda a, b: a != b,
    lambda a, b: a < b,
    lambda a, b: a <= b,
    lambda a, b: a > b,
    lambda a, b: a >= b,
    lambda a, b: a < b,
    lambda a, b: a <= b,
    lambda a, b: a > b,
    lambda a, b: a >= b,
)
"""``arith.cmpi`` by predicate number (eq ne slt sle sgt sge ult ule ugt uge)."""


def cmpi(predicate: int, a: int, b: int, width: int) -> bool:
    """``arith.cmpi``: signed predicates (< 6) compare signed, the rest unsigned."""
    if predicate >= 6:
        return CMPI[predicate](unsigned(a, width), unsigned(b, width))
    return CMPI[predicate](wrap(a, width), wrap(b, width))


def cast(value: int, from_width: int, to_width: int, *, zero_extend: bool = False) -> int:
    """``index_cast``/``extsi``/``trunci`` (sign), ``extui`` (``zero_extend``)."""
    if zero_extend:
        return wrap(unsigned(value, from_width), to_width)
    return wrap(wrap(value, from_width), to_width)


CASTS: dict[type[Operation], bool] = {
    arith.IndexCastOp: False,
    arith.ExtSIOp: False,
    arith.TruncIOp: False,
    arith.ExtUIOp: True,
}
"""Integer casts and whether each zero-extends."""


# --------------------------------------------------------------------------- source forms
#
# Statements computing one op into a variable, for the generated fast path. ``in_range``
# says the operands are known to lie in [-2**(w-1), 2**(w-1)) already (constants, results
# of integer ops); an operand that may not (a block argument, a machine result, an
# ``i1`` True) only gets the forms below that hold for every int.

_ANY_OPERANDS: dict[type[Operation], str] = {
    arith.AddiOp: "{a} + {b}",
    arith.SubiOp: "{a} - {b}",
    arith.MuliOp: "{a} * {b}",
    arith.AndIOp: "{a} & {b}",
    arith.OrIOp: "{a} | {b}",
    arith.XOrIOp: "{a} ^ {b}",
    arith.DivUIOp: "({a} & {m}) // ({b} & {m})",
    arith.RemUIOp: "({a} & {m}) % ({b} & {m})",
    arith.MinUIOp: "min({a} & {m}, {b} & {m})",
    arith.MaxUIOp: "max({a} & {m}, {b} & {m})",
}
"""Expressions congruent to the op's result modulo 2**w for any operands: wrapped after."""

_IN_RANGE_OPERANDS: dict[type[Operation], str] = {
    arith.AndIOp: "{a} & {b}",
    arith.OrIOp: "{a} | {b}",
    arith.XOrIOp: "{a} ^ {b}",
    arith.MinSIOp: "{a} if {a} <= {b} else {b}",
    arith.MaxSIOp: "{a} if {a} >= {b} else {b}",
    arith.MinUIOp: "{a} if ({a} & {m}) <= ({b} & {m}) else {b}",
    arith.MaxUIOp: "{a} if ({a} & {m}) >= ({b} & {m}) else {b}",
}
"""Expressions equal to the op's result, in range, when both operands are in range."""

_CMPI_SYMBOLS = ("==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">=")


def range_check(name: str, width: int) -> str:
    """A statement wrapping variable ``name`` to ``width`` bits, calling :func:`wrap` only
    when it left the range (as :func:`wrap` returns an in-range value itself)."""
    half = 1 << (width - 1)
    return f"if not {-half} <= {name} < {half}: {name} = wrap({name}, {width})"


def binary_source(
    op: type[Operation], out: str, a: str, b: str, width: int, in_range: bool
) -> list[str] | None:
    """Statements setting ``out`` to ``BINARY[op](a, b, width)``; None: call the function.

    Every function of :data:`BINARY` returns an in-range value, and so do these forms.
    """
    mask = (1 << width) - 1
    if in_range and op in _IN_RANGE_OPERANDS:
        return [f"{out} = " + _IN_RANGE_OPERANDS[op].format(a=a, b=b, m=mask)]
    if op in _ANY_OPERANDS:
        return [f"{out} = " + _ANY_OPERANDS[op].format(a=a, b=b, m=mask), range_check(out, width)]
    return None


def cmpi_source(
    predicate: int, out: str, a: str, b: str, width: int, in_range: bool
) -> list[str] | None:
    """Statements setting ``out`` to ``cmpi(predicate, a, b, width)``; None: call it."""
    symbol = _CMPI_SYMBOLS[predicate]
    if predicate >= 6 or (predicate < 2 and not in_range):
        mask = (1 << width) - 1
        return [f"{out} = ({a} & {mask}) {symbol} ({b} & {mask})"]
    if in_range:
        return [f"{out} = {a} {symbol} {b}"]
    return None


def cast_source(
    out: str, value: str, from_width: int, to_width: int, *, zero_extend: bool, in_range: bool
) -> list[str]:
    """Statements setting ``out`` to ``cast(value, from_width, to_width, ...)``."""
    if zero_extend:
        lines = [f"{out} = {value} & {(1 << from_width) - 1}"]
        return lines if to_width > from_width else [*lines, range_check(out, to_width)]
    lines = [f"{out} = {value}"]
    if not in_range:
        lines.append(range_check(out, from_width))
    if to_width < from_width:
        lines.append(range_check(out, to_width))
    return lines
