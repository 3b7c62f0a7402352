"""The ``xdsl.universe`` entry point: makes stock ``xdsl-opt``/``xdsl-run`` see PAKV.

Registered in pyproject.toml under ``[project.entry-points."xdsl.universe"]``. Every
entry imports lazily, as xDSL's own registries do, so listing costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.universe import Universe
from xdsl.utils.target import Target


def _pakv() -> Dialect:
    from pakv_dialect.pakv import PAKV

    return PAKV


def _ascend() -> Dialect:
    from pakv_dialect.ascend import ASCEND

    return ASCEND


DIALECTS: dict[str, Callable[[], Dialect]] = {"pakv": _pakv, "ascend": _ascend}


def _convert_pakv_to_ascend() -> type[ModulePass]:
    from passes.convert_pakv_to_ascend import ConvertPakvToAscendPass

    return ConvertPakvToAscendPass


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


def _ascendc() -> type[Target]:
    from runtime.ascendc_printer import AscendCTarget

    return AscendCTarget


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "convert-pakv-to-ascend": _convert_pakv_to_ascend,
    "ascend-distribute-tokens": _distribute_tokens,
    "ascend-plan-ub": _plan_ub,
    "ascend-insert-sync": _insert_sync,
    "pakv-to-ascend": _pakv_to_ascend,
}
TARGETS: dict[str, Callable[[], type[Target]]] = {"ascendc": _ascendc}

PAKV_UNIVERSE = Universe(all_dialects=DIALECTS, all_passes=PASSES, all_targets=TARGETS)
