"""``scatter_pa_kv_cache`` and its aclnn mirror: every 161001 / 161002 rule of SPEC
section 8, nothing written on error, and the executors agreeing on valid calls.

Each rejection asserts the status, that the message names the parameter (and the index,
what was expected and what was given), and that both caches are byte-identical
afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from host_compiler import needs_compiler
from scatter_cases import ScatterCase, arrays, assert_caches, expected_caches, nz

from runtime import (
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    ACLNN_SUCCESS,
    AclnnError,
    Tensor,
    scatter_pa_kv_cache,
)
from runtime.host import aclnn, lowered
from runtime.host.executors import EXECUTORS

Data = dict[str, np.ndarray]
CASE = ScatterCase(soc="Ascend910B", tokens=24, pattern="padding")


def call(data: Data, case: ScatterCase = CASE, **overrides: object) -> None:
    options: dict[str, object] = {"cache_mode": case.mode, "soc": case.soc, **overrides}
    roles = ("key", "value", "key_cache", "value_cache", "slot_mapping")
    scatter_pa_kv_cache(*(data[r] for r in roles), **options)  # pyright: ignore[reportArgumentType]


def assert_rejected(
    data: Data, fragments: list[str], *, status: int = ACLNN_ERR_PARAM_INVALID, **overrides: object
) -> None:
    before = {role: data[role].tobytes() for role in ("key_cache", "value_cache")}
    with pytest.raises(AclnnError) as info:
        call(data, CASE, **overrides)
    assert info.value.status == status
    for fragment in fragments:
        assert fragment in info.value.message, info.value.message
    assert {role: data[role].tobytes() for role in before} == before


EXECUTOR_NAMES = [
    pytest.param(name, marks=needs_compiler) if name == "ascendc-host" else name
    for name in sorted(EXECUTORS)
]


@pytest.mark.parametrize("executor", EXECUTOR_NAMES)
@pytest.mark.parametrize("case", [CASE, nz(CASE)], ids=["Norm", "PA_NZ"])
def test_every_executor_writes_the_golden_caches(case: ScatterCase, executor: str):
    data = arrays(case)
    expected = expected_caches(case, data)
    call(data, case, executor=executor)
    assert_caches(data, expected)


@pytest.mark.parametrize("role", ["key", "value", "key_cache", "value_cache", "slot_mapping"])
def test_a_missing_tensor_is_161001(role: str):
    data = arrays(CASE)
    names = {"key_cache": "keyCache", "value_cache": "valueCache", "slot_mapping": "slotMapping"}
    given = {**data, role: None}
    with pytest.raises(AclnnError) as info:
        call(given)  # pyright: ignore[reportArgumentType]
    assert info.value.status == ACLNN_ERR_PARAM_NULLPTR
    assert f"{names.get(role, role)} is null" in info.value.message


def test_a_slot_past_the_cache_is_rejected():
    data = arrays(CASE)
    data["slot_mapping"][7] = CASE.num_blocks * CASE.block_size
    assert_rejected(
        data,
        ["slotMapping[7]", "below num_blocks * block_size = 12 * 16 = 192", "got 192"],
    )


def test_duplicate_slots_are_rejected():
    data = arrays(CASE.with_(pattern="prefill"))
    data["slot_mapping"][20] = data["slot_mapping"][3]
    assert_rejected(data, ["slotMapping[20]", "slotMapping[3] writes too", "duplicate"])


def test_negative_slots_may_repeat():
    """Padding (-1) is skipped, however often it appears: not a duplicate."""
    data = arrays(CASE)
    data["slot_mapping"][:5] = -1
    expected = expected_caches(CASE, data)
    call(data)
    assert_caches(data, expected)


StaticBreak = Callable[[Data], Data]

STATIC_CASES: list[tuple[str, StaticBreak, list[str]]] = [
    (
        "rank of key",
        lambda d: {**d, "key": d["key"].reshape(d["key"].shape[0], -1)},
        ["key must have rank 3, got rank 2"],
    ),
    (
        "tokens without their slot",
        lambda d: {**d, "slot_mapping": d["slot_mapping"][:-1].copy()},
        ["key dim 0 (num_tokens = slotMapping dim 0): expected 23, got 24"],
    ),
    (
        "value dtype",
        lambda d: {**d, "value": d["value"].view(np.int16)},
        ["value element type must equal valueCache's f16, got i16"],
    ),
    (
        "slot dtype",
        lambda d: {**d, "slot_mapping": d["slot_mapping"].astype(np.int16)},
        ["slotMapping dtype: expected one of int32, int64, got int16"],
    ),
    (
        "int64 slots on Ascend910B",
        lambda d: {**d, "slot_mapping": d["slot_mapping"].astype(np.int64)},
        ["slotMapping element type int64 is not supported on Ascend910B"],
    ),
    (
        "caches disagree",
        lambda d: {**d, "value_cache": d["value_cache"][:-1].copy()},
        ["valueCache dim 0 (num_blocks): expected 12, got 11"],
    ),
    (
        "token limit",
        lambda d: {
            **d,
            "key": np.zeros((24, 1, 73730), np.float16),
            "value": np.zeros((24, 1, 73730), np.float16),
            "key_cache": np.zeros((2, 16, 1, 73730), np.float16),
            "value_cache": np.zeros((2, 16, 1, 73730), np.float16),
        },
        ["keyCache: one token is 73730 x 2 = 147460 bytes"],
    ),
    (
        "non-contiguous key",
        lambda d: {**d, "key": d["key"][::2]},
        ["key must be dense (no layout), got strided<"],
    ),
    (
        "read-only cache",
        lambda d: {**d, "key_cache": _read_only(d["key_cache"])},
        ["keyCache: expected a writable array"],
    ),
    (
        "a cache overlapping the tokens",
        lambda d: {
            **d,
            "value": d["value_cache"].reshape(-1)[: d["value"].size].reshape(d["value"].shape),
        },
        ["valueCache and value share memory"],
    ),
    (
        "both caches one buffer",
        lambda d: {**d, "value_cache": d["key_cache"]},
        ["keyCache and valueCache share memory"],
    ),
]


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


@pytest.mark.parametrize(
    ("what", "breaks", "fragments"), STATIC_CASES, ids=[c[0] for c in STATIC_CASES]
)
def test_static_rules_are_161002(what: str, breaks: StaticBreak, fragments: list[str]):
    data = breaks(arrays(CASE))
    assert_rejected(data, fragments)


def test_cache_mode_soc_and_format():
    data = arrays(CASE)
    assert_rejected(
        data, ["cacheMode: expected exactly one of ['Norm', 'PA_NZ'], got 'NZ'"], cache_mode="NZ"
    )
    assert_rejected(
        data, ["soc: ScatterPaKvCache is not supported on this SoC: Ascend310"], soc="Ascend310"
    )
    nz_case = nz(CASE).with_(soc="Ascend910_95")
    nz_data = arrays(nz_case)
    assert_rejected(
        nz_data,
        ["keyCache format: expected FRACTAL_NZ for cacheMode PA_NZ on Ascend910_95, got ND"],
        cache_mode="PA_NZ",
        soc="Ascend910_95",
    )
    nz_data["key_cache"] = Tensor(nz_data["key_cache"], format="FRACTAL_NZ")  # pyright: ignore[reportArgumentType]
    nz_data["value_cache"] = Tensor(nz_data["value_cache"], format="FRACTAL_NZ")  # pyright: ignore[reportArgumentType]
    call(nz_data, nz_case)


def test_an_empty_call_succeeds_and_writes_nothing():
    data = arrays(CASE.with_(pattern="empty"))
    before = data["key_cache"].tobytes()
    call(data)
    assert data["key_cache"].tobytes() == before


def test_two_phase_aclnn_mirror():
    data = arrays(CASE)
    expected = expected_caches(CASE, data)
    status, workspace, executor = aclnn.aclnnScatterPaKvCacheGetWorkspaceSize(
        data["key"], data["key_cache"], data["slot_mapping"], data["value"], data["value_cache"],
        None, None, None, CASE.mode, soc=CASE.soc,
    )  # fmt: skip
    assert (status, workspace) == (ACLNN_SUCCESS, 0) and executor is not None
    assert aclnn.aclnnScatterPaKvCache(None, 0, executor, None) == ACLNN_SUCCESS
    assert_caches(data, expected)
    assert aclnn.aclnnScatterPaKvCache(None, 0, executor, None) == ACLNN_ERR_PARAM_INVALID
    assert "runs once" in aclnn.aclGetRecentErrMsg()
    assert aclnn.aclnnScatterPaKvCache(None, 0, None, None) == ACLNN_ERR_PARAM_NULLPTR
    assert "aclnnScatterPaKvCacheGetWorkspaceSize" in aclnn.aclGetRecentErrMsg()


def test_aclnn_rejects_compress_parameters_and_bad_slots():
    data = arrays(CASE)
    status, _, executor = aclnn.aclnnScatterPaKvCacheGetWorkspaceSize(
        data["key"], data["key_cache"], data["slot_mapping"], data["value"], data["value_cache"],
        data["slot_mapping"], None, None, CASE.mode, soc=CASE.soc,
    )  # fmt: skip
    assert (status, executor) == (ACLNN_ERR_PARAM_INVALID, None)
    assert "compressLensOptional: expected None" in aclnn.aclGetRecentErrMsg()
    status, _, executor = aclnn.aclnnScatterPaKvCacheGetWorkspaceSize(
        data["key"], data["key_cache"], data["slot_mapping"], data["value"], data["value_cache"],
        None, None, None, CASE.mode, soc=CASE.soc,
    )  # fmt: skip
    assert status == ACLNN_SUCCESS
    before = data["key_cache"].tobytes()
    data["slot_mapping"][0] = 10**6  # the data went bad between the phases
    assert aclnn.aclnnScatterPaKvCache(None, 0, executor, None) == ACLNN_ERR_PARAM_INVALID
    assert "slotMapping[0]" in aclnn.aclGetRecentErrMsg()
    assert data["key_cache"].tobytes() == before


def test_a_failing_executor_leaves_the_caches_as_they_were(monkeypatch: pytest.MonkeyPatch):
    data = arrays(CASE.with_(pattern="prefill"))
    before = {role: data[role].tobytes() for role in ("key_cache", "value_cache")}

    def half_then_fail(run_call: object) -> None:
        data["key_cache"][...] = 0  # writes everything, then fails
        raise RuntimeError("boom")

    monkeypatch.setitem(EXECUTORS, "broken", half_then_fail)
    with pytest.raises(AclnnError) as info:
        call(data, executor="broken")
    assert info.value.status == 561000
    assert "keyCache and valueCache are unchanged" in info.value.message
    # Only the bytes the call may write are put back: the slots' tokens.
    slots = data["slot_mapping"].astype(np.int64)
    placed = slots[(slots >= 0)]
    restored = data["key_cache"].reshape(-1, *data["key_cache"].shape[2:])[placed]
    original = np.frombuffer(before["key_cache"], data["key_cache"].dtype).reshape(
        -1, *data["key_cache"].shape[2:]
    )[placed]
    assert restored.tobytes() == original.tobytes()


@pytest.mark.parametrize("case", [CASE, nz(CASE)], ids=["Norm", "PA_NZ"])
def test_plan_options_the_scatter_honours_lower_its_kernel(case: ScatterCase):
    """Sizes, cores and sync reach the scatter's lowering (the kernel the run used says
    so) and the caches are the golden's."""
    data = arrays(case)
    expected = expected_caches(case, data)
    call(data, case, executor="lowered", options="slots=3 tile-bytes=1024 cores=3 sync=barrier")
    assert_caches(data, expected)
    run = lowered.last_run()
    assert run is not None and run.cores <= 3
    assert run.kernel.signature.options == "slots=3 tile-bytes=1024 cores=3 sync=barrier"
    assert any(op.name == "ascend.pipe_barrier" for op in run.kernel.module.walk())


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ("strategy=a2", "strategy=pakv and split=tokens"),
        ("strategy=ascend950", "strategy=pakv and split=tokens"),
        ("split=batches", "not split=batches"),
        ("nz=per-token", "nz=per-token is a gather's plan"),
    ],
)
def test_a_plan_the_scatter_cannot_honour_is_161002(options: str, fragment: str):
    """A vendor strategy, another split or PA_NZ method is refused, never ignored."""
    assert_rejected(arrays(CASE), [f"options {options!r}", fragment], options=options)
