"""The ``"lowered"`` executor: compile a call's signature to ascend IR once, run it per core.

A ``GatherSignature`` (or ``ScatterSignature``) is built into a dynamic ``pakv.gather``
(``pakv.scatter``) module
(``runtime.ir_builder``), lowered by the ``pakv-to-ascend{soc=...}`` pipeline (looked up
by name in PAKV's xDSL universe, like ``xdsl-opt -p`` would) and compiled into a Python
function (``runtime.interpreter.fast_path``); all of it is cached per (signature,
pipeline options).
A launch computes the tiling on the host (``GatherCall.tiling`` ->
``pakv_dialect.tiling.gather_tiling``), then runs core 0 .. used_cores-1 in turn on an
:class:`~runtime.interpreter.machine.AscendMachine` over the call's GM tensors. The machine
checks every DMA and flag as it goes and, at the end, that no two cores wrote the same
bytes; the launch's trace and op count are returned (and the last one kept for tools).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func, FuncOp
from xdsl.dialects.linalg import Linalg
from xdsl.dialects.math import Math
from xdsl.dialects.memref import MemRef
from xdsl.dialects.scf import Scf
from xdsl.passes import PassPipeline

from pakv_dialect.ascend import function_cores
from pakv_dialect.soc import SocInfo, soc_info
from pakv_dialect.tiling import Tiling
from pakv_dialect.universe import DIALECTS
from passes.universe import PASSES
from runtime.call import KernelCall, KernelSignature
from runtime.interpreter.ascend_functions import kernel_function, kernel_sites, run_with_xdsl
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.machine import AscendMachine
from runtime.interpreter.trace import MachineTrace
from runtime.ir_builder import build_module

PIPELINE = "pakv-to-ascend"
"""The registered pipeline that lowers ``pakv.gather`` to a kernel."""


def pipeline_spec(soc: str, options: str = "") -> str:
    """``pakv-to-ascend{soc=<soc> <options>}``: extra options are space separated."""
    extra = f" {options}" if options else ""
    return f"{PIPELINE}{{soc={soc}{extra}}}"


def lowering_context() -> Context:
    """A context with every dialect a program (its consumers and producers in
    ``linalg``, ``memref`` and ``math``) and its lowered kernels use."""
    ctx = Context()
    for dialect in (Builtin, Func, Arith, Math, Scf, MemRef, Linalg):
        ctx.load_dialect(dialect)
    for load in DIALECTS.values():
        ctx.load_dialect(load())
    return ctx


def apply_pipeline(module: ModuleOp, soc: str, options: str = "") -> None:
    """Lower ``module`` in place with ``pakv-to-ascend{soc=<soc> <options>}``."""
    pipeline = PassPipeline.parse_spec(PASSES, pipeline_spec(soc, options))
    pipeline.apply(lowering_context(), module)


def lower(signature: KernelSignature, options: str | None = None) -> ModuleOp:
    """The signature's ``pakv.gather`` (or ``pakv.scatter``) module after
    ``pakv-to-ascend`` with ``options`` (default: the signature's own), verified."""
    module = build_module(signature)
    apply_pipeline(module, signature.soc, signature.options if options is None else options)
    module.verify()
    return module


def compile_kernel(function: FuncOp) -> CompiledKernel:
    """The fast path of a lowered kernel function (``runtime.interpreter.fast_path``)."""
    return CompiledKernel(function, kernel_sites(function))


@dataclass(frozen=True)
class LoweredKernel:
    """One signature's lowered module and its compiled fast path."""

    signature: KernelSignature
    module: ModuleOp
    compiled: CompiledKernel
    """Its kernel function is ``compiled.function``, its op sites ``compiled.sites``."""

    @property
    def soc(self) -> SocInfo:
        return soc_info(self.signature.soc)


@lru_cache(maxsize=64)
def compile_signature(signature: KernelSignature, options: str = "") -> LoweredKernel:
    """Lower and compile once per (signature, pipeline options)."""
    module = lower(signature, options)
    return LoweredKernel(signature, module, compile_kernel(kernel_function(module)))


@dataclass(frozen=True)
class LoweredRun:
    """What one launch did: its tiling, trace and executed-op count."""

    kernel: LoweredKernel
    tiling: Tiling
    trace: MachineTrace
    executed_ops: int

    @property
    def cores(self) -> int:
        return self.tiling.used_cores


_last_run: list[LoweredRun] = []


def last_run() -> LoweredRun | None:
    """The most recent launch of this executor (for trace export and ``explain`` tools)."""
    return _last_run[0] if _last_run else None


def run_lowered(
    call: KernelCall, *, options: str | None = None, reference: bool = False
) -> LoweredRun:
    """Run ``call`` through the lowered kernel; ``reference`` uses xDSL's interpreter.
    ``options``: the lowering's (default: the signature's own, ``GatherSignature.options``).

    The call is trusted as given (host checks are the API's job): on data the host would
    reject the kernel must still stay in bounds, and the machine reports it if not.
    """
    chosen = call.signature.options if options is None else options
    kernel = compile_signature(call.signature, chosen)
    tiling = call.tiling(function_cores(kernel.compiled.function))
    machine = AscendMachine(kernel.soc, tiling, call.arguments(), block_num=tiling.used_cores)
    if reference:
        ops = run_with_xdsl(kernel.module, machine)
    else:
        ops = kernel.compiled.run(machine)
    run = LoweredRun(kernel, tiling, machine.trace, ops)
    _last_run[:] = [run]
    return run


def run_lowered_call(call: KernelCall) -> None:
    """The executor entry (``runtime.host.executors.EXECUTORS["lowered"]``)."""
    run_lowered(call)
