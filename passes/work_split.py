"""How the work reaches the cores: the three splits of ``passes/strategy.py``.

* ``tokens`` (PAKV): core ``b`` owns the output rows ``balanced_range(split_tokens,
  used_cores, b)`` (``ascend.core_tokens``, lowered by ``ascend-distribute-tokens``).
* ``deal`` (the older A2/A3 kernel): every core walks every sequence
  (``ascend.core_tokens`` becomes ``[0, split_tokens)``) and the tiles are dealt
  round-robin, ``n % used_cores == b``: Norm pieces by a counter over all runs of both
  streams (the run's cursor, :class:`DealtNormTiles`), PA_NZ tokens by output row
  (``passes/nz_tiles.py``). A zero run goes whole to one core (``token % used_cores``).
* ``batches`` (the Ascend 950 kernel): core ``b`` owns whole sequences ``[b * k, (b + 1)
  * k)`` with ``k = ceil(batch / used_cores)`` (``ascend.core_batches``); the walk
  (``passes/run_walk.py``) adds up the lengths before them, as the vendor's
  ``CalcKvCoreOffset`` does.

A dealt loop visits the indices ``n`` of ``[first, end)`` that are this core's, with
no per-index test: ``first = (b + used_cores - index0 % used_cores) % used_cores``
relative to the first index ``index0`` of the run, then steps of ``used_cores``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from pakv_dialect.ascend import CopyRunOp, CoreBatchesOp, CoreTokensOp, GetBlockIdxOp, GetTilingOp
from pakv_dialect.dma import BLOCK_BYTES
from pakv_dialect.soc import SocInfo
from passes.kernel_builder import KernelBuilder, Value
from passes.strategy import Split
from passes.tile_loops import NormTiles
from passes.tile_plan import StreamPlan, TilePlan

VENDOR_PIECE_ALIGN = 512
"""The A2/A3 kernel cuts a block into pieces of whole 512-byte cache lines (its
``cachelineBlk``); only the last piece of a block holds the rest."""


@dataclass(frozen=True)
class Deal:
    """This core's index and the cores the tiles are dealt over (kernel-entry values)."""

    core: SSAValue
    cores: SSAValue

    def first(self, kb: KernelBuilder, index0: Value) -> SSAValue:
        """The offset from ``index0`` of the first index that is this core's."""
        behind = kb.remu(index0, self.cores, "dealt")
        return kb.remu(kb.add(self.core, kb.sub(self.cores, behind)), self.cores, "first_mine")

    def owns(self, kb: KernelBuilder, index: Value) -> SSAValue:
        """Whether index ``index`` is this core's."""
        dealt = kb.remu(index, self.cores, "dealt")
        return kb.insert(arith.CmpiOp(dealt, self.core, "eq"), "mine").result

    @staticmethod
    def at_entry(kb: KernelBuilder) -> Deal:
        """This core's index and ``used_cores``, read once where ``kb`` builds."""
        core = kb.insert(GetBlockIdxOp(), "core").result
        cores = kb.insert(GetTilingOp("used_cores"), "used_cores").result
        return Deal(core, cores)


class DealtNormTiles(NormTiles):
    """Norm runs cut the A2/A3 way and dealt: ``ceil(bytes / slot)`` pieces per run of
    nearly equal size (whole 512-byte units, the last one shorter), piece ``n`` of the
    kernel's count to core ``n % used_cores``. The run's cursor is that count."""

    def __init__(
        self,
        kb: KernelBuilder,
        plan: TilePlan,
        buffers: Mapping[str, SSAValue],
        soc: SocInfo,
        deal: Deal,
    ):
        super().__init__(kb, plan, buffers, soc)
        self.deal = deal

    def copy_note(self, stream: StreamPlan) -> str:
        return (
            f"pieces of up to {stream.tile_bytes} bytes (whole {VENDOR_PIECE_ALIGN}-byte "
            "units), dealt round-robin over the cores; each loaded, then stored."
        )

    def copy(self, run: CopyRunOp, stream: StreamPlan) -> SSAValue:
        kb = self.kb
        token_bytes = stream.token_bytes
        block_stride = self.block_stride(run)
        src = kb.add(kb.mul(run.blk, block_stride), kb.mul(run.block_pos, token_bytes), "src")
        dst = kb.mul(run.token, token_bytes, "dst")
        run_bytes = kb.mul(run.count, token_bytes, "run_bytes")
        pieces = kb.ceildivu(run_bytes, stream.tile_bytes, "pieces")
        units = kb.ceildivu(run_bytes, VENDOR_PIECE_ALIGN, "units")
        step = kb.mul(kb.ceildivu(units, pieces), VENDOR_PIECE_ALIGN)
        # At most a slot: ceil(ceil(n / 512) / ceil(n / slot)) * 512 <= slot when the slot
        # is whole 512-byte units; the min says so to the printer, and keeps the pieces
        # covering the run for any other slot size.
        step = kb.minu(step, stream.tile_bytes, "piece_bytes")
        form = self.form(aligned=token_bytes % BLOCK_BYTES == 0, burst_len=stream.tile_bytes)

        def piece(index: SSAValue, carried: Sequence[SSAValue]) -> list[SSAValue]:
            at = kb.mul(index, step, "at")
            size = kb.minu(kb.sub(run_bytes, at), step, "bytes")
            self._tile(run, kb.add(src, at), size, kb.add(dst, at), [], form)
            return []

        kb.for_(self.deal.first(kb, run.cursor), pieces, self.deal.cores, [], piece, "piece")
        return kb.add(run.cursor, pieces, "next_piece")


def _kernel_builder(op: Operation, rewriter: PatternRewriter) -> KernelBuilder:
    """A builder at ``op`` (the rewriter's point) whose constants go to the top of the
    kernel function holding it."""
    func = op.parent_op()
    while func is not None and not isinstance(func, FuncOp):
        func = func.parent_op()
    assert func is not None, f"{op.name} outside a kernel function"
    return KernelBuilder(rewriter, func.body.block, op.location)


@dataclass
class DistributeDealtTokens(RewritePattern):
    """``deal``: every core walks every token; its tiles decide what it copies."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CoreTokensOp, rewriter: PatternRewriter) -> None:
        kb = _kernel_builder(op, rewriter)
        total = kb.insert(GetTilingOp("split_tokens"), "split_tokens").result
        rewriter.replace(op, [], [kb.const(0), total])


@dataclass
class DistributeBatches(RewritePattern):
    """``batches``: ``ceil(batch / used_cores)`` whole sequences per core, the last
    ones fewer (or none)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CoreBatchesOp, rewriter: PatternRewriter) -> None:
        kb = _kernel_builder(op, rewriter)
        core = kb.insert(GetBlockIdxOp(), "core").result
        batch = kb.insert(GetTilingOp("batch"), "batch").result
        cores = kb.insert(GetTilingOp("used_cores"), "used_cores").result
        per_core = kb.ceildivu(batch, cores, "batches_per_core")
        begin = kb.minu(kb.mul(core, per_core), batch, "batch_begin")
        end = kb.minu(kb.add(begin, per_core), batch, "batch_end")
        rewriter.replace(op, [], [begin, end])


def split_patterns(split: Split) -> list[RewritePattern]:
    """The patterns that give each core its share under ``split`` (besides
    ``ascend-distribute-tokens``'s balanced one, used for ``tokens``)."""
    patterns: list[RewritePattern] = [DistributeBatches()]
    if split == Split.DEAL:
        patterns.append(DistributeDealtTokens())
    return patterns
