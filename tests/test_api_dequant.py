"""``runtime.gather_dequant_pa_kv_cache``: every executor writes SPEC section 7's bytes,
and bad parameters get the plain op's statuses with nothing written.

The oracle here is written in the test: the plain op's golden gather into a buffer of
the cache's dtype, then ``(float32(x) - offset) * scale`` in numpy float32 and one
conversion (``astype``: numpy for fp16, ml_dtypes for bf16), row by row as SPEC section
7 states it; rows at or past the lengths' total must keep their bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from host_compiler import needs_compiler

import runtime
from runtime import Tensor, TensorLike
from runtime.golden import golden_gather, total_length
from runtime.host import executors
from runtime.host.errors import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR

EXECUTORS = [
    pytest.param(n, marks=needs_compiler) if n == "ascendc-host" else n
    for n in sorted(executors.EXECUTORS)
]

Args = tuple[list[np.ndarray], dict[str, Any]]
"""The call's arrays in parameter order, and its keyword arguments."""


def c8_call(rng: np.random.Generator) -> Args:
    """vllm-ascend's C8 form: int8 caches, per-channel scale and offset, fp16 keys and
    bf16 values (per-tensor scale), Norm layout, cumulative lengths with an offset."""
    heads, size, block = 2, 24, 8
    caches = [rng.integers(-128, 128, (6, block, heads, size), dtype=np.int8) for _ in range(2)]
    tables = rng.integers(0, 6, (3, 4)).astype(np.int32)
    lens = np.array([0, 9, 9, 25], np.int32)  # cumulative: 9, 0, 16 tokens
    outs = [
        rng.standard_normal((30, heads, size)).astype(np.float16),
        rng.standard_normal((30, heads, size)).astype(ml_dtypes.bfloat16),
    ]
    scale = (rng.random(heads * size, dtype=np.float32) * np.float32(0.1)).reshape(heads, size)
    offset = rng.standard_normal((heads, size)).astype(np.float32)
    seq_offset = np.array([3, 0, 8], np.int32)
    kwargs = {
        "key_scale": scale.reshape(-1), "key_offset": offset.reshape(-1),
        "value_scale": 0.03125, "is_seq_lens_cumsum": True, "soc": "Ascend910B",
    }  # fmt: skip
    return [*caches, tables, lens, *outs, seq_offset], kwargs


def mla_call(rng: np.random.Generator) -> Args:
    """vLLM's form: fp8 (e4m3fn) caches, per-tensor scales, bf16 and fp32 outputs, PA_NZ
    on Ascend 950 (its Cast reads fp8)."""
    h, block = 64, 16
    bits = [rng.integers(0, 256, (5, h // 32, block, 32), dtype=np.uint8) for _ in range(2)]
    caches = [b.view(ml_dtypes.float8_e4m3fn) for b in bits]  # FRACTAL_NZ: see wrap()
    tables = rng.integers(0, 5, (2, 3)).astype(np.int64)
    lens = np.array([20, 27], np.int64)
    outs = [np.zeros((50, h), ml_dtypes.bfloat16), np.zeros((50, h), np.float32)]
    kwargs = {
        "key_scale": 0.5, "value_scale": -3.0, "value_offset": 1.25, "cache_mode": "PA_NZ",
        "soc": "Ascend910_95",
    }  # fmt: skip
    return [*caches, tables, lens, *outs], kwargs


def wrap(arrays: list[np.ndarray], kwargs: dict[str, Any]) -> list[TensorLike]:
    """The arrays as the API takes them: PA_NZ caches on Ascend 950 say FRACTAL_NZ."""
    if kwargs.get("cache_mode") != "PA_NZ" or kwargs["soc"] != "Ascend910_95":
        return list(arrays)
    return [Tensor(a, format="FRACTAL_NZ") for a in arrays[:2]] + list(arrays[2:])


CALLS: dict[str, Callable[[np.random.Generator], Args]] = {"C8": c8_call, "MLA": mla_call}


def expected(arrays: list[np.ndarray], kwargs: dict[str, Any]) -> list[np.ndarray]:
    """The module docstring's oracle: the outputs the call must leave."""
    key_cache, value_cache, tables, lens, key_out, value_out, *rest = arrays
    seq_offset = rest[0] if rest else None
    mode, cumsum = kwargs.get("cache_mode", "Norm"), kwargs.get("is_seq_lens_cumsum", False)
    key_x, value_x = (
        np.zeros(key_out.shape, key_cache.dtype),
        np.zeros(value_out.shape, value_cache.dtype),
    )
    golden_gather(
        key_cache,
        value_cache,
        tables,
        lens,
        key_x,
        value_x,
        seq_offset,
        cache_mode=mode,
        cumsum=cumsum,
    )
    gathered = [key_x, value_x]
    rows = min(total_length(lens, cumsum=cumsum), key_out.shape[0])
    results: list[np.ndarray] = []
    for stream, x, out in (("key", gathered[0], key_out), ("value", gathered[1], value_out)):
        scale = np.asarray(kwargs[f"{stream}_scale"], np.float32)
        offset = np.asarray(kwargs.get(f"{stream}_offset", 0.0), np.float32)
        inner = out.shape[1:]
        x_f = x[:rows].astype(np.float32)
        y = (x_f - offset.reshape(inner if offset.ndim else ())) * scale.reshape(
            inner if scale.ndim else ()
        )
        result = out.copy()
        result[:rows] = y.astype(np.float32).astype(out.dtype)
        results.append(result)
    return results


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("name", CALLS)
def test_every_executor_writes_spec_section_7s_bytes(name: str, executor: str) -> None:
    arrays, kwargs = CALLS[name](np.random.default_rng(7))
    want = expected(arrays, kwargs)
    with np.errstate(over="ignore", invalid="ignore"):
        runtime.gather_dequant_pa_kv_cache(*wrap(arrays, kwargs), **kwargs, executor=executor)
    for got, wanted in zip(arrays[4:6], want, strict=True):
        assert np.array_equal(got.view(np.uint8), wanted.view(np.uint8))


def _refused(status: int, fragment: str, arrays: list[np.ndarray], **kwargs: Any) -> None:
    before = [a.copy() for a in arrays]
    with pytest.raises(runtime.AclnnError) as raised:
        runtime.gather_dequant_pa_kv_cache(*arrays, **kwargs)
    assert raised.value.status == status
    assert fragment in str(raised.value)
    for array, old in zip(arrays, before, strict=True):
        assert np.array_equal(array.view(np.uint8), old.view(np.uint8))


def test_bad_parameters_get_the_plain_ops_statuses_and_nothing_is_written() -> None:
    arrays, kwargs = c8_call(np.random.default_rng(1))
    _refused(ACLNN_ERR_PARAM_NULLPTR, "keyScale is null", arrays, **{**kwargs, "key_scale": None})
    short = np.ones(7, np.float32)
    _refused(ACLNN_ERR_PARAM_INVALID, "keyOffset", arrays, **{**kwargs, "key_offset": short})
    wide = np.ones(48, np.float64)
    _refused(ACLNN_ERR_PARAM_INVALID, "valueScale", arrays, **{**kwargs, "value_scale": wide})
    int_out = [*arrays[:4], np.zeros(arrays[4].shape, np.int8), *arrays[5:]]
    _refused(ACLNN_ERR_PARAM_INVALID, "keyRef dtype", int_out, **kwargs)
    # The training series' Cast has no float -> bfloat16: the bf16 values cannot be made.
    _refused(ACLNN_ERR_PARAM_INVALID, "bf16", arrays, **{**kwargs, "soc": "Ascend910"})
    # The plain op's own checks still apply (lengths past the outputs).
    bad_lens = [*arrays[:3], np.array([0, 9, 9, 99], np.int32), *arrays[4:]]
    _refused(ACLNN_ERR_PARAM_INVALID, "expected at least the total length 99", bad_lens, **kwargs)
