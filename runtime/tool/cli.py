"""``pakv``: compile, run and explain a GatherPaKvCache op from the command line.

::

    pakv compile FILE.mlir [--soc S] [-o DIR]     verify, lower, write AscendC + lowered IR
    pakv run FILE.mlir [--soc S] [--seed N | --data DIR] [--trace OUT.json] [--save DIR]
             [--executor lowered|ascendc-host]   run the kernel, check the golden
    pakv explain FILE.mlir [--soc S] [--compare]  the plan: UB map, tiles, core split, DMAs;
                                                  --compare: the vendor's strategies beside it
    pakv tune FILE.mlir [--soc S]                 search the plan options with the cost model

A FILE may also be a program that gathers into buffers it allocates and then
dequantises or casts them with ``linalg.generic`` (``examples/c8_dequant.mlir``), or
one that quantises new tokens with ``linalg.generic`` into buffers a ``pakv.scatter``
reads (``examples/scatter_quant_example.mlir``): the pipeline fuses the consumers
(producers) into the op (``--no-fuse`` keeps a kernel per op), and ``run`` compares
with the program as written, run op by op. ``--data DIR`` reads every argument from
``DIR/<argument name>.npy`` (0-d arrays for per-tensor scalars); ``--save DIR`` writes
the outputs (a scatter's caches) so.

Instead of a file, ``--example seed`` (the original document's shape example) or
``--example seed-hand`` (its hand-checkable C example), or shape flags
(``--mode PA_NZ --dtype bf16 --heads 4 --head-size 64 ...``, the rest defaulted)
describe the op; one of the three is required. Flags given with ``--example`` override
the preset. Every problem a user can cause is one line on stderr
(``file:line:col: error: ...`` when the IR has a location) and exit status 2, never a
traceback: see :data:`EXIT_CODES`. Warnings (``pakv: warning: ...``) go to stderr too.
On a terminal the running step shows live on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import numpy as np

from pakv_dialect.dtypes import INDEX_ELEMENT_KINDS, KV_ELEMENT_KINDS
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import SOCS, SocError, soc_info
from passes.strategy import Strategy
from runtime.ascendc.host_build import HostBuildError, HostCompilerMissing, HostRunError
from runtime.call import API_NAMES, GatherCall, RunSizes
from runtime.host.errors import AclnnError
from runtime.interpreter.fast_path import KernelCompileError
from runtime.interpreter.faults import MachineFault
from runtime.interpreter.sequence import KernelLaunch, entry_function
from runtime.interpreter.trace import LOAD, STORE
from runtime.tool.compare import Workbench, compare_strategies, tune
from runtime.tool.explain import (
    build_report,
    render,
    render_comparison,
    render_tuning,
    trace_counts,
    ub_buffers,
)
from runtime.tool.program import (
    CompiledProgram,
    GoldenCheck,
    Phases,
    compare_outputs,
    compile_program,
    emit_sources,
    expected_outputs,
    run_launches,
    run_launches_on_host,
)
from runtime.tool.progress import reporter_for
from runtime.tool.scatter_workload import ScatterOperands, scatter_call
from runtime.tool.scatter_workload import load_inputs as load_scatter_inputs
from runtime.tool.scatter_workload import random_inputs as random_scatter_inputs
from runtime.tool.shape_spec import EXAMPLES, ShapeSpec, ShapeSpecError
from runtime.tool.sources import GatherSource, InputError, from_spec, read_file
from runtime.tool.timeline import estimated_trace_bytes, schedule, write_chrome_trace
from runtime.tool.units import rate, size_text
from runtime.tool.workload import (
    Inputs,
    WorkloadError,
    gather_call,
    load_inputs,
    random_inputs,
    resolve_sizes,
)

PROG = "pakv"
EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_FAULT, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "success (run: PASS)",
    EXIT_FAIL: "run: the outputs differ from the golden reference (FAIL)",
    EXIT_INPUT: "bad input: command line, file, IR, SoC, data",
    EXIT_FAULT: "the lowered kernel broke a machine rule (a compiler bug)",
    EXIT_INTERNAL: "internal error (rerun with --debug for the traceback)",
}

SHAPE_FLAGS = (
    "mode", "dtype", "value_dtype", "index_dtype", "block_size", "heads", "head_size",
    "value_head_size", "cumsum", "offsets", "dynamic",
)  # fmt: skip
"""ShapeSpec fields that only make sense without a FILE (the file fixes the types)."""
SIZE_FLAGS = ("batch", "num_blocks", "table_width", "num_tokens")
RUN_EXECUTORS = ("lowered", "ascendc-host")
"""``pakv run --executor``: the interpreter of the lowered kernel, or the emitted AscendC."""


class UsageError(Exception):
    """A command line argparse rejects; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _seed(text: str) -> int:
    """``--seed``: numpy's generators take seeds >= 0."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {seed}")
    return seed


_DEFAULTS = ShapeSpec()
"""What a shape flag that is not given means (without --example)."""


def _source_options() -> _Parser:
    parser = _Parser(add_help=False)
    parser.add_argument("file", nargs="?", type=Path, help="an MLIR file with one pakv.gather")
    parser.add_argument("--example", choices=sorted(EXAMPLES), help="a preset op instead of FILE")
    parser.add_argument(
        "--soc", choices=sorted(SOCS), metavar="SOC",
        help="target SoC (default: the op's soc attribute, else Ascend910B); one of "
        + ", ".join(SOCS),
    )  # fmt: skip
    shape = parser.add_argument_group(
        "shape flags (without FILE; override --example; defaults in parentheses)"
    )
    shape.add_argument(
        "--mode", choices=[m.value for m in CacheMode], help=f"cacheMode ({_DEFAULTS.mode})"
    )
    kv_names = [k.name for k in KV_ELEMENT_KINDS]
    shape.add_argument(
        "--dtype", choices=kv_names, metavar="DTYPE",
        help=f"key (and value) dtype ({_DEFAULTS.dtype}); one of {', '.join(kv_names)}",
    )  # fmt: skip
    shape.add_argument(
        "--value-dtype", choices=kv_names, metavar="DTYPE", help="value dtype (--dtype's)"
    )
    shape.add_argument(
        "--index-dtype", choices=[k.name for k in INDEX_ELEMENT_KINDS],
        help=f"blockTables / seqLens / seqOffset dtype ({_DEFAULTS.index_dtype})",
    )  # fmt: skip
    shape_help = {
        "block_size": f"tokens per cache block ({_DEFAULTS.block_size})",
        "heads": f"heads per token ({_DEFAULTS.heads})",
        "head_size": f"key elements per head ({_DEFAULTS.head_size})",
        "value_head_size": "value elements per head (--head-size's)",
    }
    for name, text in shape_help.items():
        shape.add_argument(_flag(name), type=int, metavar="N", help=text)
    shape.add_argument("--cumsum", action="store_true", default=None, help="cumulative seqLens")
    shape.add_argument("--offsets", action="store_true", default=None, help="with seqOffset")
    shape.add_argument(
        "--dynamic", action="store_true", default=None,
        help="leave num_blocks, batch, table width and num_tokens dynamic (?)",
    )  # fmt: skip
    sizes = parser.add_argument_group(
        "sizes (shape flags, or a FILE's dynamic dimensions; defaults in parentheses)"
    )
    size_help = {
        "batch": f"sequences ({_DEFAULTS.batch})",
        "num_blocks": f"blocks in each cache ({_DEFAULTS.num_blocks})",
        "table_width": f"blockTables columns, max_blocks_per_seq ({_DEFAULTS.table_width})",
        "num_tokens": f"keyRef / valueRef rows ({_DEFAULTS.num_tokens}; for a FILE's dynamic "
        "rows: the total of random lengths)",
    }
    for name in SIZE_FLAGS:
        sizes.add_argument(_flag(name), type=int, metavar="N", help=size_help[name])
    lowering = parser.add_argument_group("lowering")
    lowering.add_argument(
        "--slots",
        type=int,
        metavar="N",
        help="UB tile slots (default 2: Norm double-buffers its tile; PA_NZ needs at least 2)",
    )
    lowering.add_argument(
        "--tile-bytes", type=int, metavar="N",
        help="force the UB slot size: a multiple of 32 (default 0: the largest the UB allows)",
    )  # fmt: skip
    lowering.add_argument(
        "--strategy", choices=[s.value for s in Strategy],
        help="plan preset: pakv (default), or a vendor kernel's strategy: a2 (older A2/A3), "
        "ascend950",
    )  # fmt: skip
    lowering.add_argument(
        "--options", metavar="'K=V ...'", default="",
        help="more pakv-to-ascend options, space separated (split=, nz=, sync=, cores=, "
        "row-align=; what pakv tune prints)",
    )  # fmt: skip
    lowering.add_argument(
        "--no-fuse", action="store_true",
        help="lower a program's consumers (producers) as kernels of their own, after the "
        "gather's (before the scatter's) (default: fused into the op's tiles)",
    )  # fmt: skip
    out = parser.add_argument_group("output")
    out.add_argument(
        "--progress", action="store_true",
        help="report each step on stderr (on a terminal it shows live anyway)",
    )  # fmt: skip
    out.add_argument("--quiet", action="store_true", help="no progress, even on a terminal")
    out.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    return parser


def _data_options() -> _Parser:
    parser = _Parser(add_help=False)
    data = parser.add_argument_group("data")
    data.add_argument(
        "--seed", type=_seed, default=0, metavar="N", help="random data seed, >= 0 (default 0)"
    )
    data.add_argument(
        "--data", type=Path, metavar="DIR",
        help="read every argument from DIR/<argument name>.npy instead (or <role>.npy: "
        "key_cache.npy, ..., or keyCache.npy, ...)",
    )  # fmt: skip
    data.add_argument("--trace", type=Path, metavar="OUT.json", help="write a Chrome trace")
    return parser


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit status: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items())
    parser = _Parser(prog=PROG, description=(__doc__ or "").split("\n\n")[0], epilog=epilog)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    source, data = _source_options(), _data_options()
    compile_ = commands.add_parser(
        "compile", parents=[source], help="verify, lower and emit AscendC", epilog=epilog
    )
    compile_.add_argument("-o", "--output", type=Path, metavar="DIR", help="output directory")
    run = commands.add_parser(
        "run", parents=[source, data], help="run the kernel, check", epilog=epilog
    )
    run.add_argument(
        "--save", type=Path, metavar="DIR",
        help="write each output operand to DIR/<its argument name>.npy after the run",
    )  # fmt: skip
    run.add_argument(
        "--executor", choices=RUN_EXECUTORS, default=RUN_EXECUTORS[0],
        help="lowered: the interpreter of the lowered kernel (default); ascendc-host: the "
        "emitted AscendC compiled natively against the host stand-in (needs g++)",
    )  # fmt: skip
    explain = commands.add_parser(
        "explain", parents=[source, data], help="the plan in words and numbers", epilog=epilog
    )
    explain.add_argument(
        "--compare", action="store_true",
        help="also model the vendor's strategies on the same data, next to this plan and "
        "the HBM roofline",
    )  # fmt: skip
    commands.add_parser(
        "tune", parents=[source, data],
        help="search the plan options with the cost model; print the best plan",
        epilog=epilog,
    )  # fmt: skip
    return parser


# --------------------------------------------------------------------------- sources


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, object]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _spec_from_flags(args: argparse.Namespace) -> tuple[ShapeSpec, str, str]:
    if args.example is not None:
        base, name, stem = EXAMPLES[args.example].spec, f"example {args.example}", args.example
    else:
        base, name, stem = ShapeSpec(), "shape flags", "pakv_gather"
    overrides = _given(args, (*SHAPE_FLAGS, *SIZE_FLAGS, "soc"))
    spec = replace(base, **overrides)  # pyright: ignore[reportArgumentType]
    return spec, name, stem


def _check_soc_flag(soc: str) -> None:
    try:
        soc_info(soc)
    except SocError as e:
        raise UsageError(f"{PROG}: error: --soc: {e}") from None


def load_source(args: argparse.Namespace) -> tuple[GatherSource, ShapeSpec | None]:
    """The op the command line names: FILE, --example, or shape flags."""
    if args.soc is not None:
        _check_soc_flag(args.soc)
    if args.file is not None:
        if args.example is not None:
            raise UsageError(f"{PROG}: error: give FILE or --example, not both")
        shape = _given(args, SHAPE_FLAGS)
        if shape:
            flags = ", ".join(_flag(name) for name in shape)
            raise UsageError(f"{PROG}: error: {flags}: FILE fixes the op's types; drop the flag")
        return read_file(args.file), None
    if args.example is None and not _given(args, (*SHAPE_FLAGS, *SIZE_FLAGS)):
        raise UsageError(
            f"{PROG}: error: no op to {args.command}: give an MLIR FILE, --example "
            f"{{{','.join(sorted(EXAMPLES))}}}, or shape flags (--mode, --dtype, --heads, "
            f"...; see {PROG} {args.command} --help)"
        )
    spec, name, stem = _spec_from_flags(args)
    return from_spec(spec, name, stem), spec


def choose_soc(args: argparse.Namespace, source: GatherSource) -> str:
    soc = args.soc or source.default_soc()
    _check_soc_flag(soc)
    return soc


def pipeline_options(args: argparse.Namespace) -> str:
    options: list[str] = []
    if args.strategy is not None:
        options.append(f"strategy={args.strategy}")
    if args.slots is not None:
        options.append(f"slots={args.slots}")
    if args.tile_bytes is not None:
        options.append(f"tile-bytes={args.tile_bytes}")
    if args.options.strip():
        options.append(" ".join(args.options.split()))
    if args.no_fuse:
        options.append("fuse=false")
    return " ".join(options)


# --------------------------------------------------------------------------- data


def make_inputs(
    args: argparse.Namespace,
    source: GatherSource,
    spec: ShapeSpec | None,
    phases: Phases,
    soc: str,
) -> Inputs:
    """The data of one launch: --data files, the example's own data, or random data.

    An example's own data serves only when no flag changed its shapes (--soc may).
    """
    operands = source.operands
    with phases.step("data", "preparing data"):
        if isinstance(operands, ScatterOperands):
            return _scatter_inputs(args, operands, source.argument_names)
        if args.data is not None:
            return load_inputs(args.data, operands, soc, source.argument_names)
        example = EXAMPLES.get(args.example or "")
        if example is not None and example.data is not None and spec is not None:
            if replace(spec, soc=example.spec.soc) == example.spec:
                return example.data()
        if spec is not None:
            chosen = spec.run_sizes
        else:
            chosen = RunSizes(args.batch, args.num_blocks, args.table_width, args.num_tokens)
        sizes = resolve_sizes(operands, chosen)
        flags = [
            f"{_flag(n)} {getattr(args, n)}" for n in SIZE_FLAGS if getattr(args, n) is not None
        ]
        what = ", ".join(flags) or f"the sizes of {source.name}"
        rng = np.random.default_rng(args.seed)
        return random_inputs(operands, sizes, rng, warn=phases.warn, what=what)


def _scatter_inputs(
    args: argparse.Namespace, operands: ScatterOperands, names: dict[str, str]
) -> Inputs:
    """A scatter's data: --data files (``names``: the arguments' names by role), or
    random data at --num-tokens / --num-blocks."""
    gather_only = [_flag(n) for n in ("batch", "table_width") if getattr(args, n) is not None]
    if gather_only:
        raise WorkloadError(
            f"{' and '.join(gather_only)}: size a pakv.gather's sequences; a pakv.scatter has "
            "none (its sizes are --num-tokens and --num-blocks)"
        )
    if args.data is not None:
        return load_scatter_inputs(args.data, operands, names)
    sizes = [n for n in ("num_tokens", "num_blocks") if getattr(args, n) is not None]
    what = ", ".join(f"{_flag(n)} {getattr(args, n)}" for n in sizes)
    rng = np.random.default_rng(args.seed)
    return random_scatter_inputs(
        operands, args.num_tokens, args.num_blocks, rng, what or "the sizes of the scatter"
    )


def _times(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3f} s" for name, value in seconds.items())


# --------------------------------------------------------------------------- commands


def _prepare(args: argparse.Namespace, phases: Phases) -> tuple[CompiledProgram, ShapeSpec | None]:
    source, spec = load_source(args)
    soc = choose_soc(args, source)
    program = compile_program(source, soc, pipeline_options(args), phases)
    return program, spec


def cmd_compile(args: argparse.Namespace, phases: Phases) -> int:
    program, _ = _prepare(args, phases)
    units = emit_sources(program, phases)
    source = program.source
    directory: Path = args.output or Path(f"{source.stem}_ascendc")
    if directory.exists() and not directory.is_dir():
        raise InputError(f"-o {directory}: exists and is not a directory")
    files: dict[Path, str] = {}
    for name, text in units.items():
        files[directory / f"{name}.cpp"] = text
    lowered = str(program.module)
    files[directory / f"{entry_function(program.module).sym_name.data}.lowered.mlir"] = (
        lowered + "\n"
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write to {directory}: {e.strerror}") from None

    print(f"compiled @{source.func_name} ({source.where()}) for {program.soc}")
    if source.has_maps:
        fused = "kept as kernels of their own (--no-fuse)" if args.no_fuse else "fused"
        print(f"  {source.map_role}: {_maps_line(source)}; {fused}")
    for name, compiled in program.kernels.items():
        plan = ", ".join(
            f"{b.purpose} {b.slots} x {b.slot_bytes} B at {b.offset}"
            for b in ub_buffers(compiled.function)
        )
        label = "UB plan" if len(program.kernels) == 1 else f"UB plan of @{name}"
        print(f"  {label}: {plan}")
    for path, text in files.items():
        what = "AscendC: tiling struct, kernel, host launcher"
        if path.suffix == ".mlir":
            what = "the lowered ascend IR"
        print(f"  wrote {path} ({text.count(chr(10))} lines, {what})")
    print(f"  time: {_times({**source.seconds, **phases.seconds})}")
    return EXIT_OK


def _maps_line(source: GatherSource) -> str:
    """What each stream's consumer (gather) or producer (scatter) computes
    (``key: arith.sitofp, arith.mulf, arith.truncf with key_scale``)."""
    op = source.op
    parts: list[str] = []
    for stream in ("key", "value"):
        program = op.stream_program(stream)
        if program is None:
            continue
        region, params = op.stream_map(stream)
        assert region is not None
        names = [
            source.argument_names[role] for role, value in op.operands_by_role() if value in params
        ]
        ops = ", ".join(
            op.name for op in region.block.ops if op.name not in ("pakv.yield", "arith.constant")
        )
        with_params = f" with {', '.join(names)}" if names else ""
        parts.append(f"{stream}: {ops}{with_params}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Outcome:
    """One run of a compiled program and how it compares with the golden reference."""

    program: CompiledProgram
    launches: tuple[KernelLaunch, ...]
    """The kernels the interpreter ran, in program order; none for an empty call (SPEC
    section 3: it succeeds and writes nothing) or a run by the emitted AscendC."""
    inputs: Inputs
    check: GoldenCheck
    total_tokens: int
    batch: int
    host_tilings: tuple[dict[str, int], ...] | None = None
    """The tiling of each kernel run by the emitted AscendC on the host
    (``--executor ascendc-host``)."""

    def title(self) -> str:
        source = self.program.source
        where = f"@{source.func_name} ({source.where()}) on {self.program.soc}"
        reference = "the program run op by op" if source.has_maps else "the golden reference"
        if not self.check.passed:
            diffs = ", ".join(f"{r} {n} row(s)" for r, n in self.check.differing_rows.items())
            return f"FAIL  {where}: outputs differ from {reference}: {diffs}"
        if self.host_tilings is not None and source.has_maps:
            return f"PASS  {where}: the emitted AscendC wrote what {reference} writes"
        if self.host_tilings is not None:
            return f"PASS  {where}: the emitted AscendC wrote the golden reference's bytes"
        if not self.launches:
            return f"PASS  {where}: empty call, nothing to copy and nothing written"
        written = " and ".join(API_NAMES[r] for r in source.operands.written_roles)
        if source.has_maps:  # a gather's outputs are the consumers' own, not keyRef
            written = written if source.map_role == "producers" else "the outputs"
            return f"PASS  {where}: {written} equal {reference}, bit for bit"
        return f"PASS  {where}: {written} equal the golden reference bit for bit"


def _expected(
    args: argparse.Namespace, source: GatherSource, inputs: Inputs, total: int | None
) -> dict[str, np.ndarray]:
    """What the outputs must hold after the run (``program.expected_outputs``)."""
    return expected_outputs(source, inputs, total, fused=not args.no_fuse)


def _run(args: argparse.Namespace, phases: Phases) -> Outcome:
    """Compile, make the data, pass the host checks, run, compare."""
    if args.trace is not None and not args.trace.parent.is_dir():
        raise InputError(f"--trace {args.trace}: no directory {args.trace.parent} to write it in")
    if args.trace is not None and args.no_fuse:
        raise UsageError(f"{PROG}: error: --trace traces one kernel: drop --no-fuse")
    program, spec = _prepare(args, phases)
    source = program.source
    operands = source.operands
    try:
        inputs = make_inputs(args, source, spec, phases, program.soc)
        if isinstance(operands, ScatterOperands):
            call = scatter_call(inputs, operands, program.soc)
        else:
            call = gather_call(inputs, operands, program.soc)
    except AclnnError as e:
        where = f"--data {args.data}" if args.data is not None else "generated data"
        raise InputError(f"{where} rejected by the host checks: {e}") from None
    doing = "running the program op by op" if source.has_maps else "running the golden"
    with phases.step("golden", f"{doing} reference"):
        total = None if call is None else call.total_tokens if isinstance(call, GatherCall) else 0
        expected = _expected(args, source, inputs, total)
    launches: list[KernelLaunch] = []
    host_tilings = None
    if call is not None and getattr(args, "executor", "lowered") == "ascendc-host":
        host_tilings = tuple(run_launches_on_host(program, inputs, phases))
    elif call is not None:
        with phases.step("run", f"running {call.tiling().used_cores} core(s) in the interpreter"):
            launches = run_launches(program, inputs)
    check = compare_outputs(inputs, expected)
    if isinstance(operands, ScatterOperands):
        slots = inputs["slot_mapping"].astype(np.int64)
        num_slots = inputs["key_cache"].shape[0] * operands.block_size
        batch, total = 0, int(((slots >= 0) & (slots < num_slots)).sum())
    else:
        batch = inputs["block_tables"].shape[0]
        total = call.total_tokens if isinstance(call, GatherCall) else 0
    return Outcome(program, tuple(launches), inputs, check, total, batch, host_tilings)


TRACE_WARN_BYTES = 256 * 10**6
"""A trace estimated above this size is announced before it is written."""


def _write_trace(
    args: argparse.Namespace,
    program: CompiledProgram,
    run: KernelLaunch | None,
    phases: Phases,
) -> None:
    path: Path = args.trace
    if run is None:
        print(f"  trace    {path} not written: an empty call launches no kernel, nothing to trace")
        return
    soc = soc_info(program.soc)
    timeline = schedule(run.trace, soc)
    estimate = estimated_trace_bytes(timeline)
    if estimate > TRACE_WARN_BYTES:
        phases.warn(
            f"--trace {path}: the trace will be about {size_text(estimate)} "
            f"({timeline.rows.size} events): writing it takes a while and as much memory "
            "again, and trace viewers may refuse a file this large (trace fewer tokens)"
        )
    with phases.step("trace", f"writing the Chrome trace {path}"):
        try:
            events = write_chrome_trace(path, timeline, soc)
        except OSError as e:
            raise InputError(f"--trace {path}: cannot write ({e.strerror})") from None
    print(f"  trace    {path}: {events} events on {run.cores} core(s) (open in ui.perfetto.dev)")


def _print_statistics(outcome: Outcome, seconds: dict[str, float]) -> None:
    cores = max(launch.cores for launch in outcome.launches)
    if isinstance(outcome.program.source.operands, ScatterOperands):
        tokens = outcome.inputs["slot_mapping"].shape[0]
        print(
            f"  tokens   {outcome.total_tokens} of {tokens} placed in the caches "
            f"({tokens - outcome.total_tokens} skipped: padding), {cores} core(s)"
        )
    else:
        rows = outcome.inputs["key_out"].shape[0]
        print(
            f"  tokens   {outcome.total_tokens} of {rows} rows, {outcome.batch} sequences, "
            f"{cores} core(s)"
        )
    makespan_ns, moved_total = 0.0, 0
    for launch in outcome.launches:
        if len(outcome.launches) > 1:
            print(f"  kernel   @{launch.kernel} on {launch.cores} core(s)")
        count = trace_counts(launch.trace)
        loaded = int(launch.trace.dma_bytes(LOAD, max(launch.cores, 1)).sum())
        stored = int(launch.trace.dma_bytes(STORE, max(launch.cores, 1)).sum())
        print(
            f"  tiles    {count['store']} (each leaves the UB in one store), "
            f"{count['fill_zero']} of them zero-filled"
        )
        moved = f"{size_text(loaded + stored)} moved"
        print(f"  bytes    {moved}: {size_text(loaded)} loaded, {size_text(stored)} stored")
        vector = f", {count['vector']} compute ops" if count["vector"] else ""
        print(
            f"  DMAs     {count['load']} loads, {count['store']} stores; also "
            f"{count['transpose_blocks']} transposes, {count['fill_zero']} zero fills, "
            f"{count['load_scalar']} scalar reads{vector}"
        )
        print(f"  ops      {launch.executed_ops} executed")
        makespan_ns += schedule(launch.trace, soc_info(outcome.program.soc)).makespan_ns
        moved_total += loaded + stored
    print(f"  time     {_times(seconds)}")
    if makespan_ns > 0:
        kernels = f" ({len(outcome.launches)} kernels in turn)" if len(outcome.launches) > 1 else ""
        print(
            f"  model    {makespan_ns / 1e3:.2f} us on the device by the cost model{kernels} "
            f"({rate(moved_total / makespan_ns)})"
        )


def _check_save_directory(directory: Path | None) -> None:
    """Refuse ``--save`` before the run when it cannot be a directory."""
    if directory is not None and directory.exists() and not directory.is_dir():
        raise InputError(f"--save {directory}: exists and is not a directory")


def _save_outputs(directory: Path, outcome: Outcome) -> None:
    """Each output operand as ``DIR/<argument name>.npy``, in its storage dtype
    (HiFloat8 as uint8), whether the run passed or not."""
    names = outcome.program.source.argument_names
    written = outcome.program.source.operands.written_roles
    paths = {role: directory / f"{names[role]}.npy" for role in written}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for role, path in paths.items():
            np.save(path, outcome.inputs[role], allow_pickle=False)
    except OSError as e:
        raise InputError(f"--save {directory}: cannot write ({e.strerror})") from None
    print(f"  saved    {', '.join(str(path) for path in paths.values())}")


def cmd_run(args: argparse.Namespace, phases: Phases) -> int:
    _check_save_directory(args.save)
    if args.executor == "ascendc-host" and args.trace is not None:
        raise UsageError(f"{PROG}: error: --trace needs --executor lowered (the interpreter)")
    outcome = _run(args, phases)
    print(outcome.title())
    unit = "tokens" if isinstance(outcome.program.source.operands, ScatterOperands) else "rows"
    for tiling in outcome.host_tilings or ():
        print(
            f"  host     {tiling['split_tokens']} {unit} on {tiling['used_cores']} core(s), the "
            "unit's own tiling and launcher, checked by the AscendC stand-in"
        )
    if outcome.host_tilings is not None:
        print(f"  time     {_times({**outcome.program.source.seconds, **phases.seconds})}")
    if outcome.launches:
        _print_statistics(outcome, {**outcome.program.source.seconds, **phases.seconds})
    if args.trace is not None:
        _write_trace(args, outcome.program, next(iter(outcome.launches), None), phases)
    if args.save is not None:
        _save_outputs(args.save, outcome)
    return EXIT_OK if outcome.check.passed else EXIT_FAIL


def cmd_explain(args: argparse.Namespace, phases: Phases) -> int:
    outcome = _run(args, phases)
    program = outcome.program
    if not outcome.launches:
        print(outcome.title())
        print("  no launch: an empty call needs no kernel (choose sizes with tokens to copy)")
        if args.trace is not None:
            _write_trace(args, program, None, phases)
        return EXIT_OK if outcome.check.passed else EXIT_FAIL
    reports = [
        render(build_report(program, launch, schedule(launch.trace, soc_info(program.soc))))
        for launch in outcome.launches
    ]
    print("\n\n".join(reports))
    if not outcome.check.passed:
        print(f"warning: {outcome.title()}")
    if args.trace is not None:
        _write_trace(args, program, outcome.launches[0], phases)
    if args.compare:
        bench = Workbench(program.source, program.soc, outcome.inputs)
        with phases.step("compare", "modelling the vendor's strategies on the same data"):
            comparison = compare_strategies(bench, pipeline_options(args))
        print()
        print(render_comparison(comparison, soc_info(program.soc)))
    return EXIT_OK if outcome.check.passed else EXIT_FAIL


def cmd_tune(args: argparse.Namespace, phases: Phases) -> int:
    """Search the PAKV plan options on the op's data; print the best plan."""
    source, spec = load_source(args)
    soc = choose_soc(args, source)
    source.check_soc(soc)
    try:
        inputs = make_inputs(args, source, spec, phases, soc)
        bench = Workbench(source, soc, inputs)
        call = bench.call(inputs)
    except AclnnError as e:
        where = f"--data {args.data}" if args.data is not None else "generated data"
        raise InputError(f"{where} rejected by the host checks: {e}") from None
    if call is None:
        raise InputError("an empty call launches no kernel: nothing to tune (choose sizes)")
    with phases.step("tune", "lowering, running and modelling each candidate plan"):
        tuning = tune(bench)
    api = "scatter_pa_kv_cache" if bench.scatters else "gather_pa_kv_cache"
    print(render_tuning(tuning, source.where(), soc_info(soc), api))
    return EXIT_OK if tuning.best.passed else EXIT_FAIL


COMMANDS = {"compile": cmd_compile, "run": cmd_run, "explain": cmd_explain, "tune": cmd_tune}


def _error(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        reporter = reporter_for(sys.stderr, PROG, progress=args.progress, quiet=args.quiet)
        return COMMANDS[args.command](args, Phases(reporter, prog=PROG))
    except UsageError as e:
        _error(str(e))
        return EXIT_INPUT
    except InputError as e:
        _error(str(e) if e.location else f"{PROG}: {e}")
        return EXIT_INPUT
    except (ShapeSpecError, WorkloadError) as e:
        _error(f"{PROG}: error: {' '.join(str(e).split())}")
        return EXIT_INPUT
    except HostCompilerMissing as e:
        _error(f"{PROG}: error: --executor ascendc-host: {e}")
        return EXIT_INPUT
    except (MachineFault, KernelCompileError, HostRunError, HostBuildError) as e:
        _error(f"{PROG}: error: kernel fault: {' '.join(str(e).split())}")
        return EXIT_FAULT
    except BrokenPipeError:  # `pakv ... | head`: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAIL
    except KeyboardInterrupt:
        _error(f"{PROG}: interrupted")
        return 130
    except Exception as e:
        if debug:
            raise
        detail = " ".join(str(e).split()) or type(e).__name__
        _error(f"{PROG}: internal error: {type(e).__name__}: {detail} (--debug shows where)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
