"""Scatter calls for the tests: random bits, slot patterns, and the golden's verdict.

``ScatterCase`` describes a call by the features the scatter's grid varies (mode,
dtypes, index type, block size, token shape, slot pattern, SoC); ``arrays`` turns it
into arrays in storage dtypes (random bits with NaN payloads and -0.0 planted, caches
included, so untouched bytes are visible), ``device_call`` into a ``ScatterCall``
*without* the host checks, so the kernel meets the bad slots too. ``expected_caches``
is ``runtime.golden``'s answer on copies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from gather_cases import index_kind, kv_kind, random_bits

from pakv_dialect.dtypes import ElementKind
from pakv_dialect.pakv import CacheMode
from runtime.call import SCATTER_ROLES, ScatterCall
from runtime.golden import golden_caches

PATTERNS = ("decode", "prefill", "in_order", "padding", "out_of_range", "skewed", "empty")
"""How the slots are drawn:

* ``decode``: distinct random slots, one token per sequence (runs of one token);
* ``prefill``: sequences of consecutive slots starting anywhere in a block (runs cross
  block boundaries and end mid-block);
* ``in_order``: prefill into blocks handed out in increasing order (a fresh cache), so
  the slots stay consecutive across block boundaries: a run must still end there;
* ``padding``: prefill with negative slots (-1 and others) spread in;
* ``out_of_range``: prefill with slots at and past ``num_blocks * block_size`` (the host
  rejects them; the kernel must skip them);
* ``skewed``: one long sequence and a few one-token ones;
* ``empty``: no tokens at all.
"""


@dataclass(frozen=True)
class ScatterCase:
    mode: str = "Norm"
    key_dtype: str = "fp16"
    value_dtype: str | None = None
    index_dtype: str = "int32"
    block_size: int = 16
    num_blocks: int = 12
    key_token: tuple[int, ...] = (2, 3)
    """Norm: (heads, head_size); PA_NZ: (row groups,)."""
    value_token: tuple[int, ...] | None = None
    tokens: int = 40
    pattern: str = "prefill"
    soc: str = "Ascend910_95"
    seed: int = 0

    def __str__(self) -> str:
        default = ScatterCase()
        fields = [f"{k}={v}" for k, v in vars(self).items() if v != getattr(default, k)]
        return ",".join(fields) or "default"

    def with_(self, **changes: object) -> ScatterCase:
        return replace(self, **changes)  # pyright: ignore[reportArgumentType]

    @property
    def cache_mode(self) -> CacheMode:
        return CacheMode(self.mode)


def nz(case: ScatterCase) -> ScatterCase:
    """The PA_NZ twin of a Norm case: 3 row groups per key token, 2 per value token."""
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


def slots_for(case: ScatterCase, rng: np.random.Generator) -> np.ndarray:
    """Slots of ``case.pattern`` (module docstring), never two tokens on one slot."""
    bs, num_slots = case.block_size, case.num_blocks * case.block_size
    n = 0 if case.pattern == "empty" else min(case.tokens, num_slots)
    if case.pattern == "decode":
        return rng.permutation(num_slots)[:n].astype(np.int64)
    if case.pattern == "skewed":
        lens = [max(n - 3, 0), 1, 1, 1][: max(n, 0)]
    else:
        lens = []
        left = n
        while left > 0:
            lens.append(min(left, int(rng.integers(1, 3 * bs + 2))))
            left -= lens[-1]
    # Each sequence owns consecutive whole blocks (in shuffled block order) and starts
    # at a random position of its first block, as a paged allocator would place them.
    in_order = case.pattern == "in_order"
    blocks = list(range(case.num_blocks) if in_order else rng.permutation(case.num_blocks))
    slots: list[np.ndarray] = []
    for length in lens:
        start = int(rng.integers(0, bs))
        need = -(-(start + length) // bs)
        if need > len(blocks):  # the cache is full: start block-aligned, keep what fits
            start, length = 0, min(length, len(blocks) * bs)
            need = -(-length // bs)
        mine, blocks = blocks[:need], blocks[need:]
        positions = start + np.arange(length)
        chosen = np.asarray(mine, dtype=np.int64)[positions // bs] * bs + positions % bs
        slots.append(chosen)
    result = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    if case.pattern == "padding" and result.size:
        holes = rng.random(result.size) < 0.3
        result[holes] = rng.choice([-1, -2, -(2**31)], size=int(holes.sum()))
    if case.pattern == "out_of_range" and result.size:
        far = rng.random(result.size) < 0.3
        result[far] = num_slots + rng.integers(0, 2**20, size=int(far.sum()))
        result[0] = num_slots  # the first slot past the cache exactly
    return result


def arrays(case: ScatterCase) -> dict[str, np.ndarray]:
    """The call's operands by role (``SCATTER_ROLES``), in storage dtypes."""
    rng = np.random.default_rng(case.seed)
    value_dtype = case.value_dtype or case.key_dtype
    value_token = case.value_token or case.key_token
    slots = slots_for(case, rng)
    out: dict[str, np.ndarray] = {}
    for prefix, dtype, token in (
        ("key", case.key_dtype, case.key_token),
        ("value", value_dtype, value_token),
    ):
        kind = kv_kind(dtype)
        if case.mode == "PA_NZ":
            (groups,) = token
            ea = kind.elements_per_nz_row
            tokens_shape = (slots.size, groups * ea)
            cache_shape = (case.num_blocks, groups, case.block_size, ea)
        else:
            tokens_shape = (slots.size, *token)
            cache_shape = (case.num_blocks, case.block_size, *token)
        out[prefix] = random_bits(rng, kind, tokens_shape)
        out[f"{prefix}_cache"] = random_bits(rng, kind, cache_shape)
    out["slot_mapping"] = slots.astype(index_kind(case.index_dtype).storage)
    return {role: out[role] for role in SCATTER_ROLES}


def kinds(case: ScatterCase) -> dict[str, ElementKind]:
    value_dtype = case.value_dtype or case.key_dtype
    return {
        "key": kv_kind(case.key_dtype),
        "key_cache": kv_kind(case.key_dtype),
        "value": kv_kind(value_dtype),
        "value_cache": kv_kind(value_dtype),
        "slot_mapping": index_kind(case.index_dtype),
    }


def device_call(case: ScatterCase, data: dict[str, np.ndarray]) -> ScatterCall:
    """The call on ``data`` as the kernel sees it: no host check runs."""
    return ScatterCall.wrap(data, kinds(case), cache_mode=case.cache_mode, soc=case.soc)


def expected_caches(case: ScatterCase, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return golden_caches(data, cache_mode=case.cache_mode)


def assert_caches(data: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """Both caches equal ``expected`` byte for byte (untouched bytes included)."""
    for role, want in expected.items():
        got = data[role].view(np.uint8)
        differ = np.flatnonzero((got != want.view(np.uint8)).reshape(-1))
        assert differ.size == 0, f"{role}: {differ.size} bytes differ, first at byte {differ[0]}"
