"""``pakv explain``: the plan the compiler chose, read back from the lowered IR and a run.

Nothing here plans anything. The UB map is the kernel's ``ascend.ub_alloc`` ops
(offset, slots, slot size, purpose, and which ops fill and drain each buffer); the
pipelining is its ``set_flag``/``wait_flag`` ops; the DMA sites are its ``load`` and
``store`` ops. A run on concrete data (:class:`~runtime.interpreter.sequence.KernelLaunch`)
adds what only data decides: the tiling fields, the core split, how often each DMA
site ran with how many bursts of how many bytes, and the modelled time
(``runtime.tool.timeline``). So the report shows what the kernel *does*, not what a
second copy of the planning arithmetic believes it should do.

The stages of a tile (CopyIn on MTE2, Compute on V, CopyOut on MTE3) are the kernel's
DMA and vector ops in program order, per stream: a fused consumer's casts and
arithmetic show there, between the load and the store. An unfused program (``pakv
explain --no-fuse``) is one report per kernel launch: the gather, then each consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, MemRefType
from xdsl.dialects.func import FuncOp
from xdsl.ir import BlockArgument, Operation, SSAValue

from pakv_dialect import ascend
from pakv_dialect.ascend import LaunchKind, constant_value, kernel_launch
from pakv_dialect.dtypes import index_kind_of_type, kv_kind_of_type
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import SocInfo, soc_info
from pakv_dialect.tiling import balanced_range
from passes.strategy import Strategy
from runtime.call import CACHE_ROLES
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.sequence import KernelLaunch
from runtime.interpreter.trace import STORE, TRACE_KINDS, MachineTrace
from runtime.tool.compare import Comparison, Refused, Tuning
from runtime.tool.program import CompiledProgram
from runtime.tool.scatter_workload import ScatterOperands
from runtime.tool.timeline import Timeline
from runtime.tool.units import rate, size_text
from runtime.tool.workload import GatherOperands


@dataclass(frozen=True)
class UbBufferInfo:
    """One ``ascend.ub_alloc`` of the kernel."""

    purpose: str
    offset: int
    slots: int
    slot_bytes: int
    written_by: tuple[str, ...]
    """Op names that write the buffer (e.g. ``ascend.load``)."""
    read_by: tuple[str, ...]

    @property
    def size(self) -> int:
        return self.slots * self.slot_bytes

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class FlagPair:
    """A (set pipe -> wait pipe) synchronisation channel of the kernel."""

    set_pipe: str
    wait_pipe: str
    sets: int
    """set_flag ops in the IR on this channel."""
    waits: int
    events: str
    """The event ids: constants, or "per slot" when the id is computed."""


@dataclass(frozen=True)
class Stat:
    """Count, total and range of one quantity over trace rows."""

    count: int
    total: int
    low: int
    high: int

    @staticmethod
    def of(values: np.ndarray) -> Stat:
        if values.size == 0:
            return Stat(0, 0, 0, 0)
        return Stat(int(values.size), int(values.sum()), int(values.min()), int(values.max()))

    def span(self) -> str:
        return f"{self.low}" if self.low == self.high else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class DmaSite:
    """One ``ascend.load``/``ascend.store`` op and what it did in the run."""

    ordinal: int
    kind: str
    tensor: str
    """The operand role of its GM side (key_cache, value_out, ...)."""
    buffer: str
    """The purpose of its UB buffer."""
    form: str
    """Its DMA form (``pakv_dialect.dma``): ``blocks`` (DataCopy) or ``bytes`` (DataCopyPad)."""
    bursts: Stat
    """Bursts per execution."""
    burst_bytes: Stat
    """Bytes per burst."""
    bytes: Stat
    """Bytes per execution (``count`` = executions, ``total`` = bytes moved)."""


@dataclass(frozen=True)
class Stage:
    """One step of a tile: an op of the kernel, described."""

    stage: str
    """``CopyIn``, ``Compute`` or ``CopyOut``."""
    pipe: str
    what: str


@dataclass(frozen=True)
class TilePath:
    """The stages one kind of tile goes through, from its load (or zero fill) to its
    store, in program order."""

    output: str
    """The GM tensor the tile is stored to (``key_out``, or ``target`` in a consumer)."""
    zero: bool
    """A tile of zeros (its tokens' blocks are out of range: nothing is loaded)."""
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class PlanReport:
    """Everything ``pakv explain`` prints, as data (tests read it)."""

    kernel: str
    where: str
    soc: SocInfo
    operands: GatherOperands | ScatterOperands
    launch: LaunchKind
    token_bytes: dict[str, int]
    """Bytes of one token of each GM tensor by role (its memref type's inner dims)."""
    preloads: tuple[str, ...]
    """GM tensors loaded into the UB once per core (a consumer's per-channel parameters)."""
    paths: tuple[TilePath, ...]
    buffers: tuple[UbBufferInfo, ...]
    flags: tuple[FlagPair, ...]
    tiling: dict[str, int]
    rows_per_core: tuple[int, int]
    """Fewest and most output rows a core owns."""
    bytes_per_core: tuple[int, int]
    """Fewest and most bytes a core stores."""
    sites: tuple[DmaSite, ...]
    counts: dict[str, int]
    """Executed trace rows by kind (``trace_counts``)."""
    executed_ops: int
    makespan_ns: float
    core_bytes_per_ns: float

    @property
    def ub_used(self) -> int:
        return sum(buffer.size for buffer in self.buffers)

    def moved(self, kind: str) -> int:
        return sum(site.bytes.total for site in self.sites if site.kind == kind)


def trace_counts(trace: MachineTrace) -> dict[str, int]:
    """How many ops of each kind a launch executed, by ``TRACE_KINDS`` name (``load``, ...)."""
    counts = np.bincount(trace.table()["kind"], minlength=len(TRACE_KINDS))
    return dict(zip(TRACE_KINDS, counts.tolist(), strict=True))


def token_bytes(operands: GatherOperands | ScatterOperands, role: str) -> int:
    """Bytes of one token of a token-major role (``H * element size``)."""
    shape = operands.shapes[role]
    return int(np.prod(shape[1:])) * operands.kinds[role].size


def _kernel_roles(kernel: FuncOp) -> tuple[LaunchKind, dict[int, str]]:
    """How the kernel is launched, and the role of each argument by index."""
    launch = kernel_launch(kernel)
    assert launch is not None, "pakv-to-ascend marks every kernel"
    return launch[0], dict(enumerate(launch[1]))


def _token_bytes(kernel: FuncOp) -> dict[str, int]:
    """Bytes per token (dim 0) of every memref argument of ``kernel``, by role."""
    _, roles = _kernel_roles(kernel)
    sizes: dict[str, int] = {}
    for index, arg in enumerate(kernel.args):
        ty = arg.type
        if not isinstance(ty, MemRefType) or not ty.get_shape():
            continue
        kind = kv_kind_of_type(ty.get_element_type()) or index_kind_of_type(ty.get_element_type())
        if kind is not None:
            sizes[roles[index]] = int(np.prod(ty.get_shape()[1:])) * kind.size
    return sizes


def _purpose(buffer: SSAValue) -> str:
    owner = buffer.owner
    return f"'{owner.purpose.data}'" if isinstance(owner, ascend.UbAllocOp) else "?"


def _gm_role(value: SSAValue, roles: dict[int, str]) -> str:
    return roles.get(value.index, "?") if isinstance(value, BlockArgument) else "?"


def _describe(op: Operation, roles: dict[int, str]) -> tuple[str, str, str] | None:
    """(stage, pipe, words) of a tile's op; None for the rest."""
    match op:
        case ascend.LoadOp():
            return "CopyIn", "MTE2", f"load {_gm_role(op.gm, roles)} -> {_purpose(op.ub)}"
        case ascend.StoreOp():
            return "CopyOut", "MTE3", f"store {_purpose(op.ub)} -> {_gm_role(op.gm, roles)}"
        case ascend.TransposeBlocksOp():
            where = f"{_purpose(op.source)} -> {_purpose(op.target)}"
            return "Compute", "V", f"transpose 32-byte blocks (NZ -> token-major) {where}"
        case ascend.FillZeroOp():
            return "Compute", "V", f"zero fill {_purpose(op.target)}"
        case ascend.VCastOp():
            source, target = kv_kind_of_type(op.from_type), kv_kind_of_type(op.to_type)
            assert source is not None and target is not None
            where = f"{_purpose(op.source)} -> {_purpose(op.target)}"
            cast = f"Cast {source.name} -> {target.name} ({op.mode.data.value})"
            return "Compute", "V", f"{cast} {where}"
        case ascend.VScalarOp():
            scalar = op.scalar.owner
            name = "?"
            if isinstance(scalar, ascend.LoadScalarOp):
                name = f"{_gm_role(scalar.source, roles)} (per tensor)"
            elif isinstance(scalar, arith.ConstantOp) and isinstance(scalar.value, FloatAttr):
                name = f"{scalar.value.value.data:g} (a constant)"  # a clamp's bound
            kind = op.kind.data.value
            return "Compute", "V", f"{kind} {name} in {_purpose(op.target)}"
        case ascend.VRowsOp():
            kind = op.kind.data.value
            vector, target = _purpose(op.vector), _purpose(op.target)
            return "Compute", "V", f"{kind} a per-channel vector of {vector} per row in {target}"
        case _:
            return None


def tile_paths(kernel: FuncOp) -> tuple[tuple[str, ...], tuple[TilePath, ...]]:
    """The tensors the kernel loads once per core, and each distinct path of its tiles
    (:class:`TilePath`), in program order."""
    _, roles = _kernel_roles(kernel)
    preloads: list[str] = []
    paths: list[TilePath] = []
    pending: list[Stage] = []
    for op in kernel.walk():
        described = _describe(op, roles)
        if described is None:
            continue
        if isinstance(op, ascend.LoadOp) and "param_" in _gm_role(op.gm, roles):
            preloads.append(_gm_role(op.gm, roles))  # a consumer's per-channel parameter
            continue
        if isinstance(op, ascend.LoadOp | ascend.FillZeroOp) and not any(
            st.stage == "Compute" for st in pending
        ):
            pending = [st for st in pending if st.stage == "CopyIn"]
        elif isinstance(op, ascend.LoadOp | ascend.FillZeroOp):
            pending = []
        pending.append(Stage(*described))
        if isinstance(op, ascend.StoreOp):
            zero = any(st.what.startswith("zero fill") for st in pending)
            path = TilePath(_gm_role(op.gm, roles), zero, tuple(pending))
            if path not in paths:
                paths.append(path)
            pending = []
    return tuple(dict.fromkeys(preloads)), tuple(paths)


def ub_buffers(kernel: FuncOp) -> tuple[UbBufferInfo, ...]:
    """The kernel's UB buffers by offset, with the ops that fill and drain each."""
    infos: list[UbBufferInfo] = []
    for op in kernel.walk():
        if not isinstance(op, ascend.UbAllocOp):
            continue
        writers: list[str] = []
        readers: list[str] = []
        for use in op.buffer.uses:
            for slot_use in ascend.ub_slot_uses(use.operation):
                if slot_use.buffer == op.buffer:
                    role = writers if slot_use.role == ascend.UbRole.WRITE else readers
                    role.append(use.operation.name)
        infos.append(
            UbBufferInfo(
                op.purpose.data,
                op.planned_offset if op.planned_offset is not None else -1,
                op.slots,
                op.slot_bytes,
                tuple(dict.fromkeys(writers)),
                tuple(dict.fromkeys(readers)),
            )
        )
    return tuple(sorted(infos, key=lambda info: info.offset))


def _flags(kernel: FuncOp) -> tuple[FlagPair, ...]:
    sets: dict[tuple[str, str], list[int | None]] = {}
    waits: dict[tuple[str, str], int] = {}
    for op in kernel.walk():
        if isinstance(op, ascend.SetFlagOp):
            key = (op.set_pipe.data.value, op.wait_pipe.data.value)
            sets.setdefault(key, []).append(constant_value(op.event))
        elif isinstance(op, ascend.WaitFlagOp):
            key = (op.set_pipe.data.value, op.wait_pipe.data.value)
            waits[key] = waits.get(key, 0) + 1
    pairs: list[FlagPair] = []
    for (set_pipe, wait_pipe), events in sets.items():
        constants = sorted({e for e in events if e is not None})
        described = ", ".join(map(str, constants))
        if None in events:
            described = f"{described} + per slot" if described else "per slot"
        pairs.append(
            FlagPair(
                set_pipe, wait_pipe, len(events), waits.get((set_pipe, wait_pipe), 0), described
            )
        )
    return tuple(pairs)


def _sites(compiled: CompiledKernel, trace: MachineTrace) -> tuple[DmaSite, ...]:
    _, role_of_arg = _kernel_roles(compiled.function)
    table = trace.table()
    sites: list[DmaSite] = []
    for op in compiled.function.walk():
        if not isinstance(op, ascend.LoadOp | ascend.StoreOp):
            continue
        ordinal = compiled.sites[op].ordinal
        rows = table[table["op"] == ordinal]
        gm = op.gm
        tensor = role_of_arg.get(gm.index, "?") if isinstance(gm, BlockArgument) else "?"
        buffer = op.ub.owner
        purpose = buffer.purpose.data if isinstance(buffer, ascend.UbAllocOp) else "?"
        sites.append(
            DmaSite(
                ordinal,
                "load" if isinstance(op, ascend.LoadOp) else "store",
                tensor,
                purpose,
                op.dma_form.value,
                Stat.of(rows["n_burst"]),
                Stat.of(rows["burst_len"]),
                Stat.of(rows["n_burst"] * rows["burst_len"]),
            )
        )
    return tuple(sites)


def build_report(program: CompiledProgram, run: KernelLaunch, timeline: Timeline) -> PlanReport:
    """Read the plan from the launched kernel of ``program`` and the launch's trace."""
    compiled = program.kernels[run.kernel]
    kernel = compiled.function
    preloads, paths = tile_paths(kernel)
    tiling = run.tiling
    cores = tiling.used_cores
    rows = [
        end - begin
        for begin, end in (
            balanced_range(tiling.split_tokens, cores, core) for core in range(cores)
        )
    ]
    stored = run.trace.dma_bytes(STORE, cores).tolist()
    operands = program.source.operands
    if len(program.kernels) > 1:  # unfused: the op's kernel moves the bodies' buffers
        operands = operands.plain()
    return PlanReport(
        kernel=kernel.sym_name.data,
        where=program.source.where(),
        soc=soc_info(program.soc),
        operands=operands,
        launch=_kernel_roles(kernel)[0],
        token_bytes=_token_bytes(kernel),
        preloads=preloads,
        paths=paths,
        buffers=ub_buffers(kernel),
        flags=_flags(kernel),
        tiling=tiling.fields(),
        rows_per_core=(min(rows, default=0), max(rows, default=0)),
        bytes_per_core=(min(stored, default=0), max(stored, default=0)),
        sites=_sites(compiled, run.trace),
        counts=trace_counts(run.trace),
        executed_ops=run.executed_ops,
        makespan_ns=timeline.makespan_ns,
        core_bytes_per_ns=timeline.core_bytes_per_ns,
    )


# --------------------------------------------------------------------------- text


def _layout_line(operands: GatherOperands | ScatterOperands) -> str:
    key, value = operands.kinds["key_cache"].name, operands.kinds["value_cache"].name
    dtypes = key if key == value else f"{key} keys, {value} values"
    key_tokens, value_tokens = operands.token_roles
    tokens = [operands.kinds[role].name for role in operands.token_roles]
    if tokens != [key, value]:  # a body fused in converts between them
        token_dtypes = tokens[0] if tokens[0] == tokens[1] else " / ".join(tokens)
        dtypes = f"{dtypes} caches, {token_dtypes} tokens"
    parts = [
        f"{operands.mode.value}",
        dtypes,
        f"block_size {operands.block_size}",
        f"token {token_bytes(operands, key_tokens)} B (key) / "
        f"{token_bytes(operands, value_tokens)} B (value)",
    ]
    if isinstance(operands, ScatterOperands):
        parts.insert(0, "scatter (tokens -> caches)")
        parts.append(f"{operands.kinds['slot_mapping'].name} slots")
    else:
        if operands.cumsum:
            parts.append("cumulative seqLens")
        if operands.has_offset:
            parts.append("with seqOffset")
    return ", ".join(parts)


def _what_a_tile_is(report: PlanReport) -> list[str]:
    """Tile sizes per stream, from the biggest store of each output."""
    lines: list[str] = []
    nz = report.operands.mode == CacheMode.PA_NZ and report.launch != LaunchKind.map
    scatter = isinstance(report.operands, ScatterOperands)
    streams = list(zip(report.operands.token_roles, CACHE_ROLES, strict=True))
    if report.launch == LaunchKind.map:
        streams = [("target", "source")]
    for role, cache in streams:
        written, read = (cache, role) if scatter else (role, cache)
        stores = [s for s in report.sites if s.kind == "store" and s.tensor == written]
        loads = [s for s in report.sites if s.kind == "load" and s.tensor == read]
        # A tile's bytes: what leaves the UB for the tokens (gather) or enters it (scatter).
        tiles = loads if scatter else stores
        biggest = max((s.bytes.high for s in tiles), default=0)
        per_token = report.token_bytes.get(role, 0)
        tokens = biggest / per_token if per_token else 0.0
        name = role.removesuffix("_out")
        line = f"  {name:5}: up to {biggest} B per tile = {tokens:.4g} tokens"
        groups = stores if scatter else loads
        if groups:
            bursts = Stat.of(np.array([s.bursts.high for s in groups]))
            burst_len = max(s.burst_bytes.high for s in groups)
            if nz and scatter:
                line += (
                    f"; loaded as one burst, transposed, stored as {bursts.span()} bursts of "
                    f"up to {burst_len} B (one per 32-byte row group)"
                )
            elif nz:
                line += (
                    f"; loaded as {bursts.span()} bursts of up to {burst_len} B "
                    "(one per 32-byte row group), transposed, stored as one burst"
                )
            else:
                line += f"; one burst in (up to {burst_len} B), one burst out"
        lines.append(line)
    return lines


def _overlap_line(buffers: tuple[UbBufferInfo, ...] | list[UbBufferInfo]) -> str:
    """Whether the plan lets the load of tile n + 1 overlap the store of tile n.

    Either the loaded buffer has several slots (Norm: load and store share one buffer,
    tile n uses slot n % slots), or the load and the store use different buffers
    (PA_NZ: loads fill the group-major buffer while the token-major one is stored).
    """
    loaded = [b for b in buffers if "ascend.load" in b.written_by]
    stored = [b for b in buffers if "ascend.store" in b.read_by and b.written_by]
    multi = [b for b in loaded if b.slots > 1]
    if multi:
        names = ", ".join(f"'{b.purpose}'" for b in multi)
        return (
            f"{names}: {multi[0].slots} slots, tile n uses slot n % {multi[0].slots}: the "
            "load of tile n + 1 overlaps the store of tile n"
        )
    if loaded and stored and not {b.offset for b in loaded} & {b.offset for b in stored}:
        return (
            f"'{loaded[0].purpose}' is loaded while '{stored[0].purpose}' is stored: the load "
            "of tile n + 1 overlaps the store of tile n"
        )
    return "single-buffered: each load waits for the previous store"


SPLIT_FIELDS = ("split_tokens", "used_cores")
"""The tiling fields of the core split (every operator's ABI has them); the others are
the launch's sizes."""


def render(report: PlanReport) -> str:
    """The report as text: the plan in words, then the numbers."""
    soc, t = report.soc, report.tiling
    out: list[str] = []
    out.append(f"Plan of @{report.kernel} ({report.where}) on {soc.name}")
    if report.launch == LaunchKind.map:
        if isinstance(report.operands, ScatterOperands):
            out.append("  op: a producer of the scattered tokens, every row (the unfused program)")
        else:
            out.append("  op: a consumer of the gathered tokens, every row (the unfused program)")
    else:
        out.append(f"  op: {_layout_line(report.operands)}")
    out.append(
        f"  SoC: {soc.ub_usable_bytes} B usable UB per vector core, {soc.vector_cores} vector "
        f"cores, {soc.hbm_bytes_per_s / 1e12:.2f} TB/s HBM"
    )
    out.append("")
    out.append(
        f"Unified Buffer ({report.ub_used} of {soc.ub_usable_bytes} B planned, "
        f"{100 * report.ub_used / soc.ub_usable_bytes:.1f}%):"
    )
    out.append(f"  {'offset':>8} {'end':>8} {'bytes':>8}  {'slots x slot':>14}  purpose")
    for b in report.buffers:
        flow = f"{' + '.join(b.written_by) or '-'} -> {' + '.join(b.read_by) or '-'}"
        out.append(
            f"  {b.offset:>8} {b.end:>8} {b.size:>8}  {f'{b.slots} x {b.slot_bytes}':>14}  "
            f"{b.purpose} ({flow})"
        )
    out.append(f"  {_overlap_line(report.buffers)}")
    out.append("Synchronisation (set_flag -> wait_flag channels in the kernel):")
    for f in report.flags:
        out.append(
            f"  {f.set_pipe:>4} -> {f.wait_pipe:<4} {f.sets} set / {f.waits} wait ops, "
            f"events {f.events}"
        )
    out.append("Stages of a tile (CopyIn -> Compute -> CopyOut, the kernel's ops in order):")
    if report.preloads:
        out.append(f"  once per core: CopyIn (MTE2) {', '.join(report.preloads)} into the UB")
    for path in report.paths:
        zero = " (zero tile: its blocks are out of range, nothing is loaded)" if path.zero else ""
        out.append(f"  tile of {path.output}{zero}:")
        for stage in path.stages:
            out.append(f"    {stage.stage:8} {stage.pipe:5} {stage.what}")
    out.append("Tiles:")
    out.extend(_what_a_tile_is(report))
    out.append("")
    sizes = [f"{name} {value}" for name, value in t.items() if name not in SPLIT_FIELDS]
    out.append(f"This launch: {', '.join(sizes)}")
    low, high = report.rows_per_core
    unit = "tokens" if isinstance(report.operands, ScatterOperands) else "rows"
    out.append(
        f"  core split: {t['split_tokens']} {unit} over {t['used_cores']} of "
        f"{soc.vector_cores} cores, {low}..{high} {unit} each (balanced by {unit}, not by "
        "sequence)"
    )
    low_b, high_b = report.bytes_per_core
    out.append(f"  bytes stored per core: {size_text(low_b)} .. {size_text(high_b)}")
    out.append("DMA sites (lowered IR op -> what it did in this launch):")
    width = max([12, *(len(s.tensor) for s in report.sites)])
    out.append(
        f"  {'op':>5} {'kind':5} {'tensor':{width}} {'buffer':12} {'form':6} {'runs':>7} "
        f"{'bursts/run':>11} {'bytes/burst':>13} {'bytes':>12}"
    )
    for s in report.sites:
        out.append(
            f"  {'#' + str(s.ordinal):>5} {s.kind:5} {s.tensor:{width}} {s.buffer:12} {s.form:6} "
            f"{s.bytes.count:>7} {s.bursts.span():>11} {s.burst_bytes.span():>13} "
            f"{s.bytes.total:>12}"
        )
    c = report.counts
    out.append(
        f"Totals: {c['load']} loads ({size_text(report.moved('load'))}), {c['store']} stores "
        f"({size_text(report.moved('store'))}), {c['transpose_blocks']} transposes, "
        f"{c['fill_zero']} zero fills, {c['vector']} compute ops, {c['load_scalar']} scalar reads; "
        f"{report.executed_ops} ops executed"
    )
    moved = report.moved("load") + report.moved("store")
    if report.makespan_ns > 0:
        out.append(
            f"Cost model: {report.makespan_ns / 1e3:.2f} us on the device "
            f"({rate(moved / report.makespan_ns)} of GM traffic; "
            f"{rate(report.core_bytes_per_ns)} per core; runtime/tool/timeline.py)"
        )
    return "\n".join(out)


# --------------------------------------------------------------------------- compare, tune

STRATEGY_NOTES: dict[str, str] = {
    Strategy.PAKV.value: "tokens balanced over cores, double-buffered tiles",
    Strategy.A2.value: "older A2/A3 kernel: pieces dealt round-robin, one UB buffer "
    "(PA_NZ: per token, 32-byte bursts, a barrier per copy)",
    Strategy.ASCEND950.value: "Ascend 950 kernel: whole batches per core, serial chunks "
    "(PA_NZ: the 3-D copy of a whole block when it fits, else per token)",
}


def _roofline_line(roofline_ns: float, soc: SocInfo) -> str:
    """The roofline is every output byte read once and written once at HBM rate."""
    moved = roofline_ns * soc.hbm_bytes_per_s / 1e9
    return (
        f"HBM roofline: {size_text(round(moved / 2))} read once and written once at "
        f"{soc.hbm_bytes_per_s / 1e12:.2f} TB/s = {roofline_ns / 1e3:.1f} us"
    )


def render_comparison(comparison: Comparison, soc: SocInfo) -> str:
    """``pakv explain --compare``: PAKV's plan, each vendor strategy, the roofline."""
    pakv = comparison.pakv
    out = [
        f"Strategies on this launch, by the cost model (runtime/tool/timeline.py) on {soc.name}:",
        "  " + _roofline_line(pakv.roofline_ns, soc),
        f"  {'strategy':10} {'modelled us':>11} {'x roofline':>10} {'GM bytes':>10} "
        f"{'ops':>8}  what it is",
    ]
    for entry in (pakv, *comparison.vendors):
        note = STRATEGY_NOTES.get(entry.label, "")
        if isinstance(entry, Refused):
            out.append(f"  {entry.label:10} {'refused':>11}  {entry.reason}")
            continue
        flag = "" if entry.passed else "  (WRONG OUTPUT)"
        out.append(
            f"  {entry.label:10} {entry.makespan_ns / 1e3:>11.1f} {entry.over_roofline:>9.2f}x "
            f"{size_text(entry.gm_bytes):>10} {entry.executed_ops:>8}  {note}{flag}"
        )
    best, speedup = comparison.best_vendor, comparison.speedup
    if best is not None and speedup is not None:
        out.append(
            f"  PAKV / best vendor: {speedup:.2f}x faster than {best.label} "
            f"({best.makespan_ns / 1e3:.1f} us against {pakv.makespan_ns / 1e3:.1f} us); "
            f"PAKV at {pakv.over_roofline:.2f}x the roofline"
        )
    return "\n".join(out)


def render_tuning(tuning: Tuning, where: str, soc: SocInfo, api: str = "gather_pa_kv_cache") -> str:
    """``pakv tune``: the best plan, its options (for the host API function ``api``),
    and the runners-up."""
    best, default = tuning.best, tuning.default
    options = best.options or "(the default plan)"
    out = [
        f"Best plan for {where} on {soc.name}, by the cost model: {options}",
        f"  modelled {best.makespan_ns / 1e3:.1f} us, {best.over_roofline:.2f}x the HBM "
        f"roofline ({best.roofline_ns / 1e3:.1f} us); the default plan models "
        f"{default.makespan_ns / 1e3:.1f} us ({default.makespan_ns / best.makespan_ns:.2f}x)",
        f"  outputs {'equal' if best.passed else 'DIFFER FROM'} the golden reference bit for bit",
        f"  use it: pakv run ... --options '{best.options}', or "
        f"{api}(..., options='{best.options}')",
        f"  searched {len(tuning.ranked) + len(tuning.refused) - 1} plans "
        f"({len(tuning.refused)} refused by the lowering) in {tuning.seconds:.1f} s:",
    ]
    for measured in tuning.ranked[:8]:
        label = measured.options or "(default)"
        out.append(f"    {measured.makespan_ns / 1e3:>9.1f} us  {label}")
    return "\n".join(out)
