"""Quantising scatters for the tests (SPEC section 8): data that exercises every rule.

``QuantCase`` is a scatter (``scatter_cases.ScatterCase``: mode, slots, block size,
token shape, SoC) whose streams are quantised from fp16 / bf16 tokens into int8 / fp8
caches (``QuantSpec`` per stream). ``quant_arrays`` draws the call's operands: tokens
spread over the whole quantised range and past it, with NaN, +-inf, -0.0 and exact
ties (``k + 0.5`` after the scale) planted; inverse scales per tensor or per channel,
powers of two on some channels (so ties stay ties) and others not; offsets with
halves. The caches start as random bits, so every byte the scatter must leave alone
is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gather_cases import index_kind, kv_kind, random_bits
from scatter_cases import ScatterCase, slots_for

from pakv_dialect.dtypes import ElementKind
from runtime.call import QuantSpec, ScatterCall, ScatterSignature


@dataclass(frozen=True)
class QuantCase:
    scatter: ScatterCase = field(default_factory=ScatterCase)
    key_map: QuantSpec | None = None
    value_map: QuantSpec | None = None

    def __str__(self) -> str:
        def spec(s: QuantSpec | None) -> str:
            if s is None:
                return "plain"
            return f"{s.cache_kind}/{s.inv_scale}" + (f"+{s.offset}" if s.offset else "")

        return f"{self.scatter},key={spec(self.key_map)},value={spec(self.value_map)}"

    def stream_map(self, stream: str) -> QuantSpec | None:
        return self.key_map if stream == "key" else self.value_map

    def kinds(self) -> dict[str, ElementKind]:
        """Element kinds by role: tokens of the case's dtypes, caches of the specs'."""
        case = self.scatter
        found: dict[str, ElementKind] = {"slot_mapping": index_kind(case.index_dtype)}
        for stream, dtype in (("key", case.key_dtype), ("value", case.value_dtype)):
            token = kv_kind(dtype or case.key_dtype)
            spec = self.stream_map(stream)
            found[stream] = token
            found[f"{stream}_cache"] = token if spec is None else spec.out_element
            if spec is not None:
                for i in range(len(spec.params)):
                    found[f"{stream}_param_{i}"] = kv_kind("fp32")
        return found

    def signature(self) -> ScatterSignature:
        return self.call(quant_arrays(self)).signature

    def call(self, data: dict[str, np.ndarray]) -> ScatterCall:
        """The call on ``data`` as the kernel sees it: no host check runs."""
        return ScatterCall.wrap(
            data, self.kinds(), cache_mode=self.scatter.cache_mode, soc=self.scatter.soc,
            key_map=self.key_map, value_map=self.value_map,
        )  # fmt: skip


def _tokens(rng: np.random.Generator, kind: ElementKind, shape: tuple[int, ...]) -> np.ndarray:
    """Token values over the quantised range and past it, specials planted."""
    values = rng.normal(0.0, 60.0, size=shape) * rng.choice([1.0, 10.0, 1000.0], size=shape)
    flat = values.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, 2.5, -2.5, 3.5, 126.5, 127.5, -128.5, 1e30]
    flat[: len(specials)] = specials[: flat.size]
    ties = rng.random(flat.size) < 0.2  # exact halves: ties to even after a power-of-two scale
    flat[ties] = np.round(flat[ties]) + 0.5
    with np.errstate(over="ignore"):
        return values.astype(np.float32).astype(kind.storage)


def quant_arrays(case: QuantCase) -> dict[str, np.ndarray]:
    """The call's operands by role (``ScatterSignature.roles``), in storage dtypes."""
    scatter = case.scatter
    rng = np.random.default_rng(scatter.seed)
    kinds = case.kinds()
    slots = slots_for(scatter, rng)
    out: dict[str, np.ndarray] = {"slot_mapping": slots.astype(kinds["slot_mapping"].storage)}
    for stream in ("key", "value"):
        token = scatter.key_token if stream == "key" else scatter.value_token or scatter.key_token
        cache_kind = kinds[f"{stream}_cache"]
        if scatter.mode == "PA_NZ":
            (groups,) = token
            ea = cache_kind.elements_per_nz_row
            tokens_shape: tuple[int, ...] = (slots.size, groups * ea)
            cache_shape = (scatter.num_blocks, groups, scatter.block_size, ea)
        else:
            tokens_shape = (slots.size, *token)
            cache_shape = (scatter.num_blocks, scatter.block_size, *token)
        out[stream] = _tokens(rng, kinds[stream], tokens_shape)
        out[f"{stream}_cache"] = random_bits(rng, cache_kind, cache_shape)
        spec = case.stream_map(stream)
        if spec is None:
            continue
        for i, (name, reach) in enumerate(spec.params):
            shape = tokens_shape[1:] if reach == "channel" else ()
            if name == "inv_scale":
                param = rng.choice([0.5, 1.0, 2.0, 0.37, 3.1], size=shape)
            else:
                param = rng.integers(-6, 6, size=shape) + rng.choice([0.0, 0.5, 0.25], size=shape)
            out[f"{stream}_param_{i}"] = np.asarray(param, dtype=np.float32)
    return out
