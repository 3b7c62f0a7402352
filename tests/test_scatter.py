"""``pakv.scatter`` end to end: translation validation, the round trip, the detectors.

Translation validation runs the lowered kernel (``pakv-to-ascend``) on the machine
model with every detector on, called directly so that the host checks are bypassed
and bad slots reach the kernel, and compares both caches byte for byte with
``runtime.golden.golden_scatter`` (caches start as random bits: every byte the call
must leave alone is checked too). The high-level interpreter's ``pakv.scatter``
(``runtime.interpreter.pakv_functions.interpret_scatter``, run by run with slices)
is held to the same golden. The round trip scatters tokens through the public API and
gathers them back with a block table built from the slots.
"""

from __future__ import annotations

import numpy as np
import pytest
from gather_cases import ALL_DTYPES, index_kind, kv_kind, random_bits
from scatter_cases import (
    PATTERNS,
    ScatterCase,
    arrays,
    assert_caches,
    device_call,
    expected_caches,
    nz,
)
from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.passes import PassPipeline
from xdsl.rewriter import Rewriter
from xdsl.transforms.canonicalize import CanonicalizePass

import runtime
from pakv_dialect.ascend import CoreTokensOp, GetTilingOp
from pakv_dialect.soc import SOCS
from passes.convert_pakv_to_ascend import ConvertPakvToAscendPass
from passes.insert_sync import InsertSyncPass
from passes.plan_ub import PlanUbPass
from passes.tile_runs import TileRunsPass
from runtime.host.executors import run_high_level_interpreter
from runtime.host.lowered import compile_kernel, lowering_context, run_lowered
from runtime.interpreter.ascend_functions import kernel_function
from runtime.interpreter.faults import WriteConflictError
from runtime.interpreter.machine import AscendMachine
from runtime.ir_builder import build_scatter_module

MODES = ("Norm", "PA_NZ")
SMALL_TILES = "tile-bytes=64"


def in_mode(case: ScatterCase, mode: str) -> ScatterCase:
    return nz(case) if mode == "PA_NZ" else case


def grid(cases: list[ScatterCase]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", cases, ids=[str(c) for c in cases])


def run_and_compare(case: ScatterCase, options: str = "") -> runtime.ScatterCall:
    data = arrays(case)
    expected = expected_caches(case, data)
    call = device_call(case, data)
    run_lowered(call, options=options)
    assert_caches(data, expected)
    return call


DTYPE_CASES = [
    in_mode(ScatterCase(key_dtype=dtype, seed=i), mode)
    for i, dtype in enumerate(ALL_DTYPES)
    for mode in MODES
] + [
    nz(ScatterCase(key_dtype="int8", value_dtype="fp16")),
    nz(ScatterCase(key_dtype="fp32", value_dtype="hifloat8")),
]


@grid(DTYPE_CASES)
def test_every_ascend910_95_dtype(case: ScatterCase):
    run_and_compare(case)


PATTERN_CASES = [
    in_mode(ScatterCase(pattern=pattern, index_dtype=index, soc=soc, tokens=tokens, seed=n), mode)
    for n, pattern in enumerate(PATTERNS)
    for index, soc, tokens in (("int32", "Ascend310B", 90), ("int64", "Ascend910_95", 400))
    for mode in MODES
]
"""Each pattern on one core (Ascend310B: runs as long as the slots allow) and on 64
cores (Ascend910_95, int64 slots: runs cut at the cores' boundaries)."""


@grid(PATTERN_CASES)
def test_slot_patterns_and_index_dtypes(case: ScatterCase):
    run_and_compare(case)


BLOCK_CASES = [
    in_mode(
        ScatterCase(block_size=size, tokens=tokens, pattern=pattern, soc="Ascend310P", seed=size),
        mode,
    )
    for size, tokens, pattern in (
        (1, 9, "prefill"),
        (16, 50, "padding"),
        (128, 300, "in_order"),
        (24, 90, "out_of_range"),
    )
    for mode in MODES
]
"""On Ascend310P's 8 cores, so a core's tokens make runs of many tokens."""


@grid(BLOCK_CASES)
def test_block_sizes(case: ScatterCase):
    run_and_compare(case)


@grid(BLOCK_CASES)
def test_block_sizes_with_tiny_tiles(case: ScatterCase):
    run_and_compare(case, options=SMALL_TILES)


def test_tokens_larger_than_a_tile_split_by_row_groups():
    """PA_NZ tokens of 12 row groups in 64-byte slots: each tile takes a share of the row
    groups (the load has one burst per token, the store one per row group)."""
    case = nz(ScatterCase(key_token=(12,), value_token=(5,), pattern="in_order", soc="Ascend310B"))
    run_and_compare(case, options="tile-bytes=64")
    run_and_compare(
        case.with_(mode="Norm", key_token=(3, 40), value_token=(1, 7)), options=SMALL_TILES
    )


SOC_CASES = [
    in_mode(
        ScatterCase(
            soc=soc, key_dtype="int8" if soc == "Ascend910" else "bf16", pattern="padding", seed=3
        ),
        mode,
    )
    for soc in SOCS
    if SOCS[soc].supported
    for mode in MODES
]


@grid(SOC_CASES)
def test_every_soc(case: ScatterCase):
    """Every SoC that runs the operator, with its UB and its core count."""
    call = run_and_compare(case)
    assert call.tiling().used_cores == min(SOCS[case.soc].vector_cores, case.tokens)


@grid([in_mode(ScatterCase(pattern=p, seed=11), m) for p in PATTERNS for m in MODES])
def test_high_level_interpreter_equals_golden(case: ScatterCase):
    data = arrays(case)
    expected = expected_caches(case, data)
    run_high_level_interpreter(device_call(case, data))
    assert_caches(data, expected)


def test_prefill_costs_a_handful_of_ops_per_run():
    """8k tokens in blocks of 128 make 64 runs per stream: the kernel's executed ops grow
    with the runs, not the tokens (the interpreter is measured against numpy)."""
    case = ScatterCase(
        block_size=128, num_blocks=80, tokens=8192, key_token=(1, 16), pattern="prefill"
    )
    data = arrays(case)
    expected = expected_caches(case, data)
    run = run_lowered(device_call(case, data))
    assert_caches(data, expected)
    runs = np.count_nonzero(np.diff(data["slot_mapping"].astype(np.int64)) != 1) + 1
    assert runs >= 64
    assert run.executed_ops < 80 * (runs + run.cores)  # about 40 per run and core


# --------------------------------------------------------------------------- round trip


def round_trip(mode: str, dtype: str, index: str, soc: str, seed: int) -> None:
    """Scatter every token of a batch through ``scatter_pa_kv_cache``, then gather the
    batch back with the block table the slots came from: the tokens, bit for bit."""
    rng = np.random.default_rng(seed)
    kind, index_dtype = kv_kind(dtype), index_kind(index).storage
    bs, num_blocks, width = 16, 24, 4
    lens = np.array([37, 1, 0, 16, 9])
    tables = rng.permutation(num_blocks)[: lens.size * width].reshape(lens.size, width)
    seq = np.repeat(np.arange(lens.size), lens)
    pos = np.concatenate([np.arange(n) for n in lens])
    slots = tables[seq, pos // bs] * bs + pos % bs
    ea = kind.elements_per_nz_row
    token = (2 * ea,) if mode == "PA_NZ" else (2, 24)
    cache = (num_blocks, 2, bs, ea) if mode == "PA_NZ" else (num_blocks, bs, 2, 24)
    key, value = (random_bits(rng, kind, (slots.size, *token)) for _ in range(2))
    key_cache, value_cache = (random_bits(rng, kind, cache) for _ in range(2))
    nz_format = "FRACTAL_NZ" if mode == "PA_NZ" and soc == "Ascend910_95" else "ND"

    def tensor(array: np.ndarray, format: str = "ND") -> runtime.Tensor:
        return runtime.Tensor(array, dtype=dtype, format=format)

    caches = tensor(key_cache, nz_format), tensor(value_cache, nz_format)
    runtime.scatter_pa_kv_cache(
        tensor(key), tensor(value), *caches, slots.astype(index_dtype), cache_mode=mode, soc=soc
    )
    key_out, value_out = np.zeros_like(key), np.zeros_like(value)
    runtime.gather_pa_kv_cache(
        *caches, tables.astype(index_dtype), lens.astype(index_dtype), tensor(key_out),
        tensor(value_out), cache_mode=mode, soc=soc,
    )  # fmt: skip
    assert key_out.view(np.uint8).tobytes() == key.view(np.uint8).tobytes()
    assert value_out.view(np.uint8).tobytes() == value.view(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("mode", "dtype", "index", "soc"),
    [
        ("Norm", "bf16", "int32", "Ascend910B"),
        ("PA_NZ", "int8", "int32", "Ascend910B"),
        ("Norm", "fp8_e4m3fn", "int64", "Ascend910_95"),
        ("PA_NZ", "hifloat8", "int64", "Ascend910_95"),
        ("PA_NZ", "fp32", "int32", "Ascend910_95"),
    ],
)
def test_round_trip_scatter_then_gather(mode: str, dtype: str, index: str, soc: str):
    round_trip(mode, dtype, index, soc, seed=len(dtype))


# --------------------------------------------------------------------------- detectors


def broken_kernel_every_core_takes_every_token(signature: runtime.ScatterSignature) -> ModuleOp:
    """The scatter lowered with a broken split: every core takes all the tokens (the
    core's share replaced by [0, split_tokens)), so two cores write every slot."""
    module = build_scatter_module(signature)
    ctx = lowering_context()
    ConvertPakvToAscendPass(soc=signature.soc).apply(ctx, module)
    for op in list(module.walk()):
        if isinstance(op, CoreTokensOp):
            begin = ConstantOp(IntegerAttr(0, IndexType()))
            split = GetTilingOp("split_tokens")
            Rewriter.replace_op(op, [begin, split], [begin.result, split.result])
    PassPipeline(
        (
            TileRunsPass(soc=signature.soc),
            CanonicalizePass(),
            PlanUbPass(soc=signature.soc),
            InsertSyncPass(),
        )
    ).apply(ctx, module)
    module.verify()
    return module


def test_write_conflict_detector_fires_when_two_cores_write_one_slot():
    case = ScatterCase(tokens=8, pattern="decode", soc="Ascend910B")
    data = arrays(case)
    call = device_call(case, data)
    kernel = compile_kernel(
        kernel_function(broken_kernel_every_core_takes_every_token(call.signature))
    )
    machine = AscendMachine(SOCS[case.soc], call.tiling(), call.arguments(), block_num=2)
    with pytest.raises(WriteConflictError, match=r"core 1 writes bytes .* that core 0 also wrote"):
        kernel.run(machine)


def test_duplicate_slots_across_cores_are_a_write_conflict_on_the_device():
    """Without the host checks, two tokens on one slot owned by two cores are reported."""
    case = ScatterCase(tokens=80, pattern="decode", soc="Ascend910B")
    data = arrays(case)
    data["slot_mapping"][79] = data["slot_mapping"][0]
    with pytest.raises(WriteConflictError):
        run_lowered(device_call(case, data))
