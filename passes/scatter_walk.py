"""The scatter's walk over this core's tokens: slot by slot, run by run.

``pakv.scatter`` writes token ``t`` to slot ``slot_mapping[t]`` (SPEC section 8). A
*run* here is what the gather's walk calls one (``passes/run_walk.py``): ``count``
consecutive tokens that land on consecutive positions of one cache block, so they
move as one burst per tile (Norm) or one group-major tile (PA_NZ). The walk reads a
token's slot, and when the slot is in the cache asks ``ascend.run_length`` how many of
the next tokens continue it, up to the block's end and this core's last token; it
hands that run to a :class:`~passes.run_walk.RunVisitor` and moves past it. A negative
slot (padding) or one at or past ``num_blocks * block_size`` is skipped, one token at a
time: the kernel stays memory-safe without the host's checks.

Structure of the emitted code::

    num_tokens, num_blocks = get_tiling ...
    token_begin, token_end = ascend.core_tokens       // ascend-distribute-tokens
    write_end = min(token_end, num_tokens)
    num_slots = num_blocks * block_size
    if token_begin < write_end:
      while token < write_end:                        // this core's tokens, in order
        slot = slot_mapping[token]                    // sign-extended to index
        if slot < num_slots (unsigned: a negative slot is out of range too):
          blk, block_pos = slot / bs, slot % bs
          limit = min(bs - block_pos, write_end - token)
          count = ascend.run_length slot_mapping[token] from(slot) limit(limit)
          visitor.valid(run)
          token += count
        else:
          token += 1                                  // skipped: nothing is written

Per run the walk executes about fifteen ops whatever the run's length: a prefill whose
tokens fill whole blocks costs a handful of ops per block, a decode step (one token per
sequence, slots scattered) a handful per token. Work is split by tokens
(``ascend.core_tokens``), so cores are balanced however the slots fall; a run never
crosses a core's boundary, so no two cores write one slot unless two tokens share it
(which the host rejects, and the interpreter's write-conflict detector reports).

The cursor (the next tile's load slot) is threaded through the loop as in the gather.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType
from xdsl.ir import SSAValue

from pakv_dialect.ascend import CoreTokensOp, GetTilingOp, LoadScalarOp, RunLengthOp
from passes.kernel_builder import KernelBuilder, Value
from passes.run_walk import CURSOR, Run, RunVisitor

_INDEX = IndexType()


class _SlotWalk:
    def __init__(
        self, kb: KernelBuilder, slot_mapping: SSAValue, block_size: int, visitor: RunVisitor
    ):
        self.kb = kb
        self.slot_mapping = slot_mapping
        self.block_size = block_size
        self.visitor = visitor

    def emit(self) -> None:
        kb = self.kb
        num_tokens = kb.insert(GetTilingOp("num_tokens"), "num_tokens").result
        num_blocks = kb.insert(GetTilingOp("num_blocks"), "num_blocks").result
        with kb.stage("This core's tokens: its balanced share, never past num_tokens."):
            share = kb.insert(CoreTokensOp())
        share.begin.name_hint, share.end.name_hint = "token_begin", "token_end"
        self.write_end = kb.minu(share.end, num_tokens, "write_end")
        self.num_slots = kb.mul(num_blocks, self.block_size, "num_slots")
        has_tokens = kb.ult(share.begin, self.write_end, "has_tokens")
        begin = share.begin
        kb.if_(has_tokens, [], lambda: self._walk_tokens(begin))

    def _walk_tokens(self, begin: SSAValue) -> list[SSAValue]:
        kb = self.kb

        def more(values: Sequence[SSAValue]) -> SSAValue:
            return kb.ult(values[0], self.write_end, "more")

        def token_step(values: Sequence[SSAValue]) -> list[SSAValue]:
            token, cursor = values
            raw = kb.insert(LoadScalarOp(self.slot_mapping, [token])).result
            slot = kb.to_index(raw, "cache_slot")
            placed = kb.if_(
                kb.ult(slot, self.num_slots, "in_cache"),
                [_INDEX, _INDEX],
                lambda: self._run(token, slot, cursor),
                lambda: [kb.add(token, 1, "next_token"), cursor],
                ["next_token", CURSOR],
            )
            return list(placed)

        with kb.stage(
            "Walk this core's tokens: each run of consecutive slots in one block moves "
            "together; a slot outside the cache is skipped."
        ):
            kb.while_([begin, kb.const(0)], ["token", CURSOR], more, token_step)
        return []

    def _run(self, token: SSAValue, slot: SSAValue, cursor: SSAValue) -> list[SSAValue]:
        kb = self.kb
        bs = self.block_size
        blk = slot if bs == 1 else kb.divu(slot, bs, "blk")
        block_pos: Value = 0 if bs == 1 else kb.remu(slot, bs, "block_pos")
        room = kb.sub(bs, block_pos, "room")
        limit = kb.minu(room, kb.sub(self.write_end, token), "limit")
        count = kb.insert(RunLengthOp(self.slot_mapping, token, slot, limit), "count").result
        run = Run(blk, kb.value(block_pos), token, count)
        cursor = self.visitor.valid(kb, run, cursor)
        return [kb.add(token, count, "next_token"), cursor]


def walk_slots(
    kb: KernelBuilder, slot_mapping: SSAValue, block_size: int, visitor: RunVisitor
) -> None:
    """Emit, at ``kb``'s point, this core's walk over the runs of ``slot_mapping``,
    calling ``visitor.valid`` for each run that lands in the cache (the module docstring
    shows the loop nest); tokens whose slot is outside the cache are skipped."""
    _SlotWalk(kb, slot_mapping, block_size, visitor).emit()
