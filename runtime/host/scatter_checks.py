"""Every check of a scatter call (SPEC section 8), run before anything is written.

The gather's checks (``runtime.host.checks``) in the scatter's words, through the same
pieces: the one definition of an acceptable array, the dtype table, the storage
formats, the layouts (only a cache may be a strided view, SPEC section 9, judged by the
verifier), the overlap rule (here the caches are the outputs: neither may share a byte
with another tensor of the call) and the ``pakv.scatter`` verifier, the one place the
static rules live. Then the data rules, vectorised over ``slot_mapping``:

* a slot at or past ``num_blocks * block_size`` (the cache's end) is a 161002;
* two tokens with one non-negative slot are a 161002 (the vendor documents duplicates
  as unsupported; SPEC section 8 rejects them);
* a negative slot is padding: the token is skipped.

Two steps, as for the gather: :func:`check_scatter_parameters` (no data read) returns a
:class:`CheckedScatter`, whose :meth:`~CheckedScatter.at_launch` judges the data as it
is then and returns the ``ScatterCall`` executors run, or None when the call is empty
(a tensor with no elements) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.dtypes import ElementKind
from pakv_dialect.pakv import SCATTER_OPERATOR, CacheMode, ScatterOp
from pakv_dialect.soc import SocError, SocInfo, soc_info
from runtime.call import API_NAMES, CACHE_ROLES, QuantSpec, ScatterCall
from runtime.host.checks import (
    Operand,
    api_message,
    check_cache_mode,
    check_no_overlap,
    check_options,
    check_plan,
    invalid,
    resolve_operand,
    resolve_quant,
)
from runtime.host.errors import ACLNN_ERR_PARAM_NULLPTR, AclnnError
from runtime.ir_builder import checked_types, scatter_module


def _check_soc(soc: object) -> SocInfo:
    if not isinstance(soc, str):
        raise invalid(f"soc: expected a SoC name, got {soc!r}")
    try:
        return soc_info(soc, SCATTER_OPERATOR)
    except SocError as e:
        raise invalid(f"soc: {e}") from None


@dataclass(frozen=True)
class CheckedScatter:
    """A scatter whose parameters passed every check that does not read their data
    (``arrays`` are this object's own views of the caller's arrays, as in
    ``runtime.host.checks.CheckedCall``)."""

    arrays: Mapping[str, np.ndarray]
    kinds: Mapping[str, ElementKind]
    mode: CacheMode
    soc: SocInfo
    empty: bool
    """A tensor has no elements: the call succeeds and writes nothing."""
    options: str = ""
    """The lowering options the kernel is built with (``ScatterSignature.options``)."""
    maps: Mapping[str, QuantSpec] = field(default_factory=dict[str, QuantSpec])
    """A quantising call's quantisation by stream (SPEC section 8)."""

    def at_launch(self) -> ScatterCall | None:
        """The data rules on the data as it is now; None when there is nothing to write."""
        if self.empty:
            return None
        check_slots(self.arrays, mode=self.mode)
        return self.wrap()

    def wrap(self) -> ScatterCall:
        return ScatterCall.wrap(
            self.arrays, self.kinds, cache_mode=self.mode, soc=self.soc.name,
            options=self.options, key_map=self.maps.get("key"), value_map=self.maps.get("value"),
        )  # fmt: skip


def check_scatter_parameters(
    key: object,
    value: object,
    key_cache: object,
    value_cache: object,
    slot_mapping: object,
    *,
    cache_mode: object,
    soc: object,
    options: object = "",
    quant: Mapping[str, object] | None = None,
) -> CheckedScatter:
    """161001 for a missing tensor, then every 161002 that does not read the data.

    ``options``: the lowering's, as for the gather; one the scatter cannot honour, such
    as a vendor strategy, is a 161002. ``quant`` makes the call a quantising one (SPEC
    section 8): its inverse scales and offsets by name (``key_inv_scale``, ``key_offset``,
    ...; ``checks.resolve_quant``)."""
    given = {
        "key": key,
        "value": value,
        "slot_mapping": slot_mapping,
        "key_cache": key_cache,
        "value_cache": value_cache,
    }
    for role, tensor in given.items():
        if tensor is None:
            raise AclnnError(
                ACLNN_ERR_PARAM_NULLPTR, f"{API_NAMES[role]} is null: expected a tensor, got None"
            )
    mode = check_cache_mode(cache_mode)
    chip = _check_soc(soc)
    operands = {
        role: resolve_operand(role, tensor, mode, chip, CACHE_ROLES)
        for role, tensor in given.items()
    }
    maps: dict[str, QuantSpec] = {}
    if quant is not None:
        maps, params = resolve_quant(quant, operands)
        operands |= params
    check_no_overlap(operands, CACHE_ROLES)
    empty = any(operands[role].array.size == 0 for role in ("key", "value", *CACHE_ROLES))
    _verify_static(operands, mode=mode, soc=chip, empty=empty, maps=maps)
    checked = CheckedScatter(
        arrays={role: op.array for role, op in operands.items()},
        kinds={role: op.kind for role, op in operands.items()},
        mode=mode,
        soc=chip,
        empty=empty,
        options=check_options(options),
        maps=maps,
    )
    if checked.options and not empty:
        check_plan(checked.wrap().signature)
    return checked


def check_scatter_call(
    key: object,
    value: object,
    key_cache: object,
    value_cache: object,
    slot_mapping: object,
    *,
    cache_mode: object,
    soc: object,
    options: object = "",
    quant: Mapping[str, object] | None = None,
) -> ScatterCall | None:
    """Validate one scatter now. None: the call is empty and writes nothing."""
    return check_scatter_parameters(
        key, value, key_cache, value_cache, slot_mapping, cache_mode=cache_mode, soc=soc,
        options=options,
        quant=quant,
    ).at_launch()  # fmt: skip


def _verify_static(
    operands: Mapping[str, Operand],
    *,
    mode: CacheMode,
    soc: SocInfo,
    empty: bool,
    maps: Mapping[str, QuantSpec],
) -> None:
    """The ``pakv.scatter`` verifier on the call's exact shapes and dtypes (an empty call
    skips only the rule that layout dimensions be positive)."""
    types = checked_types(
        {
            role: (op.kind.ir_type, tuple(op.array.shape), op.strides)
            for role, op in operands.items()
        }
    )
    module = scatter_module(types, cache_mode=mode, soc=soc.name, maps=maps)
    try:
        if empty:
            scatter = next(op for op in module.walk() if isinstance(op, ScatterOp))
            scatter.verify_layout()
            scatter.verify_soc(soc.name)
        else:
            module.verify()
    except VerifyException as e:
        raise invalid(api_message(e)) from None


def check_slots(arrays: Mapping[str, np.ndarray], *, mode: CacheMode) -> None:
    """SPEC section 8's data rules on ``slot_mapping``, vectorised (never per token)."""
    slots = arrays["slot_mapping"].astype(np.int64)
    cache = arrays["key_cache"]
    block_size = cache.shape[2 if mode == CacheMode.PA_NZ else 1]
    num_slots = cache.shape[0] * block_size
    past = slots >= num_slots
    if past.any():
        i = int(np.flatnonzero(past)[0])
        raise invalid(
            f"slotMapping[{i}]: expected a slot below num_blocks * block_size = "
            f"{cache.shape[0]} * {block_size} = {num_slots} (keyCache), or a negative one to "
            f"skip the token, got {slots[i]}"
        )
    order = np.argsort(slots, kind="stable")
    ordered = slots[order]
    repeated = (ordered[1:] == ordered[:-1]) & (ordered[1:] >= 0)
    if repeated.any():
        at = int(np.flatnonzero(repeated)[0])
        first, second = sorted((int(order[at]), int(order[at + 1])))
        raise invalid(
            f"slotMapping[{second}]: expected a slot no other token writes, got {slots[second]}, "
            f"which slotMapping[{first}] writes too (duplicate slots are not supported)"
        )
