"""``convert-pakv-to-ascend``: lower ``pakv.gather`` and ``pakv.scatter`` to this core's
walk over runs.

The function holding the op becomes a device kernel: it gets ``ascend.kernel`` and
``ascend.soc``, its memref arguments move to ``#ascend.address_space<gm>``, and the op
is replaced by the walk over this core's tokens (``passes/run_walk.py`` shows the loop
nest), which leaves one run-level op per run and stream. How a run's bytes move is the
next pass's business (``ascend-tile-runs``); this one decides what moves.

What is chosen, and why
-----------------------
* **Work unit = run.** A core walks the sequences overlapping its tokens and, inside
  each, the *runs*: consecutive tokens that share one cache block. A run needs one
  table read and one range check, then moves as few, as large DMAs as the UB allows.
  The core's tokens come from ``ascend.core_tokens``, which
  ``ascend-distribute-tokens`` turns into the balanced split over cores.
* **Caches read in place.** A cache may be a strided view (SPEC section 9): its
  blocks ``block_stride`` apart. A static stride stays in its type; a dynamic one is
  read from the tiling (``key_block_stride``/``value_block_stride``, bytes) and handed
  to its runs.
* **Keys, then values.** A valid run becomes two ``ascend.copy_run`` ops, one per
  stream (their token sizes and, in PA_NZ, dtypes differ), noted ``Keys`` and
  ``Values``; the tile expansion adds how it cuts them. The runs' cursor is threaded
  from run to run in this order (``ascend.copy_run`` says what it is for).
* **Bad data stays memory-safe** (``runtime/golden.py`` documents the semantics): a
  negative length copies nothing, a negative offset zeroes its sequence, a column past
  the table or a block id outside ``[0, num_blocks)`` gives zero tokens
  (``ascend.zero_run``: the cache is never read), and no token at or past
  ``num_tokens`` is written.

``pakv.scatter`` lowers the same way with its own walk (``passes/scatter_walk.py``):
this core's tokens, slot by slot; a run of consecutive slots inside one block becomes
two ``ascend.copy_run`` in the ``scatter`` direction (keys, then values); a slot outside
the cache is skipped. Its kernel reads the scatter's tiling (``ScatterTiling``, named
by the kernel's ``ascend.tiling`` attribute).

Runtime sizes come from ``ascend.get_tiling`` (``GatherTiling``) and GM scalar reads
only, so one kernel serves every batch, table width, block count and token count;
block size and head dimensions are static and baked in.

Options: ``soc`` (the SoC table row whose support table the op must pass; it is
recorded on the kernel as ``ascend.soc`` for the passes after this one) and ``split``
(``passes/work_split.py``: ``batches`` makes a gather core's share whole sequences; a
scatter takes ``tokens`` only and refuses the others with a located error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import memref
from xdsl.dialects.builtin import ArrayAttr, MemRefType, ModuleOp, StringAttr, UnitAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import BlockArgument, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.ascend import (
    GM,
    KERNEL_ATTR,
    LAUNCH_ATTR,
    NOTE_ATTR,
    ROLES_ATTR,
    SOC_ATTR,
    TILING_ATTR,
    AddressSpace,
    CopyDirection,
    CopyRunOp,
    CoreTokensOp,
    GetTilingOp,
    LaunchKind,
    MapRunOp,
    ZeroRunOp,
    memory_space_of,
)
from pakv_dialect.elementwise import hardware_casts
from pakv_dialect.layouts import block_stride
from pakv_dialect.pakv import CacheMode, GatherOp, KvOp, MapOp, ScatterOp
from pakv_dialect.soc import DEFAULT_SOC, SocError, soc_info
from pakv_dialect.tiling import BLOCK_STRIDE_FIELDS, SCATTER_ABI
from passes.diagnostics import fail_at
from passes.kernel_builder import KernelBuilder
from passes.outline_kernels import HOST_ATTR
from passes.run_walk import Run, RunVisitor, Sequences, walk_runs
from passes.scatter_walk import walk_slots
from passes.strategy import Split


def _kernel_function(op: KvOp | MapOp) -> FuncOp:
    """The function ``op`` turns into a kernel; it must hold nothing else
    (``pakv-outline-kernels`` makes one such function per op of a program)."""
    func = op.parent_op()
    if not isinstance(func, FuncOp) or op.parent_block() is not func.body.block:
        fail_at(op, f"{op.name} must sit directly in the body of a func.func")
    for value in op.operands:
        if not isinstance(value, BlockArgument) or value.block is not func.body.block:
            fail_at(op, f"{op.name} operands must be arguments of @{func.sym_name.data}")
    for other in func.body.block.ops:
        if other is not op and not (isinstance(other, ReturnOp) and not other.arguments):
            fail_at(
                other,
                f"@{func.sym_name.data} becomes a device kernel: it may hold only "
                f"{op.name} and an empty func.return, found {other.name}",
            )
    return func


def _start_kernel(op: KvOp, soc: str, rewriter: PatternRewriter) -> FuncOp:
    """Check ``op`` against ``soc`` and make its function a kernel for it."""
    func = _kernel_function(op)
    if op.soc is not None and op.soc.data != soc:
        fail_at(op, f"{op.name} requires SoC {op.soc.data}, but the lowering targets {soc}")
    try:
        op.verify_soc(soc)
    except (SocError, VerifyException) as e:
        fail_at(op, str(e))
    _make_kernel(func, soc, rewriter)
    return func


def _make_kernel(func: FuncOp, soc: str, rewriter: PatternRewriter) -> None:
    """Mark ``func`` as a kernel for ``soc``, its memref arguments in GM."""
    _to_gm(func, rewriter)
    func.attributes[KERNEL_ATTR] = UnitAttr()
    func.attributes[SOC_ATTR] = StringAttr(soc)


def _mark_launch(func: FuncOp, launch: LaunchKind, roles: list[str]) -> None:
    """Say how the host launches kernel ``func`` and its arguments' roles
    (``ascend.kernel_launch``): what a program of several kernels needs to run them."""
    func.attributes[LAUNCH_ATTR] = StringAttr(launch.value)
    func.attributes[ROLES_ATTR] = ArrayAttr([StringAttr(role) for role in roles])


def _to_gm(func: FuncOp, rewriter: PatternRewriter | Rewriter) -> None:
    """Retype the memref arguments of ``func`` to ``#ascend.address_space<gm>``."""
    for arg in func.args:
        ty = arg.type
        if not isinstance(ty, MemRefType) or memory_space_of(ty) == AddressSpace.gm:
            continue
        old: MemRefType = ty  # pyright: ignore[reportUnknownVariableType]
        gm_type = MemRefType(old.element_type, old.shape, old.layout, GM)
        func.replace_argument_type(arg, gm_type, rewriter)


@dataclass(frozen=True)
class Stream:
    """Keys or values: the cache and the token-major tensor of one kind of token (the
    gather's output, the scatter's input), and the consumer fused into it (its body and
    parameters), if any."""

    name: str
    """``Keys`` or ``Values``: the note on its runs."""
    cache: SSAValue
    out: SSAValue
    block_stride: SSAValue | None = None
    """Bytes between the cache's blocks when its type leaves them dynamic (a tiling
    field); None when the type says them."""
    map: Region | None = None
    params: Sequence[SSAValue] = ()


@dataclass(frozen=True)
class GatherRuns(RunVisitor):
    """The gather's runs: copy a valid run from the cache, zero an invalid one."""

    layout: CacheMode
    streams: tuple[Stream, ...]
    direction: CopyDirection = CopyDirection.gather

    def valid(self, kb: KernelBuilder, run: Run, cursor: SSAValue) -> SSAValue:
        for stream in self.streams:
            copy = kb.insert(
                CopyRunOp(
                    self.layout,
                    cache=stream.cache,
                    blk=run.blk,
                    block_pos=run.block_pos,
                    tokens=stream.out,
                    token=run.token,
                    count=run.count,
                    cursor=cursor,
                    direction=self.direction,
                    block_stride=stream.block_stride,
                    params=stream.params,
                    map=None if stream.map is None else stream.map.clone(),
                ),
                cursor.name_hint,
            )
            copy.attributes[NOTE_ATTR] = StringAttr(stream.name)
            cursor = copy.next_cursor
        return cursor

    def invalid(self, kb: KernelBuilder, run: Run, cursor: SSAValue) -> SSAValue:
        with kb.stage(
            "No valid block (column past the table or bad block id): write zeros, read nothing."
        ):
            for stream in self.streams:
                kb.insert(ZeroRunOp(tokens=stream.out, token=run.token, count=run.count))
        return cursor


@dataclass(frozen=True)
class ScatterRuns(GatherRuns):
    """The scatter's runs: copy a run into the cache (``GatherRuns`` the other way). The
    scatter's walk skips tokens whose slot is outside the cache: it has no invalid run."""

    direction: CopyDirection = CopyDirection.scatter

    def invalid(self, kb: KernelBuilder, run: Run, cursor: SSAValue) -> SSAValue:
        raise AssertionError("the scatter's walk skips what it cannot place")


def _block_stride(kb: KernelBuilder, role: str, cache: SSAValue) -> SSAValue | None:
    """The cache's block stride in bytes from the tiling, when its type says ``?``."""
    ty = cache.type
    assert isinstance(ty, MemRefType)
    if block_stride(ty) is not None:
        return None
    field = BLOCK_STRIDE_FIELDS[role]
    return kb.insert(GetTilingOp(field), field).result


@dataclass
class LowerGatherPattern(RewritePattern):
    soc: str
    whole_sequences: bool = False

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GatherOp, rewriter: PatternRewriter) -> None:
        func = _start_kernel(op, self.soc, rewriter)
        roles = {value: role for role, value in op.operands_by_role()}
        launch = LaunchKind.gather_cumsum if op.is_cumsum else LaunchKind.gather
        _mark_launch(func, launch, [roles[arg] for arg in func.args])

        sequences = Sequences(
            op.seq_lens, op.is_cumsum, op.seq_offset, op.block_tables, op.block_size()
        )
        kb = KernelBuilder(rewriter, func.body.block, op.location)
        streams = (
            Stream(
                "Keys", op.key_cache, op.key_out, _block_stride(kb, "key_cache", op.key_cache),
                op.key_map, op.key_params,
            ),
            Stream(
                "Values", op.value_cache, op.value_out,
                _block_stride(kb, "value_cache", op.value_cache), op.value_map, op.value_params,
            ),
        )  # fmt: skip
        walk_runs(kb, sequences, GatherRuns(op.mode, streams), self.whole_sequences)
        rewriter.erase(op)


@dataclass
class LowerMapPattern(RewritePattern):
    """An unfused consumer's kernel: this core's share of the tokens, one
    ``ascend.map_run`` (split over the cores like the gather's tokens; every row of the
    tensor is computed, as the ``linalg.generic`` it came from did)."""

    soc: str
    split: str = Split.TOKENS.value

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MapOp, rewriter: PatternRewriter) -> None:
        if self.split != Split.TOKENS.value:
            # Its rows are split over the cores by count, like the scatter's tokens.
            fail_at(
                op,
                f"{op.name} takes strategy=pakv and split=tokens (its rows are balanced "
                f"over the cores), not split={self.split}",
            )
        func = _kernel_function(op)
        try:  # the SoC must run the body's conversions (its support table is the gather's)
            hardware_casts(op.program(), soc_info(self.soc))
        except (SocError, VerifyException) as e:
            fail_at(op, str(e))
        roles = {op.source: "source", op.target: "target"}
        roles |= {value: f"param_{i}" for i, value in enumerate(op.params)}
        arg_roles = [roles[arg] for arg in func.args]  # before the arguments move to GM
        _make_kernel(func, self.soc, rewriter)
        _mark_launch(func, LaunchKind.map, arg_roles)
        kb = KernelBuilder(rewriter, func.body.block, op.location)
        num_tokens = kb.insert(GetTilingOp("num_tokens"), "num_tokens").result
        with kb.stage("This core's tokens: its balanced share of the tensor's rows."):
            share = kb.insert(CoreTokensOp())
        share.begin.name_hint, share.end.name_hint = "token_begin", "token_end"
        end = kb.minu(share.end, num_tokens, "write_end")

        def run() -> list[SSAValue]:
            count = kb.sub(end, share.begin, "count")
            with kb.stage("The consumer's tokens: CopyIn, Compute, CopyOut, tile by tile."):
                kb.insert(
                    MapRunOp(
                        source=op.source, tokens=op.target, token=share.begin, count=count,
                        cursor=kb.const(0), params=list(op.params), map=op.body.clone(),
                    )
                )  # fmt: skip
            return []

        kb.if_(kb.ult(share.begin, end, "has_tokens"), [], run)
        rewriter.erase(op)


@dataclass
class LowerScatterPattern(RewritePattern):
    soc: str
    split: str = Split.TOKENS.value

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ScatterOp, rewriter: PatternRewriter) -> None:
        if self.split != Split.TOKENS.value:
            # Its walk is over this core's tokens, balanced (passes/scatter_walk.py):
            # a dealt or per-sequence split has no meaning for slots.
            fail_at(
                op,
                f"pakv.scatter takes strategy=pakv and split=tokens (its walk balances "
                f"tokens over the cores), not split={self.split}",
            )
        func = _start_kernel(op, self.soc, rewriter)
        func.attributes[TILING_ATTR] = StringAttr(SCATTER_ABI.name)
        roles = {value: role for role, value in op.operands_by_role()}
        _mark_launch(func, LaunchKind.scatter, [roles[arg] for arg in func.args])
        kb = KernelBuilder(rewriter, func.body.block, op.location)
        streams = (
            Stream(
                "Keys", op.key_cache, op.key, _block_stride(kb, "key_cache", op.key_cache),
                op.key_map, op.key_params,
            ),
            Stream(
                "Values", op.value_cache, op.value,
                _block_stride(kb, "value_cache", op.value_cache), op.value_map, op.value_params,
            ),
        )  # fmt: skip
        walk_slots(kb, op.slot_mapping, op.block_size(), ScatterRuns(op.mode, streams))
        rewriter.erase(op)


@dataclass(frozen=True)
class ConvertPakvToAscendPass(ModulePass):
    """Lower every ``pakv.gather`` and ``pakv.scatter`` into this core's walk over runs
    (``ascend.copy_run``, ``ascend.zero_run``), and every unfused consumer (``pakv.map``)
    into this core's ``ascend.map_run``, each in a kernel function for ``soc``."""

    name = "convert-pakv-to-ascend"

    soc: str = DEFAULT_SOC
    """The SoC table row: the op's dtypes and formats must be supported there."""
    split: str = Split.TOKENS.value
    """``batches``: each core's share is whole sequences (``ascend.core_batches``);
    ``tokens`` or ``deal``: a range of tokens (``ascend.core_tokens``)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        # No dead-code elimination: a stray op in a kernel function is reported, not erased.
        gather = LowerGatherPattern(self.soc, self.split == Split.BATCHES.value)
        scatter = LowerScatterPattern(self.soc, self.split)
        consumer = LowerMapPattern(self.soc, self.split)
        patterns = GreedyRewritePatternApplier([gather, scatter, consumer], dce_enabled=False)
        PatternRewriteWalker(patterns, apply_recursively=False).rewrite_module(op)
        for func in op.ops:
            if isinstance(func, FuncOp) and HOST_ATTR in func.attributes:
                _host_to_gm(func)


def _host_to_gm(func: FuncOp) -> None:
    """A program that launches kernels (``pakv-outline-kernels``): its memrefs, the
    arguments and the buffers it allocates, are GM tensors too, as the kernels take
    them."""
    rewriter = Rewriter()
    _to_gm(func, rewriter)
    for alloc in func.walk():
        if isinstance(alloc, memref.AllocOp) and memory_space_of(alloc.memref.type) is None:
            ty: MemRefType = alloc.memref.type  # pyright: ignore[reportAssignmentType]
            gm = MemRefType(ty.element_type, ty.shape, ty.layout, GM)
            rewriter.replace_value_with_new_type(alloc.memref, gm)
