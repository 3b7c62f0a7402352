"""PAKV's dialects in the ``xdsl.universe``: what makes stock ``xdsl-opt`` parse them.

Each layer registers what it defines, so no layer imports one above it: this module
the dialects, ``passes.universe`` the passes and pipeline, ``runtime.ascendc.universe``
the ``ascendc`` target. pyproject.toml lists the three under
``[project.entry-points."xdsl.universe"]``; xDSL merges them. Every entry imports
lazily, as xDSL's own registries do, so listing costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.universe import Universe


def _pakv() -> Dialect:
    from pakv_dialect.pakv import PAKV

    return PAKV


def _ascend() -> Dialect:
    from pakv_dialect.ascend import ASCEND

    return ASCEND


DIALECTS: dict[str, Callable[[], Dialect]] = {"pakv": _pakv, "ascend": _ascend}

PAKV_UNIVERSE = Universe(all_dialects=DIALECTS)
