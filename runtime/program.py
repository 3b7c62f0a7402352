"""Compile and run one user's ``pakv.gather``: the steps behind ``pakv compile/run/explain``.

The host API compiles a *signature* (``runtime.lowered_executor``); the tools compile
what the user wrote, a :class:`~runtime.gather_source.GatherSource`, with the same
pieces: the registered ``pakv-to-ascend{soc=...}`` pipeline, the AscendC target's
emitter, and the compiled fast path (:class:`~runtime.kernel_compiler.CompiledKernel`)
on an :class:`~runtime.ascend_machine.AscendMachine`. Every failure a user can cause
becomes an :class:`~runtime.gather_source.InputError` at the op's location.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation
from xdsl.passes import PassPipeline
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from pakv_dialect.soc import soc_info
from pakv_dialect.universe import PASSES
from runtime.ascend_interpreter import kernel_function, kernel_sites
from runtime.ascend_machine import AscendMachine, OpSite
from runtime.ascendc_printer import emit_ascendc_kernels
from runtime.call import OPERAND_ROLES, GatherCall
from runtime.gather_source import GatherSource, InputError, location_of, verifier_message
from runtime.golden import golden_gather
from runtime.kernel_compiler import CompiledKernel
from runtime.lowered_executor import LoweredKernel, LoweredRun, lowering_context, pipeline_spec
from runtime.workload import Inputs

OUTPUT_ROLES = ("key_out", "value_out")


@dataclass
class Phases:
    """Times the named steps of a command; tells ``report`` as each starts and ends."""

    report: Callable[[str], None] | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str, doing: str) -> Iterator[None]:
        if self.report:
            self.report(f"{doing} ...")
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        if self.report:
            self.report(f"{doing}: {elapsed:.2f} s")


def stderr_reporter(prog: str = "pakv") -> Callable[[str], None]:
    def report(line: str) -> None:
        print(f"{prog}: {line}", file=sys.stderr, flush=True)

    return report


@dataclass
class CompiledProgram:
    """A source lowered for one SoC, with its kernel compiled for the interpreter."""

    source: GatherSource
    soc: str
    options: str
    """Extra ``pakv-to-ascend`` options (``slots=1 tile-bytes=64``)."""
    module: ModuleOp
    """The lowered module (the source's module is left as it was)."""
    kernel: FuncOp
    sites: dict[Operation, OpSite]
    compiled: CompiledKernel


def compile_program(
    source: GatherSource, soc: str, options: str = "", phases: Phases | None = None
) -> CompiledProgram:
    """Lower a copy of ``source.module`` for ``soc`` and compile its kernel."""
    phases = phases or Phases()
    source.check_soc(soc)
    module = source.module.clone()
    spec = pipeline_spec(soc, options)
    with phases.step("lower", f"lowering {source.func_name} for {soc}"):
        try:
            PassPipeline.parse_spec(PASSES, spec).apply(lowering_context(), module)
        except DiagnosticException as e:
            raise InputError(str(e), source.where()) from None
        try:
            module.verify()
        except VerifyException as e:
            raise InputError(
                f"the lowered kernel does not verify: {verifier_message(e)}", source.where()
            ) from None
    kernel = kernel_function(module)
    if len(kernel.args) != len(source.argument_of):
        raise InputError(
            f"@{source.func_name} has {len(kernel.args)} arguments but pakv.gather uses "
            f"{len(source.argument_of)}: a kernel takes exactly the op's operands",
            location_of(kernel) or source.where(),
        )
    with phases.step("closures", "compiling the kernel into closures for the interpreter"):
        sites = kernel_sites(kernel)
        compiled = CompiledKernel(kernel, sites)
    return CompiledProgram(source, soc, options, module, kernel, sites, compiled)


def emit_sources(program: CompiledProgram, phases: Phases | None = None) -> dict[str, str]:
    """The AscendC translation unit of each kernel (kernel, tiling, host launcher)."""
    phases = phases or Phases()
    with phases.step("emit", "emitting AscendC"):
        try:
            return emit_ascendc_kernels(program.module)
        except DiagnosticException as e:
            raise InputError(str(e).splitlines()[0], program.source.where()) from None


def _roles(call: GatherCall) -> list[str]:
    """Roles of ``call.arguments()``, in its order."""
    return [r for r in OPERAND_ROLES if r != "seq_offset" or call.seq_offset is not None]


def run_program(program: CompiledProgram, call: GatherCall) -> LoweredRun:
    """Run the kernel on every core the tiling uses; the outputs are written in place."""
    tiling = call.tiling()
    machine = AscendMachine(
        soc_info(program.soc), tiling, call.arguments(), block_num=tiling.used_cores
    )
    by_role = dict(zip(_roles(call), machine.gm, strict=True))
    argument_of = program.source.argument_of
    args = [by_role[role] for role in sorted(argument_of, key=argument_of.__getitem__)]
    ops = program.compiled.run(machine, args)
    kernel = LoweredKernel(
        call.signature, program.module, program.kernel, program.sites, program.compiled
    )
    return LoweredRun(kernel, tiling, machine.trace, ops)


def golden_outputs(inputs: Inputs, program: CompiledProgram) -> dict[str, np.ndarray]:
    """What the outputs must become: the golden reference run on copies of them."""
    operands = program.source.operands
    expected = {role: inputs[role].copy() for role in OUTPUT_ROLES}
    golden_gather(
        inputs["key_cache"],
        inputs["value_cache"],
        inputs["block_tables"],
        inputs["seq_lens"],
        expected["key_out"],
        expected["value_out"],
        inputs.get("seq_offset"),
        cache_mode=operands.mode,
        cumsum=operands.cumsum,
    )
    return expected


@dataclass(frozen=True)
class GoldenCheck:
    """How the outputs compare with the golden reference, bit for bit."""

    differing_rows: dict[str, int]
    """Output role -> rows whose bytes differ."""

    @property
    def passed(self) -> bool:
        return not any(self.differing_rows.values())


def compare_outputs(inputs: Inputs, expected: dict[str, np.ndarray]) -> GoldenCheck:
    differing: dict[str, int] = {}
    for role in OUTPUT_ROLES:
        rows = inputs[role].shape[0]
        got = inputs[role].view(np.uint8).reshape(rows, inputs[role].nbytes // max(rows, 1))
        want = expected[role].view(np.uint8).reshape(got.shape)
        differing[role] = int((got != want).any(axis=1).sum())
    return GoldenCheck(differing)
