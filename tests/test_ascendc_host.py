"""The printed AscendC kernels, compiled and run on the host, write what the golden writes.

No CANN toolkit exists here, so each kernel that ``pakv-to-ascend`` lowers and the
``ascendc`` target prints is compiled with ``g++ -std=c++17 -Wall -Wextra -Werror``
against ``runtime/ascendc/stand_in`` (our stand-in of the AscendC subset the printer
uses and of the aclrt* calls of its host code, with the hardware's rules as checks):
the unit's own tiling function and launcher run it on every core
(``runtime.ascendc.host_build``); its outputs are compared byte for byte with
``runtime.golden`` and its tiling with ``gather_tiling``.

* ``RANDOM_GRID``: seeded random kernels over every SoC that emits AscendC, both
  modes, every dtype each SoC takes, int32/int64 indices, cumsum, offsets and odd block
  sizes, each run on several data sets (lengths, truncation, repeated blocks, dense and
  strided caches, and data the host would reject: bad columns, block ids, lengths,
  offsets). Kernels are built
  several per compiler run (``UNITS_PER_LIBRARY``), in parallel, and cached on disk.
* ``NAMED``: the cases a printer mistake would show on: Norm tokens whose byte length is
  an odd multiple of 16 (DataCopy would round them down), a PA_NZ load of 4096 row
  groups (two loads, the second 4095 bursts on), block_size 65537 (the GM gap of a
  PA_NZ load past DataCopyParams' uint16 srcStride: DataCopyPad, or one-group loads on
  a SoC without it), the documents' examples.
* a hand-written kernel with two buffers on one pipe pair, synchronised by
  ``ascend-insert-sync``: their event ranges are executed, not only read in text.
* ``MUTATIONS``: printed kernels broken on purpose, one rule each; the stand-in must
  report every one (or, for the rules where the real API is lenient, must not).
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import host_compiler
import numpy as np
import pytest
from gather_cases import GatherCase, assert_c_example_result, c_example, kv_kind, shape_example
from host_compiler import needs_compiler
from lowered_cases import CACHE_VIEWS, DeviceCase, build, device_call, expected_outputs
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

import runtime
from pakv_dialect.ascend import LoadOp, constant_value
from pakv_dialect.soc import SOCS, soc_info
from pakv_dialect.tiling import gather_tiling
from passes.universe import PASSES
from runtime.ascendc import host_build
from runtime.ascendc.errors import AscendCEmitError
from runtime.ascendc.host_build import (
    HostBuildError,
    HostCompilerMissing,
    HostKernel,
    HostRunError,
    HostUnit,
    build_host_kernel,
    build_host_kernels,
    check_compiles,
)
from runtime.ascendc.plan import FLAG_APIS
from runtime.ascendc.printer import emit_ascendc
from runtime.host.lowered import lower, lowering_context
from runtime.ir_builder import KERNEL_NAME, build_gather_module
from runtime.tool import cli

SMALL_TILES = "tile-bytes=64"

EMITTING_SOCS = [
    name for name, soc in SOCS.items() if soc.supported and not soc.missing_apis(FLAG_APIS)
]
"""The SoCs the ascendc target prints for (Ascend310B lacks SetFlag/WaitFlag)."""


def nz(case: DeviceCase) -> DeviceCase:
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


def printed_kernel(case: GatherCase, options: str = "") -> str:
    """The AscendC source the target prints for ``case``'s signature."""
    return emit_ascendc(lower(device_call(case).signature, options))


def unit_of(case: GatherCase, options: str = "", soc: str | None = None) -> HostUnit:
    return HostUnit(printed_kernel(case, options), KERNEL_NAME, soc or case.soc)


def assert_matches_golden(case: GatherCase, kernel: HostKernel, max_cores: int = 0) -> None:
    """``max_cores``: the plan's core limit (its ``cores=`` option), which the printed
    host tiling applies."""
    key_expected, value_expected = expected_outputs(case)
    call = device_call(case)
    tiling = kernel.run_call(call)
    assert tiling == call.tiling(max_cores).fields()
    for name, got, expected in (
        ("keyRef", case.key_ref, key_expected),
        ("valueRef", case.value_ref, value_expected),
    ):
        if got.shape[0] == 0:  # no output rows: nothing to compare
            continue
        differs = (got.view(np.uint8) != expected.view(np.uint8)).reshape(got.shape[0], -1)
        rows = np.nonzero(differs.any(axis=1))[0]
        assert rows.size == 0, f"{name} differs from the golden in rows {rows[:10].tolist()}"


# ----------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class GridKernel:
    """One kernel of a grid and the data sets it runs (all of one signature)."""

    name: str
    cases: tuple[DeviceCase, ...]
    options: str = ""


BLOCK_SIZES = (1, 2, 3, 5, 7, 16, 17, 24, 31, 33, 64, 100, 128)


def _random_kernel(rng: np.random.Generator, index: int) -> GridKernel:
    """Kernel ``index``: SoCs in turn and, per SoC, its dtypes in turn; the rest random."""
    soc = soc_info(EMITTING_SOCS[index % len(EMITTING_SOCS)])
    mode = str(rng.choice(["Norm", "PA_NZ"]))
    dtypes = sorted(soc.kv_dtypes)
    key = dtypes[index // len(EMITTING_SOCS) % len(dtypes)]
    value = str(rng.choice(dtypes)) if mode == "PA_NZ" and rng.random() < 0.4 else None
    block_size = int(rng.choice(BLOCK_SIZES))
    if mode == "PA_NZ":
        key_token: tuple[int, ...] = (int(rng.integers(1, 7)),)
        value_token: tuple[int, ...] | None = (int(rng.integers(1, 5)),)
    else:
        element = kv_kind(key).size
        heads = int(rng.integers(1, 4))
        if soc.has_data_copy_pad:
            head_size = int(rng.integers(1, 41))
        else:  # no DataCopyPad: tokens must be whole 32-byte blocks
            head_size = 32 // element * int(rng.integers(1, 3))
        key_token, value_token = (heads, head_size), None
    base = DeviceCase(
        mode=mode,
        key_dtype=key,
        value_dtype=value,
        index_dtype=str(rng.choice(sorted(soc.index_dtypes))),
        cumsum=bool(rng.random() < 0.5),
        offsets=bool(rng.random() < 0.5),
        block_size=block_size,
        key_token=key_token,
        value_token=value_token,
        soc=soc.name,
    )
    faults = ["columns", "block_ids", "negative_len"]
    if base.offsets:
        faults += ["negative_offset", "huge_offset"]
    cases = []
    for data in range(3):
        batch = int(rng.integers(1, 5))
        most = max(2 * block_size, 8)
        lens = tuple(int(n) for n in rng.integers(0, most + 1, size=batch))
        if sum(lens) == 0:
            lens = (1, *lens[1:])
        cases.append(
            base.with_(
                lens=lens,
                extra_rows=int(rng.integers(-3, 4)),
                repeated_blocks=bool(rng.random() < 0.2),
                bad=str(rng.choice(faults)) if data == 2 else None,
                seed=int(rng.integers(1 << 30)),
                view=CACHE_VIEWS[data],  # dense, then strided caches (SPEC section 9)
            )
        )
    label = f"r{index:02d}-{soc.name}-{mode}-{key}{'-' + value if value else ''}-bs{block_size}"
    return GridKernel(label, tuple(cases))


RANDOM_GRID_SEED = 20250
RANDOM_GRID_KERNELS = 60
RANDOM_GRID = [
    _random_kernel(np.random.default_rng([RANDOM_GRID_SEED, i]), i)
    for i in range(RANDOM_GRID_KERNELS)
]
"""Seeded, so a failure names a kernel that reproduces: ``RANDOM_GRID[i]``."""


def _named(name: str, *cases: DeviceCase, options: str = "") -> GridKernel:
    return GridKernel(name, cases, options)


BLOCK_65537 = DeviceCase(
    mode="PA_NZ", key_dtype="int8", key_token=(2,), value_token=(2,), block_size=65537, lens=(5,)
)
"""The issue-9 case: with one token per core the PA_NZ load's GM gap is 65536 blocks,
one past DataCopyParams' uint16 srcStride: the lowering gives the load the bytes form
(DataCopyPad), or, on a SoC without it, loads one row group per tile (no gap)."""

NAMED = [
    # Norm tokens that are odd multiples of 16 bytes: DataCopy would drop their last 16.
    _named("norm_16_byte_tokens", DeviceCase(key_token=(1, 8), soc="Ascend910B", lens=(9, 30))),
    _named(
        "norm_48_byte_tokens",
        DeviceCase(key_dtype="fp32", key_token=(1, 12), soc="Ascend910_95", lens=(9, 30)),
    ),
    _named("norm_12_byte_tokens_small_tiles", DeviceCase(), options=SMALL_TILES),
    _named("norm_aligned_256kib_ub", DeviceCase(key_token=(1, 16), soc="Ascend310P")),
    _named("norm_aligned_4_event_ids", DeviceCase(key_token=(1, 16), soc="Ascend910", seed=9)),
    _named(
        "nz_mixed_int8_fp16",
        nz(DeviceCase(key_dtype="int8", value_dtype="fp16", offsets=True, seed=10)),
    ),
    _named(
        "nz_bf16_910b_long_runs",
        nz(DeviceCase(key_dtype="bf16", soc="Ascend910B", block_size=128, lens=(130, 5, 300))),
    ),
    _named(
        "nz_hifloat8_small_tiles",
        nz(DeviceCase(key_dtype="hifloat8", lens=(20, 1, 33))),
        options=SMALL_TILES,
    ),
    _named(
        "nz_one_group_keys",
        DeviceCase(mode="PA_NZ", key_token=(1,), value_token=(5,), lens=(1, 17, 2)),
    ),
    # 4096 row groups (128 KiB tokens) on a 256 KiB UB in halves: each load is 4095
    # bursts, then one.
    _named(
        "nz_4096_groups_two_loads",
        DeviceCase(
            mode="PA_NZ",
            key_dtype="int8",
            key_token=(4096,),
            value_token=(1,),
            block_size=2,
            lens=(3, 2),
            soc="Ascend310P",
        ),
        options="slots=2",
    ),
    _named("nz_block_size_65537_910b", BLOCK_65537.with_(soc="Ascend910B")),
    _named("nz_block_size_65537_950", BLOCK_65537.with_(soc="Ascend910_95")),
    _named("nz_block_size_65537_910_one_group_loads", BLOCK_65537.with_(soc="Ascend910")),
    # The vendor's strategies as lowerings (passes/strategy.py), printed and run: pieces
    # dealt over cores; per-token 32-byte bursts with a PipeBarrier after every copy;
    # whole batches per core; the 3-D copy of a whole block; PAKV's own 3-D copy tiles.
    _named(
        "strategy_a2_norm",
        DeviceCase(key_token=(2, 16), soc="Ascend910B", lens=(40, 3, 17, 1), seed=2),
        options="strategy=a2",
    ),
    _named(
        "strategy_a2_nz",
        nz(DeviceCase(soc="Ascend910B", lens=(19, 40, 2), block_size=8, bad="block_ids")),
        options="strategy=a2",
    ),
    _named(
        "strategy_950_norm",
        DeviceCase(lens=(9, 40, 3, 22), cumsum=True, bad="columns"),
        options="strategy=ascend950",
    ),
    _named(
        "strategy_950_nz_whole_blocks",
        nz(DeviceCase(key_dtype="int8", value_dtype="fp16", lens=(3, 20), block_size=16)),
        options="strategy=ascend950",
    ),
    _named("nz_load3d", nz(DeviceCase(key_dtype="fp32", lens=(20, 1, 33), offsets=True))),
    _named(
        "nz_load3d_tokens_split", nz(DeviceCase(lens=(20, 1, 33))), options="tile-bytes=64 slots=3"
    ),
]

GRID = NAMED + RANDOM_GRID


@cache
def _grid_units() -> tuple[HostUnit, ...]:
    """The printed unit of every grid kernel (lowered and printed once per session)."""
    return tuple(unit_of(build(kernel.cases[0]), kernel.options) for kernel in GRID)


@pytest.fixture(scope="session")
def grid_kernels() -> list[HostKernel]:
    """Every grid kernel, built up front: several per compiler run, on every core."""
    return build_host_kernels(_grid_units())


def test_the_random_grid_covers_what_it_claims():
    kernels = [case for kernel in RANDOM_GRID for case in kernel.cases]
    assert {c.soc for c in kernels} == set(EMITTING_SOCS)
    assert {c.mode for c in kernels} == {"Norm", "PA_NZ"}
    assert {c.key_dtype for c in kernels} == set(soc_info("Ascend910_95").kv_dtypes)
    assert {c.index_dtype for c in kernels} == {"int32", "int64"}
    assert {c.cumsum for c in kernels} == {True, False} == {c.offsets for c in kernels}
    assert {c.block_size % 2 for c in kernels} == {0, 1}
    assert {c.bad for c in kernels} >= {None, "columns", "block_ids", "negative_len"}
    assert {c.view for c in kernels} == set(CACHE_VIEWS)
    assert len({unit.digest for unit in _grid_units()}) == len(GRID)


@needs_compiler
def test_a_plan_with_fewer_cores_launches_that_many():
    """``cores=3``: the printed host tiling launches 3 cores (``ascend.cores``)."""
    case = build(DeviceCase(lens=(60, 70, 5), seed=3))
    unit = unit_of(case, "cores=3")
    assert "std::min<uint64_t>(vectorCores, 3)" in unit.source
    kernel = build_host_kernel(unit)
    assert_matches_golden(case, kernel, max_cores=3)
    assert kernel.run_call(device_call(case))["used_cores"] == 3


def test_strategy_kernels_print_their_barriers_and_3d_copies():
    sources = {kernel.name: unit.source for kernel, unit in zip(GRID, _grid_units(), strict=True)}
    assert "PipeBarrier<PIPE_ALL>();" in sources["strategy_a2_nz"]
    assert "PipeBarrier" not in sources["strategy_a2_norm"]  # its Norm path uses flags
    for name in ("strategy_950_nz_whole_blocks", "nz_load3d", "nz_load3d_tokens_split"):
        assert "DataCopy<T, 3, config>" in sources[name] and "TransposeBlocks" not in sources[name]


@needs_compiler
@pytest.mark.parametrize("index", range(len(GRID)), ids=[kernel.name for kernel in GRID])
def test_printed_kernel_writes_the_golden_bytes(index: int, grid_kernels: list[HostKernel]):
    for case in GRID[index].cases:
        assert_matches_golden(build(case), grid_kernels[index])


@needs_compiler
def test_documents_examples():
    """SPEC section 6: the C example (values worked out by hand) and the shape example in both modes
    (keyRef [8931,16,144] / valueRef [8931,16,128]; in PA_NZ runs span several tiles)."""
    cases = [c_example(), *(shape_example(np.random.default_rng(6), m) for m in ("Norm", "PA_NZ"))]
    kernels = build_host_kernels([unit_of(case) for case in cases])
    for case, kernel in zip(cases, kernels, strict=True):
        assert_matches_golden(case, kernel)
    assert_c_example_result(cases[0])


@needs_compiler
def test_one_kernel_serves_every_shape_of_its_signature():
    """Batch, block count, table width and token count are runtime sizes: one build."""
    cases = [build(DeviceCase(lens=lens, seed=seed)) for seed, lens in enumerate(((1,), (60, 2)))]
    units = {unit_of(case) for case in cases}
    assert len(units) == 1
    kernel = build_host_kernel(units.pop())
    for case in cases:
        assert_matches_golden(case, kernel)


# ----------------------------------------------------------------------------- printer


@pytest.mark.parametrize(
    ("passes", "missing"),
    [
        ("ascend-distribute-tokens", "ascend-tile-runs"),
        ("ascend-tile-runs,ascend-plan-ub", "ascend-distribute-tokens"),
    ],
)
def test_a_kernel_short_of_the_pipeline_names_the_pass_it_misses(passes: str, missing: str):
    """Run ops and this core's share are the lowering's intermediate forms: printing a
    kernel that still holds one is an error that names the pass to run."""
    module = build_gather_module(device_call(build(DeviceCase(soc="Ascend910B"))).signature)
    spec = f"convert-pakv-to-ascend{{soc=Ascend910B}},{passes}"
    PassPipeline.parse_spec(PASSES, spec).apply(lowering_context(), module)
    with pytest.raises(AscendCEmitError, match=f"run {missing} before -t ascendc"):
        emit_ascendc(module)


def test_no_data_copy_pad_soc_rejects_unaligned_tokens_with_a_clear_error():
    case = build(DeviceCase(soc="Ascend910", key_dtype="fp16", key_token=(1, 5)))
    with pytest.raises(AscendCEmitError, match="Ascend910 has no DataCopyPad"):
        printed_kernel(case)


@pytest.mark.parametrize(
    ("soc", "form", "gap"), [("Ascend910B", "bytes", None), ("Ascend910", "blocks", 0)]
)
def test_a_gap_the_blocks_form_cannot_say_takes_another_form_or_no_gap(
    soc: str, form: str, gap: int | None
):
    """block_size 65537: the load's 65536-block GM gap takes the bytes form (DataCopyPad)
    where the SoC has it; without it every load carries one row group and no gap. The
    printed loads follow (never a DataCopyParams stride of 65536 blocks)."""
    case = build(BLOCK_65537.with_(soc=soc))
    loads = [op for op in lower(device_call(case).signature).walk() if isinstance(op, LoadOp)]
    assert loads and {op.dma_form.value for op in loads} == {form}
    assert all(constant_value(op.gm_gap) == gap for op in loads)
    helper = "CopyInBursts(" if form == "bytes" else "CopyInBurstsAligned("
    assert helper in printed_kernel(case)


def test_ascend310b_is_refused_naming_the_missing_apis():
    """The kernel lowers (the interpreter runs it) but the target cannot synchronise it."""
    case = build(DeviceCase(soc="Ascend310B"))
    with pytest.raises(AscendCEmitError, match="Ascend310B has no SetFlag/WaitFlag, TPipe::"):
        printed_kernel(case)


# ----------------------------------------------------------------------------- strided


def _strided_kernel(text: str) -> str:
    return emit_ascendc(Parser(lowering_context(), text).parse_module())


STRIDED_ROWS = """
func.func @strided_rows(%src: memref<?x{row}xi8, #ascend.address_space<gm>>,
                        %dst: memref<?x{half}xi8, #ascend.address_space<gm>>)
    attributes {{ascend.kernel, ascend.soc = "{soc}"}} {{
  %c0 = arith.constant 0 : index
  %c{half} = arith.constant {half} : index
  %c4095 = arith.constant 4095 : index
  %split = ascend.get_tiling "split_tokens"
  %rows = arith.minui %split, %c4095 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x{ub}xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%rows x %c{half}) gaps(%c{half}, %c0) as {form}
      : memref<?x{row}xi8, #ascend.address_space<gm>>
      -> memref<1x{ub}xi8, #ascend.address_space<ub>>
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  ascend.store %buf[%c0, %c0] -> %dst[%c0] bursts(%rows x %c{half}) gaps(%c0, %c0) as {form}
      : memref<1x{ub}xi8, #ascend.address_space<ub>>
      -> memref<?x{half}xi8, #ascend.address_space<gm>>
  func.return
}}
"""


def _tiling_shape(rows: int) -> list[int]:
    sizes = {"num_tokens": rows, "total_tokens": rows, "vector_cores": 1}
    return [sizes.get(name, 1) for name in inspect.signature(gather_tiling).parameters]


@needs_compiler
@pytest.mark.parametrize(
    ("half", "soc", "form", "helper"),
    [
        (8, "Ascend910B", "bytes", "CopyInBursts"),
        (32, "Ascend910", "blocks", "CopyInBurstsAligned"),
    ],
)
def test_strided_bursts_run_in_the_form_the_op_names(half: int, soc: str, form: str, helper: str):
    """4095 strided rows (the most one instruction carries), half of each copied, in
    the op's form: DataCopyPad for 8-byte halves, DataCopy for 32-byte ones."""
    rows = 4095
    ub = rows * 32
    text = STRIDED_ROWS.format(row=2 * half, half=half, soc=soc, ub=ub, form=form)
    source = _strided_kernel(text)
    assert f"{helper}(" in source and "MAX_BURSTS" not in source
    kernel = build_host_kernel(HostUnit(source, "strided_rows", soc))
    src = np.random.default_rng(3).integers(0, 256, size=(rows, 2 * half), dtype=np.uint8)
    dst = np.zeros((rows, half), dtype=np.uint8)
    kernel.run([src.reshape(-1), dst.reshape(-1)], _tiling_shape(rows))
    assert np.array_equal(dst, src[:, :half])


TWO_BUFFERS = """
func.func @two_buffers(%src: memref<?x64xi8, #ascend.address_space<gm>>,
                       %dst: memref<?x64xi8, #ascend.address_space<gm>>)
    attributes {ascend.kernel, ascend.soc = "Ascend910"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %rows = ascend.get_tiling "split_tokens"
  %low = ascend.ub_alloc "low" at 0 : memref<2x32xi8, #ascend.address_space<ub>>
  %high = ascend.ub_alloc "high" at 64 : memref<2x32xi8, #ascend.address_space<ub>>
  scf.for %row = %c0 to %rows step %c1 {
    %slot = arith.remui %row, %c2 : index
    %at = arith.muli %row, %c64 : index
    %up = arith.addi %at, %c32 : index
    ascend.load %src[%at] -> %low[%slot, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks
        : memref<?x64xi8, #ascend.address_space<gm>> -> memref<2x32xi8, #ascend.address_space<ub>>
    ascend.load %src[%up] -> %high[%slot, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks
        : memref<?x64xi8, #ascend.address_space<gm>> -> memref<2x32xi8, #ascend.address_space<ub>>
    ascend.store %low[%slot, %c0] -> %dst[%up] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks
        : memref<2x32xi8, #ascend.address_space<ub>> -> memref<?x64xi8, #ascend.address_space<gm>>
    ascend.store %high[%slot, %c0] -> %dst[%at] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks
        : memref<2x32xi8, #ascend.address_space<ub>> -> memref<?x64xi8, #ascend.address_space<gm>>
  }
  func.return
}
"""


def two_buffer_kernel() -> str:
    """Two double-buffered UB buffers on the MTE2/MTE3 pair, synchronised by the pass:
    "low" takes events 0-1 and "high" 2-3, all 4 ids of Ascend910."""
    module = Parser(lowering_context(), TWO_BUFFERS).parse_module()
    assert isinstance(module, ModuleOp)
    PassPipeline.parse_spec(PASSES, "ascend-insert-sync").apply(lowering_context(), module)
    return emit_ascendc(module)


def run_two_buffers(kernel: HostKernel) -> None:
    rows = 9
    src = np.random.default_rng(4).integers(0, 256, size=(rows, 64), dtype=np.uint8)
    dst = np.zeros_like(src)
    kernel.run([src.reshape(-1), dst.reshape(-1)], _tiling_shape(rows))
    assert np.array_equal(dst, np.concatenate([src[:, 32:], src[:, :32]], axis=1))


@needs_compiler
def test_two_buffers_on_one_pipe_pair_run_on_their_own_event_ranges():
    source = two_buffer_kernel()
    assert "TEventID mte2ToMte3Events_[4];" in source
    run_two_buffers(build_host_kernel(HostUnit(source, "two_buffers", "Ascend910")))


# ----------------------------------------------------------------------------- mutations

Edit = Callable[[str], str]


def _regex(pattern: str, replacement: Callable[[re.Match[str]], str] | str) -> Edit:
    """Replace the first match of ``pattern`` (whitespace in it matches line breaks)."""

    def edit(source: str) -> str:
        flexible = pattern.replace(" ", r"\s+")
        mutated, count = re.subn(flexible, replacement, source, count=1)
        assert count == 1, f"the printed kernel no longer matches {pattern!r}"
        return mutated

    return edit


def _drop_last(line: str) -> Edit:
    def edit(source: str) -> str:
        head, found, tail = source.rpartition(line)
        assert found, f"the printed kernel no longer contains {line!r}"
        return head + tail

    return edit


WRONG_BYTES = "differs from the golden"
GOLDEN = ""


@dataclass(frozen=True)
class Mutation:
    """A printed kernel broken on purpose, and what the stand-in must report."""

    case: DeviceCase
    edit: Edit
    message: str
    """The expected hardware-rule message; WRONG_BYTES: the run completes with wrong
    bytes; GOLDEN: the real API allows it, so the run must give the golden's bytes."""
    prepare: Callable[[GatherCase], None] = lambda case: None
    soc: str | None = None
    """Build for another SoC than the case's."""


UNALIGNED = DeviceCase(lens=(9, 40, 3), seed=4)  # 12-byte Norm tokens: DataCopyPad
ALIGNED = DeviceCase(key_token=(2, 16), value_token=(1, 16), soc="Ascend910B", seed=1)
ON_910 = DeviceCase(key_token=(1, 16), soc="Ascend910", seed=9)
UB = soc_info(UNALIGNED.soc).ub_usable_bytes


def _first_block_out_of_range(case: GatherCase) -> None:
    case.block_tables[0, 0] = case.key_cache.shape[0]


# The DataCopyPad helper the printer chose for block_size 65537, turned back into the
# DataCopyParams form that cast the GM gap to uint16 before issue 9.
AS_DATA_COPY_PARAMS: list[Edit] = [
    _regex(r"DataCopyExtParams params;", "DataCopyParams params;"),
    _regex(r"params\.blockLen = burstBytes;", "params.blockLen = burstBytes / UB_BLOCK_BYTES;"),
    _regex(r"params\.srcStride = gmGapBytes;", "params.srcStride = gmGapBytes / UB_BLOCK_BYTES;"),
    _regex(
        r"DataCopyPad\(ub\.ReinterpretCast<T>\(\), gm\[gmByte / sizeof\(T\)\], params, "
        r"DataCopyPadExtParams<T>\{\}\);",
        "DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params);",
    ),
]


def _all(*edits: Edit) -> Edit:
    def edit(source: str) -> str:
        for one in edits:
            source = one(source)
        return source

    return edit


MUTATIONS: dict[str, Mutation] = {
    # DataCopy rounds 12-byte tokens down to whole 32-byte blocks: wrong bytes, no error.
    "data_copy_for_unaligned_tokens": Mutation(
        UNALIGNED,
        _regex(
            r"DataCopyPad\(ub\.ReinterpretCast<T>\(\), gm\[gmByte / sizeof\(T\)\], params, "
            r"DataCopyPadExtParams<T>\{\}\);",
            "DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], bytes / sizeof(T));",
        ),
        WRONG_BYTES,
    ),
    "ub_past_its_capacity": Mutation(
        UNALIGNED,
        _regex(r"pipe_\.InitBuffer\(ubBuf_, \d+\)", f"pipe_.InitBuffer(ubBuf_, {UB + 32})"),
        f"outside the {UB}-byte UB of Ascend910_95",
    ),
    "ub_buffer_off_32_bytes": Mutation(
        UNALIGNED,
        _regex(
            r"GetWithOffset<uint8_t>\((.*), (\d+)\)",
            lambda m: f"GetWithOffset<uint8_t>({m[1]}, {int(m[2]) + 16})",
        ),
        "not 32-byte aligned",
    ),
    "epilogue_wait_missing": Mutation(
        UNALIGNED,
        _drop_last("WaitFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[1]);"),
        "still set",
    ),
    # The kernel believes in more blocks than the cache holds, so its guard lets an
    # out-of-range id through and the load leaves the cache.
    "block_ids_unguarded": Mutation(
        UNALIGNED,
        _regex(r"tiling\.numBlocks = numBlocks;", "tiling.numBlocks = numBlocks + 64;"),
        "outside its",
        _first_block_out_of_range,
    ),
    # Cores 2k and 2k + 1 take the same share of rows: each byte is right, but written twice.
    "two_cores_one_share": Mutation(
        UNALIGNED,
        _regex(r" = GetBlockIdx\(\);", " = GetBlockIdx() / 2;"),
        "are written again",
    ),
    "more_than_4095_bursts": Mutation(
        nz(DeviceCase(soc="Ascend910B")),  # the group-major load (950's default: the 3-D copy)
        _regex(r"params\.blockCount = nBurst;", "params.blockCount = nBurst + 4093;"),
        "blockCount 4096 outside [0, 4095]",
    ),
    # Issue 9's wrong bytes: the GM gap of 65536 blocks in DataCopyParams' uint16 srcStride.
    "gm_gap_in_a_uint16_field": Mutation(
        BLOCK_65537.with_(soc="Ascend910B"),
        _all(*AS_DATA_COPY_PARAMS),
        "DataCopyParams.srcStride = 65536 does not fit its 16-bit unsigned type "
        "(the hardware would see 0)",
    ),
    "copy_count_past_uint32": Mutation(
        ALIGNED,
        _regex(
            r"gm\[gmByte / sizeof\(T\)\], bytes / sizeof\(T\)\);",
            "gm[gmByte / sizeof(T)], bytes / sizeof(T) + (1ull << 32));",
        ),
        "DataCopy count = 42949",
    ),
    "local_offset_past_uint32": Mutation(
        UNALIGNED,
        _regex(r"CopyIn\(tile_\[", "CopyIn(tile_[(1ull << 32) + "),
        "LocalTensor::operator[] offset = 4294967296 does not fit its 32-bit",
    ),
    # Ascend910 has event ids 0-3: a fifth id of one HardEvent does not exist.
    "event_ids_past_the_budget": Mutation(
        ON_910,
        _regex(
            r"(pipe_\.InitBuffer\(ubBuf_, \d+\);)",
            r"\1 for (int i = 0; i < 3; ++i) { pipe_.AllocEventID<HardEvent::MTE3_MTE2>(); }",
        ),
        "all 4 ids of HardEvent 19 are taken on Ascend910",
    ),
    # Ascend 950 does not infer the kernel type: a kernel that declares none is refused.
    "kernel_type_missing": Mutation(
        UNALIGNED,
        _regex(r"KERNEL_TASK_TYPE_DEFAULT\(KERNEL_TYPE_AIV_ONLY\);", ""),
        "must declare KERNEL_TASK_TYPE_DEFAULT",
    ),
    # The real API is no stricter: zero-length copies are no-ops, InitBuffer rounds up.
    "zero_length_copies_are_no_ops": Mutation(
        ALIGNED,
        _regex(
            r"(DataCopy\(ub\.ReinterpretCast<T>\(\), gm\[gmByte / sizeof\(T\)\], "
            r"bytes / sizeof\(T\)\);)",
            r"\1 DataCopyParams none; none.blockCount = 0; "
            r"DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], none); "
            r"DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], 0u);",
        ),
        GOLDEN,
    ),
    "init_buffer_rounds_up": Mutation(
        UNALIGNED,
        _regex(
            r"pipe_\.InitBuffer\(ubBuf_, (\d+)\)",
            lambda m: f"pipe_.InitBuffer(ubBuf_, {int(m[1]) - 31})",
        ),
        GOLDEN,
    ),
}

COMPILE_MUTATIONS: dict[str, Mutation] = {
    # __gm__ memory is not host memory: a GM address never becomes a host pointer silently.
    "gm_pointer_read_as_a_host_pointer": Mutation(
        UNALIGNED,
        _regex(
            r"reinterpret_cast<__gm__ uint64_t\*>\(tiling\)", "reinterpret_cast<uint64_t*>(tiling)"
        ),
        "casts away qualifiers",
    ),
    # The pre-issue-9 launcher: GM addresses as host parameters, passed to the launch.
    "launcher_takes_gm_addresses": Mutation(
        UNALIGNED,
        _regex(r"aclrtStream stream, uint8_t\* keyCache", "aclrtStream stream, GM_ADDR keyCache"),
        "launched with host-side device addresses (uint8_t*), not __gm__ pointers",
    ),
    "get_with_offset_through_a_const_buffer": Mutation(
        UNALIGNED,
        _regex(r"tile_ = ubBuf_\.GetWithOffset", "tile_ = std::as_const(ubBuf_).GetWithOffset"),
        "GetWithOffset",
    ),
    "kernel_type_on_a_soc_without_one": Mutation(
        ON_910,
        _regex(r"(KernelPakvGather op;)", r"KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY); \1"),
        "KERNEL_TASK_TYPE_DEFAULT is not supported on Ascend910",
    ),
    # Kernels printed for Ascend910B, compiled for SoCs that lack what they call.
    "flags_on_ascend310b": Mutation(
        ALIGNED,
        lambda source: source,
        "SetFlag/WaitFlag is not supported on Ascend310B",
        soc="Ascend310B",
    ),
    "transpose_on_ascend310b": Mutation(
        nz(ALIGNED),
        lambda source: source,
        "DataCopy (UB -> UB) is not supported on Ascend310B",
        soc="Ascend310B",
    ),
    "data_copy_pad_on_ascend910": Mutation(
        UNALIGNED.with_(soc="Ascend910B"),
        _regex(r"KERNEL_TASK_TYPE_DEFAULT\(KERNEL_TYPE_AIV_ONLY\);", ""),
        "DataCopyPad is not supported on Ascend910",
        soc="Ascend910",
    ),
}


def _mutated_unit(mutation: Mutation) -> HostUnit:
    case = build(mutation.case)
    return HostUnit(mutation.edit(printed_kernel(case)), KERNEL_NAME, mutation.soc or case.soc)


@pytest.fixture(scope="session")
def mutated_kernels() -> dict[str, HostKernel]:
    """Every run-time mutation, built up front: several per compiler run."""
    kernels = build_host_kernels([_mutated_unit(m) for m in MUTATIONS.values()])
    return dict(zip(MUTATIONS, kernels, strict=True))


@needs_compiler
@pytest.mark.parametrize("name", MUTATIONS)
def test_the_stand_in_catches_a_broken_kernel(name: str, mutated_kernels: dict[str, HostKernel]):
    mutation = MUTATIONS[name]
    case = build(mutation.case)
    mutation.prepare(case)
    kernel = mutated_kernels[name]
    if mutation.message == GOLDEN:
        assert_matches_golden(case, kernel)
    elif mutation.message == WRONG_BYTES:
        with pytest.raises(AssertionError, match=WRONG_BYTES):
            assert_matches_golden(case, kernel)
    else:
        with pytest.raises(HostRunError, match=re.escape(mutation.message)):
            assert_matches_golden(case, kernel)


@pytest.fixture(scope="session")
def compile_errors() -> dict[str, str]:
    """What the compiler says of every compile-time mutation (checked on every core)."""

    def error_of(mutation: Mutation) -> str:
        try:
            check_compiles(_mutated_unit(mutation))
        except HostBuildError as error:
            return str(error)
        return "it compiled"

    with ThreadPoolExecutor() as pool:
        return dict(
            zip(COMPILE_MUTATIONS, pool.map(error_of, COMPILE_MUTATIONS.values()), strict=True)
        )


@needs_compiler
@pytest.mark.parametrize("name", COMPILE_MUTATIONS)
def test_the_stand_in_refuses_to_compile_a_broken_kernel(name: str, compile_errors: dict[str, str]):
    assert COMPILE_MUTATIONS[name].message in compile_errors[name]


@needs_compiler
def test_two_buffers_sharing_one_event_range_are_caught():
    """The second buffer's events moved onto the first one's: flags collide."""
    source = _regex(r"const uint64_t event(\d*) = slot \+ 2;", r"const uint64_t event\1 = slot;")(
        two_buffer_kernel()
    )
    kernel = build_host_kernel(HostUnit(source, "two_buffers", "Ascend910"))
    with pytest.raises(HostRunError, match=r"still set|no SetFlag before it"):
        run_two_buffers(kernel)


@needs_compiler
def test_a_broken_rule_leaves_the_process_and_the_kernel_usable():
    """A rule broken inside the native code is an exception, not an abort; the next run of
    the same library starts from a clean device."""
    broken = build_host_kernel(_mutated_unit(MUTATIONS["two_cores_one_share"]))
    good = build_host_kernel(unit_of(build(UNALIGNED)))
    for _ in range(2):
        with pytest.raises(HostRunError, match="are written again"):
            broken.run_call(device_call(build(UNALIGNED)))
        assert_matches_golden(build(UNALIGNED), good)


# ----------------------------------------------------------------------------- builds


@needs_compiler
def test_kernels_are_cached_on_disk_by_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One library per set of sources under $PAKV_CACHE_DIR, written atomically: two
    threads building the same new unit both load it and leave one file, no temporary."""
    monkeypatch.setenv(host_build.CACHE_ENV, str(tmp_path))
    source = printed_kernel(build(UNALIGNED)) + f"// cache test {tmp_path.name}\n"
    unit = HostUnit(source, KERNEL_NAME, UNALIGNED.soc)
    results: list[HostKernel] = []
    threads = [
        threading.Thread(target=lambda: results.append(build_host_kernel(unit))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    cached = sorted((tmp_path / "ascendc-host").iterdir())
    assert [p.suffix for p in cached] == [".so"] and cached[0].name.startswith("Ascend910_95-")
    assert_matches_golden(build(UNALIGNED), results[0])
    build_host_kernel(HostUnit(source + "// another source\n", KERNEL_NAME, UNALIGNED.soc))
    assert len(list((tmp_path / "ascendc-host").iterdir())) == 2


def test_a_missing_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(host_build.COMPILER_ENV, "no-such-compiler-here")
    unit = HostUnit(
        printed_kernel(build(UNALIGNED)) + "// no compiler\n", KERNEL_NAME, "Ascend910B"
    )
    with pytest.raises(HostCompilerMissing, match="'no-such-compiler-here' is not on PATH"):
        build_host_kernel(unit)


# ----------------------------------------------------------------------------- executor


@needs_compiler
def test_the_ascendc_host_executor_writes_the_golden_bytes_through_the_api():
    """``executor="ascendc-host"``: the host API runs the emitted kernel natively."""
    case = build(BLOCK_65537.with_(soc="Ascend910_95"))
    key_expected, value_expected = expected_outputs(case)
    runtime.gather_pa_kv_cache(*case.args(), **case.kwargs(), executor="ascendc-host")
    assert np.array_equal(case.key_ref.view(np.uint8), key_expected.view(np.uint8))
    assert np.array_equal(case.value_ref.view(np.uint8), value_expected.view(np.uint8))


NZ_65537_FLAGS = [
    "--mode",
    "PA_NZ",
    "--dtype",
    "int8",
    "--heads",
    "1",
    "--head-size",
    "64",
    "--block-size",
    "65537",
    "--dynamic",
]


def _save_inputs(case: GatherCase, directory: Path) -> None:
    directory.mkdir()
    for role, array in case.inputs().items():
        np.save(directory / f"{role}.npy", array)


@needs_compiler
@pytest.mark.parametrize("soc", ["Ascend910B", "Ascend910_95", "Ascend910"])
def test_pakv_run_on_the_emitted_kernel_gives_the_golden_bytes_at_block_size_65537(
    soc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Issue 9's case: one sequence of 5 int8 tokens in 65537-token PA_NZ blocks."""
    _save_inputs(build(BLOCK_65537.with_(soc=soc)), tmp_path / "data")
    argv = ["run", *NZ_65537_FLAGS, "--soc", soc, "--data", str(tmp_path / "data")]
    status = cli.main([*argv, "--executor", "ascendc-host"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PASS" in out and "emitted AscendC wrote the golden reference's bytes" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--soc", "Ascend910", "--mode", "Norm", "--dtype", "fp16", "--head-size", "5"],
            "Ascend910 has no DataCopyPad",
        ),
        (["--soc", "Ascend310B"], "Ascend310B has no SetFlag/WaitFlag"),
        (["--trace", "t.json"], "--trace needs --executor lowered"),
    ],
)
def test_pakv_run_refuses_what_the_target_cannot_print_in_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
):
    status = cli.main(["run", *NZ_65537_FLAGS, *argv, "--executor", "ascendc-host"])
    err = capsys.readouterr().err
    assert status == 2 and expected in err and len(err.strip().splitlines()) == 1, err


def test_pakv_run_names_the_missing_compiler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(host_build.COMPILER_ENV, "no-such-compiler-here")
    status = cli.main(
        ["run", "--example", "seed-hand", "--executor", "ascendc-host", "--seed", "7"]
    )
    err = capsys.readouterr().err
    assert status == 2 and "'no-such-compiler-here' is not on PATH" in err, err


def test_ci_turns_a_missing_compiler_from_a_skip_into_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without g++ the host tests skip, saying why; under CI=true they run (and fail)."""
    monkeypatch.setenv(host_build.COMPILER_ENV, "no-such-compiler-here")
    try:
        for ci, skips in (("", True), ("true", False)):
            monkeypatch.setenv("CI", ci)
            assert importlib.reload(host_compiler).needs_compiler.args[0] is skips
    finally:
        monkeypatch.undo()
        importlib.reload(host_compiler)
