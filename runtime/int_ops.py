"""Integer semantics of the ``arith`` ops a lowered kernel uses, on Python ints.

Values are held as xDSL's interpreter holds them: signed two's complement of the
op's width (``index`` is 64 bits). xDSL's own ``ArithFunctions`` cover part of
``arith``; the rest (min/max, unsigned and ceiling division, extensions, truncation)
is defined here once and used by both the reference interpreter
(``runtime.ascend_interpreter``) and the compiled fast path (``runtime.kernel_compiler``),
which also takes the ops xDSL does cover from this table so one table describes it.
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
    arith.ShLIOp: lambda a, b, w: wrap(a << b, w),
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
