"""``pakv-to-ascend``: the whole lowering, from ``pakv.gather`` to a synchronised kernel.

``xdsl-opt file.mlir -p 'pakv-to-ascend{soc=Ascend910B}'`` runs, in order:

1. ``convert-pakv-to-ascend`` - tile loops for one core (checks the SoC support table);
2. ``ascend-distribute-tokens`` - each core's balanced share of output rows;
3. ``ascend-plan-ub`` - buffer offsets inside the SoC's UB, or a located rejection;
4. ``ascend-insert-sync`` - the set_flag/wait_flag pairs of double buffering.

The result is what the interpreter runs and the AscendC target prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from passes.convert_pakv_to_ascend import ConvertPakvToAscendPass, TilingOptions
from passes.distribute_tokens import DistributeTokensPass
from passes.insert_sync import InsertSyncPass
from passes.plan_ub import PlanUbPass


@dataclass(frozen=True)
class PakvToAscendPipeline(TilingOptions):
    """Lower ``pakv.gather`` to a distributed, UB-planned, synchronised Ascend kernel."""

    name = "pakv-to-ascend"

    def passes(self) -> tuple[ModulePass, ...]:
        return (
            ConvertPakvToAscendPass(soc=self.soc, slots=self.slots, tile_bytes=self.tile_bytes),
            DistributeTokensPass(),
            PlanUbPass(soc=self.soc),
            InsertSyncPass(),
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PassPipeline(self.passes()).apply(ctx, op)
