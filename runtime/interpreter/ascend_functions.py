"""The reference path: xDSL's own interpreter runs a lowered kernel, op by op.

``AscendFunctions`` gives every ``ascend`` op an ``@impl`` that forwards to the machine
model (``runtime.interpreter.machine``), where its meaning lives; xDSL's stock
``ScfFunctions``, ``ArithFunctions`` and ``FuncFunctions`` run the control flow and the
integer arithmetic, and ``ArithExtraFunctions`` (``runtime.interpreter.arith_functions``)
adds the integer ops xDSL 0.74 does not interpret. This path costs tens of microseconds
per op; it is the yardstick the compiled fast path (``runtime.interpreter.fast_path``)
is tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp
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
from runtime.interpreter import int_ops
from runtime.interpreter.arith_functions import ArithExtraFunctions
from runtime.interpreter.faults import OpSite
from runtime.interpreter.machine import AscendMachine, GmRef, machine_arguments

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
@dataclass
class AscendFunctions(InterpreterFunctions):
    """``ascend`` ops on the stock interpreter: one ``@impl`` per op, each calling the
    op's machine method (``runtime.interpreter.machine.MACHINE_METHODS``) with the op's
    site and its :func:`machine_arguments` before its operands, as the fast path does."""

    machine: AscendMachine
    sites: Mapping[Operation, OpSite]

    @impl(ascend.GetBlockIdxOp)
    def run_get_block_idx(
        self, interpreter: Interpreter, op: ascend.GetBlockIdxOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_block_idx(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.GetBlockNumOp)
    def run_get_block_num(
        self, interpreter: Interpreter, op: ascend.GetBlockNumOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_block_num(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.GetTilingOp)
    def run_get_tiling(
        self, interpreter: Interpreter, op: ascend.GetTilingOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.get_tiling(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.UbAllocOp)
    def run_ub_alloc(
        self, interpreter: Interpreter, op: ascend.UbAllocOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.ub_alloc(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.LoadScalarOp)
    def run_load_scalar(
        self, interpreter: Interpreter, op: ascend.LoadScalarOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.load_scalar(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.RunLengthOp)
    def run_run_length(
        self, interpreter: Interpreter, op: ascend.RunLengthOp, args: PythonValues
    ) -> PythonValues:
        return (self.machine.run_length(self.sites[op], *machine_arguments(op), *args),)

    @impl(ascend.LoadOp)
    def run_load(
        self, interpreter: Interpreter, op: ascend.LoadOp, args: PythonValues
    ) -> PythonValues:
        self.machine.load(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.StoreOp)
    def run_store(
        self, interpreter: Interpreter, op: ascend.StoreOp, args: PythonValues
    ) -> PythonValues:
        self.machine.store(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.TransposeBlocksOp)
    def run_transpose_blocks(
        self, interpreter: Interpreter, op: ascend.TransposeBlocksOp, args: PythonValues
    ) -> PythonValues:
        self.machine.transpose_blocks(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.FillZeroOp)
    def run_fill_zero(
        self, interpreter: Interpreter, op: ascend.FillZeroOp, args: PythonValues
    ) -> PythonValues:
        self.machine.fill_zero(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.LoadTransposedOp)
    def run_load_transposed(
        self, interpreter: Interpreter, op: ascend.LoadTransposedOp, args: PythonValues
    ) -> PythonValues:
        self.machine.load_transposed(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.PipeBarrierOp)
    def run_pipe_barrier(
        self, interpreter: Interpreter, op: ascend.PipeBarrierOp, args: PythonValues
    ) -> PythonValues:
        self.machine.sync.pipe_barrier(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.SetFlagOp)
    def run_set_flag(
        self, interpreter: Interpreter, op: ascend.SetFlagOp, args: PythonValues
    ) -> PythonValues:
        self.machine.sync.set_flag(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.WaitFlagOp)
    def run_wait_flag(
        self, interpreter: Interpreter, op: ascend.WaitFlagOp, args: PythonValues
    ) -> PythonValues:
        self.machine.sync.wait_flag(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.VCastOp)
    def run_vcast(
        self, interpreter: Interpreter, op: ascend.VCastOp, args: PythonValues
    ) -> PythonValues:
        self.machine.vcast(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.VScalarOp)
    def run_vscalar(
        self, interpreter: Interpreter, op: ascend.VScalarOp, args: PythonValues
    ) -> PythonValues:
        self.machine.vscalar(self.sites[op], *machine_arguments(op), *args)
        return ()

    @impl(ascend.VRowsOp)
    def run_vrows(
        self, interpreter: Interpreter, op: ascend.VRowsOp, args: PythonValues
    ) -> PythonValues:
        self.machine.vrows(self.sites[op], *machine_arguments(op), *args)
        return ()


# --------------------------------------------------------------------------- driver


def run_with_xdsl(
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
