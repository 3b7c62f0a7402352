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
from gather_cases import (
    GatherCase,
    assert_c_example_result,
    c_example,
    case_of,
    golden_bytes,
    random_case,
)

from runtime import (
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    AclnnError,
    Tensor,
    gather_pa_kv_cache,
)
from runtime.host.checks import share_bytes

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
    # Without offsets token j reads column j // 2 = 0, 0, 1: block 1 too (all-ones table).
    assert_c_example_result(case)


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
    """A cache may be strided along its first axis only (SPEC section 9)."""
    bad = np.asfortranarray(norm.key_cache)
    if bad.flags.c_contiguous:  # a shape with at most one non-unit dim is both
        bad = np.repeat(norm.key_cache, 2, axis=3)[..., ::2]
    assert not bad.flags.c_contiguous
    assert_rejected(
        norm,
        ["keyCache layout must keep every dim but the first (num_blocks) dense"],
        args=with_arg(norm, KEY_CACHE, bad),
    )


def test_read_only_output(norm: GatherCase) -> None:
    norm.value_ref.setflags(write=False)
    assert_rejected(norm, ["valueRef", "writable"])


# --- 161002: what counts as an array (one definition: checks.acceptable_array) -------

PARAMETERS = ["keyCache", "valueCache", "blockTables", "seqLens", "keyRef", "valueRef", "seqOffset"]
"""The API's parameter names, in argument order (``KEY_CACHE`` ... ``SEQ_OFFSET``)."""


@pytest.mark.parametrize("index", range(7), ids=PARAMETERS)
def test_masked_arrays_are_refused(norm: GatherCase, index: int) -> None:
    array = norm.args()[index]
    assert isinstance(array, np.ndarray)
    masked = np.ma.masked_array(array, mask=np.zeros(array.shape, bool))
    assert_rejected(
        norm, [PARAMETERS[index], "masked array", "mask"], args=with_arg(norm, index, masked)
    )


class IndexingRefused(np.ndarray):
    """An ndarray subclass whose own rules no executor may meet: indexing it raises."""

    def __getitem__(self, key: object) -> np.ndarray:
        raise AssertionError("an executor indexed the subclass instead of its ndarray view")


@pytest.mark.parametrize("index", range(7), ids=PARAMETERS)
def test_subclasses_are_seen_as_plain_arrays(norm: GatherCase, index: int) -> None:
    expected = golden_bytes(norm)
    args = with_arg(norm, index, np.asarray(norm.args()[index]).view(IndexingRefused))
    gather_pa_kv_cache(*args, **norm.kwargs())  # pyright: ignore[reportArgumentType]
    assert norm.output_bytes() == expected  # written through the subclass's memory


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy's view of np.matrix
def test_np_matrix_tables_and_outputs() -> None:
    """np.matrix stays 2-D under indexing; it once broke the executors mid-write."""
    case = random_case(np.random.default_rng(3), cache_mode="PA_NZ", soc="Ascend910B")
    expected = golden_bytes(case)
    key_ref, value_ref = np.asmatrix(case.key_ref), np.asmatrix(case.value_ref)
    args = list(case.args())
    args[BLOCK_TABLES], args[KEY_REF], args[VALUE_REF] = (
        np.asmatrix(case.block_tables), key_ref, value_ref,
    )  # fmt: skip
    gather_pa_kv_cache(*args, **case.kwargs())  # pyright: ignore[reportArgumentType]
    assert (key_ref.tobytes(), value_ref.tobytes()) == expected


@pytest.mark.parametrize("bad", [["fp16"], {"fp16": 1}, 16])
def test_tensor_dtype_that_is_no_name(norm: GatherCase, bad: object) -> None:
    args = with_arg(norm, KEY_CACHE, Tensor(norm.key_cache, dtype=bad))  # pyright: ignore[reportArgumentType]
    assert_rejected(norm, ["keyCache dtype", "expected one of", repr(bad)], args=args)


@pytest.mark.parametrize("bad", [["ND"], {"ND": 1}, None])
def test_tensor_format_that_is_no_name(norm: GatherCase, bad: object) -> None:
    args = with_arg(norm, VALUE_REF, Tensor(norm.value_ref, format=bad))  # pyright: ignore[reportArgumentType]
    assert_rejected(norm, ["valueRef format", "expected one of", repr(bad)], args=args)


def test_unhashable_executor_is_a_value_error(norm: GatherCase) -> None:
    before = norm.output_bytes()
    with pytest.raises(ValueError, match=r"unknown executor \['lowered'\]"):
        gather_pa_kv_cache(*norm.args(), **norm.kwargs(), executor=["lowered"])  # pyright: ignore[reportArgumentType]
    assert norm.output_bytes() == before


# --- 161002: an output shares memory with another tensor -----------------------------


def carve(
    arrays: dict[int, np.ndarray], order: list[int], gaps: list[int]
) -> dict[int, np.ndarray]:
    """Copies of ``arrays`` (by argument index) laid out in one byte buffer, in ``order``,
    the next one starting ``gaps[k]`` bytes after the end of the one before (negative:
    overlapping); each copy holds its original's values."""
    sizes = [arrays[i].nbytes for i in order]
    starts = [0]
    for size, gap in zip(sizes[:-1], gaps, strict=True):
        starts.append(starts[-1] + size + gap)
    buffer = np.zeros(max(s + n for s, n in zip(starts, sizes, strict=True)), np.uint8)
    views = {
        i: buffer[start : start + size].view(arrays[i].dtype).reshape(arrays[i].shape)
        for i, start, size in zip(order, starts, sizes, strict=True)
    }
    for i in order:  # the later ones win where they overlap, as a caller's writes would
        views[i][...] = arrays[i]
    return views


def c_arrays() -> tuple[GatherCase, dict[int, np.ndarray]]:
    case = c_example()
    args = case.args()
    return case, {i: a for i, a in enumerate(args) if isinstance(a, np.ndarray)}


def test_the_same_array_for_both_outputs(norm: GatherCase) -> None:
    """``gather_pa_kv_cache(kc, vc, bt, sl, a, a)``: keys and values of equal token size."""
    case = replace(norm, value_cache=norm.key_cache.copy(), value_ref=norm.key_ref)
    shared = case.key_ref
    before = shared.tobytes()
    args = case.args()
    with pytest.raises(AclnnError) as info:
        gather_pa_kv_cache(*args, **case.kwargs())  # pyright: ignore[reportArgumentType]
    assert info.value.status == ACLNN_ERR_PARAM_INVALID
    assert "keyRef and valueRef share memory" in info.value.message
    assert shared.tobytes() == before


@pytest.mark.parametrize(
    ("output", "other", "overlap"),
    [
        (KEY_REF, KEY_CACHE, 128),  # keyRef is a view into keyCache's memory
        (KEY_REF, BLOCK_TABLES, 32),  # ... or into blockTables'
        (KEY_REF, VALUE_REF, 128),  # keyRef and valueRef overlap by one key row
        (VALUE_REF, SEQ_LENS, 8),
        (VALUE_REF, SEQ_OFFSET, 16),
    ],
)
def test_overlapping_buffers_are_named(output: int, other: int, overlap: int) -> None:
    case, arrays = c_arrays()
    views = carve(arrays, [other, output], [-overlap])
    args = [views.get(i, a) for i, a in enumerate(case.args())]
    before = views[output].tobytes(), views[other].tobytes()
    with pytest.raises(AclnnError) as info:
        gather_pa_kv_cache(*args, **case.kwargs())  # pyright: ignore[reportArgumentType]
    assert info.value.status == ACLNN_ERR_PARAM_INVALID
    assert f"{PARAMETERS[output]} and {PARAMETERS[other]} share memory" in info.value.message
    assert (views[output].tobytes(), views[other].tobytes()) == before


def test_disjoint_views_of_one_buffer_are_fine() -> None:
    """Every tensor of the call in one buffer, back to back: nothing overlaps."""
    case, arrays = c_arrays()
    order = sorted(arrays)
    views = carve(arrays, order, [0] * (len(order) - 1))
    args = [views.get(i, a) for i, a in enumerate(case.args())]
    gather_pa_kv_cache(*args, **case.kwargs())  # pyright: ignore[reportArgumentType]
    assert_c_example_result(replace(case, key_ref=views[KEY_REF], value_ref=views[VALUE_REF]))


def test_inputs_may_share_memory() -> None:
    """seqLens (3) passed again as seqOffset: 3 // 2 = column 1, as the document's 2 is."""
    case = c_example()
    args = with_arg(case, SEQ_OFFSET, case.seq_lens)
    gather_pa_kv_cache(*args, **case.kwargs())  # pyright: ignore[reportArgumentType]
    assert_c_example_result(case)


@pytest.mark.parametrize("seed", range(6))
def test_overlap_rule_on_random_layouts(seed: int) -> None:
    """Data-driven: an output and a random other tensor laid out in one buffer at a random
    distance; rejected exactly when some byte is shared, else the golden result."""
    rng = np.random.default_rng(seed)
    case = random_case(rng, cache_mode=str(rng.choice(["Norm", "PA_NZ"])), soc="Ascend910B")
    expected = golden_bytes(case)
    args = case.args()
    output = int(rng.choice([KEY_REF, VALUE_REF]))
    other = int(rng.choice([i for i in range(6) if i != output]))
    arrays = {i: np.asarray(args[i]) for i in (output, other)}
    smaller = min(a.nbytes for a in arrays.values())
    overlap = min(4 * int(rng.integers(1, 8)), smaller)
    for gap in (-overlap, 0, 4 * int(rng.integers(0, 3))):
        fresh = [a if not isinstance(a, np.ndarray) else a.copy() for a in args]
        views = carve(arrays, [other, output], [gap])
        fresh[output], fresh[other] = views[output], views[other]
        before = views[output].tobytes()
        if gap < 0:
            with pytest.raises(AclnnError, match=f"{PARAMETERS[output]} and {PARAMETERS[other]}"):
                gather_pa_kv_cache(*fresh, **case.kwargs())  # pyright: ignore[reportArgumentType]
            assert views[output].tobytes() == before
        else:
            gather_pa_kv_cache(*fresh, **case.kwargs())  # pyright: ignore[reportArgumentType]
            outputs = {KEY_REF: expected[0], VALUE_REF: expected[1]}
            assert views[output].tobytes() == outputs[output]


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
    """One token of ``head_size`` random fp16 key bit patterns (value: one element)."""
    bits = np.random.default_rng(head_size).integers(0, 1 << 16, head_size, dtype=np.uint16)
    return case_of(
        {
            "key_cache": bits.view(np.float16).reshape(1, 1, 1, head_size),
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
    assert case.key_ref.tobytes() == case.key_cache.tobytes()  # the one token, bit for bit


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
    assert_c_example_result(case)


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
    assert_c_example_result(case)


def test_negative_offset() -> None:
    assert_rejected(
        c_case(seq_offset=[2, -2, 2, 2]), ["seqOffset[1]", "expected an offset >= 0", "got -2"]
    )


# --- 161002: every data rule again, data-driven --------------------------------------


def plant(rule: str, case: GatherCase, rng: np.random.Generator) -> tuple[GatherCase, list[str]]:
    """``case`` with one violation of ``rule`` at a random place, and what the message
    must say about it (the place and the value)."""
    lens = case.seq_lens.astype(np.int64)
    used = np.flatnonzero(np.diff(lens) if case.cumsum else lens)
    i = int(rng.choice(used))
    block_size = case.key_cache.shape[1]
    assert case.seq_offset is not None
    seq_lens, tables, offsets = case.seq_lens.copy(), case.block_tables.copy(), case.seq_offset
    if rule == "negative length":
        value = -int(rng.integers(1, 100))
        seq_lens[i] = value
        fragments = [f"seqLens[{i}]: expected a length >= 0, got {value}"]
    elif rule == "cumsum start":
        seq_lens = seq_lens + int(rng.integers(1, 5))
        fragments = ["seqLens[0]: expected 0", f"got {seq_lens[0]}"]
    elif rule == "cumsum decreasing":
        seq_lens[i + 1] = seq_lens[i] - int(rng.integers(1, 5))
        fragments = [f"seqLens[{i + 1}]: expected >= seqLens[{i}] = {seq_lens[i]}"]
    elif rule == "negative offset":
        offsets = offsets.copy()
        offsets[i] = -int(rng.integers(1, 1000))
        fragments = [f"seqOffset[{i}]: expected an offset >= 0, got {offsets[i]}"]
    elif rule == "block id":
        col = int(offsets[i]) // block_size
        tables[i, col] = int(rng.choice([-1, case.key_cache.shape[0], 2**31 - 1]))
        fragments = [f"blockTables[{i}, {col}]: expected a block id in [0, ", f"{tables[i, col]}"]
    elif rule == "column":
        tables = tables[:, : int(offsets[i]) // block_size].copy()  # its first column is gone
        fragments = ["blockTables dim 1 (max_blocks_per_seq)", "needs column"]
    else:  # "total": one sequence longer than the rows left for it
        rows = case.key_ref.shape[0]
        seq_lens[i] += rows - case.total + int(rng.integers(1, 4))
        total = replace(case, seq_lens=seq_lens).total
        fragments = ["keyRef dim 0 (num_tokens)", f"total length {total}, got {rows}"]
    return replace(case, seq_lens=seq_lens, block_tables=tables, seq_offset=offsets), fragments


DATA_RULES = [
    "negative length", "cumsum start", "cumsum decreasing", "negative offset", "block id",
    "column", "total",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rule", DATA_RULES)
def test_data_rules_on_random_calls(rule: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cumsum = rule.startswith("cumsum")
    case = random_case(rng, with_offset=True, cumsum=cumsum, soc="Ascend910B")
    # Every sequence starts two columns further in (so "column" can cut its first one).
    assert case.seq_offset is not None
    case.seq_offset = case.seq_offset + 2 * case.key_cache.shape[1]
    skipped = np.zeros((case.block_tables.shape[0], 2), case.block_tables.dtype)
    case.block_tables = np.concatenate([skipped, case.block_tables], axis=1)
    gather_pa_kv_cache(*replace(case, key_ref=case.key_ref.copy()).args(), **case.kwargs())
    bad, fragments = plant(rule, case, rng)
    assert_rejected(bad, fragments)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("index", range(7), ids=PARAMETERS)
def test_tensor_kind_rules_for_every_parameter(index: int, seed: int) -> None:
    """Data-driven twin of the single kind tests above: a view strided along its last
    axis (any parameter), or along its first (any but a cache, SPEC section 9), and a
    read-only output, are refused by name."""
    rng = np.random.default_rng(seed)
    mode = str(rng.choice(["Norm", "PA_NZ"]))
    case = random_case(rng, cache_mode=mode, with_offset=True, soc="Ascend910B")
    while min(case.block_tables.shape[0], case.key_ref.shape[0]) < 2:  # a view can skip rows
        case = random_case(rng, cache_mode=mode, with_offset=True, soc="Ascend910B")
    array = case.args()[index]
    assert isinstance(array, np.ndarray)

    def every_other(axis: int) -> np.ndarray:
        """The same values, every other entry along ``axis`` of a buffer twice as long."""
        return np.repeat(array, 2, axis=axis)[(slice(None),) * axis + (slice(None, None, 2),)]

    inner = [axis for axis in range(1, array.ndim) if array.shape[axis] > 1]
    views = [every_other(inner[-1])] if inner else []
    if index not in (KEY_CACHE, VALUE_CACHE):
        views.append(every_other(0))
    assert views
    for strided in views:
        assert not strided.flags.c_contiguous
        assert_rejected(case, [PARAMETERS[index], "dense"], args=with_arg(case, index, strided))
    if index in (KEY_REF, VALUE_REF):
        frozen = array.copy()
        frozen.setflags(write=False)
        assert_rejected(case, [PARAMETERS[index], "writable"], args=with_arg(case, index, frozen))


def test_share_bytes_is_numpys_exact_answer() -> None:
    """Random views of one buffer, contiguous or strided: share_bytes agrees with the
    exact ``np.shares_memory`` (not with the bounds-only ``np.may_share_memory``)."""
    rng = np.random.default_rng(0)
    buffer = np.zeros(4096, np.uint8)
    disagreements_with_bounds = 0
    for _ in range(300):
        views = []
        for _ in range(2):
            start, length = (int(x) for x in rng.integers(0, 2048, size=2))
            step = int(rng.choice([1, 1, 2, 3]))
            views.append(buffer[start : start + length + 1 : step].view(np.uint8))
        a, b = views
        assert share_bytes(a, b) == np.shares_memory(a, b)
        disagreements_with_bounds += np.may_share_memory(a, b) != np.shares_memory(a, b)
    assert disagreements_with_bounds > 0  # the strided cases did test exactness
