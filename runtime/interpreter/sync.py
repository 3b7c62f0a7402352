"""The synchronisation model of a vector core: what the machine's sync detectors check.

Each pipe (S, V, MTE2, MTE3) has a *knowledge* vector: for every other pipe, the count
up to which that pipe's UB accesses are known to be complete, and at its own position
its *issue counter*, incremented by every UB access it makes (a transpose makes two: it
reads its source, then writes its target). ``set_flag[P, Q, e]`` pushes a snapshot of
P's knowledge onto the FIFO of (P, Q, e); ``wait_flag[P, Q, e]`` pops the oldest
snapshot and raises Q's knowledge to it (element-wise max, so knowledge is transitive,
like vector clocks). Each UB (buffer, slot) remembers its last writer (pipe, count,
site) and, per pipe, its last read count (:class:`SlotSync`). An op on pipe Q that
reads the slot needs Q's knowledge of the writer's pipe >= the write's count (else: a
tile read before its load was synchronised); an op that writes the slot needs the same
for the last writer and for every other pipe's last read (else: overwriting a slot that
another pipe may still read). Ops on one pipe run in order and never conflict with each
other. A wait with no earlier set is a deadlock; a flag still set when the core ends
is reported too. All of it is O(1) per op, and the checks are inline comparisons (a
report is built only when one fails). GM hazards are not modelled: a gather kernel
never reads what it writes.
"""

from __future__ import annotations

from collections import defaultdict, deque

from pakv_dialect.ascend import Pipe
from runtime.interpreter.faults import (
    FlagDeadlockError,
    FlagLeakError,
    OpSite,
    UnsyncedAccessError,
)
from runtime.interpreter.trace import (
    NUM_PIPES,
    PIPE_BARRIER,
    PIPES,
    SET_FLAG,
    WAIT_FLAG,
    MachineTrace,
    Row,
    S,
    TraceRow,
    trace_row,
)

assert PIPES == (Pipe.S, Pipe.V, Pipe.MTE2, Pipe.MTE3), "wait_flag writes out these four"

FlagKey = tuple[int, int, int]
"""(set pipe, wait pipe, event)."""

_OTHER_PIPES: tuple[tuple[int, ...], ...] = tuple(
    tuple(other for other in range(NUM_PIPES) if other != pipe) for pipe in range(NUM_PIPES)
)
"""For each pipe, every other pipe (whose reads a write on the pipe must wait for)."""

_PIPE, _EVENT, _PEER = (TraceRow._fields.index(name) for name in ("pipe", "event", "peer"))


def slot_label(buffer: str, slot: int) -> str:
    """A UB slot in reports: ``UB buffer 'tile' slot 1``."""
    return f"UB buffer '{buffer}' slot {slot}"


class SlotSync:
    """The synchronisation facts of one UB slot: its last writer and each pipe's last read."""

    __slots__ = ("buffer", "index", "reads", "writer_count", "writer_pipe", "writer_site")

    def __init__(self, buffer: str, index: int):
        self.buffer = buffer
        """The purpose of the UB buffer the slot belongs to."""
        self.index = index
        self.writer_pipe = -1
        """The pipe of the last write, -1 before any."""
        self.writer_count = 0
        """The writer pipe's issue counter at that write."""
        self.writer_site: OpSite | None = None
        self.reads = [0] * NUM_PIPES
        """Per pipe, its issue counter at its last read since the last write (0: none)."""

    @property
    def label(self) -> str:
        return slot_label(self.buffer, self.index)


class PipeSync:
    """One core's pipes: their knowledge vectors and the FIFOs of flags set, not yet
    waited for.

    :meth:`set_flag` and :meth:`wait_flag` are the flag ops' machine methods (they
    record their own trace rows); the machine calls :meth:`read` and :meth:`write` for
    every UB access of its ops.
    """

    def __init__(self, core: int, trace: MachineTrace):
        self.core = core
        self._rows = trace.rows
        self._sites = trace.sites
        self.known = [[0] * NUM_PIPES for _ in range(NUM_PIPES)]
        """``known[p][q]``: how many of pipe q's UB accesses pipe p knows complete
        (q == p: how many it issued)."""
        self.flags: defaultdict[FlagKey, deque[tuple[list[int], OpSite]]] = defaultdict(deque)
        self._set_rows: dict[int, Row] = {}
        """The last trace row of each ``set_flag`` this core ran, by its ordinal."""
        self._wait_rows: dict[int, Row] = {}
        """The same for ``wait_flag``."""

    def read(self, site: OpSite, pipe: int, slot: SlotSync) -> None:
        """``pipe`` reads ``slot``: its last writer must be known complete."""
        known = self.known[pipe]
        known[pipe] += 1
        writer = slot.writer_pipe
        if writer >= 0 and writer != pipe and known[writer] < slot.writer_count:
            raise UnsyncedAccessError(
                site,
                f"{PIPES[pipe]} reads {slot.label} before its producer "
                f"{slot.writer_site} on {PIPES[writer]} was synchronised: missing "
                f"set_flag/wait_flag[{PIPES[writer]}, {PIPES[pipe]}, ...] between them",
                self.core,
            )
        slot.reads[pipe] = known[pipe]

    def write(self, site: OpSite, pipe: int, slot: SlotSync) -> None:
        """``pipe`` writes ``slot``: its last writer and every other pipe's last read
        must be known complete."""
        known = self.known[pipe]
        known[pipe] += 1
        writer = slot.writer_pipe
        if writer >= 0 and writer != pipe and known[writer] < slot.writer_count:
            raise UnsyncedAccessError(
                site,
                f"{PIPES[pipe]} overwrites {slot.label} while {slot.writer_site} "
                f"on {PIPES[writer]} may still be writing it: missing "
                f"wait_flag[{PIPES[writer]}, {PIPES[pipe]}, ...]",
                self.core,
            )
        reads = slot.reads
        for other in _OTHER_PIPES[pipe]:
            if known[other] < reads[other]:
                raise UnsyncedAccessError(
                    site,
                    f"{PIPES[pipe]} overwrites {slot.label} that {PIPES[other]} may "
                    f"still be reading: missing wait_flag[{PIPES[other]}, {PIPES[pipe]}, ...] "
                    "since that read",
                    self.core,
                )
        slot.reads = [0] * NUM_PIPES
        slot.writer_pipe = pipe
        slot.writer_count = known[pipe]
        slot.writer_site = site

    def pipe_barrier(self, site: OpSite) -> None:
        """``ascend.pipe_barrier`` (``PipeBarrier<PIPE_ALL>``): every pipe learns that
        every UB access issued so far, on any pipe, has finished (the element-wise max of
        all knowledge vectors). The scalar unit issues it: its row is on S."""
        self._sites[site.ordinal] = site
        everything = [max(column) for column in zip(*self.known, strict=True)]
        for pipe in range(NUM_PIPES):
            self.known[pipe] = everything.copy()
        self._rows.append(trace_row(self.core, PIPE_BARRIER, S, site.ordinal))

    def set_flag(self, site: OpSite, set_pipe: int, wait_pipe: int, event: int) -> None:
        """``ascend.set_flag``: queue a snapshot of what ``set_pipe`` knows for the
        matching wait."""
        self.flags[set_pipe, wait_pipe, event].append((self.known[set_pipe].copy(), site))
        row = self._set_rows.get(site.ordinal)
        if row is None or row[_EVENT] != event or row[_PIPE] != set_pipe or row[_PEER] != wait_pipe:
            row = self._set_rows[site.ordinal] = self._flag_row(
                site, SET_FLAG, set_pipe, wait_pipe, event
            )
        self._rows.append(row)

    def wait_flag(self, site: OpSite, set_pipe: int, wait_pipe: int, event: int) -> None:
        """``ascend.wait_flag``: ``wait_pipe`` learns what ``set_pipe`` knew at the oldest
        matching set."""
        queue = self.flags.get((set_pipe, wait_pipe, event))
        if not queue:
            self._sites[site.ordinal] = site
            raise FlagDeadlockError(
                site,
                f"wait_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] has no earlier "
                f"set_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] to consume: "
                f"{PIPES[wait_pipe]} would wait forever",
                self.core,
            )
        snapshot, _ = queue.popleft()
        known = self.known[wait_pipe]
        # The element-wise max, written out for the four pipes: a loop over them costs
        # as much as the rest of the wait.
        s, v, mte2, mte3 = snapshot
        if s > known[0]:
            known[0] = s
        if v > known[1]:
            known[1] = v
        if mte2 > known[2]:
            known[2] = mte2
        if mte3 > known[3]:
            known[3] = mte3
        row = self._wait_rows.get(site.ordinal)
        if row is None or row[_EVENT] != event or row[_PIPE] != wait_pipe or row[_PEER] != set_pipe:
            row = self._wait_rows[site.ordinal] = self._flag_row(
                site, WAIT_FLAG, wait_pipe, set_pipe, event
            )
        self._rows.append(row)

    def _flag_row(self, site: OpSite, kind: int, pipe: int, peer: int, event: int) -> Row:
        """The trace row of a flag op (``kind`` SET_FLAG or WAIT_FLAG on ``pipe``, with
        ``peer`` the other pipe). :meth:`set_flag` and :meth:`wait_flag` keep it for the
        op's next runs on this core: its row is the same as long as its pipes and event
        are (in a lowered kernel: always), and a launch runs flag ops by the ten
        thousand."""
        self._sites[site.ordinal] = site
        return trace_row(self.core, kind, pipe, site.ordinal, event=event, peer=peer)

    def check_all_waited(self) -> None:
        """At the end of the core: every flag set was waited for."""
        left = [(key, entry) for key, queue in self.flags.items() for entry in queue]
        if left:
            (set_pipe, wait_pipe, event), (_, site) = left[0]
            raise FlagLeakError(
                site,
                f"{len(left)} flag(s) still set when the core ended, first "
                f"set_flag[{PIPES[set_pipe]}, {PIPES[wait_pipe]}, {event}] here: every "
                "set_flag needs a matching wait_flag",
                self.core,
            )
