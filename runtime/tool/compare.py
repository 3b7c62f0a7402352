"""The cost model as an instrument: lowerings of one op measured on one data set.

Every plan is measured the same way: lowered with its ``pakv-to-ascend`` options, run
by the interpreter on every core over the same inputs (fresh outputs each time),
checked bit for bit against the golden reference, and its trace scheduled by the cost
model (``runtime/tool/timeline.py``). The vendor's kernels are presets of the same
passes (``passes/strategy.py``), so PAKV and the vendor are compared by one model on
one kind of trace, not by formulas.

* :func:`compare_strategies`: PAKV's default plan and each vendor strategy, with the
  HBM roofline (``pakv explain --compare``, the benchmark table).
* :func:`tune`: the PAKV plan options searched (tile bytes, slots, PA_NZ method, then
  cores and row alignment around the best), best first (``pakv tune``). Each candidate
  is lowered once and run once by the interpreter; only the winner's outputs are
  checked against the golden reference.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import AscendCApi, SocInfo, soc_info
from passes.strategy import VENDOR_STRATEGIES, Strategy
from runtime.call import GatherCall, KernelCall
from runtime.tool.program import (
    CompiledProgram,
    compare_outputs,
    compile_program,
    expected_outputs,
    run_launches,
)
from runtime.tool.scatter_workload import ScatterOperands, scatter_call
from runtime.tool.sources import GatherSource, InputError
from runtime.tool.timeline import schedule
from runtime.tool.workload import Inputs, gather_call


@dataclass(frozen=True)
class Measurement:
    """One plan, run and modelled."""

    label: str
    options: str
    """The ``pakv-to-ascend`` options it was lowered with (besides ``soc``)."""
    makespan_ns: float
    roofline_ns: float
    gm_bytes: int
    executed_ops: int
    passed: bool
    """Its outputs equal the golden reference's bit for bit."""

    @property
    def over_roofline(self) -> float:
        return self.makespan_ns / self.roofline_ns if self.roofline_ns else float("inf")


@dataclass(frozen=True)
class Refused:
    """A plan the lowering refused for this op and SoC (say, ``nz=load3d`` off the 950)."""

    label: str
    options: str
    reason: str


@dataclass
class Workbench:
    """One op, one SoC, one data set: what every measurement shares."""

    source: GatherSource
    soc: str
    inputs: Inputs

    def __post_init__(self) -> None:
        call = self.call(self.inputs)
        total = None if call is None else call.total_tokens if isinstance(call, GatherCall) else 0
        self.expected = expected_outputs(self.source, self.inputs, total)
        self._programs: dict[str, CompiledProgram] = {}

    @property
    def scatters(self) -> bool:
        """The op is a ``pakv.scatter`` (the vendor strategies are gathers: refused)."""
        return isinstance(self.source.operands, ScatterOperands)

    def call(self, data: Inputs) -> KernelCall | None:
        """The op's call on ``data`` (None: empty)."""
        operands = self.source.operands
        if isinstance(operands, ScatterOperands):
            return scatter_call(data, operands, self.soc)
        return gather_call(data, operands, self.soc)

    @property
    def soc_info(self) -> SocInfo:
        return soc_info(self.soc)

    def program(self, options: str) -> CompiledProgram:
        """The op lowered with ``options``, compiled once (InputError: refused)."""
        program = self._programs.get(options)
        if program is None:
            program = self._programs[options] = compile_program(self.source, self.soc, options)
        return program

    def measure(self, label: str, options: str, check: bool = True) -> Measurement | Refused:
        """Lower, run and model one plan. ``check``: on fresh outputs, compared with the
        golden reference afterwards (else the outputs are reused and ``passed`` says
        nothing: the tuner checks only the plans it reports)."""
        try:
            program = self.program(options)
        except InputError as e:
            return Refused(label, options, e.message)
        data = dict(self.inputs)
        if check:
            for role in self.source.operands.written_roles:
                data[role] = self.inputs[role].copy()
        if self.call(data) is None:
            raise InputError("the call is empty: nothing to measure (choose sizes with tokens)")
        # Every kernel of the program (one when fused), one after another on the device.
        launches = run_launches(program, data)
        timelines = [schedule(launch.trace, self.soc_info) for launch in launches]
        return Measurement(
            label,
            options,
            sum(timeline.makespan_ns for timeline in timelines),
            sum(timeline.roofline_ns for timeline in timelines),
            sum(timeline.gm_bytes for timeline in timelines),
            sum(launch.executed_ops for launch in launches),
            compare_outputs(data, self.expected).passed if check else True,
        )


@dataclass(frozen=True)
class Comparison:
    """PAKV's plan next to the vendor's strategies on one case."""

    pakv: Measurement
    vendors: tuple[Measurement | Refused, ...]

    @property
    def best_vendor(self) -> Measurement | None:
        measured = [v for v in self.vendors if isinstance(v, Measurement)]
        return min(measured, key=lambda m: m.makespan_ns, default=None)

    @property
    def speedup(self) -> float | None:
        """Best vendor time over PAKV's: how many times faster PAKV's plan models."""
        best = self.best_vendor
        return None if best is None else best.makespan_ns / self.pakv.makespan_ns


def compare_strategies(bench: Workbench, pakv_options: str = "") -> Comparison:
    """PAKV (with ``pakv_options``) and every vendor strategy, measured on ``bench``."""
    pakv = bench.measure(Strategy.PAKV.value, pakv_options)
    if isinstance(pakv, Refused):
        raise InputError(f"PAKV's plan ({pakv.options or 'default'}) was refused: {pakv.reason}")
    vendors = tuple(
        bench.measure(strategy.value, f"strategy={strategy.value}")
        for strategy in VENDOR_STRATEGIES
    )
    return Comparison(pakv, vendors)


TILE_SIZES = (0, 65536, 32768, 16384)
"""Slot sizes the tuner tries (0: the largest the UB allows)."""


def plan_shapes(mode: CacheMode, soc: SocInfo, scatter: bool = False) -> list[str]:
    """The tile plans ``pakv tune`` tries first, all cores (Norm: slots x tile bytes;
    PA_NZ: each method the SoC has x slots x tile bytes, tiles on 512-byte rows; a
    scatter's PA_NZ has the transpose only)."""
    if mode == CacheMode.Norm:
        return [f"slots={s} tile-bytes={t}" for s in (1, 2, 3, 4) for t in TILE_SIZES]
    methods = {"transpose": (2, 3, 4)}
    if not scatter and not soc.missing_apis(frozenset({AscendCApi.ND_DMA})):
        methods["load3d"] = (1, 2, 3)
    return [
        f"nz={m} slots={s} tile-bytes={t} row-align=true"
        for m, slot_counts in methods.items()
        for s in slot_counts
        for t in TILE_SIZES
    ]


def variations(best: str, mode: CacheMode, soc: SocInfo) -> list[str]:
    """Then, one option at a time around the best shape: fewer cores (a half, a
    quarter), and for PA_NZ tiles cut evenly instead of on 512-byte rows."""
    found = [f"{best} cores={n}" for n in (soc.vector_cores // 2, soc.vector_cores // 4) if n]
    if mode == CacheMode.PA_NZ:
        found.append(best.replace("row-align=true", "row-align=false"))
    return found


@dataclass(frozen=True)
class Tuning:
    """What ``pakv tune`` found."""

    ranked: tuple[Measurement, ...]
    """Every candidate that lowered, best first; the best and the default are checked
    against the golden reference (``passed``)."""
    default: Measurement
    refused: tuple[Refused, ...]
    seconds: float

    @property
    def best(self) -> Measurement:
        return self.ranked[0]


def _rank(measured: list[Measurement]) -> list[Measurement]:
    return sorted(measured, key=lambda m: (round(m.makespan_ns, 3), len(m.options)))


def tune(bench: Workbench, plans: Sequence[str] | None = None) -> Tuning:
    """Search the PAKV plan options with the cost model, best first.

    Each candidate is lowered once and run once by the interpreter on every core (its
    outputs are not checked: only the winner's and the default's are, on fresh outputs).
    ``plans`` replaces the search (:func:`plan_shapes`, then :func:`variations` of the
    best) by a fixed list.
    """
    start = time.perf_counter()
    default = bench.measure("default", "")
    if isinstance(default, Refused):
        raise InputError(f"the default plan was refused: {default.reason}")
    mode, soc = bench.source.operands.mode, bench.soc_info
    measured: list[Measurement] = []
    refused: list[Refused] = []

    def run(options: Sequence[str]) -> None:
        for option in options:
            result = bench.measure(option, option, check=False)
            (refused if isinstance(result, Refused) else measured).append(result)  # pyright: ignore[reportArgumentType]

    run(plans if plans is not None else plan_shapes(mode, soc, bench.scatters))
    if plans is None and measured:
        run(variations(_rank(measured)[0].options, mode, soc))
    ranked = _rank([default, *measured])
    best = ranked[0]
    if best is not default:
        checked = bench.measure(best.label, best.options)
        assert isinstance(checked, Measurement)
        ranked[0] = checked
    return Tuning(tuple(ranked), default, tuple(refused), time.perf_counter() - start)


def ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def microseconds(ns: float) -> str:
    return f"{ns / 1e3:.1f}"
