"""The printed AscendC kernels, compiled and run on the host, write what the golden writes.

No CANN toolkit exists here, so each kernel that ``pakv-to-ascend`` lowers and the
``ascendc`` target prints is compiled with ``g++ -std=c++17 -Wall -Wextra -Werror``
against ``tests/ascendc_host/kernel_operator.h`` (our stand-in for the AscendC subset
the printer uses, with the hardware's rules as checks), run on every core, and its
outputs compared byte for byte with ``runtime.golden``; the tiling its host code
computes is compared with ``gather_tiling``.

The grid is a representative subset of the translation-validation grid, one compile
per distinct kernel: both modes; fp16, bf16, fp32, int8, fp8 (both), HiFloat8 and a
mixed int8/fp16 PA_NZ pair; int32 and int64 indices; cumsum; seqOffset; Norm tokens
that are and are not a multiple of 32 bytes; a block size that is not a power of two;
data the host would reject (out-of-range blocks and columns, negative lengths and
offsets) which must give the golden's zeros; truncation at num_tokens; tiny tiles;
192 KiB (Ascend910B/93), 248 KiB (Ascend910_95) and 256 KiB (Ascend310B/310P/910) UBs.
Mutation tests then break printed kernels in ways the stand-in must catch.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from gather_cases import GatherCase, assert_c_example_result, c_example, shape_example
from lowered_cases import DeviceCase, build, device_call, expected_outputs
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from pakv_dialect.soc import soc_info
from pakv_dialect.tiling import gather_tiling
from passes.universe import PASSES
from runtime.ascendc.host_build import (
    GmArgument,
    HostBuilds,
    HostKernel,
    HostRunError,
    find_compiler,
    run_call_on_host,
    run_host_kernel,
)
from runtime.ascendc.plan import AscendCEmitError
from runtime.ascendc.printer import emit_ascendc
from runtime.host.lowered import lower, lowering_context
from runtime.ir_builder import KERNEL_NAME, build_gather_module

COMPILER = find_compiler()
needs_compiler = pytest.mark.skipif(
    COMPILER is None, reason="no C++ compiler (g++) here: printed kernels cannot be built"
)
SMALL_TILES = "tile-bytes=64"


def nz(case: DeviceCase) -> DeviceCase:
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


GRID: list[tuple[DeviceCase, str]] = [
    # Norm, 12-byte tokens (DataCopyPad), the 248 KiB UB of Ascend910_95.
    (DeviceCase(), ""),
    (DeviceCase(), SMALL_TILES),
    # Norm, 64- and 32-byte tokens (DataCopy), 192 KiB UB.
    (DeviceCase(key_token=(2, 16), value_token=(1, 16), soc="Ascend910B", seed=1), ""),
    (DeviceCase(key_dtype="bf16", key_token=(5, 13), lens=(17,), soc="Ascend910_93"), ""),
    (
        DeviceCase(
            key_dtype="int8",
            key_token=(3, 7),
            block_size=24,
            lens=(50, 9),
            index_dtype="int64",
            cumsum=True,
            seed=2,
        ),
        "",
    ),
    (DeviceCase(key_dtype="fp8_e5m2", offsets=True, cumsum=True, seed=3), SMALL_TILES),
    (DeviceCase(key_dtype="hifloat8", bad="block_ids", lens=(9, 40, 3), seed=4), ""),
    (DeviceCase(key_dtype="fp32", key_token=(1, 3), bad="columns", lens=(9, 40, 3)), ""),
    (DeviceCase(bad="negative_len", index_dtype="int64", lens=(9, 40, 3), seed=5), ""),
    (DeviceCase(lens=(30, 30, 30), extra_rows=-45, seed=8), ""),
    (DeviceCase(key_token=(1, 16), soc="Ascend310B", lens=(70, 3, 150), block_size=32), ""),
    (DeviceCase(key_token=(1, 16), soc="Ascend910", key_dtype="bf16", seed=9), ""),
    # PA_NZ: group-major loads, TransposeBlocks, token-major stores.
    (nz(DeviceCase()), ""),
    (nz(DeviceCase(key_dtype="int8", value_dtype="fp16", offsets=True, seed=10)), ""),
    (
        nz(
            DeviceCase(
                key_dtype="fp8_e4m3fn",
                index_dtype="int64",
                cumsum=True,
                block_size=24,
                offsets=True,
                bad="negative_offset",
                seed=11,
            )
        ),
        "",
    ),
    (nz(DeviceCase(key_dtype="bf16", soc="Ascend910B", block_size=128, lens=(130, 5, 300))), ""),
    (nz(DeviceCase(key_dtype="hifloat8", lens=(20, 1, 33), seed=12)), SMALL_TILES),
    (nz(DeviceCase(offsets=True, bad="huge_offset", seed=13)), ""),
    (nz(DeviceCase(key_dtype="int8", soc="Ascend310P", lens=(70, 3, 150), block_size=32)), ""),
    # One row group per key token: the transpose of a 1 x n tile is a plain copy.
    (DeviceCase(mode="PA_NZ", key_token=(1,), value_token=(5,), lens=(1, 17, 2), seed=14), ""),
]


def _grid_id(entry: tuple[DeviceCase, str]) -> str:
    case, options = entry
    return f"{case}{'+' + options if options else ''}"


def printed_kernel(case: GatherCase, options: str = "") -> str:
    """The AscendC source the target prints for ``case``'s signature."""
    return emit_ascendc(lower(device_call(case).signature, options))


@pytest.fixture(scope="session")
def host_builds(tmp_path_factory: pytest.TempPathFactory) -> HostBuilds:
    assert COMPILER is not None
    return HostBuilds(tmp_path_factory.mktemp("ascendc_builds"), COMPILER)


@pytest.fixture(scope="session")
def grid_kernels(host_builds: HostBuilds) -> list[HostKernel]:
    """Every grid kernel, built up front on both cores (one compile per kernel)."""
    sources = [printed_kernel(build(case), options) for case, options in GRID]
    return host_builds.build_all([(source, KERNEL_NAME) for source in sources])


def assert_matches_golden(case: GatherCase, kernel: HostKernel, workdir: Path) -> None:
    key_expected, value_expected = expected_outputs(case)
    call = device_call(case)
    tiling = run_call_on_host(kernel, call, workdir)
    assert tiling == call.tiling().fields()
    for name, got, expected in (
        ("keyRef", case.key_ref, key_expected),
        ("valueRef", case.value_ref, value_expected),
    ):
        differs = (got.view(np.uint8) != expected.view(np.uint8)).reshape(got.shape[0], -1)
        rows = np.nonzero(differs.any(axis=1))[0]
        assert rows.size == 0, f"{name} differs from the golden in rows {rows[:10].tolist()}"


@needs_compiler
@pytest.mark.parametrize("index", range(len(GRID)), ids=[_grid_id(e) for e in GRID])
def test_printed_kernel_writes_the_golden_bytes(
    index: int, grid_kernels: list[HostKernel], tmp_path: Path
):
    case, _ = GRID[index]
    assert_matches_golden(build(case), grid_kernels[index], tmp_path)


@needs_compiler
def test_c_example_of_the_original_document(host_builds: HostBuilds, tmp_path: Path):
    case = c_example()
    kernel = host_builds.build(printed_kernel(case), KERNEL_NAME)
    assert_matches_golden(case, kernel, tmp_path)
    assert_c_example_result(case)


@needs_compiler
@pytest.mark.parametrize("mode", ["Norm", "PA_NZ"])
def test_shape_example_of_the_original_document(mode: str, host_builds: HostBuilds, tmp_path: Path):
    """SPEC section 6: keyRef [8931,16,144] / valueRef [8931,16,128] from 128 blocks;
    in PA_NZ every run of up to 128 tokens spans several tiles."""
    case = shape_example(np.random.default_rng(6), mode)
    kernel = host_builds.build(printed_kernel(case), KERNEL_NAME)
    assert_matches_golden(case, kernel, tmp_path)


@needs_compiler
def test_one_kernel_serves_every_shape_of_its_signature(host_builds: HostBuilds, tmp_path: Path):
    """Batch, block count, table width and token count are runtime sizes: one build."""
    cases = [build(DeviceCase(lens=lens, seed=seed)) for seed, lens in enumerate(((1,), (60, 2)))]
    sources = {printed_kernel(case) for case in cases}
    assert len(sources) == 1
    kernel = host_builds.build(sources.pop(), KERNEL_NAME)
    for number, case in enumerate(cases):
        assert_matches_golden(case, kernel, tmp_path / str(number))


STRIDED_ROWS = """
func.func @strided_rows(%src: memref<?x16xi8, #ascend.address_space<gm>>,
                        %dst: memref<?x8xi8, #ascend.address_space<gm>>)
    attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %rows = ascend.get_tiling "split_tokens"
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x131200xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%rows x %c8) gaps(%c8, %c0)
      : memref<?x16xi8, #ascend.address_space<gm>> -> memref<1x131200xi8, #ascend.address_space<ub>>
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  ascend.store %buf[%c0, %c0] -> %dst[%c0] bursts(%rows x %c8) gaps(%c0, %c0)
      : memref<1x131200xi8, #ascend.address_space<ub>> -> memref<?x8xi8, #ascend.address_space<gm>>
  func.return
}
"""


@needs_compiler
def test_burst_counts_above_4095_are_split(host_builds: HostBuilds, tmp_path: Path):
    """4100 strided 8-byte rows: DataCopyPad bursts in chunks of at most 4095."""
    module = Parser(lowering_context(), STRIDED_ROWS).parse_module()
    source = emit_ascendc(module)
    assert "first += MAX_BURSTS" in source
    kernel = host_builds.build(source, "strided_rows")
    rows = 4100
    src = np.random.default_rng(3).integers(0, 256, size=(rows, 16), dtype=np.uint8)
    dst = np.zeros((rows, 8), dtype=np.uint8)
    soc = soc_info("Ascend910B")
    shape = {"num_tokens": rows, "total_tokens": rows, "vector_cores": 1}
    arguments = [GmArgument(src), GmArgument(dst, output=True)]
    values = [shape.get(name, 1) for name in inspect.signature(gather_tiling).parameters]
    run_host_kernel(kernel, arguments, values, soc.ub_usable_bytes, tmp_path)
    assert np.array_equal(dst, src[:, :8])


# ----------------------------------------------------------------------------- rules


def test_no_data_copy_pad_soc_rejects_unaligned_tokens_with_a_clear_error():
    case = build(DeviceCase(soc="Ascend910", key_dtype="fp16", key_token=(1, 5)))
    with pytest.raises(AscendCEmitError, match="Ascend910 has no DataCopyPad"):
        printed_kernel(case)


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


@dataclass(frozen=True)
class Mutation:
    """A printed kernel broken on purpose, and what the stand-in must report."""

    case: DeviceCase
    edit: Edit
    message: str | None
    """Expected hardware-rule message; None: the run completes with wrong bytes."""
    prepare: Callable[[GatherCase], None] = lambda case: None


UNALIGNED = DeviceCase(lens=(9, 40, 3), seed=4)  # 12-byte Norm tokens: DataCopyPad
UB = soc_info(UNALIGNED.soc).ub_usable_bytes


def _first_block_out_of_range(case: GatherCase) -> None:
    case.block_tables[0, 0] = case.key_cache.shape[0]


MUTATIONS: dict[str, Mutation] = {
    # DataCopy rounds 12-byte tokens down to whole 32-byte blocks: wrong bytes, no error.
    "data_copy_for_unaligned_tokens": Mutation(
        UNALIGNED,
        _regex(
            r"DataCopyPad\(ub\.ReinterpretCast<T>\(\), gm\[gmByte / sizeof\(T\)\], params, "
            r"DataCopyPadExtParams<T>\{\}\);",
            "DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], "
            "static_cast<uint32_t>(bytes / sizeof(T)));",
        ),
        None,
    ),
    "ub_past_its_capacity": Mutation(
        UNALIGNED,
        _regex(r"pipe_\.InitBuffer\(ubBuf_, \d+\)", f"pipe_.InitBuffer(ubBuf_, {UB + 32})"),
        f"outside the {UB}-byte UB",
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
        nz(DeviceCase()),
        _regex(
            r"params\.blockCount = static_cast<uint16_t>\(nBurst\);",
            "params.blockCount = static_cast<uint16_t>(nBurst + 4093);",
        ),
        "blockCount 4096 outside [1, 4095]",
    ),
}


@pytest.fixture(scope="session")
def mutated_kernels(host_builds: HostBuilds) -> dict[str, HostKernel]:
    """Every mutated kernel, built up front on both cores."""
    sources = [m.edit(printed_kernel(build(m.case))) for m in MUTATIONS.values()]
    kernels = host_builds.build_all([(source, KERNEL_NAME) for source in sources])
    return dict(zip(MUTATIONS, kernels, strict=True))


@needs_compiler
@pytest.mark.parametrize("name", MUTATIONS)
def test_the_stand_in_catches_a_broken_kernel(
    name: str, mutated_kernels: dict[str, HostKernel], tmp_path: Path
):
    mutation = MUTATIONS[name]
    case = build(mutation.case)
    mutation.prepare(case)
    kernel = mutated_kernels[name]
    if mutation.message is None:
        with pytest.raises(AssertionError, match="differs from the golden"):
            assert_matches_golden(case, kernel, tmp_path)
    else:
        with pytest.raises(HostRunError, match=re.escape(mutation.message)):
            assert_matches_golden(case, kernel, tmp_path)
