"""PAKV's passes in the ``xdsl.universe`` (``xdsl-opt -p pakv-to-ascend{...}``).

The dialects register in ``pakv_dialect.universe``, the target in
``runtime.ascendc.universe``. Every entry imports lazily. The host runtime looks its
pipeline up here by name, as ``xdsl-opt -p`` would.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass
from xdsl.universe import Universe


def _convert_pakv_to_ascend() -> type[ModulePass]:
    from passes.convert_pakv_to_ascend import ConvertPakvToAscendPass

    return ConvertPakvToAscendPass


def _fuse_consumers() -> type[ModulePass]:
    from passes.fuse_consumers import FuseConsumersPass

    return FuseConsumersPass


def _outline_kernels() -> type[ModulePass]:
    from passes.outline_kernels import OutlineKernelsPass

    return OutlineKernelsPass


def _tile_runs() -> type[ModulePass]:
    from passes.tile_runs import TileRunsPass

    return TileRunsPass


def _distribute_tokens() -> type[ModulePass]:
    from passes.distribute_tokens import DistributeTokensPass

    return DistributeTokensPass


def _plan_ub() -> type[ModulePass]:
    from passes.plan_ub import PlanUbPass

    return PlanUbPass


def _insert_sync() -> type[ModulePass]:
    from passes.insert_sync import InsertSyncPass

    return InsertSyncPass


def _pakv_to_ascend() -> type[ModulePass]:
    from passes.pipeline import PakvToAscendPipeline

    return PakvToAscendPipeline


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "pakv-fuse-consumers": _fuse_consumers,
    "pakv-outline-kernels": _outline_kernels,
    "convert-pakv-to-ascend": _convert_pakv_to_ascend,
    "ascend-tile-runs": _tile_runs,
    "ascend-distribute-tokens": _distribute_tokens,
    "ascend-plan-ub": _plan_ub,
    "ascend-insert-sync": _insert_sync,
    "pakv-to-ascend": _pakv_to_ascend,
}

PASSES_UNIVERSE = Universe(all_passes=PASSES)
