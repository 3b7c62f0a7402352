"""The pipe of every trace row is the pipe of its op's ``OnPipe`` trait, on both paths.

The machine keeps no table of which pipe an op runs on: ``machine_arguments`` passes
the trait's pipe. Lowered kernels that between them run every ascend op the machine
knows (a Norm and a PA_NZ gather with zero-filled tokens, a fused dequantisation with
per-tensor and per-channel parameters, a scatter) are traced on the fast path and on
xDSL's interpreter; every row's pipe is checked against the trait of the op that made
it (found by the row's op ordinal), independently of the machine's code.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from fusion_cases import FusionCase, lowered_program, make_data
from lowered_cases import DeviceCase, build, device_call
from scatter_cases import ScatterCase, arrays
from scatter_cases import device_call as scatter_call
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation

from pakv_dialect import ascend
from pakv_dialect.ascend import OnPipe, Pipe
from pakv_dialect.soc import soc_info
from runtime.call import DequantSpec
from runtime.host.lowered import run_lowered
from runtime.interpreter.ascend_functions import run_with_xdsl
from runtime.interpreter.machine import MACHINE_METHODS, AscendMachine
from runtime.interpreter.sequence import launch_tiling, run_program
from runtime.interpreter.sync import PipeSync
from runtime.interpreter.trace import (
    PIPE_BARRIER,
    PIPES,
    SET_FLAG,
    WAIT_FLAG,
    MachineTrace,
    TraceRow,
    trace_row,
)
from runtime.memory import GmTensor

FLAG_OPS = (ascend.SetFlagOp, ascend.WaitFlagOp)
"""The flag ops name two pipes (their properties), not one: their rows' ``pipe`` is
the pipe that sets or waits, ``peer`` the other."""


def pipe_ops() -> dict[str, type[Operation]]:
    """Every op type the machine runs that occupies a pipe, by its name."""
    return {op.name: op for op in MACHINE_METHODS if op.get_trait(OnPipe) is not None}


def gather_traces(reference: bool) -> list[MachineTrace]:
    """Norm, and PA_NZ by each way a tile becomes token-major: the 3-D copy
    (``load_transposed``, Ascend 950's default), the block transpose, and the vendor's
    A2/A3 per-token copies ordered by ``pipe_barrier``."""
    nz = DeviceCase(lens=(13, 9), block_size=2, bad="block_ids").with_(
        mode="PA_NZ", key_token=(3,), value_token=(2,)
    )
    cases = [
        (DeviceCase(lens=(5, 0, 9), block_size=4, bad="block_ids"), ""),
        (nz, ""),
        (nz, " nz=transpose"),
        (nz, " strategy=a2"),
    ]
    traces = []
    for case, options in cases:
        call = device_call(build(case))
        run = run_lowered(call, options=f"tile-bytes=64{options}", reference=reference)
        traces.append(run.trace)
    return traces


def scatter_trace(reference: bool) -> MachineTrace:
    case = ScatterCase(tokens=24)
    call = scatter_call(case, arrays(case))
    return run_lowered(call, reference=reference).trace


def fusion_traces(reference: bool) -> list[MachineTrace]:
    """A fused dequantisation: per-tensor scales (``vscalar``), per-channel offsets and
    scales (``vrows``), casts (``vcast``), float32 scalar reads."""
    case = FusionCase(
        "Norm", "int8", "int8", DequantSpec("fp16", "tensor", "channel"),
        DequantSpec("fp32", "channel", "tensor"),
    )  # fmt: skip
    program = lowered_program(case)
    data = make_data(case, seed=3)
    soc = soc_info(case.soc)

    def launch(function: FuncOp, tensors: list[GmTensor]) -> MachineTrace:
        tiling = launch_tiling(function, tensors, soc)
        machine = AscendMachine(soc, tiling, tensors, block_num=tiling.used_cores)
        if reference:
            run_with_xdsl(program.module, machine)
        else:
            program.kernels[function.sym_name.data].run(machine)
        return machine.trace

    return run_program(program.module, data.tensors(data.copy()), launch)


def traces(reference: bool) -> list[MachineTrace]:
    return [
        *gather_traces(reference),
        scatter_trace(reference),
        *fusion_traces(reference),
    ]


@pytest.fixture(scope="module")
def both_paths() -> tuple[list[MachineTrace], list[MachineTrace]]:
    return traces(reference=False), traces(reference=True)


def test_every_op_on_a_pipe_records_its_traits_pipe(
    both_paths: tuple[list[MachineTrace], list[MachineTrace]],
):
    ops = pipe_ops()
    for path in both_paths:
        seen: set[str] = set()
        barriers = 0
        for trace in path:
            for row in trace.table():
                op = trace.sites[int(row["op"])].name
                if op in ops:
                    trait = ops[op].get_trait(OnPipe)
                    assert trait is not None
                    assert PIPES[int(row["pipe"])] == trait.pipe, op
                    seen.add(op)
                elif op == ascend.PipeBarrierOp.name:  # every pipe's: issued by the scalar unit
                    assert (int(row["kind"]), PIPES[int(row["pipe"])]) == (PIPE_BARRIER, Pipe.S)
                    barriers += 1
                else:
                    assert op in {f.name for f in FLAG_OPS}, f"{op} made a row without a pipe"
                    assert int(row["kind"]) in (SET_FLAG, WAIT_FLAG)
                    assert row["peer"] != row["pipe"]
        assert seen == set(ops), f"no kernel ran {set(ops) - seen}"
        assert barriers, "no kernel ran ascend.pipe_barrier"


def test_both_paths_trace_the_same_rows(
    both_paths: tuple[list[MachineTrace], list[MachineTrace]],
):
    fast, reference = both_paths
    assert len(fast) == len(reference)
    for one, other in zip(fast, reference, strict=True):
        assert np.array_equal(one.table(), other.table())
        assert len(one) > 0


def test_every_machine_op_that_takes_a_pipe_has_an_on_pipe_trait():
    """A machine method whose second parameter is ``pipe`` runs on the pipe of the op's
    trait, so the op must have one; the others (scalar bookkeeping, flags) must not."""
    for op, method in MACHINE_METHODS.items():
        owner = PipeSync if method.startswith("sync.") else AscendMachine
        parameters = list(inspect.signature(getattr(owner, method.split(".")[-1])).parameters)
        takes_pipe = parameters[2:3] == ["pipe"]
        assert takes_pipe == (op.get_trait(OnPipe) is not None), op.name


def test_trace_row_makes_the_rows_of_trace_row():
    """The cheap row maker and the row type agree: same fields, same defaults, same
    tuple for the same arguments."""
    maker = inspect.signature(trace_row).parameters
    assert list(maker) == list(TraceRow._fields)
    assert {n: p.default for n, p in maker.items() if p.default is not p.empty} == (
        TraceRow._field_defaults
    )
    row = trace_row(3, 1, 2, 17, tensor=4, gm_offset=96, n_burst=5, burst_len=40, slot=1)
    named = TraceRow(3, 1, 2, 17, tensor=4, gm_offset=96, n_burst=5, burst_len=40, slot=1)
    assert row == tuple(named) and type(row) is tuple
