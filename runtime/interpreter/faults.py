"""What a lowered kernel can do wrong on the machine, and where it did it.

Every rule of the vector core that :class:`~runtime.interpreter.machine.AscendMachine`
checks has its own :class:`MachineFault` subclass, so a test (or the ``pakv`` command)
can tell the faults apart, and every report names the op (:class:`OpSite`) and, when
one core is to blame, the core. A misuse of a machine method never surfaces as a bare
Python error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpSite:
    """Where an op is: its name, its kernel, its pre-order position there, its text.

    ``ordinal`` is the op's index in a pre-order walk of the kernel function: stable
    for a given program, and the key the trace uses to refer to ops.
    """

    name: str
    kernel: str
    ordinal: int
    text: str

    def __str__(self) -> str:
        return f"{self.name} (op #{self.ordinal} in @{self.kernel}: `{self.text}`)"


class MachineFault(Exception):
    """A lowered program broke a rule of the vector core; the report names the op."""

    def __init__(self, site: OpSite, message: str, core: int | None = None):
        where = "" if core is None else f"core {core}: "
        super().__init__(f"{where}{site}: {message}")
        self.site = site
        self.core = core
        self.detail = message


class UbOverflowError(MachineFault):
    """A UB buffer, or an access through one, lies outside the UB or its slot."""


class UbMisalignedError(MachineFault):
    """A UB address or gap that is not a multiple of 32 bytes."""


class UbOverlapError(MachineFault):
    """Two UB buffers of one core share bytes, or a conversion's operands overlap."""


class UnplannedBufferError(MachineFault):
    """``ub_alloc`` without the offset the UB planning pass assigns."""


class GmOutOfBoundsError(MachineFault):
    """A GM read or write outside its tensor."""


class IndexCountError(MachineFault):
    """A scalar read with a number of indices other than its tensor's rank
    (``load_scalar``), or a run read from a tensor that is not 1-d (``run_length``)."""


class BurstCountError(MachineFault):
    """A DMA with a burst count outside [1, 4095] (or a bad burst length or gap)."""


class DmaFieldError(MachineFault):
    """A DMA value that does not fit the AscendC field its form puts it in (its width
    or its unit, ``pakv_dialect.dma.DMA_FORMS``): the hardware would see another value."""


class UnknownVariantError(MachineFault):
    """An op property naming a variant the machine does not have: a DMA form, an
    element kind, a vector op's arithmetic (the verifier rejects these in IR; a direct
    call of a machine method can still pass one)."""


class UnsyncedAccessError(MachineFault):
    """A UB slot read before its producer was synchronised, or overwritten too early."""


class FlagDeadlockError(MachineFault):
    """``wait_flag`` with no earlier matching ``set_flag``: the pipe would wait forever."""


class FlagLeakError(MachineFault):
    """A ``set_flag`` never consumed by a ``wait_flag`` by the end of the core."""


class WriteConflictError(MachineFault):
    """Two cores wrote the same output bytes."""


class BadTilingFieldError(MachineFault):
    """``get_tiling`` of a field the host does not provide."""
