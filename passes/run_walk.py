"""The walk over this core's tokens: sequence by sequence, run by run.

A *run* is the tokens of one sequence that sit in one cache block: ``count`` tokens
from position ``block_pos`` of block ``blk``, which are the tokens ``token ..
token + count - 1`` of the contiguous token-major side. The walk finds the runs of this
core's tokens and hands each to a :class:`RunVisitor`, which says what to do with it:
the gather copies a valid run from the cache and zero-fills an invalid one; a scatter
would copy the other way and skip invalid runs. Nothing here knows how bytes move.

Structure of the emitted code::

    batch, table_width, num_blocks, num_tokens = get_tiling ...
    token_begin, token_end = ascend.core_tokens      // ascend-distribute-tokens
    write_end = min(token_end, num_tokens)           // never write past the outputs
    if token_begin < write_end:
      while seq < batch and start < write_end:       // sequences, in token order
        len = max(seq_lens[seq] (or the cumsum difference), 0)
        [lo, hi) = [start, start + len) & [token_begin, write_end)
        if lo < hi:
          first_col = seq_offset[seq] // block_size, or table_width when negative
          for block in [first_pos // bs, ceil(end_pos / bs)):      // runs
            run_first = max(block * bs, first_pos)
            count = min(bs - run_first % bs, end_pos - run_first)
            col = first_col + block
            blk = col < table_width ? block_tables[seq, col] : num_blocks
            if blk < num_blocks (unsigned: a negative id is out of range too):
              visitor.valid(run)
            else:
              visitor.invalid(run)
        start += len

``first_pos``, ``end_pos`` and ``run_first`` are positions in the sequence (the ``j`` of
SPEC section 2); ``lo``, ``hi`` and a run's ``token`` are token indices. Every runtime
size comes from ``ascend.get_tiling`` or a GM scalar read, so the kernel serves every
batch, table width, block count and token count. A run's ``count`` is taken as a
``min`` with ``bs - block_pos`` (not as ``end - run_first``) so that it is visibly at
most ``bs``: the AscendC printer's facts then prove every byte offset built from it
non-negative, and the tile loops print as plain unsigned C++ loops.

Runs are visited in order, and a visitor may carry state from one to the next (the
next tile's load slot): the *cursor*, an index that starts at 0 and is threaded through
the loops. The walk does not look at it.

The main stages carry notes (``KernelBuilder.stage``), printed as comments in AscendC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import IndexType
from xdsl.ir import SSAValue

from pakv_dialect.ascend import CoreBatchesOp, CoreTokensOp, GetTilingOp, LoadScalarOp
from passes.kernel_builder import KernelBuilder, Value

_INDEX = IndexType()

CURSOR = "slot"
"""The name of the cursor's values: the tile expansion makes the cursor the next tile's
load slot (or drops it)."""


@dataclass(frozen=True)
class Run:
    """``count`` tokens from position ``block_pos`` of cache block ``blk``, which are
    tokens ``token``, ``token + 1``, ... of the token-major side (``count`` is at most
    the block size)."""

    blk: SSAValue
    block_pos: SSAValue
    token: SSAValue
    count: SSAValue


@dataclass(frozen=True)
class Sequences:
    """The batch's sequences, as the walk reads them: lengths, offsets and block tables
    (GM index tensors), and the static block size."""

    seq_lens: SSAValue
    cumsum: bool
    """``seq_lens`` holds ``batch + 1`` running totals instead of ``batch`` lengths."""
    seq_offset: SSAValue | None
    block_tables: SSAValue
    block_size: int


class RunVisitor(ABC):
    """What to do with each run the walk finds; both build at ``kb``'s point and
    return the cursor after the run."""

    @abstractmethod
    def valid(self, kb: KernelBuilder, run: Run, cursor: SSAValue) -> SSAValue:
        """A run whose block id is in ``[0, num_blocks)``."""

    @abstractmethod
    def invalid(self, kb: KernelBuilder, run: Run, cursor: SSAValue) -> SSAValue:
        """A run whose table column or block id is out of range."""


class _Walk:
    def __init__(
        self,
        kb: KernelBuilder,
        sequences: Sequences,
        visitor: RunVisitor,
        whole_sequences: bool = False,
    ):
        self.kb = kb
        self.sequences = sequences
        self.visitor = visitor
        self.block_size = sequences.block_size
        self.whole_sequences = whole_sequences

    def emit(self) -> None:
        kb = self.kb
        self.batch = self._tiling("batch")
        self.table_width = self._tiling("table_width")
        self.num_blocks = self._tiling("num_blocks")
        num_tokens = self._tiling("num_tokens")
        if self.whole_sequences:
            self._share_sequences(num_tokens)
            return
        with kb.stage("This core's tokens: its balanced share, never past num_tokens."):
            share = kb.insert(CoreTokensOp())
        share.begin.name_hint, share.end.name_hint = "token_begin", "token_end"
        self.token_begin: SSAValue | None = share.begin
        self.first_seq: SSAValue | None = None
        self.seq_end = self.batch
        self.write_end = kb.minu(share.end, num_tokens, "write_end")
        has_tokens = kb.ult(share.begin, self.write_end, "has_tokens")
        kb.if_(has_tokens, [], self._walk_sequences)

    def _share_sequences(self, num_tokens: SSAValue) -> None:
        """The share is whole sequences ``[first_seq, seq_end)`` (``ascend.core_batches``);
        the walk adds up the lengths of the sequences before them to find their tokens."""
        kb = self.kb
        with kb.stage("This core's whole sequences, never past num_tokens."):
            share = kb.insert(CoreBatchesOp())
        share.begin.name_hint, share.end.name_hint = "batch_begin", "batch_end"
        self.token_begin = None
        self.first_seq = share.begin
        self.seq_end = kb.minu(share.end, self.batch, "seq_end")
        self.write_end = num_tokens
        has_sequences = kb.ult(share.begin, self.seq_end, "has_sequences")
        kb.if_(has_sequences, [], self._walk_sequences)

    def _overlap(self, seq: SSAValue, start: SSAValue, end: SSAValue) -> SSAValue:
        """The first token of sequence ``seq`` (tokens ``[start, end)``) this core
        copies: at ``end`` or later when it copies none of them."""
        kb = self.kb
        if self.first_seq is not None:
            before = kb.ult(seq, self.first_seq, "before_share")
            return kb.select(before, end, start, "lo")
        assert self.token_begin is not None
        return kb.maxu(start, self.token_begin, "lo")

    def _tiling(self, field: str) -> SSAValue:
        return self.kb.insert(GetTilingOp(field), field).result

    def _scalar(self, source: SSAValue, indices: Sequence[SSAValue], name: str) -> SSAValue:
        """A GM index-tensor element, sign-extended to ``index``."""
        raw = self.kb.insert(LoadScalarOp(source, list(indices))).result
        return self.kb.to_index(raw, name)

    def _walk_sequences(self) -> list[SSAValue]:
        kb = self.kb
        zero = kb.const(0)

        def more(values: Sequence[SSAValue]) -> SSAValue:
            seq, start, _ = values
            in_batch = kb.ult(seq, self.seq_end)
            return kb.and_(in_batch, kb.ult(start, self.write_end), "more")

        def sequence(values: Sequence[SSAValue]) -> list[SSAValue]:
            seq, start, cursor = values
            end = kb.add(start, self._length(seq), "end")
            lo = self._overlap(seq, start, end)
            hi = kb.minu(end, self.write_end, "hi")
            (cursor,) = kb.if_(
                kb.ult(lo, hi, "overlaps"),
                [_INDEX],
                lambda: [self._sequence_runs(seq, start, lo, hi, cursor)],
                lambda: [cursor],
                [CURSOR],
            )
            return [kb.add(seq, 1, "next_seq"), end, cursor]

        with kb.stage("Walk the sequences in token order, up to this core's last token."):
            kb.while_([zero, zero, zero], ["seq", "start", CURSOR], more, sequence)
        return []

    def _length(self, seq: SSAValue) -> SSAValue:
        """``len_seq`` clamped at 0: a negative length copies nothing (golden semantics)."""
        kb = self.kb
        lens = self.sequences.seq_lens
        if self.sequences.cumsum:
            here = self._scalar(lens, [seq], "cumsum")
            following = self._scalar(lens, [kb.add(seq, 1)], "next_cumsum")
            raw = kb.sub(following, here, "raw_len")
        else:
            raw = self._scalar(lens, [seq], "raw_len")
        return kb.maxs(raw, 0, "len")

    def _first_column(self, seq: SSAValue) -> Value:
        """The table column of the sequence's first token; ``table_width`` (so every
        token reads as zero) when the offset is negative."""
        kb = self.kb
        if self.sequences.seq_offset is None:
            return 0
        offset = self._scalar(self.sequences.seq_offset, [seq], "offset")
        negative = kb.slt(offset, 0, "negative_offset")
        return kb.select(negative, self.table_width, kb.divu(offset, self.block_size), "first_col")

    def _sequence_runs(
        self, seq: SSAValue, start: SSAValue, lo: SSAValue, hi: SSAValue, cursor: SSAValue
    ) -> SSAValue:
        """Tokens ``[lo, hi)`` of sequence ``seq`` (which starts at token ``start``)."""
        with self.kb.stage(
            "This sequence's tokens [lo, hi), run by run: a run is its tokens in one cache block."
        ):
            return self._runs(seq, start, lo, hi, cursor)

    def _runs(
        self, seq: SSAValue, start: SSAValue, lo: SSAValue, hi: SSAValue, cursor: SSAValue
    ) -> SSAValue:
        kb = self.kb
        bs = self.block_size
        first_pos = kb.sub(lo, start, "first_pos")
        end_pos = kb.sub(hi, start, "end_pos")
        first_col = self._first_column(seq)
        first_block = kb.divu(first_pos, bs, "first_block")
        end_block = kb.divu(kb.add(end_pos, bs - 1), bs, "end_block")

        def run(block: SSAValue, carried: Sequence[SSAValue]) -> list[SSAValue]:
            block_first = kb.mul(block, bs, "block_first")
            run_first = kb.maxu(block_first, first_pos, "run_first")
            # run_first lies in [block_first, block_first + bs): remu is the position in
            # the block (always 0 in blocks of one token, which xDSL's canonicalize does
            # not fold), and the run ends at the block's end or at the tokens' end.
            block_pos: Value = 0 if bs == 1 else kb.remu(run_first, bs, "block_pos")
            room = kb.sub(bs, block_pos, "room")
            count = kb.minu(room, kb.sub(end_pos, run_first), "count")
            col = kb.add(first_col, block, "col")
            blk = kb.if_(
                kb.ult(col, self.table_width, "in_table"),
                [_INDEX],
                lambda: [self._scalar(self.sequences.block_tables, [seq, col], "blk")],
                lambda: [self.num_blocks],
                ["blk"],
            )[0]
            tokens = Run(blk, kb.value(block_pos), kb.add(start, run_first, "token"), count)
            valid = kb.ult(blk, self.num_blocks, "valid_block")
            return list(
                kb.if_(
                    valid,
                    [_INDEX],
                    lambda: [self.visitor.valid(kb, tokens, carried[0])],
                    lambda: [self.visitor.invalid(kb, tokens, carried[0])],
                    [CURSOR],
                )
            )

        return kb.for_(first_block, end_block, 1, [cursor], run, "block")[0]


def walk_runs(
    kb: KernelBuilder, sequences: Sequences, visitor: RunVisitor, whole_sequences: bool = False
) -> None:
    """Emit, at ``kb``'s point, this core's walk over the runs of ``sequences``, calling
    ``visitor`` for each run (the module docstring shows the loop nest).

    ``whole_sequences``: the core's share is whole sequences (``ascend.core_batches``,
    the Ascend 950 kernel's split) instead of a range of tokens (``ascend.core_tokens``):
    the walk runs up to its last sequence and copies the sequences from its first on.
    """
    _Walk(kb, sequences, visitor, whole_sequences).emit()
