"""The fast path: a lowered kernel compiled once into a Python function.

xDSL's interpreter spends tens of microseconds per op resolving operands through
scoped dictionaries and dispatching on op types. Here that work happens once:
``runtime.interpreter.fast_path_source`` writes the kernel out as Python source (SSA
values as locals, ``scf`` as Python loops and branches, integer ops inline, ``ascend``
ops as calls of
the :class:`~runtime.interpreter.machine.AscendMachine`), and CPython compiles it. The
``ascend`` ops call the same machine methods as the reference interpreter, and the
integer ops have ``runtime.interpreter.int_ops``'s semantics, so both paths give the same bytes,
the same trace and the same executed-op count (counted per block execution,
terminators included, exactly as xDSL's ``OpCounter`` counts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import count

from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation

from runtime.interpreter.fast_path_source import (
    ENTRY,
    KernelCompileError,
    KernelSource,
    kernel_source,
)
from runtime.interpreter.faults import OpSite
from runtime.interpreter.machine import AscendMachine, GmRef

__all__ = ["CompiledKernel", "KernelCompileError"]

CoreProgram = Callable[[AscendMachine, Sequence[GmRef]], int]
"""One core's run of a kernel: ``(machine, kernel arguments) -> executed ops``."""

_compiled = count()


class CompiledKernel:
    """One lowered kernel function, ready to run on any machine with matching arguments.

    ``source`` is the generated Python (worth reading when a kernel misbehaves).
    Reentrant: all run-time state lives in the generated function's locals.
    """

    def __init__(self, function: FuncOp, sites: Mapping[Operation, OpSite]):
        self.function = function
        self.sites = sites
        self.source: KernelSource = kernel_source(function, sites)
        self._arity = len(function.body.block.args)
        filename = f"<pakv fast path #{next(_compiled)}: @{function.sym_name.data}>"
        try:
            code = compile(self.source.text, filename, "exec")
        except (SyntaxError, RecursionError) as e:
            if isinstance(e, SyntaxError) and "too many" not in str(e):
                raise  # a bug of the writer, not a property of the kernel
            raise KernelCompileError(
                f"@{function.sym_name.data} nests its loops too deeply for the fast path: "
                f"Python says {e}"
            ) from None
        namespace = dict(self.source.namespace)
        exec(code, namespace)
        self._run_core: CoreProgram = namespace[ENTRY]

    def run(self, machine: AscendMachine, args: Sequence[GmRef] | None = None) -> int:
        """Run every core of ``machine``; return the number of ops executed."""
        kernel_args = machine.gm if args is None else tuple(args)
        if len(kernel_args) != self._arity:
            raise ValueError(
                f"@{self.function.sym_name.data} takes {self._arity} arguments, "
                f"got {len(kernel_args)}"
            )
        run_core = self._run_core
        executed = 0

        def one_core() -> None:
            nonlocal executed
            executed += run_core(machine, kernel_args)

        machine.run_cores(one_core)
        return executed
