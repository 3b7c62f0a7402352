"""``ascend-distribute-tokens``: give each vector core a balanced share of output tokens.

The lowering leaves ``ascend.core_tokens`` where a kernel asks which tokens it copies.
This pass answers with ``pakv_dialect.tiling.balanced_range(split_tokens, used_cores,
block_idx)``, emitted op for op (:func:`emit_balanced_range`):

    base, extra = split_tokens // used_cores, split_tokens % used_cores
    begin = block_idx * base + min(block_idx, extra)
    end   = begin + base + (block_idx < extra ? 1 : 0)
          = (block_idx + 1) * base + min(block_idx + 1, extra)   (the next core's begin)

Splitting by **tokens**, not by sequences, is what keeps cores balanced when one
sequence is 1000x longer than the rest: every core gets ``split_tokens / used_cores``
tokens, give or take one, wherever the sequence boundaries fall, so bytes moved per
core differ by at most one token's worth. A core walks only the sequences up to its
last token and copies only the runs that overlap its tokens; a core whose range is
empty skips the walk entirely (the ``scf.if`` the lowering put around it).
``split_tokens`` and ``used_cores`` are tiling fields the host computes per launch
(``gather_tiling``), so the split adapts to every call without recompiling.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from pakv_dialect.ascend import KERNEL_ATTR, NOTE_ATTR, CoreTokensOp, GetBlockIdxOp, GetTilingOp
from passes.diagnostics import fail_at
from passes.kernel_builder import KernelBuilder
from passes.strategy import Split
from passes.work_split import split_patterns


def emit_balanced_range(
    kb: KernelBuilder, total: SSAValue, parts: SSAValue, index: SSAValue
) -> tuple[SSAValue, SSAValue]:
    """``balanced_range(total, parts, index)`` of ``pakv_dialect.tiling``, as ops."""
    base = kb.divu(total, parts, "base")
    extra = kb.remu(total, parts, "extra")
    begin = kb.add(kb.mul(index, base), kb.minu(index, extra), "token_begin")
    # end = begin + base + (index < extra ? 1 : 0), which is the next part's begin.
    following = kb.add(index, 1)
    end = kb.add(kb.mul(following, base), kb.minu(following, extra), "token_end")
    return begin, end


@dataclass
class DistributeTokensPattern(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CoreTokensOp, rewriter: PatternRewriter) -> None:
        func = op.parent_op()
        while func is not None and not isinstance(func, FuncOp):
            func = func.parent_op()
        if func is None or KERNEL_ATTR not in func.attributes:
            fail_at(op, f"ascend.core_tokens must sit inside a function marked {KERNEL_ATTR}")
        kb = KernelBuilder(rewriter, func.body.block, op.location)
        core_op = kb.insert(GetBlockIdxOp(), "core")
        if NOTE_ATTR in op.attributes:  # the note on this core's tokens heads their code
            core_op.attributes[NOTE_ATTR] = op.attributes[NOTE_ATTR]
        core = core_op.result
        total = kb.insert(GetTilingOp("split_tokens"), "split_tokens").result
        parts = kb.insert(GetTilingOp("used_cores"), "used_cores").result
        begin, end = emit_balanced_range(kb, total, parts, core)
        rewriter.replace(op, [], [begin, end])


@dataclass(frozen=True)
class DistributeTokensPass(ModulePass):
    """Replace ``ascend.core_tokens`` by this core's balanced share of output tokens (or,
    under another ``split``, by its share there: ``passes/work_split.py``)."""

    name = "ascend-distribute-tokens"

    split: str = Split.TOKENS.value
    """``tokens``: balanced ranges; ``deal``: every token on every core; an
    ``ascend.core_batches`` always becomes ``ceil(batch / used_cores)`` sequences."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = split_patterns(Split(self.split))
        if self.split != Split.DEAL.value:
            patterns.append(DistributeTokensPattern())
        walker = PatternRewriteWalker(
            GreedyRewritePatternApplier(patterns, dce_enabled=False), apply_recursively=False
        )
        walker.rewrite_module(op)
