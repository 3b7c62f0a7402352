"""Executors: the interchangeable ways to run a validated call (a ``GatherCall`` or a
``ScatterCall``).

Every executor takes a call that passed every check and is not empty, and writes its
outputs in place (a scatter's outputs are its caches). They must agree bit for bit;
tests compare them. The API looks up ``DEFAULT_EXECUTOR`` at call time, so a module
that registers a better executor (the lowered kernel) can make it the default by
assigning it here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from xdsl.dialects.builtin import ModuleOp

from pakv_dialect.ascend import kernel_tiling_abi
from runtime.ascendc.host_build import HostKernel, HostUnit, build_host_kernel
from runtime.ascendc.printer import emit_ascendc_kernels
from runtime.call import KernelCall, KernelSignature, ScatterCall
from runtime.golden import golden_gather, golden_scatter
from runtime.host.lowered import lower, run_lowered_call
from runtime.interpreter.ascend_functions import kernel_function
from runtime.interpreter.pakv_functions import run_function
from runtime.ir_builder import build_module, kernel_name

Executor = Callable[[KernelCall], None]


def run_golden(call: KernelCall) -> None:
    """The golden reference on the call's typed views."""
    if isinstance(call, ScatterCall):
        golden_scatter(
            call.key.typed(),
            call.value.typed(),
            call.slot_mapping.typed(),
            call.key_cache.typed(),
            call.value_cache.typed(),
            cache_mode=call.signature.cache_mode,
        )
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
