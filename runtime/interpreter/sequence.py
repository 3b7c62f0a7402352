"""Run a lowered program of several kernels: its host code op by op, each kernel
through a launcher (:func:`run_program`): on the vector cores of an
:class:`~runtime.interpreter.machine.AscendMachine` (:func:`run_lowered_program`), or
as its printed AscendC unit on the host stand-in (``runtime.host``, which may use both).

``pakv-to-ascend`` leaves a fused program as one kernel, and an unfused one (a gather
into buffers the program allocates, then consumers: ``fuse=false``, or a consumer that
could not be fused) as host code that allocates the intermediates and calls one
kernel per op (``pakv-outline-kernels``). :func:`run_program` runs either:
``memref.alloc`` makes a GM buffer (``0xA5`` bytes: nobody may read what was not
written), ``memref.dim`` measures one, ``func.call`` launches a kernel with the
tiling its arguments give (``ascend.kernel_launch``: a gather's from its tables and
lengths, a consumer's from its rows: :func:`launch_sizes`), in program order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.dialects.func import CallOp, FuncOp, ReturnOp
from xdsl.ir import SSAValue

from pakv_dialect.ascend import (
    KERNEL_ATTR,
    LaunchKind,
    function_cores,
    kernel_launch,
    kernel_tiling_abi,
)
from pakv_dialect.soc import SocInfo
from pakv_dialect.tiling import Tiling
from runtime.golden import total_length
from runtime.interpreter.array_functions import allocate
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.machine import AscendMachine
from runtime.interpreter.trace import MachineTrace
from runtime.memory import GmTensor

T = TypeVar("T")


class ProgramError(ValueError):
    """The lowered module is not a program this runner knows how to run."""


def launch_sizes(func: FuncOp, args: Sequence[GmTensor], soc: SocInfo) -> dict[str, int]:
    """The sizes the tiling function of ``func``'s ABI takes for one launch on ``args``
    (``ascend.kernel_launch``: a gather's from its tables and lengths, a scatter's from
    its slots, a consumer's from its rows); the AscendC host code computes its tiling
    from the same sizes."""
    launch = kernel_launch(func)
    if launch is None:
        raise ProgramError(f"@{func.sym_name.data} does not say how it is launched")
    kind, roles = launch
    tensors = dict(zip(roles, args, strict=True))
    limit = function_cores(func)  # a plan may ask for fewer cores (``ascend.cores``)
    cores = min(soc.vector_cores, limit) if limit else soc.vector_cores
    if kind == LaunchKind.scatter:
        return {
            "num_tokens": tensors["slot_mapping"].shape[0],
            "num_blocks": tensors["key_cache"].shape[0],
            "vector_cores": cores,
            "key_block_stride": tensors["key_cache"].dim0_stride,
            "value_block_stride": tensors["value_cache"].dim0_stride,
        }
    if kind == LaunchKind.map:
        rows = tensors["source"].shape[0]
        return {
            "batch": 0, "num_blocks": 0, "table_width": 0, "num_tokens": rows,
            "total_tokens": rows, "vector_cores": cores, "key_block_stride": 0,
            "value_block_stride": 0,
        }  # fmt: skip
    tables = tensors["block_tables"]
    return {
        "batch": tables.shape[0],
        "num_blocks": tensors["key_cache"].shape[0],
        "table_width": tables.shape[1],
        "num_tokens": tensors["key_out"].shape[0],
        "total_tokens": total_length(
            tensors["seq_lens"].typed(), cumsum=kind == LaunchKind.gather_cumsum
        ),
        "vector_cores": cores,
        "key_block_stride": tensors["key_cache"].dim0_stride,
        "value_block_stride": tensors["value_cache"].dim0_stride,
    }


def launch_tiling(func: FuncOp, args: Sequence[GmTensor], soc: SocInfo) -> Tiling:
    """The tiling of one launch of kernel ``func`` on ``args`` (:func:`launch_sizes`), by
    the kernel's tiling ABI."""
    return kernel_tiling_abi(func).compute(**launch_sizes(func, args, soc))


@dataclass(frozen=True)
class KernelLaunch:
    """One kernel launch of a program run: which kernel, its tiling, what it did."""

    kernel: str
    tiling: Tiling
    trace: MachineTrace
    executed_ops: int

    @property
    def cores(self) -> int:
        return self.tiling.used_cores


def entry_function(module: ModuleOp) -> FuncOp:
    """The function a program run starts at: the one that is not called by another (a
    fused program's kernel itself, or the host code of an unfused one)."""
    funcs = [op for op in module.ops if isinstance(op, FuncOp)]
    called = {
        op.callee.root_reference.data for f in funcs for op in f.walk() if isinstance(op, CallOp)
    }
    roots = [f for f in funcs if f.sym_name.data not in called]
    if len(roots) != 1:
        raise ProgramError(f"expected one entry function, found {[f.sym_name.data for f in roots]}")
    return roots[0]


def kernels_of(module: ModuleOp) -> dict[str, FuncOp]:
    return {
        op.sym_name.data: op
        for op in module.ops
        if isinstance(op, FuncOp) and KERNEL_ATTR in op.attributes
    }


Launcher = Callable[[FuncOp, list[GmTensor]], T]
"""Runs one kernel on its GM arguments (the machine model, or the printed AscendC unit
on the host stand-in) and says what it did."""


def run_program(module: ModuleOp, args: Sequence[GmTensor], launch: Launcher[T]) -> list[T]:
    """Run the program of ``module`` on ``args`` (its entry function's arguments, in
    order), each kernel through ``launch``; returns what the launches returned."""
    entry = entry_function(module)
    if KERNEL_ATTR in entry.attributes:
        return [launch(entry, list(args))]
    launches: list[T] = []
    values: dict[SSAValue, Any] = dict(zip(entry.body.block.args, args, strict=True))
    kernels = kernels_of(module)
    for op in entry.body.block.ops:
        match op:
            case arith.ConstantOp() if isinstance(op.value, IntegerAttr):
                values[op.result] = op.value.value.data
            case memref.DimOp():
                values[op.result] = values[op.source].shape[values[op.index]]
            case memref.AllocOp():
                sizes = [values[v] for v in op.dynamic_sizes]
                values[op.memref] = allocate(op.memref.type, sizes, op.memref.name_hint or "buffer")
            case memref.DeallocOp() | ReturnOp():
                pass
            case CallOp():
                kernel = kernels.get(op.callee.root_reference.data)
                if kernel is None:
                    raise ProgramError(f"{op.callee} is not a kernel of the module")
                launches.append(launch(kernel, [values[v] for v in op.arguments]))
            case _:
                raise ProgramError(f"the host code of a program may not hold {op.name}")
    return launches


def run_lowered_program(
    module: ModuleOp,
    args: Sequence[GmTensor],
    soc: SocInfo,
    compiled: Mapping[str, CompiledKernel],
) -> list[KernelLaunch]:
    """:func:`run_program` on the machine model: ``compiled`` holds each kernel's fast
    path by name, each launch runs on a fresh machine."""

    def launch(kernel: FuncOp, tensors: list[GmTensor]) -> KernelLaunch:
        return _launch(kernel, tensors, soc, compiled)

    return run_program(module, args, launch)


def _launch(
    func: FuncOp, args: list[GmTensor], soc: SocInfo, compiled: Mapping[str, CompiledKernel]
) -> KernelLaunch:
    name = func.sym_name.data
    tiling = launch_tiling(func, args, soc)
    machine = AscendMachine(soc, tiling, args, block_num=tiling.used_cores)
    ops = compiled[name].run(machine)
    return KernelLaunch(name, tiling, machine.trace, ops)
