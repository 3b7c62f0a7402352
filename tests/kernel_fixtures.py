"""Hand-written lowered kernels and a harness to run them, for the machine's tests.

The kernels follow the lowered-program contract (an ``ascend.kernel`` function over GM
memrefs, tiles double-buffered with set/wait flags) without depending on the passes,
so the machine model, its detectors and both execution paths are tested on their own.
Tests break a kernel by editing its text (``COPY_KERNEL.replace(...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
from runtime.ascend_interpreter import kernel_function, kernel_sites, run_reference
from runtime.ascend_machine import AscendMachine, MachineTrace
from runtime.kernel_compiler import CompiledKernel
from runtime.memory import GmTensor

ROW_BYTES = 48
"""Bytes per row of the copy kernels: not a multiple of 32, so DataCopyPad is exercised."""

_GM = "#ascend.address_space<gm>"
_UB = "#ascend.address_space<ub>"
ROWS_GM = f"memref<?x{ROW_BYTES}xi8, {_GM}>"
ROWS_UB = f"memref<2x192xi8, {_UB}>"

COPY_KERNEL = f"""
func.func @copy(%src: {ROWS_GM}, %dst: {ROWS_GM})
    attributes {{ascend.kernel, ascend.soc = "Ascend910B"}} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %row = arith.constant {ROW_BYTES} : index
  %tile = arith.constant 4 : index
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
    ascend.load %src[%off] -> %buf[%slot, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0)
        : {ROWS_GM} -> {ROWS_UB}
    ascend.set_flag[MTE2, MTE3, %slot]
    ascend.wait_flag[MTE2, MTE3, %slot]
    ascend.store %buf[%slot, %c0] -> %dst[%off] bursts(%c1 x %bytes) gaps(%c0, %c0)
        : {ROWS_UB} -> {ROWS_GM}
    ascend.set_flag[MTE3, MTE2, %slot]
    %next = arith.addi %k, %c1 : index
    scf.yield %next : index
  }}
  ascend.wait_flag[MTE3, MTE2, %c0]
  ascend.wait_flag[MTE3, MTE2, %c1]
  func.return
}}
"""
"""Core b copies rows ``balanced_range(split_tokens, block_num, b)`` of %src to %dst,
4 rows (192 bytes, one burst) per tile, two UB slots."""

NZ_ROWS = 3
"""Row groups (G) of the transposing kernel's 32-byte blocks."""
NZ_GM = f"memref<?x{NZ_ROWS}x4x32xi8, {_GM}>"
TOKENS_GM = f"memref<?x{4 * NZ_ROWS * 32}xi8, {_GM}>"
NZ_UB = f"memref<2x{4 * NZ_ROWS * 32}xi8, {_UB}>"

TRANSPOSE_KERNEL = f"""
func.func @nz(%src: {NZ_GM}, %dst: {TOKENS_GM})
    attributes {{ascend.kernel, ascend.soc = "Ascend910_95"}} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant {NZ_ROWS} : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  %blk = arith.constant {4 * NZ_ROWS * 32} : index
  %b = ascend.get_block_idx
  %in = ascend.ub_alloc "nz tile" at 0 : {NZ_UB}
  %out = ascend.ub_alloc "token tile" at {2 * 4 * NZ_ROWS * 32} : {NZ_UB}
  %slot = arith.remui %b, %c2 : index
  %off = arith.muli %b, %blk : index
  %half = arith.muli %c2, %c32 : index
  %goff = arith.addi %off, %half : index
  ascend.load %src[%goff] -> %in[%slot, %c0] bursts(%c3 x %half) gaps(%half, %c0)
      : {NZ_GM} -> {NZ_UB}
  ascend.set_flag[MTE2, V, %slot]
  ascend.wait_flag[MTE2, V, %slot]
  ascend.transpose_blocks %in[%slot] -> %out[%slot] blocks(%c3 x %c2) : {NZ_UB} -> {NZ_UB}
  ascend.set_flag[V, MTE3, %slot]
  ascend.wait_flag[V, MTE3, %slot]
  %bytes = arith.muli %c2, %c3 : index
  %nbytes = arith.muli %bytes, %c32 : index
  ascend.store %out[%slot, %c0] -> %dst[%off] bursts(%c1 x %nbytes) gaps(%c0, %c0)
      : {NZ_UB} -> {TOKENS_GM}
  func.return
}}
"""
"""Core b reads tokens 2 and 3 of NZ block b (G = 3 bursts of 64 bytes, GM gap 64) and
stores them token-major: ``dst[b, t*96 + g*32 : +32] = src[b, g, 2 + t, :]``."""


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
        ops = run_reference(module, machine)
    return Run(copies, machine.trace, ops)
