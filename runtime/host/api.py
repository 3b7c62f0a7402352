"""The Pythonic host API: ``gather_pa_kv_cache``, one call that checks, then runs.

The same two steps back the aclnn mirror (``runtime.host.aclnn``): ``checks.check_call``
validates everything before anything is written, then a named executor runs the call.
"""

from __future__ import annotations

from pakv_dialect.soc import DEFAULT_SOC
from runtime.host import executors
from runtime.host.checks import check_call
from runtime.host.tensor import TensorLike


def gather_pa_kv_cache(
    key_cache: TensorLike,
    value_cache: TensorLike,
    block_tables: TensorLike,
    seq_lens: TensorLike,
    key_ref: TensorLike,
    value_ref: TensorLike,
    seq_offset: TensorLike | None = None,
    *,
    cache_mode: str = "Norm",
    is_seq_lens_cumsum: bool = False,
    soc: str = DEFAULT_SOC,
    executor: str | None = None,
) -> None:
    """aclnnGatherPaKvCache on host arrays: writes ``key_ref``/``value_ref`` in place.

    Tensors are numpy arrays (ml_dtypes for bf16/fp8) or ``runtime.Tensor`` when
    the dtype (HiFloat8) or format (FRACTAL_NZ) needs saying. ``executor`` names an
    entry of ``runtime.host.executors.EXECUTORS``; None uses ``DEFAULT_EXECUTOR``.

    Raises ``AclnnError`` (status 161001 or 161002, SPEC section 3) before writing
    anything; empty calls succeed and write nothing. ValueError: unknown executor.
    """
    run = executors.executor_named(executor)
    call = check_call(
        key_cache,
        value_cache,
        block_tables,
        seq_lens,
        key_ref,
        value_ref,
        seq_offset,
        cache_mode=cache_mode,
        is_seq_lens_cumsum=is_seq_lens_cumsum,
        soc=soc,
    )
    if call is not None:
        run(call)
