"""What a command tells its user while it works: a line per step, live on a terminal.

:class:`Phases` (``runtime.tool.program``) times a command's steps and tells a
reporter when each starts and ends. Off a terminal, ``--progress`` prints one line at
each end (:class:`LineReporter`); on a terminal, :class:`TerminalReporter` redraws the
running step's line in place with its elapsed time, so a step that runs for minutes
(a big ``--num-tokens``, a large trace) shows it is alive. Nothing is drawn on output
that is not a terminal unless asked: tests and pipes capture plain text.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO


class StepReporter(Protocol):
    """Where a command's progress goes."""

    def started(self, doing: str) -> None: ...

    def finished(self, doing: str, seconds: float, failed: bool) -> None: ...

    def note(self, line: str) -> None:
        """A line that must be seen whatever runs (a warning)."""
        ...


class LineReporter:
    """Plain lines: ``pakv: lowering ... ...`` when a step starts, its time when it ends."""

    def __init__(self, stream: TextIO, prog: str):
        self.stream = stream
        self.prog = prog

    def started(self, doing: str) -> None:
        self.note(f"{doing} ...")

    def finished(self, doing: str, seconds: float, failed: bool) -> None:
        if not failed:
            self.note(f"{doing}: {seconds:.2f} s")

    def note(self, line: str) -> None:
        print(f"{self.prog}: {line}", file=self.stream, flush=True)


class TerminalReporter:
    """One live line per step on a terminal: redrawn every ``interval`` seconds with the
    elapsed time while the step runs, left as ``doing: 1.23 s`` when it ends."""

    def __init__(self, stream: TextIO, prog: str, interval: float = 0.25):
        self.stream = stream
        self.prog = prog
        self.interval = interval
        self._lock = threading.Lock()
        self._doing: str | None = None
        self._start = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def started(self, doing: str) -> None:
        with self._lock:
            self._doing, self._start = doing, time.perf_counter()
            self._draw()
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def finished(self, doing: str, seconds: float, failed: bool) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self._doing = None
            end = "" if failed else f"{self.prog}: {doing}: {seconds:.2f} s\n"
            self.stream.write(f"\r\x1b[K{end}")
            self.stream.flush()

    def note(self, line: str) -> None:
        with self._lock:
            self.stream.write(f"\r\x1b[K{self.prog}: {line}\n")
            if self._doing is not None:
                self._draw()
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._doing is not None:
                    self._draw()

    def _draw(self) -> None:
        elapsed = time.perf_counter() - self._start
        self.stream.write(f"\r\x1b[K{self.prog}: {self._doing} ... {elapsed:.1f} s")
        self.stream.flush()


def reporter_for(stream: TextIO, prog: str, *, progress: bool, quiet: bool) -> StepReporter | None:
    """Live progress on a terminal (unless ``quiet``), plain lines when ``progress`` is
    asked for elsewhere, else nothing."""
    if stream.isatty() and not quiet:
        return TerminalReporter(stream, prog)
    return LineReporter(stream, prog) if progress else None
