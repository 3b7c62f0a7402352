"""Fused consumers (SPEC section 7): the fused, lowered program equals the unfused program.

Translation validation: each case is a gather whose streams have consumers; the fused
program lowered by ``pakv-to-ascend`` and run by the machine model must write the same
bytes as the unfused program run op by op (``runtime.interpreter.array_functions``), on
every row below the total, and leave every later row as it was; SPEC section 7's
formula in numpy (``runtime.golden``) agrees with both. The grid covers both layouts,
every SPEC section 7 source dtype with fp16, bf16 and fp32 outputs, per-tensor and
per-channel scales, with and without offsets, plain casts, cumulative lengths,
seqOffset, int64 indices, every SoC that runs the operator, tokens that are not
32-byte rows, tokens cut into chunks, zero tokens (bad block ids), and data full of
NaN, +-inf, -0.0, subnormals and results that overflow fp16.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from fusion_cases import (
    FusionCase,
    differing_rows,
    lowered_program,
    make_data,
    run_lowered,
    run_reference,
    untouched_past_total,
)
from host_compiler import needs_compiler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pakv_dialect.casts import cast_path, holds
from pakv_dialect.dtypes import DEQUANT_SOURCE_KINDS, kv_kind_named
from pakv_dialect.hifloat8 import HIFLOAT8_TO_FLOAT32, decode_hifloat8
from pakv_dialect.soc import SOCS, CastRound, soc_info
from runtime.ascendc.host_build import HostKernel, HostRunError, HostUnit, build_host_kernels
from runtime.ascendc.plan import FLAG_APIS
from runtime.call import DequantSpec
from runtime.golden import golden_dequant_outputs
from runtime.host.executors import host_units, run_host_program

OUTPUTS = ("fp16", "bf16", "fp32")
SPECS: tuple[tuple[str | None, str | None], ...] = (
    ("channel", "channel"),
    ("tensor", None),
    (None, None),
    ("tensor", "channel"),
    ("channel", "tensor"),
    ("tensor", "tensor"),
)
"""(scale, offset) reaches the grid cycles through: per channel, per tensor, absent."""

SOC_DTYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Ascend910_95": (DEQUANT_SOURCE_KINDS, OUTPUTS),
    "Ascend910B": (("int8", "fp16", "bf16"), OUTPUTS),
    "Ascend910_93": (("int8", "fp16", "bf16"), OUTPUTS),
    "Ascend310B": (("int8", "fp16", "bf16"), OUTPUTS),
    "Ascend310P": (("int8", "fp16"), ("fp16", "fp32")),
    "Ascend910": (("int8", "fp16"), ("fp16", "fp32")),
}
"""What each SoC dequantises: its KV dtypes (SPEC section 4) that SPEC section 7 takes,
into the outputs its AscendC ``Cast`` reaches (the inference and training series have
no float <-> bfloat16)."""


def _spec(out: str, index: int) -> DequantSpec:
    scale, offset = SPECS[index % len(SPECS)]
    return DequantSpec(out, scale, offset)  # pyright: ignore[reportArgumentType]


def _grid() -> list[FusionCase]:
    cases: list[FusionCase] = []
    for soc, (sources, outputs) in SOC_DTYPES.items():
        for index, source in enumerate(sources):
            n = len(outputs)
            other = sources[(index + 1) % len(sources)]
            flags = {
                "cumsum": index % 2 == 1,
                "offsets": index % 3 != 0,
                "index": "int64" if soc == "Ascend910_95" and index % 2 == 0 else "int32",
            }
            cases.append(
                FusionCase(
                    "Norm", source, source, _spec(outputs[index % n], index),
                    _spec(outputs[(index + 1) % n], index + 1), soc=soc, **flags,
                )
            )  # fmt: skip
            cases.append(
                FusionCase(
                    "PA_NZ", source, other, _spec(outputs[(index + 2) % n], index + 2),
                    _spec(outputs[index % n], index + 3), soc=soc, block_size=8, **flags,
                )
            )  # fmt: skip
    # Rows that are not 32-byte multiples (20 int8 / fp16 elements: padded UB rows), a
    # stream without consumer beside one with, tokens cut into chunks of channels (Norm)
    # or row groups (PA_NZ) by small tiles, a plain cast, blocks of one token.
    cases += [
        FusionCase("Norm", "int8", "int8", _spec("fp16", 0), None, heads=1, head_size=20),
        FusionCase("Norm", "fp16", "fp16", None, _spec("bf16", 4), soc="Ascend910B", heads=1,
                   head_size=20, cumsum=True),
        FusionCase("Norm", "int8", "int8", _spec("fp16", 0), _spec("fp32", 3), heads=3,
                   head_size=40, options="tile-bytes=128"),
        FusionCase("PA_NZ", "bf16", "int8", _spec("fp16", 0), _spec("fp32", 5), heads=4,
                   soc="Ascend910B", options="tile-bytes=256", offsets=True),
        FusionCase("Norm", "uint8", "uint8", _spec("bf16", 2), _spec("fp16", 1), block_size=1),
        FusionCase("PA_NZ", "hifloat8", "fp8_e5m2", _spec("fp16", 1), _spec("bf16", 0),
                   options="slots=3", block_size=24),
    ]  # fmt: skip
    return cases


GRID = _grid()
UNFUSED = GRID[:: max(1, len(GRID) // 8)]
"""A spread of the grid whose unfused program is lowered too (a gather kernel and a
kernel per consumer): it must write what the fused one writes."""


def _maps(case: FusionCase) -> dict[str, DequantSpec]:
    found = {"key": case.key_map, "value": case.value_map}
    return {stream: spec for stream, spec in found.items() if spec is not None}


@pytest.mark.parametrize("case", GRID, ids=str)
def test_fused_lowered_program_equals_the_unfused_program(case: FusionCase):
    data = make_data(case, seed=len(str(case)))
    reference = run_reference(data)
    golden = golden_dequant_outputs(
        data.arrays, data.kinds, _maps(case), cache_mode=case.mode, cumsum=case.cumsum
    )
    assert differing_rows(data, reference, golden) == {"key_out": 0, "value_out": 0}
    fused, launches = run_lowered(data)
    assert len(launches) == 1 and launches[0].executed_ops > 0
    assert differing_rows(data, fused, reference) == {"key_out": 0, "value_out": 0}
    assert untouched_past_total(data, fused)


@pytest.mark.parametrize("case", UNFUSED, ids=str)
def test_unfused_lowered_program_equals_the_unfused_program(case: FusionCase):
    data = make_data(case, seed=3)
    unfused, launches = run_lowered(data, fuse=False)
    kernels = [launch.kernel.rsplit("_", 1)[1] for launch in launches]
    assert kernels == ["gather"] + ["map"] * len(_maps(case))
    assert differing_rows(data, unfused, run_reference(data)) == {"key_out": 0, "value_out": 0}


def test_fusion_moves_fewer_bytes():
    """The fused program never writes or re-reads the intermediate in GM."""
    case = GRID[0]
    data = make_data(case, seed=1)
    _, fused = run_lowered(data)
    _, unfused = run_lowered(data, fuse=False)

    def traffic(launches: list) -> int:  # pyright: ignore[reportMissingTypeArgument, reportUnknownParameterType]
        table = [launch.trace.table() for launch in launches]  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
        return int(sum((t["n_burst"] * t["burst_len"])[t["kind"] <= 1].sum() for t in table))  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]

    assert traffic(fused) < traffic(unfused)


_SOURCES = st.sampled_from(DEQUANT_SOURCE_KINDS)
_REACH = st.sampled_from([None, "tensor", "channel"])


@st.composite
def _cases(draw: st.DrawFn) -> FusionCase:
    mode = draw(st.sampled_from(["Norm", "PA_NZ"]))
    key = draw(_SOURCES)
    value = key if mode == "Norm" else draw(_SOURCES)

    def spec() -> DequantSpec | None:
        if draw(st.integers(0, 4)) == 0:
            return None
        return DequantSpec(draw(st.sampled_from(OUTPUTS)), draw(_REACH), draw(_REACH))  # pyright: ignore[reportArgumentType]

    key_map, value_map = spec(), spec()
    if key_map is None and value_map is None:
        key_map = DequantSpec("fp32", None, None)
    heads = draw(st.integers(1, 3))
    ea = 32  # a multiple of every dtype's elements per NZ row
    head_size = ea * draw(st.integers(1, 2)) if mode == "PA_NZ" else draw(st.integers(1, 70))
    return FusionCase(
        mode, key, value, key_map, value_map, heads=heads, head_size=head_size,
        block_size=draw(st.sampled_from([1, 5, 16])), cumsum=draw(st.booleans()),
        offsets=draw(st.booleans()), batch=draw(st.integers(1, 4)),
        options=draw(st.sampled_from(["", "tile-bytes=128", "slots=1" if mode == "Norm" else ""])),
    )  # fmt: skip


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_cases(), seed=st.integers(0, 2**16))
def test_fused_equals_unfused_property(case: FusionCase, seed: int):
    data = make_data(case, seed)
    fused, _ = run_lowered(data)
    assert differing_rows(data, fused, run_reference(data)) == {"key_out": 0, "value_out": 0}
    assert untouched_past_total(data, fused)


# --------------------------------------------------------------------------- AscendC

EMITTING_SOCS = {
    name for name, soc in SOCS.items() if soc.supported and not soc.missing_apis(FLAG_APIS)
}
HOST_PROGRAMS: list[tuple[FusionCase, bool]] = [
    *((GRID[i], True) for i in (1, 5, 9, 13, 17, 18, 26, 39, 40, 47, 49)),
    *((GRID[i], False) for i in (12, 36)),
]
"""Programs whose printed AscendC runs on the host stand-in: a spread of the grid fused
(every emitting SoC, both layouts), the odd cases, and unfused programs (a gather kernel
and consumer kernels, launched in order)."""


def _units(case: FusionCase, fuse: bool) -> dict[str, HostUnit]:
    return host_units(lowered_program(case, fuse).module, case.soc)


BROKEN_CASE = FusionCase(
    "Norm", "int8", "int8", DequantSpec("fp16", "channel"), None, soc="Ascend910B"
)
"""The kernel the broken units are edited from (its Cast path: int8 -> half -> float)."""


def _broken(edit: tuple[str, str]) -> HostUnit:
    (unit,) = _units(BROKEN_CASE, True).values()
    source, edits = re.subn(edit[0], edit[1], unit.source, count=1)
    assert edits == 1, edit[0]
    return HostUnit(source, unit.entry, unit.soc)


BROKEN: dict[str, tuple[tuple[str, str], str]] = {
    "a round mode the SoC's Cast lacks": (
        (r"(CastTile<half, int8_t>\([^;]*?)CAST_NONE", r"\1CAST_RINT"),
        "Cast from int8 to fp16 with RoundMode::CAST_RINT is not in the AscendC Cast table "
        "of Ascend910B",
    ),
    "a pair the SoC's Cast lacks": (
        (r"CastTile<half, int8_t>", "CastTile<float, int8_t>"),
        "Cast from int8 to fp32 with RoundMode::CAST_NONE is not in the AscendC Cast table "
        "of Ascend910B",
    ),
    "a cast onto its own source": (
        (r"(CastTile<half, int8_t>\()\s*\w+\[[^\]]*\],\s*(\w+\[[^\]]*\])", r"\1\2, \2"),
        "Cast: operands",
    ),
    "a per-channel row past its vector": ((r"(MulRows\([^;]*?params_)", r"\1[32]"), "Mul: count"),
}
"""Printed kernels broken on purpose, one rule each, and what the stand-in must say."""


@pytest.fixture(scope="module")
def host_kernels() -> dict[str, HostKernel]:
    """Every program's units and the broken ones, built up front (several per compiler
    run, cached on disk), by digest."""
    units = [u for case, fuse in HOST_PROGRAMS for u in _units(case, fuse).values()]
    units += [_broken(edit) for edit, _ in BROKEN.values()]
    return {kernel.unit.digest: kernel for kernel in build_host_kernels(units)}


@needs_compiler
@pytest.mark.parametrize(
    ("case", "fuse"),
    HOST_PROGRAMS,
    ids=[f"{c} {'fused' if f else 'unfused'}" for c, f in HOST_PROGRAMS],
)
def test_printed_ascendc_writes_the_unfused_programs_bytes(
    case: FusionCase, fuse: bool, host_kernels: dict[str, HostKernel]
):
    data = make_data(case, seed=len(str(case)))
    arrays = data.copy()
    units = _units(case, fuse)
    launches = run_host_program(
        lowered_program(case, fuse).module, data.tensors(arrays), soc_info(case.soc),
        {name: host_kernels[unit.digest] for name, unit in units.items()},
    )  # fmt: skip
    assert len(launches) == len(units) == (1 if fuse else 1 + len(_maps(case)))
    assert differing_rows(data, arrays, run_reference(data)) == {"key_out": 0, "value_out": 0}
    if fuse:
        assert untouched_past_total(data, arrays)


def test_host_programs_cover_what_they_claim():
    assert {case.soc for case, _ in HOST_PROGRAMS} == EMITTING_SOCS
    assert {case.mode for case, _ in HOST_PROGRAMS} == {"Norm", "PA_NZ"}
    assert {fuse for _, fuse in HOST_PROGRAMS} == {True, False}
    sources = {c.key_dtype for c, _ in HOST_PROGRAMS} | {c.value_dtype for c, _ in HOST_PROGRAMS}
    assert sources == set(DEQUANT_SOURCE_KINDS)


@needs_compiler
@pytest.mark.parametrize("name", BROKEN)
def test_the_stand_in_refuses_a_broken_compute_stage(
    name: str, host_kernels: dict[str, HostKernel]
):
    edit, message = BROKEN[name]
    unit = _broken(edit)
    data = make_data(BROKEN_CASE, seed=5)
    arrays = data.copy()
    module = lowered_program(BROKEN_CASE).module
    with pytest.raises(HostRunError, match=re.escape(message)):
        run_host_program(
            module,
            data.tensors(arrays),
            soc_info(unit.soc),
            {unit.entry: host_kernels[unit.digest]},
        )


# --------------------------------------------------------------------------- HiFloat8


def test_hifloat8_values_the_sources_list():
    """Values the HiFloat8 paper and Huawei's implementation list (pakv_dialect.hifloat8)."""
    listed = {
        0x00: 0.0, 0x08: 1.0, 0x10: 2.0, 0x18: 0.5, 0x38: 0.125, 0x6E: 32768.0,
        0x7E: 2.0**-15, 0x01: 2.0**-22, 0x07: 2.0**-16, 0x6F: math.inf, 0xEF: -math.inf,
        0x88: -1.0,
    }  # fmt: skip
    for byte, value in listed.items():
        assert HIFLOAT8_TO_FLOAT32[byte] == np.float32(value), hex(byte)
        assert decode_hifloat8(byte) == value
    assert np.isnan(HIFLOAT8_TO_FLOAT32[0x80])
    assert HIFLOAT8_TO_FLOAT32.view(np.uint32)[0x80] == 0x7FC00000


def test_hifloat8_tapered_precision():
    """The paper's abstract: 7 exponents with 3 mantissa bits, 8 with 2, 16 with 1, and 7
    more binades of denormals: 38 binades from 2^-22 to 2^15, symmetric in sign, the
    largest finite value 2^15."""
    finite = HIFLOAT8_TO_FLOAT32[np.isfinite(HIFLOAT8_TO_FLOAT32)]
    positive = finite[finite > 0]
    exponents = np.floor(np.log2(positive)).astype(int)
    per_binade = {e: int((exponents == e).sum()) for e in set(exponents.tolist())}
    assert sorted(per_binade) == list(range(-22, 16))
    assert all(per_binade[e] == 8 for e in range(-3, 4))
    assert all(per_binade[e] == 4 for e in (*range(-7, -3), *range(4, 8)))
    assert all(per_binade[e] == 2 for e in (*range(-15, -7), *range(8, 15)))
    assert per_binade[15] == 1  # 1.5 * 2^15 is the infinity pattern
    assert all(per_binade[e] == 1 for e in range(-22, -15))
    assert np.array_equal(-HIFLOAT8_TO_FLOAT32[1:128], HIFLOAT8_TO_FLOAT32[129:])
    # Every HiFloat8 value is exactly an fp16 (AscendC: hifloat8_t -> half is lossless).
    assert np.array_equal(positive.astype(np.float16).astype(np.float32), positive)


# --------------------------------------------------------------------------- casts


def test_cast_paths_use_only_exact_intermediates():
    """Every planned path rounds at most once, in its last step (pakv_dialect.casts)."""
    for soc in SOCS.values():
        if not soc.supported:
            continue
        for source in DEQUANT_SOURCE_KINDS:
            for target in ("fp16", "bf16", "fp32"):
                path = cast_path(soc, source, target)
                if path is None:
                    continue
                assert (path == ()) == (source == target)
                if not path:
                    continue
                assert path[-1].target == target
                for step in path[:-1]:
                    assert holds(step.target, source), (soc.name, source, target, step)
                for step in path:
                    if step.round is not None:
                        assert step.round in soc.cast_modes(step.source, step.target)


def test_cast_paths_of_the_docs():
    a2 = soc_info("Ascend910B")
    assert [str(s) for s in cast_path(a2, "int8", "fp32") or ()] == [
        "Cast int8 -> fp16 (CAST_NONE)",
        "Cast fp16 -> fp32 (CAST_NONE)",
    ]
    assert [s.round for s in cast_path(a2, "fp32", "bf16") or ()] == [CastRound.RINT]
    path = cast_path(soc_info("Ascend910_95"), "uint16", "fp32")
    assert [str(s) for s in path or ()] == [
        "Cast uint16 -> uint32 (CAST_NONE)",
        "uint32 reread as int32",
        "Cast int32 -> fp32 (CAST_RINT)",
    ]
    assert cast_path(soc_info("Ascend310P"), "fp32", "bf16") is None
    assert cast_path(a2, "hifloat8", "fp32") is None


def test_dtypes_the_grid_misses_are_refused():
    """Every SoC's KV dtype that SPEC section 7 takes, into every output: either the grid
    runs it, or the SoC cannot cast it (and the verifier says so)."""
    for name, soc in SOCS.items():
        if not soc.supported:
            continue
        sources, outputs = SOC_DTYPES[name]
        for source in sorted(soc.kv_dtypes & set(DEQUANT_SOURCE_KINDS)):
            for out in OUTPUTS:
                kind = kv_kind_named(source)
                assert kind is not None
                castable = (
                    cast_path(soc, source, "fp32") is not None
                    and cast_path(soc, "fp32", out) is not None
                )
                assert castable == (source in sources and out in outputs), (name, source, out)
