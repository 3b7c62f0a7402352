"""Run IR holding ``pakv.gather`` in xDSL's interpreter, on host data.

Memref values are ``GmTensor``s (``runtime.memory``): flat byte views of the caller's
arrays, so the op writes straight into them and nothing is packed per element. The
same memory model serves the interpreter of the lowered ``ascend`` program: its
functions register on the same ``Interpreter`` through ``run_function``'s
``functions`` argument, beside ``PakvFunctions`` and xDSL's own ``FuncFunctions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions

from pakv_dialect.pakv import GatherOp
from runtime.golden import golden_gather
from runtime.ir_builder import KERNEL_NAME
from runtime.memory import GmTensor


@register_impls
class PakvFunctions(InterpreterFunctions):
    """``pakv.gather`` on GM tensors: the golden semantics, read off the op."""

    @impl(GatherOp)
    def run_gather(
        self, interpreter: Interpreter, op: GatherOp, args: PythonValues
    ) -> PythonValues:
        for value in args:
            interpreter.interpreter_assert(
                isinstance(value, GmTensor), f"pakv.gather expects GmTensor operands, got {value}"
            )
        tensors: list[GmTensor] = list(args)
        key_cache, value_cache, block_tables, seq_lens = tensors[:4]
        seq_offset = tensors[4] if op.seq_offset is not None else None
        key_out, value_out = tensors[-2:]
        golden_gather(
            key_cache.typed(),
            value_cache.typed(),
            block_tables.typed(),
            seq_lens.typed(),
            key_out.typed(),
            value_out.typed(),
            None if seq_offset is None else seq_offset.typed(),
            cache_mode=op.mode,
            cumsum=op.is_cumsum,
        )
        return ()


def run_function(
    module: ModuleOp,
    args: Sequence[GmTensor],
    *,
    name: str = KERNEL_NAME,
    functions: Iterable[InterpreterFunctions] = (),
) -> PythonValues:
    """Call ``@name`` of ``module`` with GM tensors as its memref arguments.

    ``functions`` adds implementations for further dialects (arith, scf, ascend, ...).
    """
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(PakvFunctions())
    for extra in functions:
        interpreter.register_implementations(extra)
    return interpreter.call_op(name, tuple(args))
