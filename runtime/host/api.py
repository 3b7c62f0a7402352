"""The Pythonic host API: ``gather_pa_kv_cache`` and ``scatter_pa_kv_cache``, one call
that checks, then runs.

The same steps back the aclnn mirror (``runtime.host.aclnn``): ``runtime.host.checks``
validates everything before anything is written, then ``runtime.host.launch`` runs the
call on a named executor, putting the outputs back if that executor fails.
"""

from __future__ import annotations

import numpy as np

from pakv_dialect.soc import DEFAULT_SOC
from runtime.host import executors
from runtime.host.checks import check_call
from runtime.host.launch import launch
from runtime.host.scatter_checks import check_scatter_call
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
    options: str = "",
) -> None:
    """aclnnGatherPaKvCache on host arrays: writes ``key_ref``/``value_ref`` in place.

    Tensors are numpy arrays (ml_dtypes for bf16/fp8) or ``runtime.Tensor`` when
    the dtype (HiFloat8) or format (FRACTAL_NZ) needs saying. ``executor`` names an
    entry of ``runtime.host.executors.EXECUTORS``; None uses ``DEFAULT_EXECUTOR``.
    ``options`` are ``pakv-to-ascend`` options for the kernel's plan (what ``pakv tune``
    prints, e.g. ``"nz=load3d slots=2"``); they are part of the compile-cache key, and
    options the lowering refuses are a 161002 error.

    Raises ``AclnnError`` (status 161001 or 161002, SPEC section 3) before writing
    anything; empty calls succeed and write nothing. An executor that fails on a
    checked call is an internal error (``AclnnError`` with status 561000,
    ``ACLNN_ERR_INNER``): the outputs are put back as they were. ValueError: unknown
    executor.
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
        options=options,
    )
    if call is not None:
        launch(call, run, executors.DEFAULT_EXECUTOR if executor is None else executor)


def gather_dequant_pa_kv_cache(
    key_cache: TensorLike,
    value_cache: TensorLike,
    block_tables: TensorLike,
    seq_lens: TensorLike,
    key_out: TensorLike,
    value_out: TensorLike,
    seq_offset: TensorLike | None = None,
    *,
    key_scale: float | np.ndarray,
    value_scale: float | np.ndarray,
    key_offset: float | np.ndarray | None = None,
    value_offset: float | np.ndarray | None = None,
    cache_mode: str = "Norm",
    is_seq_lens_cumsum: bool = False,
    soc: str = DEFAULT_SOC,
    executor: str | None = None,
) -> None:
    """GatherPaKvCache fused with its dequantisation (SPEC section 7), in place:
    ``out = convert((float32(x) - offset) * scale)`` for every gathered element.

    ``key_out``/``value_out``'s dtypes (fp16, bf16, fp32) choose each output's type. A
    scale or offset is a Python float (one per tensor) or a 1-D float32 array of ``H``
    values (one per position in a token); the offset is optional (0). The same checks,
    statuses (161001, 161002) and no-write-on-error as ``gather_pa_kv_cache``, plus the
    parameters' own (a None scale is 161001; a parameter of another shape or dtype, an
    output dtype other than fp16/bf16/fp32, a dtype or conversion the SoC cannot run
    are 161002). Rows at or past the lengths' total are left as they were.
    """
    run = executors.executor_named(executor)
    call = check_call(
        key_cache,
        value_cache,
        block_tables,
        seq_lens,
        key_out,
        value_out,
        seq_offset,
        cache_mode=cache_mode,
        is_seq_lens_cumsum=is_seq_lens_cumsum,
        soc=soc,
        dequant={
            "key_scale": key_scale,
            "value_scale": value_scale,
            "key_offset": key_offset,
            "value_offset": value_offset,
        },
    )
    if call is not None:
        launch(call, run, executors.DEFAULT_EXECUTOR if executor is None else executor)


def scatter_pa_kv_cache(
    key: TensorLike,
    value: TensorLike,
    key_cache: TensorLike,
    value_cache: TensorLike,
    slot_mapping: TensorLike,
    *,
    cache_mode: str = "Norm",
    soc: str = DEFAULT_SOC,
    executor: str | None = None,
    key_inv_scale: object = None,
    value_inv_scale: object = None,
    key_offset: object = None,
    value_offset: object = None,
    options: str = "",
) -> None:
    """ScatterPaKvCache on host arrays (SPEC section 8): writes token ``t`` of ``key`` and
    ``value`` into slot ``slot_mapping[t]`` of ``key_cache``/``value_cache``, in place.

    Given inverse scales (a float per tensor, or a float32 array of ``H`` values per
    channel; both streams), the call quantises on the way (SPEC section 8): fp16 / bf16
    tokens into int8 caches, ``saturate(round_half_even(x * inv_scale + offset))``, or
    fp8_e4m3fn / fp8_e5m2 caches, ``fp8(x * inv_scale)`` saturating (no offset); the
    caches' dtypes choose the quantised type. An offset or a scale without the other
    scale is a 161001 / 161002 like any other bad parameter.

    A negative slot skips its token. Tensors are as for :func:`gather_pa_kv_cache`
    (``runtime.Tensor`` for HiFloat8 or a FRACTAL_NZ cache). Raises ``AclnnError``
    (161001, 161002: a static rule, a slot at or past the cache's end, two tokens with
    one slot, operands sharing memory with a cache) before writing anything; an empty
    call succeeds and writes nothing; an executor that fails is a 561000 with the
    caches put back as they were. ValueError: unknown executor. ``options`` are
    ``pakv-to-ascend`` options (tile sizes, slots, cores, sync, as ``pakv tune`` prints
    them); a vendor strategy, another split or PA_NZ method is a 161002.
    """
    run = executors.executor_named(executor)
    given = {
        "key_inv_scale": key_inv_scale, "value_inv_scale": value_inv_scale,
        "key_offset": key_offset, "value_offset": value_offset,
    }  # fmt: skip
    quant = given if any(v is not None for v in given.values()) else None
    call = check_scatter_call(
        key, value, key_cache, value_cache, slot_mapping, cache_mode=cache_mode, soc=soc,
        options=options,
        quant=quant,
    )  # fmt: skip
    if call is not None:
        launch(call, run, executors.DEFAULT_EXECUTOR if executor is None else executor)
