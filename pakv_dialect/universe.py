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
PASSES: dict[str, Callable[[], type[ModulePass]]] = {}
TARGETS: dict[str, Callable[[], type[Target]]] = {}

PAKV_UNIVERSE = Universe(all_dialects=DIALECTS, all_passes=PASSES, all_targets=TARGETS)
