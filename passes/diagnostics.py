"""Located pass failures: the one way PAKV's passes reject IR.

A failure is raised the way xDSL's own passes and interpreter do it, with
``op.emit_error``: the exception's notes hold the whole module with the message under
the failing op, which ``xdsl-opt --verify-diagnostics`` prints instead of a traceback
(without that flag xdsl-opt re-raises every ``DiagnosticException``, verifier errors
included). The exception is a ``PassFailedException`` (a ``DiagnosticException``), so
callers catch it like a verifier error, and it keeps the failing op in ``op``: a tool
reports ``op.location``, which the lowering copies from the ``pakv.gather`` it
replaces onto every op it creates (``KernelBuilder``), so even a buffer the lowering
made points at the source line that asked for it.
"""

from __future__ import annotations

from typing import NoReturn

from xdsl.ir import Operation
from xdsl.utils.exceptions import PassFailedException


class PassFailedAt(PassFailedException):
    """A pass rejected ``op``; ``str()`` is the message alone, ``op.location`` says where."""

    def __init__(self, op: Operation, message: str):
        super().__init__(message)
        self.op = op
        self.message = message


def fail_at(op: Operation, message: str) -> NoReturn:
    """Raise :class:`PassFailedAt` with ``message`` attached to ``op`` in the IR dump."""
    op.emit_error(message, PassFailedAt(op, message))
