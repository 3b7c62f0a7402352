"""A faithful mirror of the two-phase aclnn C API, on host arrays: the gather's
``aclnnGatherPaKvCache*`` and the scatter's ``aclnnScatterPaKvCache*``.

::

    status, workspace_size, executor = aclnnGatherPaKvCacheGetWorkspaceSize(
        keyCache, valueCache, blockTables, seqLens, keyRef, valueRef,
        seqOffsetOptional, cacheMode, isSeqLensCumsum)
    status = aclnnGatherPaKvCache(workspace, workspace_size, executor, stream)
    message = aclGetRecentErrMsg()

Phase one runs every check (``runtime.host.checks``, shared with ``gather_pa_kv_cache``)
and returns an executor holding the checked tensors; phase two launches it on the data
as it is *then*, as the device would: the data rules run again and the sizes (the total
length, the tiling) are taken from the data at launch, so every executor sees the same
call. Phase one still runs the data rules too, to report bad data as early as the C API
can. Errors are statuses, never exceptions (an executor that fails is
``ACLNN_ERR_INNER``, 561000, with the outputs left as they were), and the last message
is kept for ``aclGetRecentErrMsg``. What the C API takes from the device context (the
SoC) and the choice of executor are keyword-only extras. Like an aclOpExecutor, an
executor runs once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pakv_dialect.soc import DEFAULT_SOC
from runtime.host import executors
from runtime.host.checks import CheckedCall, check_parameters
from runtime.host.errors import (
    ACLNN_ERR_INNER,
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    ACLNN_SUCCESS,
    AclnnError,
)
from runtime.host.launch import launch
from runtime.host.scatter_checks import CheckedScatter, check_scatter_parameters
from runtime.host.tensor import TensorLike

_recent_error = ""


def aclGetRecentErrMsg() -> str:
    """The message of the most recent failed aclnn call ("" when none failed)."""
    return _recent_error


def _fail(error: AclnnError) -> int:
    global _recent_error
    _recent_error = error.message
    return error.status


def _internal(error: Exception) -> int:
    """A status for an exception that no check foresaw: never let it out of a C API."""
    detail = " ".join(str(error).split()) or "no message"
    return _fail(
        AclnnError(
            ACLNN_ERR_INNER,
            f"internal error: {type(error).__name__}: {detail} (a bug of PAKV, not of the "
            "call's parameters)",
        )
    )


@dataclass
class AclOpExecutor:
    """What phase one hands to phase two: the checked tensors and the chosen executor."""

    checked: CheckedCall | CheckedScatter
    executor: executors.Executor
    executor_name: str
    used: bool = False


def _phase_one(
    check: Callable[[], CheckedCall | CheckedScatter], executor: str | None
) -> tuple[int, int, AclOpExecutor | None]:
    """Phase one of either operator: ``check`` every parameter and the data as it is
    now (phase two checks the data again), choose the executor; (status, workspace
    bytes: always 0, the executor or None). No exception leaves: the C API's contract is
    statuses."""
    try:
        run = executors.executor_named(executor)
        checked = check()
        checked.at_launch()  # bad data is reported now already; phase two checks again
    except AclnnError as e:
        return _fail(e), 0, None
    except ValueError as e:
        return _fail(AclnnError(ACLNN_ERR_PARAM_INVALID, str(e))), 0, None
    except Exception as e:
        return _internal(e), 0, None
    name = executors.DEFAULT_EXECUTOR if executor is None else executor
    return ACLNN_SUCCESS, 0, AclOpExecutor(checked, run, name)


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

    def check() -> CheckedCall:
        return check_parameters(
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

    return _phase_one(check, executor)


def aclnnGatherPaKvCache(
    workspace: object,
    workspaceSize: int,
    executor: AclOpExecutor | None,
    stream: object,
) -> int:
    """Phase two: launch the executor from phase one on the data as it is now.

    The data rules run again (161002 if the data went bad since phase one; nothing is
    written) and the sizes come from the data now. ``workspace`` and ``stream`` are
    accepted for fidelity and unused: the host runs synchronously and needs no workspace.
    """
    del workspace, workspaceSize, stream
    return _launch_phase_two(executor, "aclnnGatherPaKvCacheGetWorkspaceSize")


def _launch_phase_two(executor: AclOpExecutor | None, phase_one: str) -> int:
    """Phase two of either operator: the executor from ``phase_one``, once."""
    if executor is None:
        return _fail(
            AclnnError(
                ACLNN_ERR_PARAM_NULLPTR,
                f"executor is null: expected the executor from {phase_one}",
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
    try:
        call = executor.checked.at_launch()
        if call is not None:
            launch(call, executor.executor, executor.executor_name)
    except AclnnError as e:
        return _fail(e)
    except Exception as e:
        return _internal(e)
    return ACLNN_SUCCESS


def aclnnScatterPaKvCacheGetWorkspaceSize(
    key: TensorLike | None,
    keyCacheRef: TensorLike | None,
    slotMapping: TensorLike | None,
    value: TensorLike | None,
    valueCacheRef: TensorLike | None,
    compressLensOptional: TensorLike | None,
    compressSeqOffsetOptional: TensorLike | None,
    seqLensOptional: TensorLike | None,
    cacheMode: str,
    *,
    soc: str = DEFAULT_SOC,
    executor: str | None = None,
) -> tuple[int, int, AclOpExecutor | None]:
    """Phase one of the scatter (the vendor's parameter order): check everything;
    returns (status, workspace bytes, executor).

    The compress parameters of the vendor's compress modes are out of scope (SPEC
    section 8): they must be None, else 161002. The scatter needs no workspace.
    """

    def check() -> CheckedScatter:
        compress = {
            "compressLensOptional": compressLensOptional,
            "compressSeqOffsetOptional": compressSeqOffsetOptional,
            "seqLensOptional": seqLensOptional,
        }
        for name, given in compress.items():
            if given is not None:
                raise AclnnError(
                    ACLNN_ERR_PARAM_INVALID,
                    f"{name}: expected None (the compress modes are not supported), got a tensor",
                )
        return check_scatter_parameters(
            key, value, keyCacheRef, valueCacheRef, slotMapping, cache_mode=cacheMode, soc=soc
        )

    return _phase_one(check, executor)


def aclnnScatterPaKvCache(
    workspace: object,
    workspaceSize: int,
    executor: AclOpExecutor | None,
    stream: object,
) -> int:
    """Phase two of the scatter: launch the executor from phase one on the data as it is
    now (the slot rules run again)."""
    return _launch_phase_two(executor, "aclnnScatterPaKvCacheGetWorkspaceSize")
