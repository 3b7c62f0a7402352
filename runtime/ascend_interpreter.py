"""The reference path: xDSL's own interpreter runs a lowered kernel, op by op.

``AscendFunctions`` gives every ``ascend`` op an ``@impl`` that forwards to the machine
model (``runtime.ascend_machine``), where its meaning lives; xDSL's stock
``ScfFunctions``, ``ArithFunctions`` and ``FuncFunctions`` run the control flow and the
integer arithmetic, and ``ArithExtraFunctions`` adds the integer ops xDSL 0.74 does not
interpret (from ``runtime.int_ops``). This path costs tens of microseconds per op; it
is the yardstick the compiled fast path (``runtime.kernel_compiler``) is tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    OpCounter,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.func import FuncFunctions
from xdsl.interpreters.scf import ScfFunctions
from xdsl.ir import Operation

from pakv_dialect import ascend
from runtime import int_ops
from runtime.ascend_machine import PIPE_ID, AscendMachine, GmRef, OpSite

# --------------------------------------------------------------------------- sites


class NoKernelError(ValueError):
    """The module holds no function marked ``ascend.kernel``."""


def kernel_function(module: ModuleOp) -> FuncOp:
    """The lowered kernel of ``module``: the one function marked ``ascend.kernel``."""
    kernels = [
        op for op in module.ops if isinstance(op, FuncOp) and ascend.KERNEL_ATTR in op.attributes
    ]
    if len(kernels) != 1:
        raise NoKernelError(
            f"expected one function marked {ascend.KERNEL_ATTR}, found {len(kernels)}"
        )
    return kernels[0]


def kernel_soc_name(func: FuncOp) -> str | None:
    soc = func.attributes.get(ascend.SOC_ATTR)
    return soc.data if isinstance(soc, StringAttr) else None


def _one_line(op: Operation) -> str:
    if op.regions:
        return op.name
    return " ".join(str(op).split())


def kernel_sites(func: FuncOp) -> dict[Operation, OpSite]:
    """Every op of ``func`` with its :class:`OpSite` (pre-order ordinal and text).

    Both execution paths take their sites from here, so their traces and reports agree.
    """
    name = func.sym_name.data
    return {
        op: OpSite(op.name, name, ordinal, _one_line(op))
        for ordinal, op in enumerate(func.body.walk())
    }


# --------------------------------------------------------------------------- impls


@register_impls
class ArithExtraFunctions(InterpreterFunctions):
    """The integer ``arith`` ops a kernel may use that xDSL's ArithFunctions lacks."""

    def _binary(self, op: Operation, args: PythonValues) -> PythonValues:
        width = int_ops.width_of(op.results[0].type)
        return (int_ops.BINARY[type(op)](args[0], args[1], width),)

    def _cast(self, op: Operation, args: PythonValues) -> PythonValues:
        source = int_ops.width_of(op.operands[0].type)
        target = int_ops.width_of(op.results[0].type)
        return (int_ops.cast(args[0], source, target, zero_extend=int_ops.CASTS[type(op)]),)

    @impl(arith.DivUIOp)
    def run_divui(self, interpreter: Interpreter, op: arith.DivUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.RemUIOp)
    def run_remui(self, interpreter: Interpreter, op: arith.RemUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.CeilDivSIOp)
    def run_ceildivsi(self, interpreter: Interpreter, op: arith.CeilDivSIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.CeilDivUIOp)
    def run_ceildivui(self, interpreter: Interpreter, op: arith.CeilDivUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.MinSIOp)
    def run_minsi(self, interpreter: Interpreter, op: arith.MinSIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.MaxSIOp)
    def run_maxsi(self, interpreter: Interpreter, op: arith.MaxSIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.MinUIOp)
    def run_minui(self, interpreter: Interpreter, op: arith.MinUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.MaxUIOp)
    def run_maxui(self, interpreter: Interpreter, op: arith.MaxUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.ShRUIOp)
    def run_shrui(self, interpreter: Interpreter, op: arith.ShRUIOp, args: PythonValues):
        return self._binary(op, args)

    @impl(arith.ExtSIOp)
    def run_extsi(self, interpreter: Interpreter, op: arith.ExtSIOp, args: PythonValues):
        return self._cast(op, args)

    @impl(arith.ExtUIOp)
    def run_extui(self, interpreter: Interpreter, op: arith.ExtUIOp, args: PythonValues):
        return self._cast(op, args)

    @impl(arith.TruncIOp)
    def run_trunci(self, interpreter: Interpreter, op: arith.TruncIOp, args: PythonValues):
        return self._cast(op, args)


@register_impls
@dataclass
class AscendFunctions(InterpreterFunctions):
    """``ascend`` ops on the stock interpreter: each forwards to the machine model."""

    machine: AscendMachine
    sites: Mapping[Operation, OpSite]

    @impl(ascend.GetBlockIdxOp)
    def run_get_block_idx(
        self, interpreter: Interpreter, op: ascend.GetBlockIdxOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_block_idx(self.sites[op]),)

    @impl(ascend.GetBlockNumOp)
    def run_get_block_num(
        self, interpreter: Interpreter, op: ascend.GetBlockNumOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_block_num(self.sites[op]),)

    @impl(ascend.GetTilingOp)
    def run_get_tiling(
        self, interpreter: Interpreter, op: ascend.GetTilingOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_tiling(self.sites[op], op.field.data),)

    @impl(ascend.UbAllocOp)
    def run_ub_alloc(
        self, interpreter: Interpreter, op: ascend.UbAllocOp, args: PythonValues
    ) -> PythonValues:
        buffer = self.machine.ub_alloc(
            self.sites[op], op.purpose.data, op.slots, op.slot_bytes, op.planned_offset
        )
        return (buffer,)

    @impl(ascend.LoadScalarOp)
    def run_load_scalar(
        self, interpreter: Interpreter, op: ascend.LoadScalarOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.load_scalar(self.sites[op], *args),)

    @impl(ascend.LoadOp)
    def run_load(
        self, interpreter: Interpreter, op: ascend.LoadOp, args: PythonValues
    ) -> PythonValues:
        self.machine.load(self.sites[op], *args)
        return ()

    @impl(ascend.StoreOp)
    def run_store(
        self, interpreter: Interpreter, op: ascend.StoreOp, args: PythonValues
    ) -> PythonValues:
        self.machine.store(self.sites[op], *args)
        return ()

    @impl(ascend.TransposeBlocksOp)
    def run_transpose_blocks(
        self, interpreter: Interpreter, op: ascend.TransposeBlocksOp, args: PythonValues
    ) -> PythonValues:
        self.machine.transpose_blocks(self.sites[op], *args)
        return ()

    @impl(ascend.FillZeroOp)
    def run_fill_zero(
        self, interpreter: Interpreter, op: ascend.FillZeroOp, args: PythonValues
    ) -> PythonValues:
        self.machine.fill_zero(self.sites[op], *args)
        return ()

    @impl(ascend.SetFlagOp)
    def run_set_flag(
        self, interpreter: Interpreter, op: ascend.SetFlagOp, args: PythonValues
    ) -> PythonValues:
        set_pipe, wait_pipe = PIPE_ID[op.set_pipe.data], PIPE_ID[op.wait_pipe.data]
        self.machine.set_flag(self.sites[op], set_pipe, wait_pipe, args[0])
        return ()

    @impl(ascend.WaitFlagOp)
    def run_wait_flag(
        self, interpreter: Interpreter, op: ascend.WaitFlagOp, args: PythonValues
    ) -> PythonValues:
        set_pipe, wait_pipe = PIPE_ID[op.set_pipe.data], PIPE_ID[op.wait_pipe.data]
        self.machine.wait_flag(self.sites[op], set_pipe, wait_pipe, args[0])
        return ()


# --------------------------------------------------------------------------- driver


def run_reference(
    module: ModuleOp, machine: AscendMachine, args: tuple[GmRef, ...] | None = None
) -> int:
    """Run the kernel of ``module`` on every core of ``machine`` with xDSL's interpreter.

    ``args`` are the kernel's GM arguments (default: the machine's tensors in order).
    Returns how many ops were executed (xDSL's ``OpCounter``, terminators included).
    """
    func = kernel_function(module)
    counter = OpCounter()
    interpreter = Interpreter(module, index_bitwidth=int_ops.INDEX_WIDTH, listeners=(counter,))
    for functions in (
        ArithFunctions(),
        ArithExtraFunctions(),
        ScfFunctions(),
        FuncFunctions(),
        AscendFunctions(machine, kernel_sites(func)),
    ):
        interpreter.register_implementations(functions)
    kernel_args = machine.gm if args is None else args
    machine.run_cores(lambda: interpreter.call_op(func, kernel_args))
    return sum(counter.ops.values())
