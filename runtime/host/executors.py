"""Executors: the interchangeable ways to run a validated ``GatherCall``.

Every executor takes a call that passed every check and is not empty, and writes its
outputs in place. They must agree bit for bit; tests compare them. The API looks up
``DEFAULT_EXECUTOR`` at call time, so a module that registers a better executor (the
lowered kernel) can make it the default by assigning it here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from pakv_dialect.soc import SocInfo
from pakv_dialect.tiling import gather_tiling
from runtime.ascendc.host_build import HostKernel, HostUnit, build_host_kernel
from runtime.ascendc.printer import emit_ascendc_kernels
from runtime.call import OUTPUT_ROLES, GatherCall, GatherSignature
from runtime.golden import golden_dequant_outputs, golden_gather
from runtime.host.lowered import lower, run_lowered_call
from runtime.interpreter.pakv_functions import run_function
from runtime.interpreter.sequence import launch_sizes, run_program
from runtime.ir_builder import KERNEL_NAME, build_gather_module
from runtime.memory import GmTensor

Executor = Callable[[GatherCall], None]


def run_golden(call: GatherCall) -> None:
    """The golden reference on the call's typed views (SPEC section 7's formula after
    the gather when the call dequantises)."""
    maps = {
        stream: spec
        for stream in ("key", "value")
        if (spec := call.signature.stream_map(stream)) is not None
    }
    if maps:
        operands = call.operands()
        arrays = {role: tensor.typed() for role, tensor in operands.items()}
        kinds = {role: tensor.kind for role, tensor in operands.items()}
        expected = golden_dequant_outputs(
            arrays, kinds, maps, cache_mode=call.signature.cache_mode, cumsum=call.signature.cumsum
        )
        for role in OUTPUT_ROLES:
            arrays[role][...] = expected[role]
        return
    golden_gather(
        call.key_cache.typed(),
        call.value_cache.typed(),
        call.block_tables.typed(),
        call.seq_lens.typed(),
        call.key_out.typed(),
        call.value_out.typed(),
        None if call.seq_offset is None else call.seq_offset.typed(),
        cache_mode=call.signature.cache_mode,
        cumsum=call.signature.cumsum,
    )


@lru_cache(maxsize=64)
def high_level_module(signature: GatherSignature) -> ModuleOp:
    """The dynamic ``pakv.gather`` module of a signature, built once per signature."""
    return build_gather_module(signature)


def run_high_level_interpreter(call: GatherCall) -> None:
    """xDSL's interpreter running the (uncompiled) ``pakv.gather`` function."""
    run_function(high_level_module(call.signature), call.arguments())


@lru_cache(maxsize=64)
def ascendc_host_kernel(signature: GatherSignature) -> HostKernel:
    """The signature's emitted AscendC unit, built for the host (cached on disk by
    ``runtime.ascendc.host_build``, in memory here)."""
    source = emit_ascendc_kernels(lower(signature))[KERNEL_NAME]
    return build_host_kernel(HostUnit(source, KERNEL_NAME, signature.soc))


def host_units(module: ModuleOp, soc: str) -> dict[str, HostUnit]:
    """Every kernel of a lowered ``module`` as a unit to build for the host, by name."""
    return {
        name: HostUnit(source, name, soc) for name, source in emit_ascendc_kernels(module).items()
    }


def run_host_program(
    module: ModuleOp, args: Sequence[GmTensor], soc: SocInfo, kernels: Mapping[str, HostKernel]
) -> list[dict[str, int]]:
    """A lowered program (``runtime.interpreter.sequence.run_program``: one fused kernel,
    or host code calling a gather kernel then consumer kernels) with every kernel run as
    its AscendC unit on the stand-in; ``kernels`` are the built :func:`host_units`.
    Returns each launch's tiling as its host code computed it."""
    parameters = list(inspect.signature(gather_tiling).parameters)

    def launch(kernel: FuncOp, tensors: list[GmTensor]) -> dict[str, int]:
        sizes = launch_sizes(kernel, tensors, soc)
        host = kernels[kernel.sym_name.data]
        return host.run([t.bytes for t in tensors], [sizes[p] for p in parameters])

    return run_program(module, args, launch)


def run_ascendc_host(call: GatherCall) -> None:
    """The emitted AscendC kernel, compiled natively against the host stand-in and run on
    every core: the same source that goes to the device, checked by the stand-in's rules.

    Raises ``HostCompilerMissing`` without a C++ compiler, ``AscendCEmitError`` when the
    target cannot print the kernel for the SoC, ``HostRunError`` when it breaks a rule.
    """
    ascendc_host_kernel(call.signature).run_call(call)


EXECUTORS: dict[str, Executor] = {
    "reference": run_golden,
    "interpreter": run_high_level_interpreter,
    "lowered": run_lowered_call,
    "ascendc-host": run_ascendc_host,
}
"""Executors by name; other modules add theirs (e.g. ``"lowered"``)."""

DEFAULT_EXECUTOR = "lowered"
"""The executor the API uses when none is named (read at call time)."""


def executor_named(name: object) -> Executor:
    """The executor called ``name`` (None: the current default); ValueError if unknown
    (any name that is not a string naming one, an unhashable one included)."""
    chosen = DEFAULT_EXECUTOR if name is None else name
    if not isinstance(chosen, str) or chosen not in EXECUTORS:
        raise ValueError(f"unknown executor {chosen!r}: expected one of {', '.join(EXECUTORS)}")
    return EXECUTORS[chosen]
