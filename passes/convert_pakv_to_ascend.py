"""``convert-pakv-to-ascend``: lower ``pakv.gather`` to tiled DMA loops on one vector core.

The function holding the op becomes a device kernel: it gets ``ascend.kernel`` and
``ascend.soc``, its memref arguments move to ``#ascend.address_space<gm>``, and the op
is replaced by scf loops over ascend ops (``passes/gather_lowering.py`` shows the loop
nest). Runtime sizes come from ``ascend.get_tiling`` (``GatherTiling``) and GM scalar
reads only, so one kernel serves every batch, table width, block count and token count;
block size and head dimensions are static and baked in.

What is chosen, and why
-----------------------
* **Work unit = run.** A core walks the sequences overlapping its output rows and,
  inside each, the *runs*: consecutive tokens that share one cache block. A run needs
  one table read and one range check, then moves as few, as large DMAs as the UB
  allows. The core's rows come from ``ascend.core_rows``, which
  ``ascend-distribute-tokens`` turns into the balanced split over cores.
* **Norm.** A run is one contiguous byte range in the cache and in the output. It is
  cut into tiles of one UB slot each (``passes/tile_plan.py``: ``(UB - 4 KiB zero
  buffer) / slots``, 96256 bytes with two slots on a 192 KiB UB); each tile is one
  burst in and one burst out, padded like DataCopyPad when not 32-byte aligned. Tiles
  ignore token boundaries, so any token size (up to the 144 KiB limit) works.
* **PA_NZ.** A tile of ``k`` tokens is loaded group-major: ``H / ea`` bursts of
  ``k * 32`` bytes with a GM gap of ``(block_size - k) * 32`` (GM bursts ``k`` times
  longer than the vendor's 32-byte per-token copies; loads above 4095 bursts are
  split), transposed by 32-byte blocks into a token-major buffer (``ascend.
  transpose_blocks``), and stored as one contiguous burst of ``k * H`` elements. The
  token-major buffer is the second half of double buffering: once tile ``n`` is
  transposed out of the group-major buffer, tile ``n + 1`` loads (MTE2) while tile
  ``n`` is stored (MTE3). So with the default two slots the UB is cut in two halves, one
  group-major slot and one token-major slot (``passes/tile_plan.py`` says why not four
  quarters: more, smaller tiles cost the load-bound MTE2 pipe a burst set-up per row
  group each), and a run is cut into nearly equal tiles so that no short load waits
  behind a long store. A token larger than a slot is cut by row groups too. When a
  whole block fits even a third of the UB, a run is one tile and no loop is emitted,
  and the group-major buffer takes a second slot of that size.
* **Keys, then values.** The two streams are tiled separately (their token sizes and,
  in PA_NZ, dtypes differ) and share the buffers; every tile loads into the next slot
  of the load buffer (``slot = tile counter % slots``, carried through the loops when
  there are several), so the load of tile ``n + 1`` overlaps the store of tile ``n``
  once ``ascend-insert-sync`` adds flags.
* **Bad data stays memory-safe** (``runtime/golden.py`` documents the semantics): a
  negative length copies nothing, a negative offset zeroes its sequence, a column past
  the table or a block id outside ``[0, num_blocks)`` gives zero tokens (``fill_zero``
  + store, the cache is never read), and no row at or past ``num_tokens`` is written.
  Zero runs cost a fill and a store per chunk; the normal path costs per tile.
* **Cheap per tile.** Constants are hoisted, run-level values are computed before the
  tile loop, and arithmetic on known values folds while building: a Norm tile executes
  7 ops (plus 4 flag ops after ``ascend-insert-sync``), a PA_NZ tile 13 (plus 8).

Options (:class:`TilingOptions`, shared with the ``pakv-to-ascend`` pipeline): ``soc``
(SoC table row: UB capacity, supported dtypes), ``slots`` (tile slots in UB, 2 =
double buffering: Norm's tile buffer has them all, PA_NZ gives one to the token-major
buffer and the rest to the group-major one), ``tile_bytes`` (force the slot size, for
tests; 0 derives it from the UB).
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import MemRefType, ModuleOp, StringAttr, UnitAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import BlockArgument
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.ascend import GM, KERNEL_ATTR, SOC_ATTR, AddressSpace, memory_space_of
from pakv_dialect.pakv import GatherOp
from pakv_dialect.soc import DEFAULT_SOC, SocError, soc_info
from passes.diagnostics import fail_at
from passes.gather_lowering import GatherLowering
from passes.kernel_builder import KernelBuilder
from passes.tile_plan import TilePlan, TilePlanError, plan_tiles


def _kernel_function(op: GatherOp) -> FuncOp:
    """The function ``op`` turns into a kernel; it must hold nothing else."""
    func = op.parent_op()
    if not isinstance(func, FuncOp) or op.parent_block() is not func.body.block:
        fail_at(op, "pakv.gather must sit directly in the body of a func.func")
    for value in op.operands:
        if not isinstance(value, BlockArgument) or value.block is not func.body.block:
            fail_at(op, f"pakv.gather operands must be arguments of @{func.sym_name.data}")
    for other in func.body.block.ops:
        if other is not op and not (isinstance(other, ReturnOp) and not other.arguments):
            fail_at(
                other,
                f"@{func.sym_name.data} becomes a device kernel: it may hold only "
                f"pakv.gather and an empty func.return, found {other.name}",
            )
    return func


def _to_gm(func: FuncOp, rewriter: PatternRewriter) -> None:
    """Retype the memref arguments of ``func`` to ``#ascend.address_space<gm>``."""
    for arg in func.args:
        ty = arg.type
        if not isinstance(ty, MemRefType) or memory_space_of(ty) == AddressSpace.gm:
            continue
        memref: MemRefType = ty  # pyright: ignore[reportUnknownVariableType]
        gm_type = MemRefType(memref.element_type, memref.shape, memref.layout, GM)
        func.replace_argument_type(arg, gm_type, rewriter)


@dataclass
class LowerGatherPattern(RewritePattern):
    soc: str
    slots: int
    tile_bytes: int

    def _plan(self, op: GatherOp, ub_bytes: int) -> TilePlan:
        key_kind, value_kind = op.kv_kinds()
        key_h, value_h = op.token_elements()
        try:
            return plan_tiles(
                op.mode,
                block_size=op.block_size(),
                key_token_bytes=key_h * key_kind.size,
                value_token_bytes=value_h * value_kind.size,
                ub_bytes=ub_bytes,
                slots=self.slots,
                tile_bytes=self.tile_bytes,
            )
        except TilePlanError as e:
            fail_at(op, f"cannot tile pakv.gather for {self.soc}: {e}")

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GatherOp, rewriter: PatternRewriter) -> None:
        func = _kernel_function(op)
        if op.soc is not None and op.soc.data != self.soc:
            fail_at(
                op, f"pakv.gather requires SoC {op.soc.data}, but the lowering targets {self.soc}"
            )
        try:
            soc = soc_info(self.soc)
            op.verify_soc(self.soc)
        except (SocError, VerifyException) as e:
            fail_at(op, str(e))
        plan = self._plan(op, soc.ub_usable_bytes)

        _to_gm(func, rewriter)
        func.attributes[KERNEL_ATTR] = UnitAttr()
        func.attributes[SOC_ATTR] = StringAttr(self.soc)

        kernel = KernelBuilder(func.body.block, InsertPoint.before(op), op.location)
        GatherLowering(op, plan, kernel).emit()
        rewriter.erase(op)


@dataclass(frozen=True)
class TilingOptions(ModulePass, ABC):
    """How the lowering cuts the work: the options of ``convert-pakv-to-ascend`` and of
    the ``pakv-to-ascend`` pipeline, which passes them on."""

    soc: str = DEFAULT_SOC
    """The SoC table row: UB capacity, supported dtypes."""
    slots: int = 2
    """Tile slots in UB (PA_NZ: at least 2, one of them token-major): 2 overlaps the
    load of tile n + 1 with the store of tile n."""
    tile_bytes: int = 0
    """Force the slot size (a multiple of 32); 0 derives it from the SoC's UB."""


@dataclass(frozen=True)
class ConvertPakvToAscendPass(TilingOptions):
    """Lower every ``pakv.gather`` into a tiled DMA kernel for one vector core."""

    name = "convert-pakv-to-ascend"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pattern = LowerGatherPattern(self.soc, self.slots, self.tile_bytes)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
