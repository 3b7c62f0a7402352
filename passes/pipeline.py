"""``pakv-to-ascend``: the whole lowering, from ``pakv.gather`` to a synchronised kernel.

``xdsl-opt file.mlir -p 'pakv-to-ascend{soc=Ascend910B}'`` runs, in order:

0. ``pakv-fuse-consumers`` - folds each elementwise consumer of a gather into the
   gather's tiles (with ``fuse=false`` it only raises them to ``pakv.map``, so the
   unfused program lowers as it is), then ``pakv-outline-kernels`` - a program that
   still holds several ``pakv`` ops becomes host code calling one kernel per op;
1. ``convert-pakv-to-ascend{soc split}`` - the walk over this core's runs (checks the SoC
   support table), one ``ascend.copy_run``/``ascend.zero_run`` per run and stream
   (a consumer's kernel: one ``ascend.map_run`` of this core's tokens);
2. ``ascend-tile-runs{soc strategy slots tile-bytes split nz sync cores row-align}`` - the
   UB buffers and the tile loops of every run, per cache layout and PA_NZ method;
3. ``canonicalize`` - stock xDSL: folds the ``x * 1``, ``x + 0`` and constant
   arithmetic the tile loops are built with. The constants it makes in place are the
   results of folds whose users fold too, so they die with them: the kernel's
   constants stay at its top, one per value, where ``KernelBuilder`` put them
   (``tests/test_passes.py`` holds the pipeline to that);
4. ``ascend-distribute-tokens{split}`` - each core's share (balanced tokens, every token
   for dealt tiles, or whole sequences);
5. ``ascend-plan-ub{soc}`` - buffer offsets inside the SoC's UB, or a located rejection;
6. ``ascend-insert-sync`` - the set_flag/wait_flag pairs of double buffering (or a
   pipe barrier after every UB access, for ``sync=barrier``).

``strategy`` presets every plan option (``passes/strategy.py``): ``pakv``, or the vendor's
kernels ``a2`` and ``ascend950``; an option given explicitly goes over the preset.

The result is what the interpreter runs and the AscendC target prints.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.transforms.canonicalize import CanonicalizePass

from pakv_dialect.pakv import GatherOp
from passes.convert_pakv_to_ascend import ConvertPakvToAscendPass
from passes.diagnostics import fail_at
from passes.distribute_tokens import DistributeTokensPass
from passes.fuse_consumers import FuseConsumersPass
from passes.insert_sync import InsertSyncPass
from passes.outline_kernels import OutlineKernelsPass
from passes.plan_ub import PlanUbPass
from passes.strategy import PlanOptionError, resolve_split
from passes.tile_runs import TileRunsPass, TilingOptions


@dataclass(frozen=True)
class PakvToAscendPipeline(TilingOptions):
    """Lower ``pakv.gather`` (and its consumers) to distributed, UB-planned, synchronised
    Ascend kernels."""

    name = "pakv-to-ascend"

    fuse: bool = True
    """Fold elementwise consumers into the gather's tiles; false lowers the unfused
    program (the gather kernel, then one kernel per consumer)."""

    def passes(self) -> tuple[ModulePass, ...]:
        """The passes in order, each with its share of the options (PlanOptionError:
        an option names nothing)."""
        split = resolve_split(self.plan_options()).value
        tiling = {field.name: getattr(self, field.name) for field in fields(TilingOptions)}
        return (
            FuseConsumersPass(fold=self.fuse),
            OutlineKernelsPass(),
            ConvertPakvToAscendPass(soc=self.soc, split=split),
            TileRunsPass(**tiling),
            CanonicalizePass(),
            DistributeTokensPass(split=split),
            PlanUbPass(soc=self.soc),
            InsertSyncPass(),
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if ctx.get_optional_dialect(Arith.name) is None:
            ctx = ctx.clone()  # canonicalize materialises folded constants with arith
            ctx.load_dialect(Arith)
        try:
            passes = self.passes()
        except PlanOptionError as e:
            gathers = [inner for inner in op.walk() if isinstance(inner, GatherOp)]
            fail_at(gathers[0] if gathers else op, f"{self.name}: {e}")
        PassPipeline(passes).apply(ctx, op)
