"""The reference path: xDSL's own interpreter runs a lowered kernel, op by op.

``AscendFunctions`` gives every ``ascend`` op an ``@impl`` that forwards to the machine
model (``runtime.interpreter.machine``), where its meaning lives; xDSL's stock
``ScfFunctions``, ``ArithFunctions`` and ``FuncFunctions`` run the control flow and the
integer arithmetic, and ``ArithExtraFunctions`` adds the integer ops xDSL 0.74 does not
interpret (from ``runtime.interpreter.int_ops``). This path costs tens of microseconds per op; it
is the yardstick the compiled fast path (``runtime.interpreter.fast_path``) is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    OpCounter,
    OpImpl,
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
from runtime.interpreter.machine import (
    MACHINE_METHODS,
    AscendMachine,
    GmRef,
    OpSite,
    machine_arguments,
)

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

_EXTRA_BINARY = (
    arith.DivUIOp,
    arith.RemUIOp,
    arith.CeilDivSIOp,
    arith.CeilDivUIOp,
    arith.MinSIOp,
    arith.MaxSIOp,
    arith.MinUIOp,
    arith.MaxUIOp,
    arith.ShRUIOp,
)
_EXTRA_CASTS = (arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp)


def _binary(op: Operation, args: PythonValues) -> int:
    return int_ops.BINARY[type(op)](args[0], args[1], int_ops.width_of(op.results[0].type))


def _cast(op: Operation, args: PythonValues) -> int:
    source = int_ops.width_of(op.operands[0].type)
    target = int_ops.width_of(op.results[0].type)
    return int_ops.cast(args[0], source, target, zero_extend=int_ops.CASTS[type(op)])


def _int_impl(
    op_type: type[Operation], compute: Callable[[Operation, PythonValues], int]
) -> OpImpl[InterpreterFunctions, Operation]:
    @impl(op_type)
    def run(
        self: InterpreterFunctions, interpreter: Interpreter, op: Operation, args: PythonValues
    ) -> PythonValues:
        return (compute(op, args),)

    return run


class ArithExtraFunctions(InterpreterFunctions):
    """The integer ``arith`` ops a kernel may use that xDSL's ArithFunctions lacks:
    one ``@impl`` per op type, each running the op's ``runtime.interpreter.int_ops`` function."""


@dataclass
class AscendFunctions(InterpreterFunctions):
    """``ascend`` ops on the stock interpreter: one ``@impl`` per op type, each calling
    the op's machine method (``MACHINE_METHODS``, ``machine_arguments``)."""

    machine: AscendMachine
    sites: Mapping[Operation, OpSite]


def _machine_impl(op_type: type[Operation]) -> OpImpl[AscendFunctions, Operation]:
    method = MACHINE_METHODS[op_type]

    @impl(op_type)
    def run(
        self: AscendFunctions, interpreter: Interpreter, op: Operation, args: PythonValues
    ) -> PythonValues:
        call = getattr(self.machine, method)
        result = call(self.sites[op], *machine_arguments(op), *args)
        return (result,) if op.results else ()

    return run


def _add_impls(functions: type[InterpreterFunctions], impls: dict[str, OpImpl]) -> None:
    """Make ``impls`` methods of ``functions`` (``run_arith_divui``, ...): the attributes
    that ``register_impls`` looks for."""
    for op_name, run in impls.items():
        setattr(functions, f"run_{op_name.replace('.', '_')}", run)
    register_impls(functions)


_add_impls(
    ArithExtraFunctions,
    {op.name: _int_impl(op, _binary) for op in _EXTRA_BINARY}
    | {op.name: _int_impl(op, _cast) for op in _EXTRA_CASTS},
)
_add_impls(AscendFunctions, {op.name: _machine_impl(op) for op in MACHINE_METHODS})


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
