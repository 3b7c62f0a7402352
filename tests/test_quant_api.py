"""The quantising scatter through the host API (SPEC section 8), and the round trip.

``runtime.scatter_pa_kv_cache`` with inverse scales and offsets, on every executor,
against an expectation computed here from SPEC section 8's formula (numpy and
ml_dtypes, sharing nothing with the code under test); its parameter checks (status,
and the caches untouched); and the round trip: scatter with quantisation, then gather
with dequantisation (any scale and offset), returns exactly ``dequant(quant(x))`` of
SPEC sections 7-8, computed here the same way.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest
from host_compiler import needs_compiler

import runtime
from runtime.host.errors import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR

FP8 = {"fp8_e4m3fn": (ml_dtypes.float8_e4m3fn, 448.0), "fp8_e5m2": (ml_dtypes.float8_e5m2, 57344.0)}


def _quantise(x: np.ndarray, inv_scale: Any, offset: Any, cache: str) -> np.ndarray:
    """SPEC section 8, straight from its text."""
    y = (
        x.astype(np.float32) * np.asarray(inv_scale, np.float32)
        if np.isscalar(inv_scale)
        else (x.astype(np.float32) * np.asarray(inv_scale, np.float32).reshape(x.shape[1:]))
    )
    if offset is not None:
        y = (
            y + np.asarray(offset, np.float32).reshape(x.shape[1:] if np.ndim(offset) else ())
        ).astype(np.float32)
    if cache == "int8":
        q = np.clip(np.rint(y), -128, 127)
        return np.where(np.isnan(y), 0, q).astype(np.int8)
    dtype, top = FP8[cache]
    return np.where(np.isnan(y), y, np.clip(y, -top, top)).astype(dtype)


def _dequantise(q: np.ndarray, scale: float, offset: float | None, out: type) -> np.ndarray:
    """SPEC section 7: (float32(q) - offset) * scale, then the output type."""
    x = q.astype(np.float32)
    if offset is not None:
        x = (x - np.float32(offset)).astype(np.float32)
    return (x * np.float32(scale)).astype(np.float32).astype(out)


def _tokens(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    x = (rng.normal(0, 80, size=shape) * rng.choice([1, 100], size=shape)).astype(np.float32)
    flat = x.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 2.5, 3.5]
    return x.astype(dtype)


def _call(mode: str, cache: str, soc: str, seed: int):
    rng = np.random.default_rng(seed)
    bs, blocks, heads, size = 16, 6, 2, 32
    tokens = 40
    slots = rng.permutation(blocks * bs)[:tokens]
    slots[::7] = -1
    cache_dtype = np.int8 if cache == "int8" else FP8[cache][0]
    if mode == "PA_NZ":
        shape = (tokens, heads * size)
        cache_shape = (blocks, heads * size // 32, bs, 32)
    else:
        shape = (tokens, heads, size)
        cache_shape = (blocks, bs, heads, size)
    key, value = _tokens(rng, shape, np.float16), _tokens(rng, shape, ml_dtypes.bfloat16)
    caches = [
        rng.integers(0, 256, size=cache_shape, dtype=np.uint8).view(cache_dtype) for _ in "kv"
    ]
    return rng, slots.astype(np.int32), key, value, caches


def _expected(mode, slots, tokens, cache, quantised):
    want = cache.copy()
    placed = slots >= 0
    bs = cache.shape[2 if mode == "PA_NZ" else 1]
    blk, pos = slots[placed] // bs, slots[placed] % bs
    rows = quantised[placed]
    if mode == "PA_NZ":
        want[blk, :, pos] = rows.reshape(rows.shape[0], cache.shape[1], 32)
    else:
        want[blk, pos] = rows
    return want


EXECUTORS = [
    "reference",
    "interpreter",
    "lowered",
    pytest.param("ascendc-host", marks=needs_compiler),
]


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize(
    ("mode", "cache", "soc"),
    [
        ("Norm", "int8", "Ascend910B"),
        ("PA_NZ", "int8", "Ascend910_93"),
        ("Norm", "fp8_e4m3fn", "Ascend910_95"),
        ("PA_NZ", "fp8_e5m2", "Ascend910_95"),
    ],
)
def test_every_executor_quantises_as_spec_8(executor: str, mode: str, cache: str, soc: str):
    rng, slots, key, value, (kc, vc) = _call(mode, cache, soc, seed=len(cache) + len(mode))
    h = key.shape[1:]
    key_inv = float(rng.choice([0.5, 0.37]))
    value_inv = rng.choice([0.5, 1.0, 2.7], size=int(np.prod(h))).astype(np.float32)
    offsets = {}
    if cache == "int8":
        offsets = {
            "key_offset": 2.5,
            "value_offset": rng.integers(-4, 4, size=value_inv.size).astype(np.float32),
        }
    want_k = _expected(
        mode, slots, key, kc, _quantise(key, key_inv, offsets.get("key_offset"), cache)
    )
    want_v = _expected(
        mode, slots, value, vc, _quantise(value, value_inv, offsets.get("value_offset"), cache)
    )
    fmt = "FRACTAL_NZ" if mode == "PA_NZ" and soc == "Ascend910_95" else "ND"
    runtime.scatter_pa_kv_cache(
        key, runtime.Tensor(value, dtype="bf16"), runtime.Tensor(kc, dtype=cache, format=fmt),
        runtime.Tensor(vc, dtype=cache, format=fmt), slots, cache_mode=mode, soc=soc,
        executor=executor, key_inv_scale=key_inv, value_inv_scale=value_inv, **offsets,
    )  # fmt: skip
    assert kc.view(np.uint8).tobytes() == want_k.view(np.uint8).tobytes()
    assert vc.view(np.uint8).tobytes() == want_v.view(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("mode", "cache", "soc", "scale", "offset"),
    [
        ("Norm", "int8", "Ascend910B", 0.05, 1.5),
        ("PA_NZ", "int8", "Ascend910B", 0.02, None),
        ("Norm", "fp8_e4m3fn", "Ascend910_95", 3.0, None),
        ("PA_NZ", "fp8_e5m2", "Ascend910_95", 0.5, 0.25),
    ],
)
def test_round_trip_returns_dequant_of_quant(
    mode: str, cache: str, soc: str, scale: float, offset: float | None
):
    """Scatter with quantisation, gather with dequantisation (block table from the
    slots): exactly dequant(quant(x)) per SPEC sections 7-8, computed here."""
    rng = np.random.default_rng(7)
    bs, blocks, width = 16, 14, 3
    lens = np.array([33, 1, 0, 12])
    tables = rng.permutation(blocks)[: lens.size * width].reshape(lens.size, width)
    seq = np.repeat(np.arange(lens.size), lens)
    pos = np.concatenate([np.arange(n) for n in lens])
    slots = (tables[seq, pos // bs] * bs + pos % bs).astype(np.int32)
    h = 64
    shape = (slots.size, h) if mode == "PA_NZ" else (slots.size, 2, 32)
    cache_shape = (blocks, h // 32, bs, 32) if mode == "PA_NZ" else (blocks, bs, 2, 32)
    cache_dtype = np.int8 if cache == "int8" else FP8[cache][0]
    key, value = _tokens(rng, shape, np.float16), _tokens(rng, shape, np.float16)
    kc, vc = np.zeros(cache_shape, dtype=cache_dtype), np.zeros(cache_shape, dtype=cache_dtype)
    inv = rng.choice([4.0, 0.3, 11.0], size=h).astype(np.float32)
    quant_offset: dict[str, Any] = (
        {"key_offset": 3.0, "value_offset": -1.5} if cache == "int8" else {}
    )
    fmt = "FRACTAL_NZ" if mode == "PA_NZ" and soc == "Ascend910_95" else "ND"
    key_cache = runtime.Tensor(kc, dtype=cache, format=fmt)
    value_cache = runtime.Tensor(vc, dtype=cache, format=fmt)
    runtime.scatter_pa_kv_cache(
        key, value, key_cache, value_cache, slots, cache_mode=mode, soc=soc, key_inv_scale=inv,
        value_inv_scale=0.7, **quant_offset,
    )  # fmt: skip
    key_out, value_out = np.zeros(shape, np.float16), np.zeros(shape, ml_dtypes.bfloat16)
    runtime.gather_dequant_pa_kv_cache(
        key_cache, value_cache, tables.astype(np.int32), lens.astype(np.int32), key_out,
        runtime.Tensor(value_out, dtype="bf16"), key_scale=scale, value_scale=scale * 2,
        key_offset=offset, value_offset=offset, cache_mode=mode, soc=soc,
    )  # fmt: skip
    want_k = _dequantise(
        _quantise(key, inv, quant_offset.get("key_offset"), cache), scale, offset, np.float16
    )
    want_v = _dequantise(
        _quantise(value, 0.7, quant_offset.get("value_offset"), cache),
        scale * 2,
        offset,
        ml_dtypes.bfloat16,
    )
    assert key_out.view(np.uint8).tobytes() == want_k.view(np.uint8).tobytes()
    assert value_out.view(np.uint8).tobytes() == want_v.view(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("cache", "token", "soc", "kwargs", "status"),
    [
        (
            "fp8_e4m3fn",
            "fp16",
            "Ascend910_95",
            {"key_inv_scale": 1.0, "value_inv_scale": 1.0, "key_offset": 1.0},
            ACLNN_ERR_PARAM_INVALID,
        ),
        ("int8", "fp16", "Ascend910B", {"key_inv_scale": 1.0}, ACLNN_ERR_PARAM_NULLPTR),
        (
            "int8",
            "fp32",
            "Ascend910_95",
            {"key_inv_scale": 1.0, "value_inv_scale": 1.0},
            ACLNN_ERR_PARAM_INVALID,
        ),
        (
            "fp16",
            "fp16",
            "Ascend910B",
            {"key_inv_scale": 1.0, "value_inv_scale": 1.0},
            ACLNN_ERR_PARAM_INVALID,
        ),
        (
            "int8",
            "fp16",
            "Ascend910B",
            {"key_inv_scale": np.ones(3, np.float32), "value_inv_scale": 1.0},
            ACLNN_ERR_PARAM_INVALID,
        ),
        ("int8", "fp16", "Ascend910B", {}, ACLNN_ERR_PARAM_INVALID),
        (
            "int8",
            "fp16",
            "Ascend910",
            {"key_inv_scale": 1.0, "value_inv_scale": 1.0},
            ACLNN_ERR_PARAM_INVALID,
        ),
    ],
)
def test_bad_quantising_calls_write_nothing(cache, token, soc, kwargs, status):
    rng = np.random.default_rng(1)
    dtype = {"fp16": np.float16, "fp32": np.float32}[token]
    cache_dtype = {"int8": np.int8, "fp16": np.float16, "fp8_e4m3fn": ml_dtypes.float8_e4m3fn}[
        cache
    ]
    key = rng.normal(size=(4, 2, 16)).astype(dtype)
    kc = rng.integers(0, 100, size=(2, 16, 2, 16), dtype=np.uint8).view(np.int8).astype(cache_dtype)
    vc = kc.copy()
    before = kc.tobytes(), vc.tobytes()
    with pytest.raises(runtime.AclnnError) as error:
        runtime.scatter_pa_kv_cache(
            key, key.copy(), runtime.Tensor(kc, dtype=cache), runtime.Tensor(vc, dtype=cache),
            np.arange(4, dtype=np.int32), soc=soc, **kwargs,
        )  # fmt: skip
    assert error.value.status == status, str(error.value)
    assert (kc.tobytes(), vc.tobytes()) == before
