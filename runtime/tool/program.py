"""Compile and run one user's ``pakv.gather``: the steps behind ``pakv compile/run/explain``.

The host API compiles a *signature* (``runtime.host.lowered``); the tools compile
what the user wrote, a :class:`~runtime.tool.sources.GatherSource`, with the same
pieces: the registered ``pakv-to-ascend{soc=...}`` pipeline, the AscendC target's
emitter, and the compiled fast path (:class:`~runtime.interpreter.fast_path.CompiledKernel`)
on an :class:`~runtime.interpreter.machine.AscendMachine`. Every failure a user can cause
becomes an :class:`~runtime.tool.sources.InputError` at the op's location.

A lowered program is one kernel (a gather, its consumers fused in), or, with
``fuse=false``, host code that calls a gather kernel and a kernel per consumer:
:func:`run_launches` and :func:`run_launches_on_host` run either on the function's
arguments (``runtime.interpreter.sequence``), and :func:`reference_outputs` runs the
program as written, op by op, as the reference for programs with consumers (of a
gather) or producers (of a scatter).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from pakv_dialect.ascend import function_cores, kernel_tiling_abi
from pakv_dialect.soc import soc_info
from passes.diagnostics import PassFailedAt
from runtime.ascendc.errors import AscendCEmitError
from runtime.ascendc.host_build import HostKernel, HostUnit, build_host_kernel, build_host_kernels
from runtime.ascendc.printer import emit_ascendc_kernels
from runtime.call import OUTPUT_ROLES, KernelCall
from runtime.golden import golden_caches, golden_outputs
from runtime.host.checks import verifier_message
from runtime.host.executors import run_host_program
from runtime.host.lowered import LoweredKernel, LoweredRun, apply_pipeline, compile_kernel
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.faults import OpSite
from runtime.interpreter.machine import AscendMachine
from runtime.interpreter.pakv_functions import run_function
from runtime.interpreter.sequence import (
    KernelLaunch,
    ProgramError,
    entry_function,
    kernels_of,
    run_lowered_program,
)
from runtime.memory import GmTensor
from runtime.tool.progress import StepReporter
from runtime.tool.scatter_workload import ScatterOperands
from runtime.tool.sources import GatherSource, InputError, location_of
from runtime.tool.workload import Inputs


@dataclass
class Phases:
    """Times the named steps of a command; tells ``reporter`` as each starts and ends."""

    reporter: StepReporter | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    prog: str = "pakv"

    @contextmanager
    def step(self, name: str, doing: str) -> Iterator[None]:
        if self.reporter:
            self.reporter.started(doing)
        start = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
            if self.reporter:
                self.reporter.finished(doing, elapsed, failed)

    def warn(self, message: str) -> None:
        """``prog: warning: message`` on stderr, shown even without progress reports."""
        line = f"warning: {' '.join(message.split())}"
        if self.reporter:
            self.reporter.note(line)
        else:
            print(f"{self.prog}: {line}", file=sys.stderr, flush=True)


@dataclass
class CompiledProgram:
    """A source lowered for one SoC, with its kernels compiled for the interpreter."""

    source: GatherSource
    soc: str
    module: ModuleOp
    """The lowered module (the source's module is left as it was)."""
    kernels: dict[str, CompiledKernel]
    """Every kernel of the module by name, in module order (one unless unfused)."""
    host_kernels: dict[str, HostKernel] = field(default_factory=dict[str, HostKernel])
    """The kernels built for the host stand-in by name, once per program
    (:func:`run_launches_on_host`: printing and looking them up again per run cost more
    than a small run)."""

    @property
    def compiled(self) -> CompiledKernel:
        """The program's one kernel (``ProgramError`` for an unfused program)."""
        if len(self.kernels) != 1:
            raise ProgramError(f"the program has {len(self.kernels)} kernels, not one")
        return next(iter(self.kernels.values()))

    @property
    def kernel(self) -> FuncOp:
        """The lowered kernel function of a one-kernel program."""
        return self.compiled.function

    @property
    def sites(self) -> Mapping[Operation, OpSite]:
        return self.compiled.sites


def compile_program(
    source: GatherSource, soc: str, options: str = "", phases: Phases | None = None
) -> CompiledProgram:
    """Lower a copy of ``source.module`` for ``soc`` and compile its kernel.

    ``options`` are extra ``pakv-to-ascend`` options (``slots=1 tile-bytes=64``).
    """
    phases = phases or Phases()
    source.check_soc(soc)
    module = source.module.clone()
    with phases.step("lower", f"lowering {source.func_name} for {soc}"):
        try:
            apply_pipeline(module, soc, options)
        except PassFailedAt as e:  # at the failing op's own line (lowered ops: the gather's)
            raise InputError(e.message, location_of(e.op) or source.where()) from None
        except DiagnosticException as e:
            raise InputError(str(e), source.where()) from None
        try:
            module.verify()
        except VerifyException as e:
            raise InputError(
                f"the lowered kernel does not verify: {verifier_message(e)}", source.where()
            ) from None
    entry = entry_function(module)
    if len(entry.args) != len(source.argument_of):
        raise InputError(
            f"@{source.func_name} has {len(entry.args)} arguments but {source.op.name} uses "
            f"{len(source.argument_of)}: a kernel takes exactly the op's operands",
            location_of(entry) or source.where(),
        )
    with phases.step("codegen", "compiling the kernel into Python for the interpreter"):
        kernels = {name: compile_kernel(f) for name, f in kernels_of(module).items()}
    return CompiledProgram(source, soc, module, kernels)


def emit_sources(program: CompiledProgram, phases: Phases | None = None) -> dict[str, str]:
    """The AscendC translation unit of each kernel (kernel, tiling, host launcher)."""
    phases = phases or Phases()
    with phases.step("emit", "emitting AscendC"):
        try:
            return emit_ascendc_kernels(program.module)
        except AscendCEmitError as e:  # at the op (or function) it names
            where = (location_of(e.op) if e.op else None) or program.source.where()
            raise InputError(str(e).splitlines()[0], where) from None
        except DiagnosticException as e:
            raise InputError(str(e).splitlines()[0], program.source.where()) from None


def run_program(program: CompiledProgram, call: KernelCall) -> LoweredRun:
    """Run the kernel on every core the tiling uses; the outputs are written in place."""
    tiling = call.tiling(function_cores(program.kernel))
    machine = AscendMachine(
        soc_info(program.soc), tiling, call.arguments(), block_num=tiling.used_cores
    )
    by_role = dict(zip(call.operands(), machine.gm, strict=True))
    argument_of = program.source.argument_of
    args = [by_role[role] for role in sorted(argument_of, key=argument_of.__getitem__)]
    ops = program.compiled.run(machine, args)
    kernel = LoweredKernel(call.signature, program.module, program.compiled)
    return LoweredRun(kernel, tiling, machine.trace, ops)


def function_arguments(program: CompiledProgram, inputs: Inputs) -> list[GmTensor]:
    """``inputs`` (by role) as GM tensors in the order of the source function's
    arguments, each named after its argument."""
    source = program.source
    kinds = source.operands.kinds
    return [
        GmTensor.wrap(source.argument_names[role], inputs[role], kinds[role])
        for role in sorted(source.argument_of, key=source.argument_of.__getitem__)
    ]


def run_launches(program: CompiledProgram, inputs: Inputs) -> list[KernelLaunch]:
    """Run the lowered program on ``inputs`` (by role; outputs written in place), every
    kernel on every core its tiling uses; returns the launches in program order."""
    args = function_arguments(program, inputs)
    return run_lowered_program(program.module, args, soc_info(program.soc), program.kernels)


def run_launches_on_host(
    program: CompiledProgram, inputs: Inputs, phases: Phases | None = None
) -> list[dict[str, int]]:
    """Run the program's emitted AscendC natively on the host stand-in, every kernel in
    program order (``runtime.host.executors.run_host_program``); returns each launch's
    tiling as the unit's host code computed it."""
    phases = phases or Phases()
    kernels = program.host_kernels
    if not kernels:
        units = emit_sources(program, phases)
        functions = kernels_of(program.module)
        with phases.step("g++", "compiling the AscendC kernels for the host (cached on disk)"):
            built = build_host_kernels(
                [
                    HostUnit(source, name, program.soc, kernel_tiling_abi(functions[name]).name)
                    for name, source in units.items()
                ]
            )
        kernels.update({kernel.unit.entry: kernel for kernel in built})
    args = function_arguments(program, inputs)
    with phases.step("run", f"running {len(kernels)} kernel(s) natively"):
        return run_host_program(program.module, args, soc_info(program.soc), kernels)


def reference_outputs(source: GatherSource, inputs: Inputs) -> Inputs:
    """What the program as written writes on ``inputs`` (copies; ``inputs`` are left
    alone), run op by op in xDSL's interpreter: the gather's interpreter, then the
    consumers on whole arrays (``runtime.interpreter.array_functions``); or the
    producers, then the scatter's interpreter. Keyed by the roles the op writes (the
    gather's outputs, the scatter's caches)."""
    arrays = {role: array.copy() for role, array in inputs.items()}
    kinds = source.operands.kinds
    args = [
        GmTensor.wrap(source.argument_names[role], arrays[role], kinds[role])
        for role in sorted(source.argument_of, key=source.argument_of.__getitem__)
    ]
    run_function(source.module, args, name=source.func_name)
    return {role: arrays[role] for role in source.operands.written_roles}


def expected_outputs(
    source: GatherSource, inputs: Inputs, total: int | None, *, fused: bool = True
) -> dict[str, np.ndarray]:
    """What the outputs must hold after a run on ``inputs`` (``total``: the lengths'
    total; None: an empty call, which writes nothing).

    A plain scatter or gather: the golden reference. A scatter with producers: the
    program as written, run op by op (the caches are all it writes, fused or not). A
    gather with consumers: the program as written, run op by op, on the rows below the
    total; a fused kernel leaves the rows past it as they were, while the unfused
    program converts them too.
    """
    operands = source.operands
    if isinstance(operands, ScatterOperands):
        if source.has_maps:
            return reference_outputs(source, inputs)
        return golden_caches(inputs, cache_mode=operands.mode)
    if not source.has_maps:
        return golden_outputs(inputs, cache_mode=operands.mode, cumsum=operands.cumsum)
    if total is None:
        return {role: inputs[role].copy() for role in OUTPUT_ROLES}
    expected = reference_outputs(source, inputs)
    if fused:
        for role in OUTPUT_ROLES:
            expected[role][total:] = inputs[role][total:]
    return expected


def host_kernel(program: CompiledProgram, phases: Phases | None = None) -> HostKernel:
    """The program's emitted AscendC unit, compiled for the host against the stand-in
    (``runtime.ascendc.host_build``: once per source, cached on disk)."""
    phases = phases or Phases()
    kernel_name = program.kernel.sym_name.data
    source = emit_sources(program, phases)[kernel_name]
    with phases.step("g++", "compiling the AscendC kernel for the host (cached on disk)"):
        abi = kernel_tiling_abi(program.kernel)
        return build_host_kernel(HostUnit(source, kernel_name, program.soc, abi.name))


def kernel_arguments(program: CompiledProgram, call: KernelCall) -> list[np.ndarray]:
    """The call's GM tensors (byte views of the caller's arrays) in the order of the
    kernel's arguments, which the source's function fixes."""
    by_role = {role: tensor.bytes for role, tensor in call.operands().items()}
    argument_of = program.source.argument_of
    return [by_role[role] for role in sorted(argument_of, key=argument_of.__getitem__)]


def run_program_on_host(
    program: CompiledProgram, call: KernelCall, phases: Phases | None = None
) -> dict[str, int]:
    """Run the program's emitted AscendC on every core the tiling uses, natively; the
    outputs are written in place. Returns the tiling the unit's host code computed."""
    phases = phases or Phases()
    kernel = host_kernel(program, phases)
    with phases.step("run", f"running {call.tiling().used_cores} core(s) natively"):
        return kernel.run_call(call, kernel_arguments(program, call))


@dataclass(frozen=True)
class GoldenCheck:
    """How the outputs compare with the golden reference, bit for bit."""

    differing_rows: dict[str, int]
    """Output role -> rows whose bytes differ."""

    @property
    def passed(self) -> bool:
        return not any(self.differing_rows.values())


def compare_outputs(inputs: Inputs, expected: dict[str, np.ndarray]) -> GoldenCheck:
    """Rows (dim 0: output rows, or cache blocks for a scatter) of each written tensor
    whose bytes differ from ``expected``."""
    differing: dict[str, int] = {}
    for role in expected:
        rows = inputs[role].shape[0]
        got = inputs[role].view(np.uint8).reshape(rows, inputs[role].nbytes // max(rows, 1))
        want = expected[role].view(np.uint8).reshape(got.shape)
        differing[role] = int((got != want).any(axis=1).sum())
    return GoldenCheck(differing)
