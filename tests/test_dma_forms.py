"""The one table of DMA forms (``pakv_dialect.dma``): its limits, the lowering's choice,
and its agreement with the stand-in that the printed kernels run against.

The expected numbers are the AscendC documents' own (uint16 counts of 32-byte blocks,
a 21-bit DataCopyPad burst length, uint32 gaps, at most 4095 bursts), written out here
rather than derived from the table under test.
"""

from __future__ import annotations

import re

import pytest

from pakv_dialect.dma import DMA_FORMS, DMA_VALUES, DmaForm, pick_form
from passes.tile_plan import nz_load_gap_fits
from runtime.ascendc.host_build import STAND_IN_DIR

BLOCKS, BYTES = DMA_FORMS[DmaForm.blocks], DMA_FORMS[DmaForm.bytes]


@pytest.mark.parametrize(
    ("form", "value", "held", "refused"),
    [
        (BLOCKS, "n_burst", [1, 4095], [0, 4096]),
        (BLOCKS, "burst_len", [32, 65535 * 32], [0, 16, 48, 65536 * 32]),
        (BLOCKS, "gm_gap", [0, 32, 65535 * 32], [8, 65536 * 32]),
        (BLOCKS, "ub_gap", [0, 65535 * 32], [16, 65536 * 32]),
        (BYTES, "n_burst", [1, 4095], [0, 4096]),
        (BYTES, "burst_len", [1, 12, (1 << 21) - 1], [0, 1 << 21]),
        (BYTES, "gm_gap", [0, 7, (1 << 32) - 1], [1 << 32]),
        (BYTES, "ub_gap", [0, ((1 << 32) - 1) * 32], [16, (1 << 32) * 32]),
    ],
)
def test_each_field_holds_exactly_what_the_hardware_field_does(
    form, value: str, held: list[int], refused: list[int]
):
    field = form.fields[value]
    assert all(field.holds(v) for v in held)
    assert not any(field.holds(v) for v in refused)
    for v in refused:
        assert form.misfit({value: v}, to_ub=True) is not None


def test_the_machines_limits_are_the_tables():
    for spec in DMA_FORMS.values():
        length, gm_gap, ub_gap = (spec.fields[v] for v in ("burst_len", "gm_gap", "ub_gap"))
        assert spec.limits == (
            length.max_value,
            length.unit,
            gm_gap.max_value,
            gm_gap.unit,
            ub_gap.max_value,
        )


@pytest.mark.parametrize(
    ("aligned", "bounds", "pad", "expected"),
    [
        (True, {"burst_len": 96 * 1024, "gm_gap": 0}, True, DmaForm.blocks),
        (True, {"gm_gap": 65535 * 32}, False, DmaForm.blocks),
        (True, {"gm_gap": 65536 * 32}, True, DmaForm.bytes),  # issue 9: block_size 65537
        (True, {"gm_gap": 65536 * 32}, False, None),  # no form: the lowering splits
        (True, {"gm_gap": 1 << 32}, True, None),
        (False, {"burst_len": 12}, True, DmaForm.bytes),
        (False, {"burst_len": 12}, False, DmaForm.bytes),  # the only form that says it
    ],
)
def test_the_lowering_picks_blocks_then_bytes_then_a_split(
    aligned: bool, bounds: dict[str, int], pad: bool, expected: DmaForm | None
):
    assert pick_form(aligned=aligned, bounds=bounds, data_copy_pad=pad) is expected


def test_a_pa_nz_row_group_of_more_than_65536_rows_needs_data_copy_pad():
    assert nz_load_gap_fits(65536, data_copy_pad=False)
    assert not nz_load_gap_fits(65537, data_copy_pad=False)
    assert nz_load_gap_fits(65537, data_copy_pad=True)


def test_the_stand_in_declares_every_field_with_the_tables_width():
    """The stand-in's ``host::Field<uintN_t>`` members, which refuse what their width
    cannot hold, are the table's fields, width for width."""
    header = (STAND_IN_DIR / "kernel_operator.h").read_text()
    declared = {
        name: int(bits)
        for bits, name in re.findall(r'host::Field<uint(\d+)_t> \w+\{"([\w.]+)"', header)
    }
    expected: dict[str, int] = {}
    for spec in DMA_FORMS.values():
        for value in DMA_VALUES:
            field = spec.fields[value]
            for to_ub in (True, False):
                expected[field.field_name(to_ub)] = field.bits
    assert {name: declared.get(name) for name in expected} == expected
