"""Hand-written lowered kernels and a harness to run them, for the machine's tests.

The kernels follow the lowered-program contract (an ``ascend.kernel`` function over GM
memrefs, tiles double-buffered with set/wait flags) without depending on the passes,
so the machine model, its detectors and both execution paths are tested on their own.
Tests break a kernel by editing its text (``COPY_KERNEL.replace(...)``). ``ARITH_KERNEL``
runs every integer op the fast path writes inline and traces each result, so the two
paths can be compared value by value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.dialects.scf import Scf
from xdsl.parser import Parser

from pakv_dialect.ascend import ASCEND
from pakv_dialect.dtypes import kv_kind_named
from pakv_dialect.soc import soc_info
from runtime.interpreter.ascend_functions import kernel_function, kernel_sites, run_with_xdsl
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.machine import AscendMachine
from runtime.interpreter.trace import MachineTrace
from runtime.memory import GmTensor

ROW_BYTES = 48
"""Bytes per row of the copy kernels: not a multiple of 32, so DataCopyPad is exercised."""

_GM = "#ascend.address_space<gm>"
_UB = "#ascend.address_space<ub>"
ROWS_GM = f"memref<?x{ROW_BYTES}xi8, {_GM}>"
ROWS_UB = f"memref<2x192xi8, {_UB}>"


def kernel_text(signature: str, soc: str, constants: Mapping[str, int], body: str) -> str:
    """An ``ascend.kernel`` function: ``@name(args)``, its index constants (one line
    each, ``  %name = arith.constant value : index``, which tests may edit), ``body``."""
    lines = [f"func.func {signature}", f'    attributes {{ascend.kernel, ascend.soc = "{soc}"}} {{']
    lines += [f"  %{name} = arith.constant {value} : index" for name, value in constants.items()]
    return "\n".join(lines) + "\n" + body + "  func.return\n}\n"


COPY_KERNEL = kernel_text(
    f"@copy(%src: {ROWS_GM}, %dst: {ROWS_GM})",
    "Ascend910B",
    {"c0": 0, "c1": 1, "c2": 2, "row": ROW_BYTES, "tile": 4},
    f"""\
  %b = ascend.get_block_idx
  %n = ascend.get_block_num
  %total = ascend.get_tiling "split_tokens"
  %base = arith.divui %total, %n : index
  %extra = arith.remui %total, %n : index
  %lead = arith.minui %b, %extra : index
  %skip = arith.muli %b, %base : index
  %begin = arith.addi %skip, %lead : index
  %more = arith.cmpi ult, %b, %extra : index
  %one = arith.select %more, %c1, %c0 : index
  %count = arith.addi %base, %one : index
  %end = arith.addi %begin, %count : index
  %buf = ascend.ub_alloc "rows" at 0 : {ROWS_UB}
  ascend.set_flag[MTE3, MTE2, %c0]
  ascend.set_flag[MTE3, MTE2, %c1]
  %tiles = scf.for %r = %begin to %end step %tile iter_args(%k = %c0) -> (index) {{
    %slot = arith.remui %k, %c2 : index
    %left = arith.subi %end, %r : index
    %rows = arith.minui %left, %tile : index
    %bytes = arith.muli %rows, %row : index
    %off = arith.muli %r, %row : index
    ascend.wait_flag[MTE3, MTE2, %slot]
    ascend.load %src[%off] -> %buf[%slot, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0) as bytes
        : {ROWS_GM} -> {ROWS_UB}
    ascend.set_flag[MTE2, MTE3, %slot]
    ascend.wait_flag[MTE2, MTE3, %slot]
    ascend.store %buf[%slot, %c0] -> %dst[%off] bursts(%c1 x %bytes) gaps(%c0, %c0) as bytes
        : {ROWS_UB} -> {ROWS_GM}
    ascend.set_flag[MTE3, MTE2, %slot]
    %next = arith.addi %k, %c1 : index
    scf.yield %next : index
  }}
  ascend.wait_flag[MTE3, MTE2, %c0]
  ascend.wait_flag[MTE3, MTE2, %c1]
""",
)
"""Core b copies rows ``balanced_range(split_tokens, block_num, b)`` of %src to %dst,
4 rows (192 bytes, one burst) per tile, two UB slots."""

NZ_ROWS = 3
"""Row groups (G) of the transposing kernel's 32-byte blocks."""
NZ_GM = f"memref<?x{NZ_ROWS}x4x32xi8, {_GM}>"
TOKENS_GM = f"memref<?x{4 * NZ_ROWS * 32}xi8, {_GM}>"
NZ_UB = f"memref<2x{4 * NZ_ROWS * 32}xi8, {_UB}>"

TRANSPOSE_KERNEL = kernel_text(
    f"@nz(%src: {NZ_GM}, %dst: {TOKENS_GM})",
    "Ascend910_95",
    {"c0": 0, "c1": 1, "c2": 2, "c3": NZ_ROWS, "c32": 32, "blk": 4 * NZ_ROWS * 32},
    f"""\
  %b = ascend.get_block_idx
  %in = ascend.ub_alloc "nz tile" at 0 : {NZ_UB}
  %out = ascend.ub_alloc "token tile" at {2 * 4 * NZ_ROWS * 32} : {NZ_UB}
  %slot = arith.remui %b, %c2 : index
  %off = arith.muli %b, %blk : index
  %half = arith.muli %c2, %c32 : index
  %goff = arith.addi %off, %half : index
  ascend.load %src[%goff] -> %in[%slot, %c0] bursts(%c3 x %half) gaps(%half, %c0) as blocks
      : {NZ_GM} -> {NZ_UB}
  ascend.set_flag[MTE2, V, %slot]
  ascend.wait_flag[MTE2, V, %slot]
  ascend.transpose_blocks %in[%slot] -> %out[%slot] blocks(%c3 x %c2) : {NZ_UB} -> {NZ_UB}
  ascend.set_flag[V, MTE3, %slot]
  ascend.wait_flag[V, MTE3, %slot]
  %bytes = arith.muli %c2, %c3 : index
  %nbytes = arith.muli %bytes, %c32 : index
  ascend.store %out[%slot, %c0] -> %dst[%off] bursts(%c1 x %nbytes) gaps(%c0, %c0) as blocks
      : {NZ_UB} -> {TOKENS_GM}
""",
)
"""Core b reads tokens 2 and 3 of NZ block b (G = 3 bursts of 64 bytes, GM gap 64) and
stores them token-major: ``dst[b, t*96 + g*32 : +32] = src[b, g, 2 + t, :]``."""

WORDS_GM = f"memref<?xi64, {_GM}>"
BYTES_GM = f"memref<?xi8, {_GM}>"


def _record(*values: str) -> str:
    """Trace each value: a set_flag/wait_flag pair whose event is the value."""
    return "".join(
        f"    ascend.set_flag[S, V, %{v}]\n    ascend.wait_flag[S, V, %{v}]\n" for v in values
    )


def _widen(value: str, width: str, extend: str) -> str:
    """``%value_``: the ``width`` value ``%value`` sign- or zero-extended to index."""
    return (
        f"    %{value}_64 = arith.{extend} %{value} : {width} to i64\n"
        f"    %{value}_ = arith.index_cast %{value}_64 : i64 to index\n"
    )


_INDEX_OPS = ("addi", "subi", "muli", "andi", "ori", "xori", "minsi", "maxsi", "minui", "maxui")
_DIVISIONS = ("divsi", "divui", "remsi", "remui", "floordivsi", "ceildivsi", "ceildivui")
_SHIFTS = ("shli", "shrsi", "shrui")
_PREDICATES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")

_WIDE_AND_NARROW = (
    """\
    %both = arith.andi %slt, %ne : i1
    %either = arith.ori %slt, %ugt : i1
    %flip = arith.xori %either, %eq : i1
    %pick = arith.select %flip, %x, %y : index
    %x32 = arith.trunci %x64 : i64 to i32
    %y32 = arith.trunci %y64 : i64 to i32
    %sum32 = arith.addi %x32, %y32 : i32
    %prod32 = arith.muli %x32, %y32 : i32
    %lt32 = arith.cmpi slt, %sum32, %prod32 : i32
    %min32 = arith.minui %sum32, %prod32 : i32
    %min32_ = arith.index_cast %min32 : i32 to index
    %k = arith.remui %i, %n : index
"""
    f"    %x8 = ascend.load_scalar %bytes[%k] : {BYTES_GM} -> i8\n"
    f"    %y8 = ascend.load_scalar %bytes[%j] : {BYTES_GM} -> i8\n"
    """\
    %sum8 = arith.addi %x8, %y8 : i8
    %max8 = arith.maxsi %x8, %y8 : i8
    %ge8 = arith.cmpi sge, %x8, %y8 : i8
    %eq8 = arith.cmpi eq, %x8, %y8 : i8
"""
    + "".join(_widen(v, "i1", "extsi") for v in ("both", "either"))
    + "".join(_widen(v, "i1", "extui") for v in ("flip", "lt32", "ge8", "eq8"))
    + _widen("sum32", "i32", "extsi")
    + _widen("prod32", "i32", "extui")
    + "".join(_widen(v, "i8", "extsi") for v in ("sum8", "max8", "x8"))
    + _widen("y8", "i8", "extui")
)
"""i1 logic and sign-extended True (-1), i32 wrap-around, bytes read as i8 (0..255 from
uint8 storage: out of the i8 range until an op wraps them)."""
_WIDE_AND_NARROW_RESULTS = (
    "both_", "either_", "flip_", "lt32_", "ge8_", "eq8_", "sum32_", "prod32_", "min32_",
    "sum8_", "max8_", "x8_", "y8_", "pick",
)  # fmt: skip

_CONTROL_FLOW = """\
    %start = arith.remui %x, %c10 : index
    %left, %steps = scf.while (%a = %start, %t = %c0) : (index, index) -> (index, index) {
      %go = arith.cmpi sgt, %a, %c0 : index
      scf.condition(%go) %a, %t : index, index
    } do {
    ^bb0(%a2: index, %t2: index):
      %a3 = arith.subi %a2, %c3 : index
      %t3 = arith.addi %t2, %c1 : index
      scf.yield %a3, %t3 : index, index
    }
    %branch = scf.if %lt32 -> (index) {
      scf.yield %left : index
    } else {
      scf.yield %steps : index
    }
"""
"""A while loop counting down, an if with results (and below, one without else)."""

ARITH_KERNEL = kernel_text(
    f"@arith(%words: {WORDS_GM}, %bytes: {BYTES_GM})",
    "Ascend910B",
    {"c0": 0, "c1": 1, "c3": 3, "c7": 7, "c10": 10, "c64": 64},
    "  %b = ascend.get_block_idx\n"
    '  %n = ascend.get_tiling "values"\n'
    "  scf.for %i = %c0 to %n step %c1 {\n"
    "    %i7 = arith.muli %i, %c7 : index\n"
    "    %ib = arith.addi %i7, %b : index\n"
    "    %j = arith.remui %ib, %n : index\n"
    f"    %x64 = ascend.load_scalar %words[%i] : {WORDS_GM} -> i64\n"
    f"    %y64 = ascend.load_scalar %words[%j] : {WORDS_GM} -> i64\n"
    "    %x = arith.index_cast %x64 : i64 to index\n"
    "    %y = arith.index_cast %y64 : i64 to index\n"
    + "".join(f"    %{op} = arith.{op} %x, %y : index\n" for op in _INDEX_OPS)
    + _record(*_INDEX_OPS)
    + "    %d = arith.ori %y, %c1 : index\n"  # odd: never a zero divisor
    + "".join(f"    %{op} = arith.{op} %x, %d : index\n" for op in _DIVISIONS)
    + _record(*_DIVISIONS)
    + "    %s = arith.remui %y, %c64 : index\n"
    + "".join(f"    %{op} = arith.{op} %x, %s : index\n" for op in _SHIFTS)
    + _record(*_SHIFTS)
    + "".join(f"    %{p} = arith.cmpi {p}, %x, %y : index\n" for p in _PREDICATES)
    + "".join(_widen(p, "i1", "extui") for p in _PREDICATES)
    + _record(*(f"{p}_" for p in _PREDICATES))
    + _WIDE_AND_NARROW
    + _record(*_WIDE_AND_NARROW_RESULTS)
    + _CONTROL_FLOW
    + "    scf.if %eq8 {\n"
    + _record("steps")
    + "    }\n"
    + _record("left", "branch")
    + "  }\n",
)
"""Every integer op the kernels may use, on 64-bit words and bytes read from GM (edge
values included), each result traced as the event of a set/wait flag pair: both paths
must give the same events. Core b pairs word i with word (7i + b) mod n."""


def parse_kernel(text: str) -> ModuleOp:
    ctx = Context()
    for dialect in (Builtin, Func, Arith, Scf, ASCEND):
        ctx.load_dialect(dialect)
    module = Parser(ctx, text).parse_module()
    module.verify()
    return module


def byte_tensor(name: str, array: np.ndarray) -> GmTensor:
    kind = kv_kind_named("uint8")
    assert kind is not None
    return GmTensor.wrap(name, array, kind)


class Traced(Protocol):
    @property
    def trace(self) -> MachineTrace: ...

    @property
    def executed_ops(self) -> int: ...


def assert_paths_agree(fast: Traced, reference: Traced) -> None:
    """The fast path and the reference path made the same trace and executed as many ops."""
    assert np.array_equal(fast.trace.table(), reference.trace.table())
    assert fast.executed_ops == reference.executed_ops > 0


@dataclass
class Run:
    """One launch of a hand-written kernel: its outputs, its trace and its op count."""

    outputs: dict[str, np.ndarray]
    trace: MachineTrace
    executed_ops: int


def run_kernel(
    text: str,
    arrays: Mapping[str, np.ndarray],
    *,
    cores: int,
    tiling: Mapping[str, int] | None = None,
    soc: str = "Ascend910B",
    fast: bool = True,
) -> Run:
    """Run ``text``'s kernel over copies of ``arrays`` (uint8, in argument order)."""
    module = parse_kernel(text)
    copies = {name: array.copy() for name, array in arrays.items()}
    tensors = [byte_tensor(name, array) for name, array in copies.items()]
    machine = AscendMachine(soc_info(soc), dict(tiling or {}), tensors, block_num=cores)
    if fast:
        func = kernel_function(module)
        ops = CompiledKernel(func, kernel_sites(func)).run(machine)
    else:
        ops = run_with_xdsl(module, machine)
    return Run(copies, machine.trace, ops)
