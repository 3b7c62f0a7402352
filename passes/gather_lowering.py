"""The kernel body that replaces one ``pakv.gather``: this core's walk over its rows.

Structure of the emitted code (``convert-pakv-to-ascend``'s docstring says why)::

    ub_alloc per buffer of the TilePlan
    batch, table_width, num_blocks, num_tokens = get_tiling ...
    row_begin, rows_end = ascend.core_rows          // ascend-distribute-tokens
    row_end = min(rows_end, num_tokens)             // never write past keyRef
    if row_begin < row_end:
      while seq < batch and start < row_end:        // sequences, in output order
        len = max(seq_lens[seq] (or the cumsum difference), 0)
        [lo, hi) = [start, start + len) & [row_begin, row_end)
        if lo < hi:
          first_col = seq_offset[seq] // block_size, or table_width when negative
          for block in [(lo - start) // bs, ceil((hi - start) / bs)):   // runs
            run_first = max(block * bs, lo - start)
            count = min(bs - run_first % bs, (hi - start) - run_first)
            col = first_col + block
            blk = col < table_width ? block_tables[seq, col] : num_blocks
            if blk < num_blocks (unsigned: a negative id is out of range too):
              copy the run (RunCopier.copy_run: the tile loops)
            else:
              zero the run (RunCopier.zero_run)
        start += len

Every runtime size comes from ``ascend.get_tiling`` or a GM scalar read, so the
kernel serves every batch, table width, block count and token count. A run's ``count``
is taken as a ``min`` with ``bs - block_pos`` (not as ``run_end - run_first``) so that
it is visibly at most ``bs``: the AscendC printer's facts then prove every byte offset
built from it non-negative, and the tile loops print as plain unsigned C++ loops.

The main stages carry notes (``KernelBuilder.stage``), printed as comments in AscendC.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType
from xdsl.ir import SSAValue

from pakv_dialect.ascend import CoreRowsOp, GetTilingOp, LoadScalarOp, UbAllocOp
from pakv_dialect.pakv import CacheMode, GatherOp
from passes.kernel_builder import KernelBuilder
from passes.run_copies import NormCopier, NzCopier, Run, RunCopier, Slots, Stream
from passes.tile_plan import TilePlan

_INDEX = IndexType()


class GatherLowering:
    """Emits the kernel body of ``op`` with ``kb``, cut into tiles as ``plan`` says."""

    def __init__(self, op: GatherOp, plan: TilePlan, kb: KernelBuilder):
        self.op = op
        self.plan = plan
        self.kb = kb
        self.block_size = plan.block_size

    def emit(self) -> None:
        kb = self.kb
        buffers = {
            buffer.purpose: kb.insert(
                UbAllocOp(buffer.purpose, buffer.slots, buffer.slot_bytes), buffer.purpose
            ).buffer
            for buffer in self.plan.buffers
        }
        streams = (
            Stream("Keys", self.plan.key, self.op.key_cache, self.op.key_out),
            Stream("Values", self.plan.value, self.op.value_cache, self.op.value_out),
        )
        copier_type = NormCopier if self.plan.mode == CacheMode.Norm else NzCopier
        self.copier: RunCopier = copier_type(kb, self.plan, streams, buffers)

        self.batch = self._tiling("batch")
        self.table_width = self._tiling("table_width")
        self.num_blocks = self._tiling("num_blocks")
        num_tokens = self._tiling("num_tokens")
        with kb.stage("This core's output rows: its balanced share, never past num_tokens."):
            rows = kb.insert(CoreRowsOp())
        rows.begin.name_hint, rows.end.name_hint = "row_begin", "rows_end"
        self.row_begin = rows.begin
        self.row_end = kb.minu(rows.end, num_tokens, "row_end")
        has_rows = kb.ult(self.row_begin, self.row_end, "has_rows")
        kb.if_(has_rows, [], self._walk_sequences)

    def _tiling(self, field: str) -> SSAValue:
        return self.kb.insert(GetTilingOp(field), field).result

    def _scalar(self, source: SSAValue, indices: Sequence[SSAValue], name: str) -> SSAValue:
        """A GM index-tensor element, sign-extended to ``index``."""
        raw = self.kb.insert(LoadScalarOp(source, list(indices))).result
        return self.kb.to_index(raw, name)

    def _walk_sequences(self) -> list[SSAValue]:
        kb = self.kb
        zero = kb.const(0)

        first_slots = self.copier.first_slots()
        slot_names = ["slot"] * len(first_slots)

        def more(values: Sequence[SSAValue]) -> SSAValue:
            seq, start, *_ = values
            in_batch = kb.ult(seq, self.batch)
            return kb.and_(in_batch, kb.ult(start, self.row_end), "more")

        def sequence(values: Sequence[SSAValue]) -> list[SSAValue]:
            seq, start, *slots = values
            end = kb.add(start, self._length(seq), "end")
            lo = kb.maxu(start, self.row_begin, "lo")
            hi = kb.minu(end, self.row_end, "hi")
            slots = kb.if_(
                kb.ult(lo, hi, "overlaps"),
                [_INDEX] * len(slots),
                lambda: self._sequence_rows(seq, start, lo, hi, slots),
                (lambda: slots) if slots else None,
                slot_names,
            )
            return [kb.add(seq, 1, "next_seq"), end, *slots]

        with kb.stage("Walk the sequences in output order, up to this core's last row."):
            kb.while_([zero, zero, *first_slots], ["seq", "start", *slot_names], more, sequence)
        return []

    def _length(self, seq: SSAValue) -> SSAValue:
        """``len_seq`` clamped at 0: a negative length copies nothing (golden semantics)."""
        kb = self.kb
        lens = self.op.seq_lens
        if self.op.is_cumsum:
            here = self._scalar(lens, [seq], "cumsum")
            following = self._scalar(lens, [kb.add(seq, 1)], "next_cumsum")
            raw = kb.sub(following, here, "raw_len")
        else:
            raw = self._scalar(lens, [seq], "raw_len")
        return kb.maxs(raw, 0, "len")

    def _first_column(self, seq: SSAValue) -> SSAValue:
        """The table column of the sequence's first token; ``table_width`` (so every
        token reads as zero) when the offset is negative."""
        kb = self.kb
        if self.op.seq_offset is None:
            return kb.const(0)
        offset = self._scalar(self.op.seq_offset, [seq], "offset")
        negative = kb.slt(offset, 0, "negative_offset")
        return kb.select(negative, self.table_width, kb.divu(offset, self.block_size), "first_col")

    def _sequence_rows(
        self, seq: SSAValue, start: SSAValue, lo: SSAValue, hi: SSAValue, slots: Slots
    ) -> Slots:
        """Rows ``[lo, hi)`` of sequence ``seq`` (which starts at row ``start``)."""
        with self.kb.stage(
            "This sequence's rows [lo, hi), run by run: a run is its tokens in one cache block."
        ):
            return self._runs(seq, start, lo, hi, slots)

    def _runs(
        self, seq: SSAValue, start: SSAValue, lo: SSAValue, hi: SSAValue, slots: Slots
    ) -> Slots:
        kb = self.kb
        bs = self.block_size
        first_token = kb.sub(lo, start, "first_token")
        end_token = kb.sub(hi, start, "end_token")
        first_col = self._first_column(seq)
        first_block = kb.divu(first_token, bs, "first_block")
        end_block = kb.divu(kb.add(end_token, bs - 1), bs, "end_block")

        def run(block: SSAValue, carried: Slots) -> Slots:
            block_first = kb.mul(block, bs, "block_first")
            run_first = kb.maxu(block_first, first_token, "run_first")
            # run_first lies in [block_first, block_first + bs): remu is the position in
            # the block, and the run ends at the block's end or at the rows' end.
            block_pos = kb.remu(run_first, bs, "block_pos")
            room = kb.sub(bs, block_pos, "room")
            count = kb.minu(room, kb.sub(end_token, run_first), "count")
            col = kb.add(first_col, block, "col")
            blk = kb.if_(
                kb.ult(col, self.table_width, "in_table"),
                [_INDEX],
                lambda: [self._scalar(self.op.block_tables, [seq, col], "blk")],
                lambda: [self.num_blocks],
                ["blk"],
            )[0]
            tokens = Run(blk, block_pos, kb.add(start, run_first, "row"), count)

            def copy() -> Slots:
                return self.copier.copy_run(tokens, carried)

            def zero() -> Slots:
                self.copier.zero_run(tokens)
                return carried

            valid = kb.ult(blk, self.num_blocks, "valid_block")
            return kb.if_(valid, [_INDEX] * len(carried), copy, zero, ["slot"] * len(carried))

        return kb.for_(first_block, end_block, 1, slots, run, "block")
