"""The Pythonic host API on valid and empty calls, with every executor."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from gather_cases import (
    ALL_DTYPES,
    GatherCase,
    assert_c_example_result,
    c_example,
    golden_bytes,
    mixed_case,
    random_case,
    shape_example,
)
from host_compiler import needs_compiler

import runtime
from runtime.call import GatherCall, KernelCall
from runtime.host import executors
from runtime.host.errors import ACLNN_ERR_INNER
from runtime.host.launch import written_bytes

EXECUTOR_NAMES = sorted(executors.EXECUTORS)
PER_SIGNATURE_EXECUTORS = [name for name in EXECUTOR_NAMES if name != "ascendc-host"]
"""Executors cheap to start on a new signature. ``ascendc-host`` compiles C++ per
signature: test_ascendc_host.py holds it to the golden on a grid built in batches."""


def call_api(case: GatherCase, executor: str | None = None) -> None:
    runtime.gather_pa_kv_cache(*case.args(), **case.kwargs(), executor=executor)


@pytest.mark.parametrize(
    "executor",
    [pytest.param(n, marks=needs_compiler) if n == "ascendc-host" else n for n in EXECUTOR_NAMES],
)
def test_c_example_writes_what_spec_section_6_works_out(executor: str) -> None:
    case = c_example()
    call_api(case, executor=executor)
    assert_c_example_result(case)


def test_shape_example_matches_golden(rng: np.random.Generator) -> None:
    case = shape_example(rng)
    expected = golden_bytes(case)
    before = case.output_bytes()
    call_api(case)
    assert case.output_bytes() == expected
    assert case.output_bytes()[0] != before[0]  # every row was written


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
def test_random_calls_match_golden_on_every_executor(
    rng: np.random.Generator, dtype: str, cache_mode: str
) -> None:
    for cumsum in (False, True):
        for with_offset in (False, True):
            case = mixed_case(
                rng, cache_mode=cache_mode, cumsum=cumsum, with_offset=with_offset, key_dtype=dtype
            )
            expected = golden_bytes(case)
            initial = case.key_ref.copy(), case.value_ref.copy()
            for executor in PER_SIGNATURE_EXECUTORS:
                case.key_ref[...], case.value_ref[...] = initial
                call_api(case, executor=executor)
                assert case.output_bytes() == expected, executor


def test_legacy_soc_runs_its_dtypes(rng: np.random.Generator) -> None:
    for soc in ("Ascend910B", "Ascend910_93", "Ascend310B", "Ascend310P", "Ascend910"):
        for dtype in ("int8", "fp16", "bf16"):
            case = random_case(rng, cache_mode="PA_NZ", key_dtype=dtype, soc=soc)
            expected = golden_bytes(case)
            call_api(case)
            assert case.output_bytes() == expected


def test_default_executor_is_read_at_call_time(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[GatherCall] = []
    monkeypatch.setitem(executors.EXECUTORS, "recording", seen.append)
    monkeypatch.setattr(executors, "DEFAULT_EXECUTOR", "recording")
    case = random_case(rng)
    call_api(case)
    assert len(seen) == 1
    call = seen[0]
    assert call.total_tokens == case.total
    assert call.num_tokens == case.key_ref.shape[0]
    assert (call.batch, call.table_width) == case.block_tables.shape
    assert call.key_out.bytes.base is not None  # a view of the caller's array, not a copy
    assert np.shares_memory(call.key_out.bytes, case.key_ref)


def failing_executor(writes: int, seed: int = 0) -> executors.Executor:
    """An executor that scribbles on ``writes`` random bytes of the rows a call may write
    (of both outputs), then fails: what a kernel fault halfway through would leave."""

    def run(call: KernelCall) -> None:
        assert isinstance(call, GatherCall)
        rng = np.random.default_rng(seed)
        for tensor, count in written_bytes(call):
            where = rng.integers(0, count, size=writes)
            tensor.bytes[where] = ~tensor.bytes[where]
        raise RuntimeError("planted failure")

    return run


@pytest.mark.parametrize("writes", [0, 1, 1000])
def test_a_failing_executor_leaves_the_outputs_untouched(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, writes: int
) -> None:
    monkeypatch.setitem(executors.EXECUTORS, "failing", failing_executor(writes, writes))
    case = random_case(rng, cache_mode="PA_NZ", with_offset=True)
    before = case.output_bytes()
    with pytest.raises(runtime.AclnnError) as info:
        call_api(case, executor="failing")
    error = info.value
    assert error.status == ACLNN_ERR_INNER == 561000
    for fragment in ("internal error", "executor 'failing'", "RuntimeError: planted failure"):
        assert fragment in error.message
    assert "keyRef and valueRef are unchanged" in error.message
    assert isinstance(error.__cause__, RuntimeError)  # the traceback is there to debug
    assert case.output_bytes() == before


def test_an_interrupted_executor_leaves_the_outputs_untouched(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(call: GatherCall) -> None:
        for tensor, count in written_bytes(call):
            tensor.bytes[:count] = 0
        raise KeyboardInterrupt

    monkeypatch.setitem(executors.EXECUTORS, "interrupted", interrupted)
    case = random_case(rng)
    before = case.output_bytes()
    with pytest.raises(KeyboardInterrupt):
        call_api(case, executor="interrupted")
    assert case.output_bytes() == before


def test_unknown_executor_is_a_value_error_and_writes_nothing(rng: np.random.Generator) -> None:
    case = random_case(rng)
    before = case.output_bytes()
    with pytest.raises(ValueError, match="unknown executor 'nope'"):
        call_api(case, executor="nope")
    assert case.output_bytes() == before


def test_calls_differing_only_in_runtime_sizes_share_one_module(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = random_case(rng, cache_mode="PA_NZ", with_offset=True)
    # Twice the blocks, twice the rows: only runtime sizes change.
    big = replace(
        small,
        key_cache=np.concatenate([small.key_cache, small.key_cache]),
        value_cache=np.concatenate([small.value_cache, small.value_cache]),
        key_ref=np.concatenate([small.key_ref, small.key_ref]),
        value_ref=np.concatenate([small.value_ref, small.value_ref]),
    )
    seen: list[GatherCall] = []
    monkeypatch.setitem(executors.EXECUTORS, "recording", seen.append)
    call_api(small, executor="recording")
    call_api(big, executor="recording")
    first, second = seen
    assert first.num_blocks * 2 == second.num_blocks
    assert first.signature == second.signature
    assert hash(first.signature) == hash(second.signature)
    module = executors.high_level_module(first.signature)
    assert executors.high_level_module(second.signature) is module


# --- empty calls: succeed, write nothing -------------------------------------------


def zeroed(case: GatherCase, dims: dict[str, tuple[int, ...]]) -> GatherCase:
    """The case with the given dimensions of the named arrays set to 0."""
    arrays: dict[str, np.ndarray] = {}
    for name, zero_dims in dims.items():
        array: np.ndarray = getattr(case, name)
        shape = [0 if d in zero_dims else n for d, n in enumerate(array.shape)]
        arrays[name] = np.zeros(shape, array.dtype)
    return replace(case, **arrays)


EMPTY_NORM = {
    "num_blocks": {"key_cache": (0,), "value_cache": (0,)},
    "block_size": {"key_cache": (1,), "value_cache": (1,)},
    "key num_heads": {"key_cache": (2,), "key_ref": (1,)},
    "value head_size": {"value_cache": (3,), "value_ref": (2,)},
    "num_tokens": {"key_ref": (0,), "value_ref": (0,)},
}
EMPTY_NZ = {
    "num_blocks": {"key_cache": (0,), "value_cache": (0,)},
    "block_size": {"key_cache": (2,), "value_cache": (2,)},
    "key H/ea": {"key_cache": (1,), "key_ref": (1,)},
    "num_tokens": {"key_ref": (0,), "value_ref": (0,)},
}


@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
def test_tensors_without_elements_succeed_and_write_nothing(
    rng: np.random.Generator, cache_mode: str
) -> None:
    base = random_case(rng, cache_mode=cache_mode, key_dtype="fp16")
    for label, dims in (EMPTY_NORM if cache_mode == "Norm" else EMPTY_NZ).items():
        case = zeroed(base, dims)
        before = case.output_bytes()
        call_api(case)
        assert case.output_bytes() == before, label


def test_zero_total_succeeds_and_writes_nothing(rng: np.random.Generator) -> None:
    case = random_case(rng, cumsum=True)
    case.seq_lens[...] = 0
    before = case.output_bytes()
    call_api(case)
    assert case.output_bytes() == before


def test_zero_batch_succeeds(rng: np.random.Generator) -> None:
    case = random_case(rng)
    case.block_tables = case.block_tables[:0]
    case.seq_lens = case.seq_lens[:0]
    before = case.output_bytes()
    call_api(case)
    assert case.output_bytes() == before


def test_empty_call_still_gets_static_checks(rng: np.random.Generator) -> None:
    case = random_case(rng)
    case.key_ref = np.zeros((0, 5, 5, 5), case.key_ref.dtype)
    with pytest.raises(runtime.AclnnError, match="keyRef must have rank 3") as info:
        call_api(case)
    assert info.value.status == runtime.ACLNN_ERR_PARAM_INVALID


# --- strided caches (SPEC section 9): numpy views whose only non-contiguity is dim 0 ---


def _layer_views(rng: np.random.Generator, case: GatherCase, least: int = 2, layer: int = 1):
    """``case``'s caches as layer ``layer`` of ``[num_blocks, layers, ...]`` buffers whose
    other layers hold random bits (the vllm-ascend per-layer cache), and the buffers.
    ``layers`` is at least ``least``, and enough for a 32-byte multiple of a stride."""
    views: list[np.ndarray] = []
    buffers: list[np.ndarray] = []
    for cache in (case.key_cache, case.value_cache):
        layers = 32 // math.gcd(cache[0:1].nbytes, 32)
        layers *= -(-least // layers)
        buffer = np.empty((cache.shape[0], layers, *cache.shape[1:]), cache.dtype)
        buffer.view(np.uint8)[...] = rng.integers(0, 256, buffer.view(np.uint8).shape, np.uint8)
        buffer[:, layer] = cache
        views.append(buffer[:, layer])
        buffers.append(buffer)
    return views, buffers


@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
@pytest.mark.parametrize(
    "executor",
    [pytest.param(n, marks=needs_compiler) if n == "ascendc-host" else n for n in EXECUTOR_NAMES],
)
def test_per_layer_views_are_read_in_place(
    rng: np.random.Generator, cache_mode: str, executor: str
) -> None:
    """``big[:, layer]`` of a ``[num_blocks, layers, ...]`` buffer, on every executor:
    the golden bytes, and the buffers (other layers included) untouched."""
    case = random_case(rng, cache_mode=cache_mode, key_dtype="fp16", soc="Ascend910B")
    expected = golden_bytes(case)
    (key_view, value_view), buffers = _layer_views(rng, case)
    assert not key_view.flags.c_contiguous
    before = [buffer.tobytes() for buffer in buffers]
    call_api(replace(case, key_cache=key_view, value_cache=value_view), executor=executor)
    assert case.output_bytes() == expected
    assert [buffer.tobytes() for buffer in buffers] == before


@pytest.mark.parametrize("dtype", ["int8", "bf16", "fp32", "hifloat8"])
def test_interleaved_keys_and_values(rng: np.random.Generator, dtype: str) -> None:
    """Keys and values of one buffer ``kv[:, 0]`` / ``kv[:, 1]`` (same block shape)."""
    case = random_case(rng, cache_mode="PA_NZ", key_dtype=dtype, soc="Ascend910_95")
    case.value_cache = case.key_cache[::-1].copy()  # the keys' shape, other values
    case.key_ref[...] = 0
    case.value_ref = np.zeros_like(case.key_ref)
    expected = golden_bytes(case)
    kv = np.stack([case.key_cache, case.value_cache], axis=1)
    for executor in PER_SIGNATURE_EXECUTORS:
        case.key_ref[...] = 0
        case.value_ref[...] = 0
        call_api(replace(case, key_cache=kv[:, 0], value_cache=kv[:, 1]), executor=executor)
        assert case.output_bytes() == expected, executor


def test_an_output_overlapping_a_strided_cache_is_refused(rng: np.random.Generator) -> None:
    """Aliasing is judged on the views' real bytes: keyRef over the memory from the key
    cache's first element on shares bytes with it (161002 naming both); keyRef in
    layers 2.. of the same buffer's block 0 does not, and the call runs."""
    case = random_case(rng, cache_mode="Norm", key_dtype="fp16", soc="Ascend910B")
    block_size = case.key_cache.shape[1]
    least = 2 + -(-case.key_ref.shape[0] // block_size)  # layers 2.. of a block hold keyRef
    (key_view, value_view), (key_buffer, _) = _layer_views(rng, case, least=least)
    flat = key_buffer.reshape(-1)
    first = key_view[0:1].size  # layer 1 of block 0 starts one block in
    inside = flat[first : first + case.key_ref.size].reshape(case.key_ref.shape)
    with pytest.raises(runtime.AclnnError) as info:
        call_api(replace(case, key_cache=key_view, value_cache=value_view, key_ref=inside))
    assert info.value.status == 161002
    assert "keyRef and keyCache share memory" in info.value.message
    elsewhere = key_buffer[0, 2:].reshape(-1)[: case.key_ref.size].reshape(case.key_ref.shape)
    assert not np.shares_memory(elsewhere, key_view) and np.shares_memory(elsewhere, key_buffer)
    elsewhere[...] = case.key_ref
    expected = golden_bytes(case)
    call_api(replace(case, key_cache=key_view, value_cache=value_view, key_ref=elsewhere))
    assert (elsewhere.tobytes(), case.value_ref.tobytes()) == expected


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("unaligned", "keyCache dim 0 (num_blocks) stride must be a non-negative multiple of 32"),
        ("backwards", "keyCache dim 0 (num_blocks) stride must be a non-negative multiple of 32"),
        ("odd", "keyCache: expected strides in whole 2-byte elements, got a stride of"),
    ],
)
def test_a_block_stride_the_hardware_cannot_take_is_refused(
    rng: np.random.Generator, kind: str, fragment: str
) -> None:
    """Blocks 16 bytes off a 32-byte multiple apart, running backwards, or a stride that
    is not a whole number of elements: 161002 naming keyCache, nothing written."""
    case = random_case(rng, cache_mode="Norm", key_dtype="fp16", soc="Ascend910B")
    blocks, row = case.key_cache.shape[0], case.key_cache[0:1].nbytes
    aligned = -(-row // 32) * 32 + 32  # a 32-byte multiple past one block
    stride = {"unaligned": aligned + 16, "backwards": -aligned, "odd": aligned + 1}[kind]
    buffer = np.zeros(2 * blocks * aligned + 64, np.uint8)
    start = (blocks - 1) * aligned if kind == "backwards" else 0
    key_view = np.lib.stride_tricks.as_strided(
        buffer[start:].view(np.float16),
        shape=case.key_cache.shape,
        strides=(stride, *case.key_cache.strides[1:]),
    )
    before = case.output_bytes()
    with pytest.raises(runtime.AclnnError) as info:
        call_api(replace(case, key_cache=key_view))
    assert info.value.status == 161002 and fragment in info.value.message, info.value.message
    assert case.output_bytes() == before
