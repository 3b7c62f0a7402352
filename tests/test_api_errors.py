"""Every 161001 / 161002 rule of SPEC section 3 through the Pythonic API.

Each case asserts the status, that the message names the parameter (and the
dimension or index, what was expected and what was given), and that both outputs are
byte-identical afterwards: a rejected call writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pytest
from gather_cases import GatherCase, c_example, case_of, random_case

from runtime import (
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    AclnnError,
    Tensor,
    gather_pa_kv_cache,
)

Args = Sequence[object]
KEY_CACHE, VALUE_CACHE, BLOCK_TABLES, SEQ_LENS, KEY_REF, VALUE_REF, SEQ_OFFSET = range(7)


def assert_rejected(
    case: GatherCase,
    fragments: list[str],
    *,
    status: int = ACLNN_ERR_PARAM_INVALID,
    args: Args | None = None,
    **overrides: object,
) -> None:
    """The call fails with ``status``, the message holds every fragment, nothing written."""
    before = case.output_bytes()
    with pytest.raises(AclnnError) as info:
        options = {**case.kwargs(), **overrides}
        gather_pa_kv_cache(*(args or case.args()), **options)  # pyright: ignore[reportArgumentType]
    assert info.value.status == status
    for fragment in fragments:
        assert fragment in info.value.message
    assert case.output_bytes() == before


def with_arg(case: GatherCase, index: int, value: object) -> Args:
    args: list[object] = list(case.args())
    args[index] = value
    return args


@pytest.fixture
def norm(rng: np.random.Generator) -> GatherCase:
    """A valid Norm fp16 call on Ascend910B, with offsets."""
    return random_case(rng, cache_mode="Norm", with_offset=True, soc="Ascend910B")


@pytest.fixture
def nz(rng: np.random.Generator) -> GatherCase:
    """A valid PA_NZ call on Ascend910_95 mixing int8 keys and fp16 values."""
    return random_case(
        rng, cache_mode="PA_NZ", with_offset=True, key_dtype="int8", value_dtype="fp16"
    )


def test_base_cases_are_valid(norm: GatherCase, nz: GatherCase) -> None:
    """The cases every rule below breaks are themselves accepted."""
    for case in (norm, nz, c_example()):
        gather_pa_kv_cache(*case.args(), **case.kwargs())


# --- 161001 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "name"),
    [
        (KEY_CACHE, "keyCache"),
        (VALUE_CACHE, "valueCache"),
        (BLOCK_TABLES, "blockTables"),
        (SEQ_LENS, "seqLens"),
        (KEY_REF, "keyRef"),
        (VALUE_REF, "valueRef"),
    ],
)
def test_missing_tensor_is_nullptr(norm: GatherCase, index: int, name: str) -> None:
    assert_rejected(
        norm, [name, "None"], status=ACLNN_ERR_PARAM_NULLPTR, args=with_arg(norm, index, None)
    )


def test_missing_offset_is_fine() -> None:
    case = c_example()
    key_cache, value_cache, tables, lens, key_ref, value_ref, _ = case.args()
    gather_pa_kv_cache(key_cache, value_cache, tables, lens, key_ref, value_ref, **case.kwargs())
    assert (case.key_ref == 1).all()


# --- 161002: attributes, SoC, tensor kinds, dtype table, formats ------------------


@pytest.mark.parametrize("mode", ["norm", "PA-NZ", "PA_NZ ", "", None, 0])
def test_cache_mode_must_be_exact(norm: GatherCase, mode: object) -> None:
    assert_rejected(norm, ["cacheMode", "'Norm', 'PA_NZ'", repr(mode)], cache_mode=mode)


def test_cumsum_flag_must_be_bool(norm: GatherCase) -> None:
    assert_rejected(norm, ["isSeqLensCumsum", "bool", "'yes'"], is_seq_lens_cumsum="yes")


def test_unknown_soc(norm: GatherCase) -> None:
    assert_rejected(norm, ["soc", "unknown SoC 'Ascend999'"], soc="Ascend999")


def test_unsupported_soc(norm: GatherCase) -> None:
    assert_rejected(norm, ["not supported on this SoC", "Ascend310"], soc="Ascend310")


def test_dtype_outside_the_table(norm: GatherCase) -> None:
    bad = norm.key_cache.astype(np.float64)
    assert_rejected(
        norm, ["keyCache dtype", "fp16", "got float64"], args=with_arg(norm, KEY_CACHE, bad)
    )


def test_index_dtype_outside_the_table(norm: GatherCase) -> None:
    bad = norm.block_tables.astype(np.int16)
    assert_rejected(
        norm,
        ["blockTables dtype", "int32, int64", "got int16"],
        args=with_arg(norm, BLOCK_TABLES, bad),
    )


def test_unknown_dtype_name(norm: GatherCase) -> None:
    bad = Tensor(norm.key_cache, dtype="fp64")
    assert_rejected(norm, ["keyCache dtype", "got 'fp64'"], args=with_arg(norm, KEY_CACHE, bad))


def test_dtype_name_must_match_storage(norm: GatherCase) -> None:
    bad = Tensor(norm.key_cache, dtype="hifloat8")
    assert_rejected(
        norm,
        ["keyCache data", "hifloat8 is stored as uint8", "float16"],
        args=with_arg(norm, KEY_CACHE, bad),
    )


def test_not_an_array(norm: GatherCase) -> None:
    bad = norm.block_tables.tolist()
    assert_rejected(
        norm, ["blockTables", "numpy array", "got list"], args=with_arg(norm, BLOCK_TABLES, bad)
    )


def test_non_contiguous_tensor(norm: GatherCase) -> None:
    bad = np.asfortranarray(norm.key_cache)
    if bad.flags.c_contiguous:  # a shape with at most one non-unit dim is both
        bad = np.repeat(norm.key_cache, 2, axis=3)[..., ::2]
    assert not bad.flags.c_contiguous
    assert_rejected(norm, ["keyCache", "C-contiguous"], args=with_arg(norm, KEY_CACHE, bad))


def test_read_only_output(norm: GatherCase) -> None:
    norm.value_ref.setflags(write=False)
    assert_rejected(norm, ["valueRef", "writable"])


def test_dtype_not_on_soc(rng: np.random.Generator) -> None:
    case = random_case(rng, key_dtype="fp32", soc="Ascend910B")
    assert_rejected(case, ["keyCache element type fp32", "not supported on Ascend910B"])


def test_index_dtype_not_on_soc(rng: np.random.Generator) -> None:
    case = random_case(rng, index_dtype="int64", soc="Ascend910_93")
    assert_rejected(case, ["blockTables element type int64", "not supported on Ascend910_93"])


def test_nz_cache_needs_fractal_nz_on_910_95(nz: GatherCase) -> None:
    plain = with_arg(nz, KEY_CACHE, nz.key_cache)
    assert_rejected(
        nz,
        ["keyCache format", "expected FRACTAL_NZ", "PA_NZ on Ascend910_95", "got ND"],
        args=plain,
    )


def test_norm_cache_needs_nd_on_910_95(rng: np.random.Generator) -> None:
    case = random_case(rng, cache_mode="Norm", soc="Ascend910_95")
    nz_value = Tensor(case.value_cache, format="FRACTAL_NZ")
    assert_rejected(
        case,
        ["valueCache format", "expected ND", "got FRACTAL_NZ"],
        args=with_arg(case, VALUE_CACHE, nz_value),
    )


def test_fractal_nz_unknown_to_legacy_soc(rng: np.random.Generator) -> None:
    case = random_case(rng, cache_mode="PA_NZ", soc="Ascend910B")
    nz_key = Tensor(case.key_cache, format="FRACTAL_NZ")
    assert_rejected(
        case,
        ["keyCache format", "expected ND", "Ascend910B", "got FRACTAL_NZ"],
        args=with_arg(case, KEY_CACHE, nz_key),
    )


@pytest.mark.parametrize(("index", "name"), [(KEY_REF, "keyRef"), (BLOCK_TABLES, "blockTables")])
def test_non_cache_tensors_are_nd(nz: GatherCase, index: int, name: str) -> None:
    array = nz.key_ref if index == KEY_REF else nz.block_tables
    args = with_arg(nz, index, Tensor(array, format="FRACTAL_NZ"))
    assert_rejected(nz, [f"{name} format", "expected ND", "got FRACTAL_NZ"], args=args)


def test_unknown_format(norm: GatherCase) -> None:
    args = with_arg(norm, KEY_CACHE, Tensor(norm.key_cache, format="NCHW"))
    assert_rejected(norm, ["keyCache format", "'ND'", "got 'NCHW'"], args=args)


# --- 161002: static rules (the pakv.gather verifier) ------------------------------

Mutation = Callable[[GatherCase], GatherCase]
Change = Callable[[np.ndarray], np.ndarray]


def change(**changes: Change) -> Mutation:
    """A mutation applying each function to the named array of the case."""
    return lambda case: replace(case, **{k: f(getattr(case, k)) for k, f in changes.items()})


def grow(dim: int, by: int = 1) -> Change:
    """Make ``dim`` longer by ``by`` (repeating the last slice)."""
    return lambda a: np.concatenate([a, np.take(a, [-1] * by, axis=dim)], axis=dim)


def as_int16(a: np.ndarray) -> np.ndarray:
    return a.view(np.int16)


def as_int64(a: np.ndarray) -> np.ndarray:
    return a.astype(np.int64)


NORM_RULES: list[tuple[str, Mutation, list[str]]] = [
    ("keyCache rank", change(key_cache=lambda a: a[0]), ["keyCache must have rank 4", "rank 3"]),
    ("valueCache rank", change(value_cache=lambda a: a[None]), ["valueCache must have rank 4"]),
    ("blockTables rank", change(block_tables=lambda a: a[0]), ["blockTables must have rank 2"]),
    ("seqLens rank", change(seq_lens=lambda a: a[None]), ["seqLens must have rank 1", "rank 2"]),
    ("seqOffset rank", change(seq_offset=lambda a: a[None]), ["seqOffset must have rank 1"]),
    ("keyRef rank", change(key_ref=lambda a: a[..., 0]), ["keyRef must have rank 3", "rank 2"]),
    ("seqLens length", change(seq_lens=grow(0)), ["seqLens dim 0 must be batch ="]),
    ("seqOffset length", change(seq_offset=grow(0)), ["seqOffset dim 0 (batch): expected"]),
    ("num_blocks", change(value_cache=grow(0)), ["valueCache dim 0 (num_blocks): expected"]),
    ("block_size", change(value_cache=grow(1)), ["valueCache dim 1 (block_size): expected"]),
    ("keyRef heads", change(key_ref=grow(1)), ["keyRef dim 1 (num_heads): expected"]),
    ("keyRef head_size", change(key_ref=grow(2)), ["keyRef dim 2 (head_size): expected"]),
    ("valueRef head_size", change(value_ref=grow(2)), ["valueRef dim 2 (head_size): expected"]),
    ("num_tokens", change(value_ref=grow(0)), ["valueRef dim 0 (num_tokens): expected"]),
    (
        "keyRef dtype",
        change(key_ref=as_int16),
        ["keyRef element type must equal keyCache's f16", "got i16"],
    ),
    (
        "Norm value dtype",
        change(value_cache=as_int16, value_ref=as_int16),
        ["valueCache element type must equal keyCache's f16", "Norm", "got i16"],
    ),
    (
        "seqLens dtype",
        change(seq_lens=as_int64),
        ["seqLens element type must equal blockTables' i32", "got i64"],
    ),
    (
        "seqOffset dtype",
        change(seq_offset=as_int64),
        ["seqOffset element type must equal blockTables' i32", "got i64"],
    ),
]

NZ_RULES: list[tuple[str, Mutation, list[str]]] = [
    ("valueRef rank", change(value_ref=lambda a: a[..., None]), ["valueRef must have rank 2"]),
    (
        "cumsum seqLens length",
        lambda case: replace(case, cumsum=True),
        ["seqLens dim 0 must be batch + 1 (cumsum) ="],
    ),
    ("num_blocks", change(key_cache=grow(0)), ["valueCache dim 0 (num_blocks): expected"]),
    ("block_size", change(value_cache=grow(2)), ["valueCache dim 2 (block_size): expected"]),
    (
        "NZ row",
        change(key_cache=grow(3)),
        ["keyCache dim 3 (ea) must hold one 32-byte NZ row", "expected 32 elements", "got 33"],
    ),
    ("keyRef H", change(key_ref=grow(1, 32)), ["keyRef dim 1 (H = cache dim 1 * dim 3)"]),
    ("num_tokens", change(key_ref=grow(0)), ["valueRef dim 0 (num_tokens): expected"]),
    (
        "valueRef dtype",
        change(value_ref=as_int16),
        ["valueRef element type must equal valueCache's f16", "got i16"],
    ),
]


@pytest.mark.parametrize(
    ("label", "mutate", "fragments"), NORM_RULES, ids=[r[0] for r in NORM_RULES]
)
def test_norm_static_rule(
    norm: GatherCase, label: str, mutate: Mutation, fragments: list[str]
) -> None:
    assert_rejected(mutate(norm), fragments)


@pytest.mark.parametrize(("label", "mutate", "fragments"), NZ_RULES, ids=[r[0] for r in NZ_RULES])
def test_nz_static_rule(nz: GatherCase, label: str, mutate: Mutation, fragments: list[str]) -> None:
    assert_rejected(mutate(nz), fragments)


def test_nz_may_mix_key_and_value_dtypes(nz: GatherCase) -> None:
    assert nz.key_kind != nz.value_kind
    gather_pa_kv_cache(*nz.args(), **nz.kwargs())


def token_limit_case(head_size: int) -> GatherCase:
    """One token of ``head_size`` fp16 key elements (value: one element)."""
    return case_of(
        {
            "key_cache": np.ones((1, 1, 1, head_size), np.float16),
            "value_cache": np.ones((1, 1, 1, 1), np.float16),
            "block_tables": np.zeros((1, 1), np.int32),
            "seq_lens": np.array([1], np.int32),
            "key_out": np.zeros((1, 1, head_size), np.float16),
            "value_out": np.zeros((1, 1, 1), np.float16),
        },
        soc="Ascend910B",
    )


def test_token_limit() -> None:
    assert_rejected(
        token_limit_case(73729),
        ["keyCache: one token is 73729 x 2 = 147458 bytes", "limit of 147456 bytes"],
    )


def test_token_at_the_limit_is_fine() -> None:
    case = token_limit_case(73728)
    gather_pa_kv_cache(*case.args(), **case.kwargs())
    assert (case.key_ref == 1).all()


# --- 161002: data rules ------------------------------------------------------------


def c_case(**arrays: object) -> GatherCase:
    """The C example (block_size 2, 2 blocks, 4 x 6 table, offsets 2) with changes."""
    converted = {k: None if v is None else np.array(v, np.int32) for k, v in arrays.items()}
    return replace(c_example(), **converted)


def test_negative_length() -> None:
    assert_rejected(
        c_case(seq_lens=[3, -1, 3, 3]), ["seqLens[1]", "expected a length >= 0", "got -1"]
    )


def test_cumsum_must_start_at_zero() -> None:
    case = replace(c_case(seq_lens=[1, 3, 6, 9, 12]), cumsum=True)
    assert_rejected(case, ["seqLens[0]", "expected 0", "got 1"])


def test_cumsum_must_not_decrease() -> None:
    case = replace(c_case(seq_lens=[0, 3, 2, 9, 12]), cumsum=True)
    assert_rejected(case, ["seqLens[2]", "expected >= seqLens[1] = 3", "got 2"])


def test_cumsum_valid_form_of_the_c_example() -> None:
    case = replace(c_case(seq_lens=[0, 3, 6, 9, 12]), cumsum=True)
    gather_pa_kv_cache(*case.args(), **case.kwargs())
    assert (case.key_ref == 1).all()


def test_total_beyond_key_ref_rows() -> None:
    assert_rejected(
        c_case(seq_lens=[3, 3, 3, 4]),
        ["keyRef dim 0 (num_tokens)", "expected at least the total length 13", "got 12"],
    )


def test_column_past_table_width_with_offset() -> None:
    assert_rejected(
        c_case(seq_offset=[2, 2, 2, 10]),
        ["blockTables dim 1 (max_blocks_per_seq)", "sequence 3 needs column 6", "expected < 6"],
    )


def test_column_past_table_width_without_offset() -> None:
    case = c_case(block_tables=np.ones((4, 1)), seq_offset=None)
    assert_rejected(case, ["blockTables dim 1", "sequence 0 needs column 1", "expected < 1"])


@pytest.mark.parametrize("block", [2, -1])
def test_referenced_block_out_of_range(block: int) -> None:
    tables = np.ones((4, 6))
    tables[1, 2] = block
    assert_rejected(
        c_case(block_tables=tables),
        ["blockTables[1, 2]", "expected a block id in [0, 2)", f"got {block}"],
    )


def test_unreferenced_table_entries_are_not_checked() -> None:
    tables = np.ones((4, 6))
    tables[:, 0] = 99  # offset 2 // 2 skips column 0
    tables[:, 3:] = -7  # 3 tokens from column 1 end at column 2
    case = c_case(block_tables=tables)
    gather_pa_kv_cache(*case.args(), **case.kwargs())
    assert (case.key_ref == 1).all()


def test_negative_offset() -> None:
    assert_rejected(
        c_case(seq_offset=[2, -2, 2, 2]), ["seqOffset[1]", "expected an offset >= 0", "got -2"]
    )
