"""The two-phase aclnn mirror: statuses instead of exceptions, same checks, same results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from gather_cases import GatherCase, c_example, random_case

from runtime import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS
from runtime.host.aclnn import (
    aclGetRecentErrMsg,
    aclnnGatherPaKvCache,
    aclnnGatherPaKvCacheGetWorkspaceSize,
)
from runtime.host.api import gather_pa_kv_cache


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
    assert (case.key_ref == 1).all() and (case.value_ref == 1).all()


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
