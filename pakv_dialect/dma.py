"""The DMA forms: which AscendC parameter fields a DMA's values become, and their limits.

An ``ascend.load``/``ascend.store`` carries its values in bytes (``n_burst`` bursts of
``burst_len`` bytes, ``gm_gap`` and ``ub_gap`` bytes apart), but the hardware takes them
in the fields of one of two instruction forms, each field with its own width and unit:

``blocks`` (``DataCopy`` with ``DataCopyParams``; also ``DataCopy(dst, src, count)``,
which sets ``blockLen = count / elements per block``)
    every length and gap a whole number of 32-byte blocks, each a ``uint16_t`` count of
    blocks: a burst of at most 65535 blocks, gaps of at most 65535 blocks (2 MiB - 32).
``bytes`` (``DataCopyPad`` with ``DataCopyExtParams``; not on every SoC:
``SocInfo.has_data_copy_pad``)
    a ``uint32_t`` burst length in bytes, of which the intrinsic takes 21 bits; a
    ``uint32_t`` GM-side gap in bytes and a ``uint32_t`` UB-side gap in 32-byte blocks.

Both carry at most 4095 bursts (``blockCount``, 12 bits of a ``uint16_t``). Sources:
asc-devkit ``include/basic_api/kernel_struct_data_copy.h`` (the structs' field types),
``impl/basic_api/dav_c220/kernel_operator_data_copy_impl.h`` (``CheckDataCopyParams``:
``blockCount`` in [1, 4095]; ``CheckDataCopyPadParams``: ``blockCount`` at most 4095,
``blockLen`` at most 2097151, "21 bits in total"), ``kernel_operator_data_copy_intf_impl.h``
(``DataCopy`` by count: ``blockLen = count / GetC0Count``). On Ascend 950 (arch 3510)
``DataCopyExtParams``' strides are ``int64_t``; the table keeps the ``uint32_t`` that
every other SoC has, which every gap PAKV emits fits.

Every ``ascend.load``/``ascend.store`` says its form (``#ascend<dma_form blocks>``,
``as blocks`` in the custom syntax), chosen by the lowering (:func:`pick_form`): the
verifier rejects a constant that does not fit its field, the interpreter's machine
faults on a run-time value that does not, and the AscendC target prints the form the op
names (and still proves each value fits). :data:`DMA_FORMS` is the one table they read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import SpacedOpaqueSyntaxAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.utils.str_enum import StrEnum

BLOCK_BYTES = 32
"""One UB block: the unit of the ``blocks`` form's fields and of every UB-side gap."""

MAX_BURSTS = 4095
"""The most bursts (``blockCount``) one copy instruction can carry, in either form."""


class DmaForm(StrEnum):
    """The instruction form of one DMA op (module docstring)."""

    blocks = "blocks"
    bytes = "bytes"


@irdl_attr_definition
class DmaFormAttr(EnumAttribute[DmaForm], SpacedOpaqueSyntaxAttribute):
    """``#ascend<dma_form blocks>`` / ``#ascend<dma_form bytes>``; the DMA ops print it
    bare after ``as``."""

    name = "ascend.dma_form"


DMA_VALUES: tuple[str, ...] = ("n_burst", "burst_len", "gm_gap", "ub_gap")
"""The operands of a DMA op that end in a parameter field, by operand name."""

_WORDS = {
    "n_burst": "burst count",
    "burst_len": "burst length",
    "gm_gap": "GM gap",
    "ub_gap": "UB gap",
}


def value_words(value: str) -> str:
    """``gm_gap`` -> ``GM gap``: how messages name a DMA value."""
    return _WORDS[value]


@dataclass(frozen=True)
class DmaField:
    """One AscendC parameter field as the hardware sees it: its width and its unit.

    ``name`` may hold ``{gm}`` / ``{ub}``: the ``src`` or ``dst`` side of the copy
    (:meth:`field_name`).
    """

    name: str
    bits: int
    unit: int
    """Bytes per count: 32 for a field counted in blocks, 1 for bytes (and bursts)."""
    noun: str
    """What one count is: ``bytes``, ``32-byte blocks`` or ``bursts``."""
    minimum: int = 0
    """The fewest counts the field takes."""
    limit: int | None = None
    """A tighter bound than the width, in counts (``blockCount``'s 4095, the 21 bits of
    ``DataCopyPad``'s burst length)."""

    @property
    def max_counts(self) -> int:
        return (1 << self.bits) - 1 if self.limit is None else self.limit

    @property
    def max_value(self) -> int:
        """The largest value (in the op's terms: bytes, or bursts) the field holds."""
        return self.max_counts * self.unit

    def holds(self, value: int) -> bool:
        """Whether the op's ``value`` goes into this field unconverted and exactly."""
        return value % self.unit == 0 and self.minimum <= value // self.unit <= self.max_counts

    def field_name(self, to_ub: bool) -> str:
        gm, ub = ("src", "dst") if to_ub else ("dst", "src")
        return self.name.format(gm=gm, ub=ub)

    def describe(self, to_ub: bool) -> str:
        """``DataCopyParams.srcStride (uint16 in 32-byte blocks: ...)``."""
        low, high = self.minimum * self.unit, self.max_value
        if self.unit == 1:
            span = f"{low} to {high} {self.noun}"
        else:
            span = f"a multiple of {self.unit} from {low} to {high} bytes"
        return f"{self.field_name(to_ub)} (uint{self.bits} in {self.noun}: {span})"


@dataclass(frozen=True)
class DmaFormSpec:
    """One form: the AscendC call it is and the field each DMA value becomes."""

    form: DmaForm
    api: str
    fields: Mapping[str, DmaField]
    """By DMA value (:data:`DMA_VALUES`)."""

    def misfit(self, values: Mapping[str, int], to_ub: bool) -> str | None:
        """Why this form cannot carry ``values`` (DMA value -> its integer), or None."""
        for value, number in values.items():
            field = self.fields[value]
            if not field.holds(number):
                return (
                    f"{value_words(value)} {number} does not fit {field.describe(to_ub)} "
                    f"of the {self.form} form ({self.api})"
                )
        return None

    @cached_property
    def limits(self) -> tuple[int, int, int, int, int]:
        """``(burst length max, its unit, GM gap max, its unit, UB gap max)`` in bytes: the
        machine model's per-DMA check, as plain comparisons."""
        length, gm_gap, ub_gap = (self.fields[v] for v in ("burst_len", "gm_gap", "ub_gap"))
        return length.max_value, length.unit, gm_gap.max_value, gm_gap.unit, ub_gap.max_value


def _count(struct: str) -> DmaField:
    return DmaField(f"{struct}.blockCount", 16, 1, "bursts", minimum=1, limit=MAX_BURSTS)


DMA_FORMS: dict[DmaForm, DmaFormSpec] = {
    DmaForm.blocks: DmaFormSpec(
        DmaForm.blocks,
        "DataCopy with DataCopyParams",
        {
            "n_burst": _count("DataCopyParams"),
            "burst_len": DmaField(
                "DataCopyParams.blockLen", 16, BLOCK_BYTES, "32-byte blocks", minimum=1
            ),
            "gm_gap": DmaField("DataCopyParams.{gm}Stride", 16, BLOCK_BYTES, "32-byte blocks"),
            "ub_gap": DmaField("DataCopyParams.{ub}Stride", 16, BLOCK_BYTES, "32-byte blocks"),
        },
    ),
    DmaForm.bytes: DmaFormSpec(
        DmaForm.bytes,
        "DataCopyPad with DataCopyExtParams",
        {
            "n_burst": _count("DataCopyExtParams"),
            "burst_len": DmaField(
                "DataCopyExtParams.blockLen", 32, 1, "bytes", minimum=1, limit=(1 << 21) - 1
            ),
            "gm_gap": DmaField("DataCopyExtParams.{gm}Stride", 32, 1, "bytes"),
            "ub_gap": DmaField("DataCopyExtParams.{ub}Stride", 32, BLOCK_BYTES, "32-byte blocks"),
        },
    ),
}
"""Every DMA form and the field of each value (module docstring for the sources)."""


def pick_form(*, aligned: bool, bounds: Mapping[str, int], data_copy_pad: bool) -> DmaForm | None:
    """The form of a DMA whose values are at most ``bounds`` (DMA value -> largest value
    it can take; absent values are 0 or fit any form), or None: no form holds them and
    the DMA must be split into smaller ones.

    ``aligned``: every length and gap is a multiple of 32 bytes. The ``blocks`` form is
    taken when it is and the values fit; otherwise the ``bytes`` form, where the SoC has
    ``DataCopyPad``. Lengths that are not multiples of 32 take the ``bytes`` form even
    where the SoC has no ``DataCopyPad``: no other form can say them (the interpreter
    runs such a kernel; the AscendC target refuses it there, naming the SoC).
    """
    candidates: list[DmaForm] = [DmaForm.blocks] if aligned else []
    if data_copy_pad or not aligned:
        candidates.append(DmaForm.bytes)
    for form in candidates:
        fields = DMA_FORMS[form].fields
        if all(bound <= fields[value].max_value for value, bound in bounds.items()):
            return form
    return None
