"""Drop the values that scf loops and branches carry without ever changing them.

The sequence walk threads the runs' cursor through its ``scf.while``, ``scf.for`` and
``scf.if`` ops before anyone knows whether the tiling needs it. When it does not (a
load buffer of one slot), ``ascend-tile-runs`` forwards each run's cursor unchanged,
and every op that carried it now passes the same value around: an ``scf.if`` whose
branches yield the same value, an ``scf.for`` or ``scf.while`` that yields an argument
back in its own place. A dead value like that would print as a useless C++ variable and
cost the interpreter a copy per iteration. MLIR's scf canonicalization removes such
values; xDSL 0.74's does not, so these patterns do, keeping each op's attributes (its
stage note) and the names of what remains.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import scf
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)


def _keep_operands(rewriter: PatternRewriter, block: Block, keep: Sequence[int]) -> None:
    """Replace ``block``'s ``scf.yield``/``scf.condition`` by one passing only the
    operands at positions ``keep``."""
    terminator = block.last_op
    if isinstance(terminator, scf.ConditionOp):
        new: Operation = scf.ConditionOp(terminator.condition, *(terminator.args[i] for i in keep))
    else:
        assert isinstance(terminator, scf.YieldOp)
        new = scf.YieldOp(*(terminator.arguments[i] for i in keep))
    rewriter.replace(terminator, new)


def _replace(rewriter: PatternRewriter, op: Operation, new: Operation, keep: Sequence[int]) -> None:
    """Replace ``op`` by ``new``, whose results are ``op``'s results at ``keep``."""
    new.attributes.update(op.attributes)
    new.location = op.location
    for old_index, result in zip(keep, new.results, strict=True):
        result.name_hint = op.results[old_index].name_hint
    results: list[SSAValue | None] = [None] * len(op.results)
    for old_index, result in zip(keep, new.results, strict=True):
        results[old_index] = result
    rewriter.replace(op, new, results)


def _yielded(block: Block) -> Sequence[SSAValue]:
    terminator = block.last_op
    assert isinstance(terminator, scf.YieldOp)
    return terminator.arguments


class DropInvariantIfResults(RewritePattern):
    """``scf.if`` results that both branches yield as one value: that value.

    An ``scf.if`` left with no result and an else branch that only yields loses the
    else branch (it would still run, and count, for nothing).
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.IfOp, rewriter: PatternRewriter) -> None:
        if not op.output or not op.false_region.blocks:
            return
        then_values = _yielded(op.true_region.block)
        else_values = _yielded(op.false_region.block)
        same = [i for i, value in enumerate(then_values) if value is else_values[i]]
        if not same:
            return
        for i in same:
            rewriter.replace_all_uses_with(op.output[i], then_values[i])
        keep = [i for i in range(len(op.output)) if i not in same]
        for region in op.regions:
            _keep_operands(rewriter, region.block, keep)
        true_region = rewriter.move_region_contents_to_new_regions(op.true_region)
        false_region = rewriter.move_region_contents_to_new_regions(op.false_region)
        if not keep and isinstance(false_region.block.first_op, scf.YieldOp):
            false_region = Region()
        result_types = [op.output[i].type for i in keep]
        new = scf.IfOp(op.cond, result_types, true_region, false_region)
        _replace(rewriter, op, new, keep)


class DropInvariantForIterArgs(RewritePattern):
    """``scf.for`` iteration arguments that the body yields back unchanged: their
    initial value."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.ForOp, rewriter: PatternRewriter) -> None:
        body = op.body.block
        carried = body.args[1:]
        same = [i for i, value in enumerate(_yielded(body)) if value is carried[i]]
        if not same:
            return
        keep = [i for i in range(len(carried)) if i not in same]
        _keep_operands(rewriter, body, keep)
        for i in same:
            rewriter.replace_all_uses_with(carried[i], op.iter_args[i])
            rewriter.replace_all_uses_with(op.res[i], op.iter_args[i])
        for i in reversed(same):
            rewriter.erase_block_argument(body.args[1 + i])
        initial = [op.iter_args[i] for i in keep]
        region = rewriter.move_region_contents_to_new_regions(op.body)
        _replace(rewriter, op, scf.ForOp(op.lb, op.ub, op.step, initial, region), keep)


class DropInvariantWhileArgs(RewritePattern):
    """``scf.while`` arguments that the condition passes on and the body yields back in
    their own place: their initial value."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.WhileOp, rewriter: PatternRewriter) -> None:
        before, after = op.before_region.block, op.after_region.block
        condition = before.last_op
        assert isinstance(condition, scf.ConditionOp)
        forwarded, yielded = condition.args, _yielded(after)
        if not len(before.args) == len(forwarded) == len(after.args):
            return  # the after block takes other values than the before block
        same = [
            i
            for i, arg in enumerate(before.args)
            if forwarded[i] is arg and yielded[i] is after.args[i]
        ]
        if not same:
            return
        keep = [i for i in range(len(before.args)) if i not in same]
        _keep_operands(rewriter, before, keep)
        _keep_operands(rewriter, after, keep)
        for i in same:
            initial = op.arguments[i]
            for value in (before.args[i], after.args[i], op.res[i]):
                rewriter.replace_all_uses_with(value, initial)
        for i in reversed(same):
            rewriter.erase_block_argument(before.args[i])
            rewriter.erase_block_argument(after.args[i])
        new = scf.WhileOp(
            [op.arguments[i] for i in keep],
            [op.res[i].type for i in keep],
            rewriter.move_region_contents_to_new_regions(op.before_region),
            rewriter.move_region_contents_to_new_regions(op.after_region),
        )
        _replace(rewriter, op, new, keep)


def drop_invariant_carried_values(region: Region) -> None:
    """Apply the three patterns to ``region`` until none applies (inner ops first, so
    that one walk clears a value carried through a whole loop nest)."""
    patterns: list[RewritePattern] = [
        DropInvariantIfResults(),
        DropInvariantForIterArgs(),
        DropInvariantWhileArgs(),
    ]
    PatternRewriteWalker(
        GreedyRewritePatternApplier(patterns), walk_regions_first=True
    ).rewrite_region(region)
