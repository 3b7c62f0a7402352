"""Translation validation: the lowered kernel writes exactly what the golden writes.

Every case runs the ``pakv-to-ascend`` kernel on the machine model (the executor called
directly, so the host checks are bypassed and bad data reaches the kernel) and compares
both outputs byte for byte with ``runtime.golden`` on the same inputs, including rows
the call must leave untouched (outputs start as random bits). The grid covers the
features of SPEC sections 2 to 4 one axis at a time around a small default case;
``tile-bytes`` forces tiny tiles so that small data still cuts into many tiles.
"""

from __future__ import annotations

import numpy as np
import pytest
from gather_cases import ALL_DTYPES, assert_c_example_result, c_example, shape_example
from lowered_cases import BAD_DATA, DeviceCase, build, run_and_compare

MODES = ("Norm", "PA_NZ")
SMALL_TILES = "tile-bytes=64"


def nz(case: DeviceCase) -> DeviceCase:
    """The PA_NZ twin of a Norm case: 3 row groups per key token, 2 per value token."""
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


def in_mode(case: DeviceCase, mode: str) -> DeviceCase:
    return nz(case) if mode == "PA_NZ" else case


def grid(cases: list[DeviceCase]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", cases, ids=[str(c) for c in cases])


DTYPE_CASES = [
    in_mode(DeviceCase(key_dtype=dtype, seed=i), mode)
    for i, dtype in enumerate(ALL_DTYPES)
    for mode in MODES
] + [
    nz(DeviceCase(key_dtype="int8", value_dtype="fp16")),
    nz(DeviceCase(key_dtype="fp32", value_dtype="hifloat8")),
]


@grid(DTYPE_CASES)
def test_every_ascend910_95_dtype(case: DeviceCase):
    run_and_compare(build(case))


INDEX_CASES = [
    in_mode(DeviceCase(index_dtype=index, cumsum=cumsum, offsets=offsets, seed=7), mode)
    for index in ("int32", "int64")
    for cumsum in (False, True)
    for offsets in (False, True)
    for mode in MODES
]


@grid(INDEX_CASES)
def test_index_dtypes_cumsum_and_offsets(case: DeviceCase):
    run_and_compare(build(case))


BLOCK_CASES = [
    in_mode(DeviceCase(block_size=size, lens=lens, offsets=True, seed=size), mode)
    for size, lens in ((1, (3, 0, 7)), (16, (20, 1, 33)), (128, (130, 5, 300)), (24, (25, 48, 3)))
    for mode in MODES
]


@grid(BLOCK_CASES)
def test_block_sizes(case: DeviceCase):
    run_and_compare(build(case))


@grid(BLOCK_CASES)
def test_block_sizes_with_tiny_tiles(case: DeviceCase):
    run_and_compare(build(case), options=SMALL_TILES)


UNALIGNED_TOKEN_CASES = [
    DeviceCase(key_dtype="fp16", key_token=(1, 5), value_token=(3, 3)),  # 10 and 18 bytes
    DeviceCase(key_dtype="int8", key_token=(3, 7), block_size=24, lens=(50, 9)),  # 21 bytes
    DeviceCase(key_dtype="fp32", key_token=(1, 3), lens=(40, 40, 1)),  # 12 bytes
    DeviceCase(key_dtype="bf16", key_token=(5, 13), lens=(17,)),  # 130 bytes
]


@grid(UNALIGNED_TOKEN_CASES)
@pytest.mark.parametrize("options", ["", SMALL_TILES, "tile-bytes=96"])
def test_norm_tokens_not_a_multiple_of_32_bytes(case: DeviceCase, options: str):
    run_and_compare(build(case), options=options)


SHAPE_CASES = [
    in_mode(case, mode)
    for case in (
        DeviceCase(lens=(0, 9, 0, 0, 4, 0), seed=1),  # empty sequences, first and last
        DeviceCase(lens=(0, 0, 1), seed=2),
        DeviceCase(lens=(2, 1000, 1, 3), block_size=16, seed=3),  # skewed: one 1000x longer
        DeviceCase(lens=(1000, 1, 1, 1), block_size=128, seed=4),
        DeviceCase(lens=(40, 40, 25), repeated_blocks=True, seed=5),  # repeated block ids
        DeviceCase(lens=(40, 40, 25), repeated_blocks=True, offsets=True, cumsum=True, seed=6),
        DeviceCase(lens=(30, 30, 30), extra_rows=-45, seed=8),  # truncated at num_tokens
        DeviceCase(lens=(30, 30, 30), extra_rows=-1, cumsum=True, seed=9),
        DeviceCase(lens=(5, 7), extra_rows=-12, seed=10),  # only one row left
        DeviceCase(lens=(1,), extra_rows=0, seed=11),
    )
    for mode in MODES
]


@grid(SHAPE_CASES)
def test_sequence_shapes(case: DeviceCase):
    run_and_compare(build(case))


BAD_CASES = [
    in_mode(
        DeviceCase(
            bad=bad,
            offsets=bad.endswith("offset"),
            lens=(9, 40, 3),
            index_dtype=index,
            cumsum=cumsum,
            seed=seed,
        ),
        mode,
    )
    for seed, bad in enumerate(BAD_DATA)
    for index, cumsum in (("int32", False), ("int64", True))
    for mode in MODES
]


@grid(BAD_CASES)
def test_data_the_host_would_reject_gives_golden_zeros(case: DeviceCase):
    run_and_compare(build(case), options=SMALL_TILES if case.seed % 2 else "")


SOC_CASES = [
    in_mode(DeviceCase(soc=soc, key_dtype=dtype, lens=(70, 3, 150), block_size=32, seed=i), mode)
    for i, (soc, dtype) in enumerate(
        (
            ("Ascend910B", "fp16"),  # 192 KiB UB, 40 cores
            ("Ascend910_93", "bf16"),  # 192 KiB UB
            ("Ascend310P", "int8"),  # 256 KiB UB, 8 cores
            ("Ascend310B", "fp16"),  # 248 KiB usable UB, 1 core
            ("Ascend910", "bf16"),  # 256 KiB UB, 32 cores
            ("Ascend910_95", "fp8_e4m3fn"),  # 248 KiB usable, 64 cores
        )
    )
    for mode in MODES
]


@grid(SOC_CASES)
def test_socs(case: DeviceCase):
    run_and_compare(build(case))


def test_c_example_of_the_original_document():
    case = c_example()
    run_and_compare(case)
    assert_c_example_result(case)


@pytest.mark.parametrize("mode", MODES)
def test_shape_example_of_the_original_document(mode: str):
    case = shape_example(np.random.default_rng(6), mode)
    run = run_and_compare(case)
    assert run.tiling.split_tokens == 8931


HUGE_BLOCK = DeviceCase(
    mode="PA_NZ", key_dtype="int8", key_token=(2,), value_token=(3,), block_size=65537, lens=(5, 2)
)
"""Issue 9: the PA_NZ load's GM gap (up to 65536 rows of 32 bytes) fits no
DataCopyParams field: the bytes form where the SoC has DataCopyPad, else one-group loads."""


@pytest.mark.parametrize("soc", ["Ascend910B", "Ascend910_95", "Ascend910"])
def test_blocks_whose_gaps_no_uint16_field_holds(soc: str):
    run_and_compare(build(HUGE_BLOCK.with_(soc=soc)))


STRIDED_CASES = [
    in_mode(
        DeviceCase(
            view=view,
            key_dtype=dtype,
            index_dtype=index,
            cumsum=cumsum,
            offsets=offsets,
            lens=(9, 40, 3),
            seed=seed,
        ),
        mode,
    )
    for seed, (view, dtype, index, cumsum, offsets) in enumerate(
        (
            ("layers", "fp16", "int32", False, False),
            ("layers", "int8", "int64", True, True),
            ("interleaved", "fp32", "int32", True, False),
            ("interleaved", "bf16", "int64", False, True),
            ("layers", "hifloat8", "int32", False, True),
        )
    )
    for mode in MODES
] + [
    DeviceCase(view="interleaved", key_token=(1, 5), value_token=(3, 3), seed=20),  # 10, 18 B
    nz(DeviceCase(view="interleaved", key_dtype="int8", value_dtype="fp16", seed=21)),
    DeviceCase(view="layers", bad="block_ids", lens=(9, 40, 3), seed=22),
    nz(DeviceCase(view="layers", bad="columns", lens=(9, 40, 3), seed=23)),
]


@grid(STRIDED_CASES)
def test_strided_caches_are_read_in_place(case: DeviceCase):
    """SPEC section 9: caches that are views into bigger buffers (every other byte of
    which is random), read through their block strides, never as if they were dense."""
    data = build(case)
    assert not data.key_cache.flags.c_contiguous and not data.value_cache.flags.c_contiguous
    run_and_compare(data, options=SMALL_TILES if case.seed % 2 else "")
