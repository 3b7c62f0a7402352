"""The ``ascendc`` target in the ``xdsl.universe`` (``xdsl-opt ... -t ascendc``).

Importing this module loads nothing of the runtime beyond this wing's package: the
printer itself is imported when xdsl-opt asks for the target.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.universe import Universe
from xdsl.utils.target import Target


def _ascendc() -> type[Target]:
    from runtime.ascendc.printer import AscendCTarget

    return AscendCTarget


TARGETS: dict[str, Callable[[], type[Target]]] = {"ascendc": _ascendc}

ASCENDC_UNIVERSE = Universe(all_targets=TARGETS)
