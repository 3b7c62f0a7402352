"""Executors: the interchangeable ways to run a validated call (a ``GatherCall`` or a
``ScatterCall``).

Every executor takes a call that passed every check and is not empty, and writes its
outputs in place (a scatter's outputs are its caches). They must agree bit for bit;
tests compare them. The API looks up ``DEFAULT_EXECUTOR`` at call time, so a module
that registers a better executor (the lowered kernel) can make it the default by
assigning it here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from pakv_dialect.ascend import kernel_tiling_abi
from pakv_dialect.soc import SocInfo
from runtime.ascendc.host_build import HostKernel, HostUnit, build_host_kernel
from runtime.ascendc.printer import emit_ascendc_kernels
from runtime.call import CACHE_ROLES, OUTPUT_ROLES, KernelCall, KernelSignature, ScatterCall
from runtime.golden import (
    golden_dequant_outputs,
    golden_gather,
    golden_quant_caches,
    golden_scatter,
)
from runtime.host.lowered import lower, run_lowered_call
from runtime.interpreter.ascend_functions import kernel_function
from runtime.interpreter.pakv_functions import run_function
from runtime.interpreter.sequence import kernels_of, launch_sizes, run_program
from runtime.ir_builder import build_module, kernel_name
from runtime.memory import GmTensor

Executor = Callable[[KernelCall], None]


def run_golden(call: KernelCall) -> None:
    """The golden reference on the call's typed views (SPEC section 7's formula after
    the gather when the call dequantises)."""
    if isinstance(call, ScatterCall):
        quant = {
            stream: spec
            for stream in ("key", "value")
            if (spec := call.signature.stream_map(stream)) is not None
        }
        if quant:  # SPEC section 8's quantisation, then the scatter
            operands = call.operands()
            arrays = {role: tensor.typed() for role, tensor in operands.items()}
            kinds = {role: tensor.kind for role, tensor in operands.items()}
            expected = golden_quant_caches(
                arrays, kinds, quant, cache_mode=call.signature.cache_mode
            )
            for role in CACHE_ROLES:
                arrays[role][...] = expected[role]
            return
        golden_scatter(
            call.key.typed(),
            call.value.typed(),
            call.slot_mapping.typed(),
            call.key_cache.typed(),
            call.value_cache.typed(),
            cache_mode=call.signature.cache_mode,
        )
        return
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
def high_level_module(signature: KernelSignature) -> ModuleOp:
    """The dynamic ``pakv.gather``/``pakv.scatter`` module of a signature, built once."""
    return build_module(signature)


def run_high_level_interpreter(call: KernelCall) -> None:
    """xDSL's interpreter running the (uncompiled) ``pakv.gather``/``pakv.scatter``."""
    name = kernel_name(call.signature)
    run_function(high_level_module(call.signature), call.arguments(), name=name)


@lru_cache(maxsize=64)
def ascendc_host_kernel(signature: KernelSignature) -> HostKernel:
    """The signature's emitted AscendC unit, built for the host (cached on disk by
    ``runtime.ascendc.host_build``, in memory here)."""
    module = lower(signature)
    name = kernel_name(signature)
    source = emit_ascendc_kernels(module)[name]
    abi = kernel_tiling_abi(kernel_function(module))
    return build_host_kernel(HostUnit(source, name, signature.soc, abi.name))


def host_units(module: ModuleOp, soc: str) -> dict[str, HostUnit]:
    """Every kernel of a lowered ``module`` as a unit to build for the host, by name."""
    kernels = kernels_of(module)
    return {
        name: HostUnit(source, name, soc, kernel_tiling_abi(kernels[name]).name)
        for name, source in emit_ascendc_kernels(module).items()
    }


def run_host_program(
    module: ModuleOp, args: Sequence[GmTensor], soc: SocInfo, kernels: Mapping[str, HostKernel]
) -> list[dict[str, int]]:
    """A lowered program (``runtime.interpreter.sequence.run_program``: one fused kernel,
    or host code calling a gather kernel then consumer kernels) with every kernel run as
    its AscendC unit on the stand-in; ``kernels`` are the built :func:`host_units`.
    Returns each launch's tiling as its host code computed it."""

    def launch(kernel: FuncOp, tensors: list[GmTensor]) -> dict[str, int]:
        sizes = launch_sizes(kernel, tensors, soc)
        host = kernels[kernel.sym_name.data]
        parameters = inspect.signature(kernel_tiling_abi(kernel).compute).parameters
        return host.run([t.bytes for t in tensors], [sizes[p] for p in parameters])

    return run_program(module, args, launch)


def run_ascendc_host(call: KernelCall) -> None:
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
