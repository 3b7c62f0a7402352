"""A faithful mirror of the two-phase aclnn C API, on host arrays.

::

    status, workspace_size, executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        keyCache, valueCache, blockTables, seqLens, keyRef, valueRef,
        seqOffsetOptional, cacheMode, isSeqLensCumsum)
    status = aclnnGatherPaKvCache(workspace, workspace_size, executor, stream)
    message = aclGetRecentErrMsg()

Phase one runs every check (``runtime.host.checks``, shared with ``gather_pa_kv_cache``)
and returns an executor holding the verified call; phase two runs it. Errors are
statuses, never exceptions, and the last message is kept for ``aclGetRecentErrMsg``.
What the C API takes from the device context (the SoC) and the choice of executor are
keyword-only extras. Like an aclOpExecutor, an executor runs once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pakv_dialect.soc import DEFAULT_SOC
from runtime.call import GatherCall
from runtime.host import executors
from runtime.host.checks import check_call
from runtime.host.errors import (
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    ACLNN_SUCCESS,
    AclnnError,
)
from runtime.host.tensor import TensorLike

_recent_error = ""


def aclGetRecentErrMsg() -> str:
    """The message of the most recent failed aclnn call ("" when none failed)."""
    return _recent_error


def _fail(error: AclnnError) -> int:
    global _recent_error
    _recent_error = error.message
    return error.status


@dataclass
class AclOpExecutor:
    """What phase one hands to phase two: the verified call, or None when empty."""

    call: GatherCall | None
    executor: executors.Executor
    used: bool = False


def aclnnGatherPaKvCacheGetWorkspaceSize(
    keyCache: TensorLike | None,
    valueCache: TensorLike | None,
    blockTables: TensorLike | None,
    seqLens: TensorLike | None,
    keyRef: TensorLike | None,
    valueRef: TensorLike | None,
    seqOffsetOptional: TensorLike | None,
    cacheMode: str,
    isSeqLensCumsum: bool,
    *,
    soc: str = DEFAULT_SOC,
    executor: str | None = None,
) -> tuple[int, int, AclOpExecutor | None]:
    """Phase one: check everything; returns (status, workspace bytes, executor).

    The gather needs no workspace, so the size is always 0. On failure the executor
    is None and ``aclGetRecentErrMsg`` says why.
    """
    try:
        run = executors.executor_named(executor)
        call = check_call(
            keyCache,
            valueCache,
            blockTables,
            seqLens,
            keyRef,
            valueRef,
            seqOffsetOptional,
            cache_mode=cacheMode,
            is_seq_lens_cumsum=isSeqLensCumsum,
            soc=soc,
        )
    except AclnnError as e:
        return _fail(e), 0, None
    except ValueError as e:
        return _fail(AclnnError(ACLNN_ERR_PARAM_INVALID, str(e))), 0, None
    return ACLNN_SUCCESS, 0, AclOpExecutor(call, run)


def aclnnGatherPaKvCache(
    workspace: object,
    workspaceSize: int,
    executor: AclOpExecutor | None,
    stream: object,
) -> int:
    """Phase two: run the executor from phase one; returns a status.

    ``workspace`` and ``stream`` are accepted for fidelity and unused: the host runs
    synchronously and needs no workspace.
    """
    del workspace, workspaceSize, stream
    if executor is None:
        return _fail(
            AclnnError(
                ACLNN_ERR_PARAM_NULLPTR,
                "executor is null: expected the executor from aclnnGatherPaKvCacheGetWorkspaceSize",
            )
        )
    if executor.used:
        return _fail(
            AclnnError(
                ACLNN_ERR_PARAM_INVALID,
                "executor: expected a fresh executor, got one that already ran "
                "(an aclOpExecutor runs once)",
            )
        )
    executor.used = True
    if executor.call is not None:
        executor.executor(executor.call)
    return ACLNN_SUCCESS
