"""The one way the ``ascendc`` target refuses a program it cannot print."""

from __future__ import annotations

from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException


class AscendCEmitError(DiagnosticException):
    """The lowered program holds something the AscendC target cannot print; ``op`` (when
    known) is where: its location is the source line the lowering copied onto it."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(message)
        self.op = op


def emit_error(op: Operation, message: str) -> AscendCEmitError:
    """A refusal located at ``op``, its message starting with the op's name."""
    return AscendCEmitError(f"{op.name}: {message}", op)
