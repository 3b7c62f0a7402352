"""Every check of SPEC section 3, run before anything is written.

Two steps, because the two-phase aclnn API (``runtime.host.aclnn``) runs them at
different times: :func:`check_parameters` judges everything that does not read the
data (the tensors, shapes, dtypes, attributes) and returns a :class:`CheckedCall`;
:meth:`CheckedCall.at_launch` judges the data as it is at that moment and returns the
``GatherCall`` executors run (or None when the call is empty and must write nothing).
``check_call`` does both, for the Pythonic API. Either raises ``AclnnError``. The order
follows the aclnn convention:

1. 161001: a required tensor is None.
2. 161002, what the IR cannot express: the cacheMode string, the SoC, each tensor's
   kind (:func:`acceptable_array`, writability of outputs, strides in whole elements),
   dtype (must be in the dtype table) and storage format (ND / FRACTAL_NZ per SPEC
   section 4), and that no output shares memory with another tensor
   (:func:`check_no_overlap`, exact for strided views too).
3. 161002, static rules: the call's exact shapes, dtypes and layouts (a non-contiguous
   array's strides, :func:`element_strides`) are built into a static ``pakv.gather``
   and the dialect's verifier judges them (SPEC section 9: only a cache may be strided,
   along its first axis, by a multiple of 32 bytes). The verifier is the one place
   those rules live; its message is only renamed to the operator's parameter names
   (``key_out`` -> ``keyRef``).
4. Empty calls (a cache or output with no elements) stop here and succeed.
5. 161002, data rules (:func:`check_data`), vectorised over the index tensors (never
   per token). A call whose lengths total 0 is empty and succeeds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import Attribute
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from pakv_dialect.dtypes import (
    FLOAT_RESULT_KINDS,
    INDEX_ELEMENT_KINDS,
    KV_ELEMENT_KINDS,
    QUANT_RESULT_KINDS,
    ElementKind,
    index_kind_named,
    index_kind_of_numpy,
    kv_kind_named,
    kv_kind_of_numpy,
)
from pakv_dialect.layouts import dense_strides
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import SocError, SocInfo, TensorFormat, soc_info
from passes.diagnostics import PassFailedAt
from runtime.call import (
    API_NAMES,
    CACHE_ROLES,
    INDEX_ROLES,
    OUTPUT_ROLES,
    Broadcast,
    DequantSpec,
    GatherCall,
    KernelSignature,
    QuantSpec,
)
from runtime.host.errors import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, AclnnError
from runtime.host.lowered import compile_signature
from runtime.host.tensor import Tensor
from runtime.ir_builder import build_checked_module, find_gather


def invalid(message: str) -> AclnnError:
    """A 161002 error (ACLNN_ERR_PARAM_INVALID)."""
    return AclnnError(ACLNN_ERR_PARAM_INVALID, message)


@dataclass(frozen=True)
class Operand:
    """One resolved tensor parameter: its array, element kind and layout."""

    role: str
    array: np.ndarray
    kind: ElementKind
    strides: tuple[int, ...] | None
    """The array's layout in the IR's terms (:func:`element_strides`)."""

    @property
    def api_name(self) -> str:
        return API_NAMES[self.role]


def check_call(
    key_cache: object,
    value_cache: object,
    block_tables: object,
    seq_lens: object,
    key_ref: object,
    value_ref: object,
    seq_offset: object = None,
    *,
    cache_mode: object,
    is_seq_lens_cumsum: object,
    soc: object,
    options: object = "",
    dequant: Mapping[str, object] | None = None,
) -> GatherCall | None:
    """Validate one call (SPEC section 3) now. None: the call is empty and writes nothing.

    ``dequant``: a dequantising call's scales and offsets (:func:`check_parameters`)."""
    return check_parameters(
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
        dequant=dequant,
    ).at_launch()


@dataclass(frozen=True)
class CheckedCall:
    """A call whose parameters passed every check that does not read their data.

    ``arrays`` are this object's own views of the caller's arrays: the same memory,
    with the shape, dtype and flags they had when checked. Like an ``aclTensor``
    (which fixes a tensor's description in phase one of the aclnn API), they do not
    change if the caller later reshapes or retypes an array object in place; the data
    itself stays the caller's and is read afresh by every :meth:`at_launch`.
    """

    arrays: Mapping[str, np.ndarray]
    """Operand role -> array (storage dtype); seq_offset only when given."""
    kinds: Mapping[str, ElementKind]
    mode: CacheMode
    cumsum: bool
    soc: SocInfo
    empty: bool
    """A cache or output has no elements: the call succeeds and writes nothing."""
    options: str = ""
    """The lowering options the kernel is built with (``GatherSignature.options``)."""
    maps: Mapping[str, DequantSpec] = field(default_factory=dict[str, DequantSpec])
    """A dequantising call's consumers by stream (SPEC section 7)."""

    def at_launch(self) -> GatherCall | None:
        """The data rules on the data as it is now, and the sizes it gives.

        Returns the call executors run, or None when there is nothing to copy (an
        empty tensor, or lengths that total 0). Raises ``AclnnError`` (161002).
        """
        if self.empty:
            return None
        total = check_data(
            self.arrays,
            mode=self.mode,
            cumsum=self.cumsum,
            num_tokens=self.arrays["key_out"].shape[0],
        )
        if total == 0:
            return None
        return GatherCall.wrap(
            self.arrays,
            self.kinds,
            cache_mode=self.mode,
            cumsum=self.cumsum,
            soc=self.soc.name,
            total_tokens=total,
            options=self.options,
            key_map=self.maps.get("key"),
            value_map=self.maps.get("value"),
        )


def check_parameters(
    key_cache: object,
    value_cache: object,
    block_tables: object,
    seq_lens: object,
    key_ref: object,
    value_ref: object,
    seq_offset: object = None,
    *,
    cache_mode: object,
    is_seq_lens_cumsum: object,
    soc: object,
    options: object = "",
    dequant: Mapping[str, object] | None = None,
) -> CheckedCall:
    """Steps 1 to 4 of the module docstring: everything but the data rules.

    ``dequant`` makes the call a dequantising one (SPEC section 7): its scales and
    offsets by role (``key_scale``, ``key_offset``, ``value_scale``, ``value_offset``;
    :func:`resolve_dequant`); the outputs' dtypes choose the consumers' results.
    """
    given = {
        "key_cache": key_cache,
        "value_cache": value_cache,
        "block_tables": block_tables,
        "seq_lens": seq_lens,
        "seq_offset": seq_offset,
        "key_out": key_ref,
        "value_out": value_ref,
    }
    for role, value in given.items():
        if value is None and role != "seq_offset":
            raise AclnnError(
                ACLNN_ERR_PARAM_NULLPTR, f"{API_NAMES[role]} is null: expected a tensor, got None"
            )
    mode = check_cache_mode(cache_mode)
    cumsum = _check_flag(is_seq_lens_cumsum)
    chip = _check_soc(soc)
    operands = {
        role: resolve_operand(role, value, mode, chip)
        for role, value in given.items()
        if value is not None
    }
    maps: dict[str, DequantSpec] = {}
    if dequant is not None:
        maps, params = resolve_dequant(dequant, operands)
        operands |= params
    check_no_overlap(operands)

    empty = any(operands[role].array.size == 0 for role in (*CACHE_ROLES, *OUTPUT_ROLES))
    _verify_static(operands, mode=mode, cumsum=cumsum, soc=chip, empty=empty, maps=maps)
    checked = CheckedCall(
        arrays={role: op.array for role, op in operands.items()},
        kinds={role: op.kind for role, op in operands.items()},
        mode=mode,
        cumsum=cumsum,
        soc=chip,
        empty=empty,
        options=check_options(options),
        maps=maps,
    )
    if checked.options and not empty:
        signature = GatherCall.wrap(
            checked.arrays, checked.kinds, cache_mode=checked.mode, cumsum=checked.cumsum,
            soc=checked.soc.name, total_tokens=0, options=checked.options,
            key_map=maps.get("key"), value_map=maps.get("value"),
        ).signature  # fmt: skip
        check_plan(signature)
    return checked


# --- a dequantising call's parameters ---------------------------------------------


def _dequant_parameter(
    name: str, value: object, inner: tuple[int, ...]
) -> tuple[Broadcast, np.ndarray]:
    """A scale or offset: a Python float (per tensor) or a 1-D float32 array of one
    value per channel (``H`` of them), as the kernel reads it (0-d, or the token's
    inner dims)."""
    h = int(np.prod(inner))
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return "tensor", np.array(value, dtype=np.float32)
    array = acceptable_array(name, value)
    if array.dtype != np.float32 or array.ndim != 1 or array.size != h:
        raise invalid(
            f"{name}: expected a float (per tensor) or a float32 array of H = {h} values "
            f"(per channel), got a {array.dtype} array of shape {tuple(array.shape)}"
        )
    return "channel", np.ascontiguousarray(array).reshape(inner)


def resolve_dequant(
    given: Mapping[str, object], operands: Mapping[str, Operand]
) -> tuple[dict[str, DequantSpec], dict[str, Operand]]:
    """The consumers of a dequantising call and their parameters as operands.

    ``given`` holds ``key_scale``, ``value_scale`` (required: 161001 when None) and
    ``key_offset``, ``value_offset`` (optional); the outputs' dtypes are the results
    (161002 unless fp16, bf16 or fp32). Parameters become ``<stream>_param_0`` (the
    scale) and ``<stream>_param_1`` (the offset).
    """
    fp32 = kv_kind_named("fp32")
    assert fp32 is not None
    maps: dict[str, DequantSpec] = {}
    params: dict[str, Operand] = {}
    for stream in ("key", "value"):
        out = operands[f"{stream}_out"]
        if out.kind.name not in FLOAT_RESULT_KINDS:
            raise invalid(
                f"{out.api_name} dtype: a dequantising gather writes one of "
                f"{', '.join(FLOAT_RESULT_KINDS)}, got {out.kind.name}"
            )
        scale, offset = given.get(f"{stream}_scale"), given.get(f"{stream}_offset")
        if scale is None:
            raise AclnnError(
                ACLNN_ERR_PARAM_NULLPTR,
                f"{stream}Scale is null: expected a float or a float32 array, got None",
            )
        inner = tuple(out.array.shape[1:])
        reach, array = _dequant_parameter(f"{stream}Scale", scale, inner)
        params[f"{stream}_param_0"] = Operand(f"{stream}_param_0", array, fp32, None)
        offset_reach: Broadcast | None = None
        if offset is not None:
            offset_reach, array = _dequant_parameter(f"{stream}Offset", offset, inner)
            params[f"{stream}_param_1"] = Operand(f"{stream}_param_1", array, fp32, None)
        maps[stream] = DequantSpec(out.kind.name, reach, offset_reach)
    return maps, params


def resolve_quant(
    given: Mapping[str, object], operands: Mapping[str, Operand]
) -> tuple[dict[str, QuantSpec], dict[str, Operand]]:
    """The quantisation of a quantising scatter (SPEC section 8) and its parameters as
    operands: ``given`` holds ``key_inv_scale``, ``value_inv_scale`` (required: 161001
    when None) and ``key_offset``, ``value_offset`` (optional), each a float or a float32
    array of ``H`` values (:func:`_dequant_parameter`). The caches' dtypes choose the
    quantised type (161002 unless int8, fp8_e4m3fn or fp8_e5m2), the tokens must be
    fp16 or bf16, and an fp8 cache takes no offset (SPEC section 8 defines none).
    Parameters become ``<stream>_param_0`` (the inverse scale) and ``_param_1``."""
    fp32 = kv_kind_named("fp32")
    assert fp32 is not None
    maps: dict[str, QuantSpec] = {}
    params: dict[str, Operand] = {}
    for stream in ("key", "value"):
        tokens, cache = operands[stream], operands[f"{stream}_cache"]
        name = "keyInvScale" if stream == "key" else "valueInvScale"
        if cache.kind.name not in QUANT_RESULT_KINDS:
            raise invalid(
                f"{cache.api_name} dtype: a quantising scatter writes one of "
                f"{', '.join(QUANT_RESULT_KINDS)}, got {cache.kind.name}"
            )
        if tokens.kind.name not in ("fp16", "bf16"):
            raise invalid(
                f"{tokens.api_name} dtype: a quantising scatter reads fp16 or bf16 tokens "
                f"(SPEC section 8), got {tokens.kind.name}"
            )
        inv_scale, offset = given.get(f"{stream}_inv_scale"), given.get(f"{stream}_offset")
        if inv_scale is None:
            raise AclnnError(
                ACLNN_ERR_PARAM_NULLPTR,
                f"{name} is null: expected a float or a float32 array, got None",
            )
        inner = tuple(tokens.array.shape[1:])
        reach, array = _dequant_parameter(name, inv_scale, inner)
        params[f"{stream}_param_0"] = Operand(f"{stream}_param_0", array, fp32, None)
        offset_reach: Broadcast | None = None
        if offset is not None:
            if cache.kind.name != "int8":
                raise invalid(
                    f"{stream}Offset: SPEC section 8 quantises to {cache.kind.name} without an "
                    f"offset (only an int8 cache takes one), got {offset!r}"
                )
            offset_reach, array = _dequant_parameter(f"{stream}Offset", offset, inner)
            params[f"{stream}_param_1"] = Operand(f"{stream}_param_1", array, fp32, None)
        maps[stream] = QuantSpec(cache.kind.name, reach, offset_reach)
    return maps, params


# --- what the IR cannot express ---------------------------------------------------


def check_options(options: object) -> str:
    """The lowering options as one normalised string (``pakv-to-ascend``'s, without
    ``soc``, which is its own parameter)."""
    if options is None:
        return ""
    if not isinstance(options, str):
        raise invalid(f"options: expected a string of pakv-to-ascend options, got {options!r}")
    normal = " ".join(options.split())
    if re.search(r"(^|\s)soc=", normal):
        raise invalid("options: give the SoC with soc=, not inside options")
    return normal


def check_plan(signature: KernelSignature) -> None:
    """The kernel lowers with the signature's options (cached per signature): an option
    that names nothing, a plan the SoC or the UB cannot hold, or one the operator cannot
    honour (a vendor strategy for a scatter) is the caller's: 161002."""
    try:
        compile_signature(signature, signature.options)
    except (DiagnosticException, ValueError) as e:
        detail = e.message if isinstance(e, PassFailedAt) else str(e).split("\n\n")[0]
        raise invalid(f"options {signature.options!r}: {' '.join(detail.split())}") from None


def check_cache_mode(cache_mode: object) -> CacheMode:
    modes = [m.value for m in CacheMode]
    if not isinstance(cache_mode, str) or cache_mode not in modes:
        raise invalid(f"cacheMode: expected exactly one of {modes}, got {cache_mode!r}")
    return CacheMode(cache_mode)


def _check_flag(flag: object) -> bool:
    if not isinstance(flag, (bool, np.bool_)):
        raise invalid(f"isSeqLensCumsum: expected a bool, got {flag!r}")
    return bool(flag)


def _check_soc(soc: object) -> SocInfo:
    if not isinstance(soc, str):
        raise invalid(f"soc: expected a SoC name, got {soc!r}")
    try:
        return soc_info(soc)
    except SocError as e:
        raise invalid(f"soc: {e}") from None


def _kind_names(kinds: tuple[ElementKind, ...]) -> str:
    return ", ".join(kind.name for kind in kinds)


def acceptable_array(name: str, value: object) -> np.ndarray:
    """The one definition of what the host takes as a tensor's array, or a 161002.

    An exact ``np.ndarray`` is taken as it is. A subclass (``np.matrix``,
    ``np.memmap``, ...) is taken as a plain ndarray view of the same bytes, shape and
    dtype, so no subclass rule (``np.matrix`` stays 2-D under indexing) can reach an
    executor. A masked array is refused: its mask is meaning that a byte copy would
    silently drop. The result is always a new view, so later in-place changes of the
    caller's array object (``a.shape = ...``) do not change what was checked.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise invalid(
            f"{name}: expected a plain numpy array, got a masked array (a copy of its bytes "
            "would ignore the mask; pass .filled(...) or .data)"
        )
    if not isinstance(value, np.ndarray):
        raise invalid(
            f"{name}: expected a numpy array or runtime.Tensor, got {type(value).__name__}"
        )
    return value.view(np.ndarray)


def resolve_operand(
    role: str,
    value: object,
    mode: CacheMode,
    soc: SocInfo,
    outputs: tuple[str, ...] = OUTPUT_ROLES,
) -> Operand:
    """The array, element kind and format behind one parameter, or a 161002.

    ``outputs`` are the roles the call writes (the gather's outputs by default; the
    scatter's caches), which must be writable."""
    name = API_NAMES[role]
    tensor = value if isinstance(value, Tensor) else None
    array = acceptable_array(name, value if tensor is None else tensor.data)
    if role in outputs and not array.flags.writeable:
        raise invalid(f"{name}: expected a writable array, got a read-only one")
    kind = _element_kind(role, None if tensor is None else tensor.dtype, array)
    _check_format(role, TensorFormat.ND.value if tensor is None else tensor.format, mode, soc)
    return Operand(role, array, kind, element_strides(name, array))


def element_strides(name: str, array: np.ndarray) -> tuple[int, ...] | None:
    """``array``'s layout as the IR says it: None for a C-contiguous array (no layout),
    else its strides in elements, for the ``pakv.gather`` verifier to judge (only a
    cache may be strided, and only along its first axis: SPEC section 9). A dim of
    extent 1 takes its dense stride (numpy leaves that stride arbitrary); a stride that
    is not a whole number of elements is a 161002 here, since no IR layout says it."""
    if array.flags.c_contiguous:
        return None
    itemsize = array.dtype.itemsize
    strides: list[int] = []
    for extent, stride, dense in zip(
        array.shape, array.strides, dense_strides(array.shape), strict=True
    ):
        if extent == 1:
            strides.append(dense)
            continue
        if stride % itemsize:
            raise invalid(
                f"{name}: expected strides in whole {itemsize}-byte elements, got a stride of "
                f"{stride} bytes"
            )
        strides.append(stride // itemsize)
    return tuple(strides)


def share_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether some byte belongs to both arrays (``np.shares_memory``'s exact answer).

    The bounds test decides most pairs at once; for two C-contiguous arrays it is
    exact too (each covers its bounds densely), so numpy's exact solver, whose work can
    grow with the strides, runs only for other layouts.
    """
    if not np.may_share_memory(a, b):
        return False
    if a.flags.c_contiguous and b.flags.c_contiguous:
        return True
    return bool(np.shares_memory(a, b))


def check_no_overlap(
    operands: Mapping[str, Operand], outputs: tuple[str, ...] = OUTPUT_ROLES
) -> None:
    """No output shares a byte with another tensor of the call (numpy's exact test).

    The outputs (``outputs``: the gather's by default, the scatter's caches) are written
    while every other tensor is read, so an overlap makes the result depend on the
    order of the copies (and the executors disagree). Two disjoint views of one buffer
    are fine: :func:`share_bytes` tells them apart exactly. Inputs may share memory
    with each other: they are only read.
    """
    for index, out_role in enumerate(outputs):
        out = operands[out_role].array
        for role, other in operands.items():
            if role == out_role or role in outputs[:index]:
                continue  # itself, or a pair already tested from the earlier output's side
            if share_bytes(out, other.array):
                raise invalid(
                    f"{API_NAMES[out_role]} and {API_NAMES[role]} share memory: expected an "
                    "output that overlaps no other tensor of the call (it is written while "
                    "the others are read), got overlapping buffers"
                )


def _element_kind(role: str, dtype_name: object, array: np.ndarray) -> ElementKind:
    """The element kind of a parameter: named by ``Tensor.dtype``, else read off numpy's."""
    name = API_NAMES[role]
    is_index = role in INDEX_ROLES or role == "slot_mapping"
    table = INDEX_ELEMENT_KINDS if is_index else KV_ELEMENT_KINDS
    if dtype_name is None:
        kind = index_kind_of_numpy(array.dtype) if is_index else kv_kind_of_numpy(array.dtype)
        if kind is None:
            hint = "" if is_index else " (hifloat8: runtime.Tensor(uint8 data, dtype='hifloat8'))"
            raise invalid(
                f"{name} dtype: expected one of {_kind_names(table)}{hint}, got {array.dtype}"
            )
        return kind
    if not isinstance(dtype_name, str):
        kind = None
    else:
        kind = index_kind_named(dtype_name) if is_index else kv_kind_named(dtype_name)
    if kind is None:
        raise invalid(f"{name} dtype: expected one of {_kind_names(table)}, got {dtype_name!r}")
    if array.dtype != kind.storage:
        raise invalid(
            f"{name} data: {kind.name} is stored as {kind.storage}, got a {array.dtype} array"
        )
    return kind


def expected_format(role: str, mode: CacheMode, soc: SocInfo) -> TensorFormat:
    """SPEC section 4: ND everywhere, except PA_NZ caches on SoCs that know FRACTAL_NZ."""
    nz = role in CACHE_ROLES and soc.distinguishes_nz_format and mode == CacheMode.PA_NZ
    return TensorFormat.FRACTAL_NZ if nz else TensorFormat.ND


def _check_format(role: str, given: object, mode: CacheMode, soc: SocInfo) -> None:
    name = API_NAMES[role]
    formats = [f.value for f in TensorFormat]
    if not isinstance(given, str) or given not in formats:
        raise invalid(f"{name} format: expected one of {formats}, got {given!r}")
    expected = expected_format(role, mode, soc)
    if given != expected.value:
        where = f"cacheMode {mode.value} on {soc.name}" if role in CACHE_ROLES else soc.name
        raise invalid(f"{name} format: expected {expected.value} for {where}, got {given}")


# --- static rules: the pakv.gather verifier ----------------------------------------

_IR_WORDS = API_NAMES | {
    "key_map": "the keys' dequantisation",
    "value_map": "the values' dequantisation",
}
"""IR words in verifier messages and the operator's words for them."""
_IR_NAME = re.compile(r"\b(" + "|".join(_IR_WORDS) + r")\b")
_DECORATION = "Operation does not verify: "


def verifier_message(error: VerifyException) -> str:
    """The verifier's own words, without xDSL's decoration or the printed module."""
    text = str(error.args[0]) if error.args else str(error)
    return text.removeprefix(_DECORATION)


def api_message(error: VerifyException) -> str:
    """A verifier message in the operator's words: parameter names, no xDSL decoration."""
    return _IR_NAME.sub(lambda m: _IR_WORDS[m.group(1)], verifier_message(error))


def _verify_static(
    operands: Mapping[str, Operand],
    *,
    mode: CacheMode,
    cumsum: bool,
    soc: SocInfo,
    empty: bool,
    maps: Mapping[str, DequantSpec],
) -> None:
    """Run the ``pakv.gather`` verifier on the call's exact shapes and dtypes.

    An empty call skips only the rule that layout dimensions be positive (SPEC section
    3 lets an empty call succeed); every other static rule still applies.
    """
    typed: dict[str, tuple[Attribute, tuple[int, ...], tuple[int, ...] | None]] = {
        role: (op.kind.ir_type, tuple(op.array.shape), op.strides) for role, op in operands.items()
    }
    module = build_checked_module(typed, cache_mode=mode, cumsum=cumsum, soc=soc.name, maps=maps)
    try:
        if empty:
            gather = find_gather(module).op
            gather.verify_layout()
            gather.verify_soc(soc.name)
        else:
            module.verify()
    except VerifyException as e:
        raise invalid(api_message(e)) from None


# --- data rules ------------------------------------------------------------------


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _lengths(seq_lens: np.ndarray, *, cumsum: bool) -> np.ndarray:
    """Per-sequence lengths, after rejecting negative or decreasing seqLens."""
    if not cumsum:
        if (seq_lens < 0).any():
            i = _first(seq_lens < 0)
            raise invalid(f"seqLens[{i}]: expected a length >= 0, got {seq_lens[i]}")
        return seq_lens
    if seq_lens[0] != 0:
        raise invalid(f"seqLens[0]: expected 0 when isSeqLensCumsum is true, got {seq_lens[0]}")
    decreasing = seq_lens[1:] < seq_lens[:-1]
    if decreasing.any():
        i = _first(decreasing)
        raise invalid(
            f"seqLens[{i + 1}]: expected >= seqLens[{i}] = {seq_lens[i]} "
            f"(isSeqLensCumsum is true), got {seq_lens[i + 1]}"
        )
    return np.diff(seq_lens)


def check_data(
    arrays: Mapping[str, np.ndarray], *, mode: CacheMode, cumsum: bool, num_tokens: int | None
) -> int:
    """SPEC section 3's data rules, vectorised; returns the total length (exact).

    ``arrays`` are a statically valid call's arrays by role (the outputs are not read).
    ``num_tokens`` is keyRef's dim 0; None skips the one rule that needs it, for a
    tool that sizes the outputs from the total and must know the data is sane first.
    """
    tables = arrays["block_tables"].astype(np.int64)
    lens = _lengths(arrays["seq_lens"].astype(np.int64), cumsum=cumsum)
    total = sum(lens.tolist())  # exact: Python ints cannot overflow
    if total == 0:
        return 0
    if num_tokens is not None and total > num_tokens:
        raise invalid(
            f"keyRef dim 0 (num_tokens): expected at least the total length {total}, "
            f"got {num_tokens}"
        )

    batch, width = tables.shape
    block_size = arrays["key_cache"].shape[2 if mode == CacheMode.PA_NZ else 1]
    offset = arrays.get("seq_offset")
    if offset is None:
        first_col = np.zeros(batch, dtype=np.int64)
    else:
        offsets = offset.astype(np.int64)
        if (offsets < 0).any():
            i = _first(offsets < 0)
            raise invalid(f"seqOffset[{i}]: expected an offset >= 0, got {offsets[i]}")
        first_col = offsets // block_size
    used = lens > 0
    span = np.where(used, (lens - 1) // block_size, 0)  # columns after the first
    # last column = first_col + span, compared without forming it (no int64 overflow).
    past = used & (first_col >= width - span)
    if past.any():
        i = _first(past)
        last = int(first_col[i]) + int(span[i])
        raise invalid(
            f"blockTables dim 1 (max_blocks_per_seq): sequence {i} needs column {last} "
            f"(seqOffset // block_size + (length - 1) // block_size), expected < {width}"
        )

    num_blocks = arrays["key_cache"].shape[0]
    cols = np.arange(width, dtype=np.int64)
    referenced = (
        used[:, None] & (cols >= first_col[:, None]) & (cols <= (first_col + span)[:, None])
    )
    bad = referenced & ((tables < 0) | (tables >= num_blocks))
    if bad.any():
        i, col = (int(x) for x in np.argwhere(bad)[0])
        raise invalid(
            f"blockTables[{i}, {col}]: expected a block id in [0, {num_blocks}) "
            f"(keyCache dim 0), got {tables[i, col]}"
        )
    return total
