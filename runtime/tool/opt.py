"""``pakv-opt``: xDSL's ``xdsl-opt`` with PAKV's universe, and every diagnostic on one line.

Stock ``xdsl-opt`` sees PAKV's dialects, passes and the ``ascendc`` target through the
``xdsl.universe`` entry points, but it shows a verifier or pass failure as a Python
traceback followed by the whole module. ``pakv-opt`` is the same driver
(:class:`~xdsl.xdsl_opt_main.xDSLOptMain`, same flags, same output) with two changes:

* every op it parses gets its ``file:line:col`` location (``LocatingParser``, also
  across ``--split-input-file`` chunks), and a UTF-8 byte-order mark is read as one;
* a failure a user's input causes (a parse error, a verifier or pass failure, a
  kernel the ``ascendc`` target cannot print, a file it cannot read) is one line on
  stderr, ``file:line:col: error: message``, and exit status 2. ``--verify-diagnostics``
  and ``--parsing-diagnostics`` behave exactly as in ``xdsl-opt``. Anything else is an
  internal error (exit 4; ``--debug`` shows its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from passes.diagnostics import PassFailedAt
from runtime.ascendc.errors import AscendCEmitError
from runtime.host.checks import verifier_message
from runtime.tool.sources import LocatingParser, failing_op, location_of

PROG = "pakv-opt"
EXIT_OK, EXIT_INPUT, EXIT_INTERNAL = 0, 2, 4


class InputFailure(Exception):
    """A failure of the user's input, as the one line to print."""


class PakvOptMain(xDSLOptMain):
    """``xDSLOptMain`` over PAKV's universe whose failures are located one-liners."""

    version_format = "pakv-opt built from xdsl version {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        self._module: ModuleOp | None = None
        super().__init__(description="PAKV's modular optimizer driver (xdsl-opt)", args=args)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--debug", action="store_true", help="show tracebacks of internal errors"
        )

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends["mlir"] = self._parse_mlir

    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        self._line_offset = start_offset
        self._module = super().parse_chunk(chunk, file_extension, start_offset)
        return self._module

    def _parse_mlir(self, io: IO[bytes]) -> ModuleOp:
        raw = io.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputFailure(
                f"{self.get_input_name()}: error: not UTF-8 text ({e.reason})"
            ) from None
        parser = LocatingParser(self.ctx, text, self.get_input_name())
        parser.line_offset = getattr(self, "_line_offset", 0)
        return parser.parse_module(not self.args.no_implicit_module)

    def prepare_input(self) -> tuple[list[tuple[IO[bytes], int]], str]:
        try:
            return super().prepare_input()
        except ValueError as e:  # an input file extension no frontend reads
            raise InputFailure(f"{PROG}: error: {e}") from None

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        try:
            return super().get_input_stream()
        except OSError as e:
            raise InputFailure(
                f"{PROG}: error: cannot read {self.args.input_file}: {e.strerror}"
            ) from None

    def diagnostic_line(self, error: DiagnosticException | ParseError) -> str:
        """The one line that says where and what, for a failure of the input."""
        if isinstance(error, ParseError):
            return f"{error.span.get_location()}: error: {error.msg}"
        op: Operation | None = None
        message = " ".join(str(error).split("\n\n")[0].split())
        if isinstance(error, PassFailedAt | AscendCEmitError):
            op = error.op
        elif isinstance(error, VerifyException) and self._module is not None:
            op = failing_op(self._module)
            message = " ".join(verifier_message(error).split("\n\n")[0].split())
        where = location_of(op) or self.get_input_name()
        return f"{where}: error: {message}"


def _fail(line: str, status: int) -> int:
    print(line, file=sys.stderr, flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pakv-opt``; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    driver: PakvOptMain | None = None
    try:
        try:
            driver = PakvOptMain(args=argv)
        except (ValueError, ArgSpecParseError) as e:  # -p or -t names no pass or target
            last = [line for line in str(e).splitlines() if line.strip()][-1:]
            detail = " ".join(last[0].split()) if last else type(e).__name__
            return _fail(f"{PROG}: error: {detail}", EXIT_INPUT)
        driver.run()
        return EXIT_OK
    except InputFailure as e:
        return _fail(str(e), EXIT_INPUT)
    except (DiagnosticException, ParseError) as e:
        if driver is None:
            return _fail(f"{PROG}: error: {' '.join(str(e).split())}", EXIT_INPUT)
        return _fail(driver.diagnostic_line(e), EXIT_INPUT)
    except BrokenPipeError:  # `pakv-opt ... | head`: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return _fail(f"{PROG}: interrupted", 130)
    except Exception as e:
        if debug:
            raise
        detail = " ".join(str(e).split()) or type(e).__name__
        return _fail(
            f"{PROG}: internal error: {type(e).__name__}: {detail} (--debug shows where)",
            EXIT_INTERNAL,
        )


if __name__ == "__main__":
    sys.exit(main())
