"""The host wing: the aclnn-style API on numpy arrays (``api``, ``aclnn``), its checks and
errors, the ``Tensor`` wrapper, and the executors that run a validated call (the
lowered kernel's among them, in ``lowered``). Imports the interpreter and AscendC wings.
"""

import importlib
from types import ModuleType

_MODULES = ("aclnn", "api", "checks", "errors", "executors", "launch", "lowered", "tensor")


def __getattr__(name: str) -> ModuleType:
    """``runtime.host.aclnn`` and the other modules, loaded on first use (PEP 562).

    Without this, ``runtime.host.aclnn`` works only once something imported it.
    """
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
