"""Located pass failures: the one way PAKV's passes reject IR.

xDSL prints a ``Diagnostic`` as the whole module with the message under the op it
concerns; ``xdsl-opt --verify-diagnostics`` prints that instead of a traceback, and the
API catches ``PassFailedException`` (a ``DiagnosticException``) like a verifier error.
"""

from __future__ import annotations

from typing import NoReturn

from xdsl.ir import Operation
from xdsl.utils.diagnostic import Diagnostic
from xdsl.utils.exceptions import PassFailedException


def fail_at(op: Operation, message: str) -> NoReturn:
    """Raise ``PassFailedException(message)`` with ``message`` attached to ``op``."""
    diagnostic = Diagnostic()
    diagnostic.add_message(op, message)
    diagnostic.raise_exception(op, PassFailedException(message))
