"""The two-phase aclnn mirror: statuses instead of exceptions, same checks, same results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pytest
from gather_cases import (
    GatherCase,
    assert_c_example_result,
    c_example,
    golden_bytes,
    random_case,
)

from runtime import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS, Tensor
from runtime.call import GatherCall
from runtime.host import executors
from runtime.host.aclnn import (
    AclOpExecutor,
    aclGetRecentErrMsg,
    aclnnGatherPaKvCache,
    aclnnGatherPaKvCacheGetWorkspaceSize,
)
from runtime.host.api import gather_pa_kv_cache
from runtime.host.errors import ACLNN_ERR_INNER

DEVICE_EXECUTORS = ("reference", "interpreter", "lowered")
"""The executors every two-phase test holds to the same result."""


def two_phase(case: GatherCase, args: Sequence[object] | None = None) -> tuple[int, int]:
    """Both phases on ``case``; returns (phase-one status, phase-two status or -1)."""
    status, workspace_size, executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        *(args or case.args()),  # pyright: ignore[reportArgumentType]
        cacheMode=case.cache_mode,
        isSeqLensCumsum=case.cumsum,
        soc=case.soc,
    )
    if status != ACLNN_SUCCESS:
        assert executor is None
        return status, -1
    assert workspace_size == 0
    return status, aclnnGatherPaKvCache(None, workspace_size, executor, None)


@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
@pytest.mark.parametrize("dtype", ["int8", "bf16", "fp32", "hifloat8", "fp8_e4m3fn"])
def test_two_phases_agree_with_the_pythonic_call(
    rng: np.random.Generator, cache_mode: str, dtype: str
) -> None:
    case = random_case(rng, cache_mode=cache_mode, key_dtype=dtype, cumsum=True, with_offset=True)
    pythonic = replace(case, key_ref=case.key_ref.copy(), value_ref=case.value_ref.copy())
    gather_pa_kv_cache(*pythonic.args(), **pythonic.kwargs())
    assert two_phase(case) == (ACLNN_SUCCESS, ACLNN_SUCCESS)
    assert case.output_bytes() == pythonic.output_bytes()


def test_c_example_two_phase() -> None:
    case = c_example()
    assert two_phase(case) == (ACLNN_SUCCESS, ACLNN_SUCCESS)
    assert_c_example_result(case)


def test_invalid_call_returns_status_and_message() -> None:
    case = replace(c_example(), seq_lens=np.array([3, -1, 3, 3], np.int32))
    before = case.output_bytes()
    assert two_phase(case) == (ACLNN_ERR_PARAM_INVALID, -1)
    assert "seqLens[1]" in aclGetRecentErrMsg()
    assert case.output_bytes() == before


def test_null_tensor_returns_nullptr() -> None:
    case = c_example()
    args: list[object] = list(case.args())
    args[0] = None
    assert two_phase(case, args) == (ACLNN_ERR_PARAM_NULLPTR, -1)
    assert "keyCache" in aclGetRecentErrMsg()


def test_messages_agree_with_the_pythonic_errors() -> None:
    from runtime import AclnnError

    case = replace(c_example(), seq_offset=np.array([2, 2, 2, 10], np.int32))
    with pytest.raises(AclnnError) as info:
        gather_pa_kv_cache(*case.args(), **case.kwargs())
    assert two_phase(case)[0] == info.value.status
    assert aclGetRecentErrMsg() == info.value.message


def test_null_executor_is_nullptr() -> None:
    assert aclnnGatherPaKvCache(None, 0, None, None) == ACLNN_ERR_PARAM_NULLPTR
    assert "executor" in aclGetRecentErrMsg()


def test_an_executor_runs_once() -> None:
    case = c_example()
    status, size, executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        *case.args(),
        case.cache_mode,
        case.cumsum,
    )
    assert status == ACLNN_SUCCESS
    assert aclnnGatherPaKvCache(None, size, executor, None) == ACLNN_SUCCESS
    assert aclnnGatherPaKvCache(None, size, executor, None) == ACLNN_ERR_PARAM_INVALID
    assert "already ran" in aclGetRecentErrMsg()


def test_empty_call_succeeds_with_no_workspace(rng: np.random.Generator) -> None:
    case = random_case(rng)
    case = replace(case, key_ref=case.key_ref[:0], value_ref=case.value_ref[:0])
    key_cache_before = case.key_cache.tobytes()
    assert two_phase(case) == (ACLNN_SUCCESS, ACLNN_SUCCESS)
    assert case.key_cache.tobytes() == key_cache_before


def test_unknown_executor_is_invalid() -> None:
    case = c_example()
    status, _, executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        *case.args(),
        case.cache_mode,
        case.cumsum,
        executor="nope",
    )
    assert (status, executor) == (ACLNN_ERR_PARAM_INVALID, None)
    assert "unknown executor 'nope'" in aclGetRecentErrMsg()


# --- phase two launches on the data as it is then ------------------------------------


def phase_one(case: GatherCase, executor: str | None = None) -> AclOpExecutor:
    status, _, op_executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        *case.args(),
        cacheMode=case.cache_mode,
        isSeqLensCumsum=case.cumsum,
        soc=case.soc,
        executor=executor,
    )
    assert status == ACLNN_SUCCESS, aclGetRecentErrMsg()
    assert op_executor is not None
    return op_executor


@pytest.mark.parametrize("executor", DEVICE_EXECUTORS)
def test_lengths_changed_between_the_phases(executor: str) -> None:
    """Phase one sees 1 token per sequence, the launch 3: every executor copies 12 rows."""
    case = replace(c_example(), seq_lens=np.ones(4, np.int32))
    op_executor = phase_one(case, executor)
    case.seq_lens[...] = 3  # the document's lengths, written in place after phase one
    assert aclnnGatherPaKvCache(None, 0, op_executor, None) == ACLNN_SUCCESS
    assert_c_example_result(case)


def fresh_index_data(
    case: GatherCase, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random valid tables, lengths and offsets of ``case``'s shapes, filling its rows."""
    batch, width = case.block_tables.shape
    num_blocks = case.key_cache.shape[0]
    block_size = case.key_cache.shape[2 if case.cache_mode == "PA_NZ" else 1]
    offsets = rng.integers(0, block_size, size=batch)  # every first column is 0
    lens = rng.multinomial(case.key_ref.shape[0], np.full(batch, 1 / batch))
    lens = np.minimum(lens, width * block_size)
    tables = rng.integers(0, num_blocks, size=(batch, width))
    return tables, lens, offsets


@pytest.mark.parametrize("seed", range(4))
def test_every_executor_launches_on_the_new_data(seed: int) -> None:
    """Data-driven: lengths 0 at phase one; lengths, offsets and tables redrawn in place
    before the launch. Every executor writes the golden result of the new data."""
    rng = np.random.default_rng(seed)
    base = random_case(rng, cache_mode=str(rng.choice(["Norm", "PA_NZ"])), with_offset=True)
    assert base.seq_offset is not None
    tables, lens, offsets = fresh_index_data(base, rng)
    for executor in DEVICE_EXECUTORS:
        case = replace(
            base,
            block_tables=np.zeros_like(base.block_tables),
            seq_lens=np.zeros_like(base.seq_lens),
            seq_offset=np.zeros_like(base.seq_offset),
            key_ref=base.key_ref.copy(),
            value_ref=base.value_ref.copy(),
        )
        op_executor = phase_one(case, executor)  # an empty call at this point
        assert case.seq_offset is not None
        case.block_tables[...], case.seq_lens[...], case.seq_offset[...] = tables, lens, offsets
        expected = golden_bytes(case)
        assert expected != base.output_bytes()  # the launch has rows to write
        assert aclnnGatherPaKvCache(None, 0, op_executor, None) == ACLNN_SUCCESS
        assert case.output_bytes() == expected, executor


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda c: c.seq_lens.__setitem__(1, -1), ["seqLens[1]", "expected a length >= 0"]),
        (lambda c: c.block_tables.__setitem__((2, 1), 5), ["blockTables[2, 1]", "[0, 2)"]),
        (lambda c: c.seq_offset.__setitem__(3, -4), ["seqOffset[3]", "got -4"]),
        (lambda c: c.seq_lens.__setitem__(0, 4), ["keyRef dim 0", "total length 13"]),
    ],
    ids=["negative length", "block id", "negative offset", "total"],
)
def test_data_gone_bad_after_phase_one_is_refused_at_launch(
    change: Callable[[GatherCase], None], fragments: list[str]
) -> None:
    case = c_example()
    op_executor = phase_one(case)
    change(case)
    before = case.output_bytes()
    assert aclnnGatherPaKvCache(None, 0, op_executor, None) == ACLNN_ERR_PARAM_INVALID
    for fragment in fragments:
        assert fragment in aclGetRecentErrMsg()
    assert case.output_bytes() == before


def test_reshaping_an_array_object_after_phase_one_changes_nothing() -> None:
    """Like an aclTensor, the checked description is phase one's: the array object's
    shape attribute changed in place does not reach the launch, the data does."""
    case = c_example()
    op_executor = phase_one(case)
    case.key_ref.shape = (12, 64, 1)
    assert aclnnGatherPaKvCache(None, 0, op_executor, None) == ACLNN_SUCCESS
    assert_c_example_result(replace(case, key_ref=case.key_ref.reshape(12, 32, 2)))


def test_a_failing_executor_is_an_inner_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(call: GatherCall) -> None:
        call.value_out.bytes[:7] = 0
        raise ValueError("planted")

    monkeypatch.setitem(executors.EXECUTORS, "failing", failing)
    case = c_example()
    op_executor = phase_one(case, "failing")
    before = case.output_bytes()
    assert aclnnGatherPaKvCache(None, 0, op_executor, None) == ACLNN_ERR_INNER
    assert "internal error" in aclGetRecentErrMsg() and "planted" in aclGetRecentErrMsg()
    assert case.output_bytes() == before


@pytest.mark.parametrize(
    ("position", "value", "fragment"),
    [
        (0, Tensor(np.zeros((2, 2, 32, 2), np.float16), dtype=["fp16"]), "keyCache dtype"),  # pyright: ignore[reportArgumentType]
        (4, Tensor(np.zeros((12, 32, 2), np.float16), format={"ND"}), "keyRef format"),  # pyright: ignore[reportArgumentType]
        (2, np.ma.masked_array(np.ones((4, 6), np.int32)), "blockTables: expected a plain"),
    ],
    ids=["unhashable dtype", "unhashable format", "masked"],
)
def test_odd_parameters_are_statuses(position: int, value: object, fragment: str) -> None:
    case = c_example()
    args: list[object] = list(case.args())
    args[position] = value
    assert two_phase(case, args) == (ACLNN_ERR_PARAM_INVALID, -1)
    assert fragment in aclGetRecentErrMsg()


def test_unhashable_executor_is_a_status() -> None:
    case = c_example()
    status, _, op_executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        *case.args(),
        case.cache_mode,
        case.cumsum,
        executor=["lowered"],  # pyright: ignore[reportArgumentType]
    )
    assert (status, op_executor) == (ACLNN_ERR_PARAM_INVALID, None)
    assert "unknown executor ['lowered']" in aclGetRecentErrMsg()


def test_strided_caches_through_both_phases(rng: np.random.Generator) -> None:
    """SPEC section 9 at the aclnn mirror: keys and values interleaved in one buffer
    (``kv[:, 0]`` / ``kv[:, 1]``) are read in place; a cache strided inside its blocks is
    a 161002 status with keyCache named, nothing written."""
    case = random_case(rng, cache_mode="Norm", key_dtype="bf16", soc="Ascend910B")
    case.value_cache = case.key_cache[::-1].copy()
    case.value_ref = case.key_ref.copy()
    expected = golden_bytes(case)
    kv = np.stack([case.key_cache, case.value_cache], axis=1)
    strided = replace(case, key_cache=kv[:, 0], value_cache=kv[:, 1])
    assert two_phase(strided) == (ACLNN_SUCCESS, ACLNN_SUCCESS)
    assert strided.output_bytes() == expected
    axis = max(a for a in range(1, 4) if case.key_cache.shape[a] > 1)
    inner = np.repeat(case.key_cache, 2, axis=axis)[(slice(None),) * axis + (slice(None, None, 2),)]
    before = case.output_bytes()
    assert two_phase(replace(case, key_cache=inner)) == (ACLNN_ERR_PARAM_INVALID, -1)
    assert "keyCache layout must keep every dim but the first" in aclGetRecentErrMsg()
    assert case.output_bytes() == before
