"""Fused quantisation on the write side (SPEC section 8): translation validation.

Each case is a scatter whose streams are quantised from fp16 / bf16 tokens into int8 /
fp8 caches. Three answers must agree byte for byte on both caches (untouched bytes
included): the fused program (``pakv.scatter`` with ``key_map`` / ``value_map``)
lowered by ``pakv-to-ascend`` and run on the machine model with every detector on;
the unfused program (``linalg.generic`` producers, then ``pakv.scatter``) run op by op
in xDSL's interpreter (``runtime.interpreter.array_functions``), which defines the
meaning; and ``runtime.golden.golden_quant_caches``, SPEC section 8 written out in
numpy. The grid: both layouts, fp16 and bf16 tokens, int8 (Ascend910B, 910_93, 310B,
910_95) and fp8 e4m3fn / e5m2 (Ascend910_95) caches, per-tensor and per-channel
inverse scales, with and without offsets, a plain stream beside a quantised one,
tokens cut into chunks (tiny tiles), padding and out-of-range slots, on data full of
NaN, +-inf, -0.0, overflow and exact ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from quant_cases import QuantCase, quant_arrays
from scatter_cases import ScatterCase, assert_caches

from pakv_dialect.dtypes import SATURATION_BOUNDS
from runtime.call import QuantSpec
from runtime.golden import golden_quant_caches
from runtime.host.lowered import run_lowered
from runtime.interpreter.pakv_functions import run_function
from runtime.ir_builder import SCATTER_KERNEL_NAME, build_unfused_scatter_module
from runtime.memory import GmTensor

I8 = QuantSpec("int8")
I8_CHANNEL_OFFSET = QuantSpec("int8", "channel", "channel")
I8_TENSOR_CHANNEL = QuantSpec("int8", "tensor", "channel")
E4M3 = QuantSpec("fp8_e4m3fn", "channel")
E5M2 = QuantSpec("fp8_e5m2")

NORM = ScatterCase(key_token=(2, 32), tokens=48, soc="Ascend910B")
NZ = ScatterCase(mode="PA_NZ", key_token=(3,), value_token=(2,), tokens=48, soc="Ascend910B")

CASES = [
    QuantCase(NORM, I8, I8_CHANNEL_OFFSET),
    QuantCase(NORM.with_(key_dtype="bf16", soc="Ascend910_93", seed=1), I8_TENSOR_CHANNEL, I8),
    QuantCase(NORM.with_(key_token=(2, 3), pattern="padding", seed=2), I8_CHANNEL_OFFSET, None),
    QuantCase(NORM.with_(soc="Ascend310B", pattern="out_of_range", seed=3), I8, I8),
    QuantCase(NORM.with_(soc="Ascend910_95", seed=4), E4M3, E5M2),
    QuantCase(NORM.with_(soc="Ascend910_95", key_dtype="bf16", seed=5), E5M2, I8_CHANNEL_OFFSET),
    QuantCase(NZ, I8, I8_CHANNEL_OFFSET),
    QuantCase(NZ.with_(key_dtype="bf16", pattern="decode", seed=6), I8_CHANNEL_OFFSET, None),
    QuantCase(NZ.with_(soc="Ascend910_95", pattern="in_order", seed=7), E4M3, E5M2),
    QuantCase(NZ.with_(soc="Ascend910_95", block_size=8, seed=8), I8_TENSOR_CHANNEL, E4M3),
]
"""A dense grid (module docstring); each case runs on three answers."""

TINY = [  # tokens cut into chunks of channels (Norm) and of row groups (PA_NZ)
    (QuantCase(NORM.with_(key_token=(4, 64), seed=9), I8_CHANNEL_OFFSET, I8), 256),
    (QuantCase(NZ.with_(key_token=(8,), seed=10), I8_CHANNEL_OFFSET, I8), 256),
]


def _tensors(case: QuantCase, arrays: dict[str, np.ndarray]) -> list[GmTensor]:
    kinds = case.kinds()
    signature = case.call(arrays).signature
    return [GmTensor.wrap(role, arrays[role], kinds[role]) for role in signature.roles]


def _reference(case: QuantCase, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The unfused program, op by op (its arguments are the fused program's)."""
    arrays = {role: array.copy() for role, array in data.items()}
    module = build_unfused_scatter_module(case.call(arrays).signature)
    run_function(module, _tensors(case, arrays), name=SCATTER_KERNEL_NAME)
    return arrays


def _lowered(
    case: QuantCase, data: dict[str, np.ndarray], options: str = ""
) -> dict[str, np.ndarray]:
    arrays = {role: array.copy() for role, array in data.items()}
    run_lowered(case.call(arrays), options=options)
    return arrays


def _check(case: QuantCase, options: str = "") -> None:
    data = quant_arrays(case)
    maps = {s: spec for s in ("key", "value") if (spec := case.stream_map(s)) is not None}
    golden = golden_quant_caches(data, case.kinds(), maps, cache_mode=case.scatter.cache_mode)
    assert_caches(_reference(case, data), golden)
    assert_caches(_lowered(case, data, options), golden)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fused_lowered_equals_unfused_and_spec(case: QuantCase):
    _check(case)


@pytest.mark.parametrize(("case", "tile_bytes"), TINY, ids=lambda x: str(x))
def test_tokens_cut_into_chunks(case: QuantCase, tile_bytes: int):
    _check(case, f"tile-bytes={tile_bytes}")


def test_the_data_reaches_every_rule():
    """The planted data does exercise saturation, NaN, ties and -0.0 in both formats."""
    case = CASES[4]
    data = quant_arrays(case)
    x = data["key"].astype(np.float32)
    assert np.isnan(x).any() and np.isinf(x).any() and (np.signbit(x) & (x == 0)).any()
    low, high = SATURATION_BOUNDS["fp8_e5m2"]
    scaled = x * data["value_param_0"]
    assert (scaled > high).any() and (scaled < low).any()
    with np.errstate(invalid="ignore"):
        assert ((x % 1) == 0.5).any()
