"""Properties of the lowered executor over random calls (hypothesis), and its op count.

* Any call, valid or not by the host's rules, dense or strided caches, gives exactly
  the golden's bytes.
* The executed op count scales with tiles: more tokens or more elements per token in
  the same number of tiles cost the same ops; the op count per DMA stays bounded.
"""

from __future__ import annotations

from gather_cases import ALL_DTYPES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lowered_cases import BAD_DATA, CACHE_VIEWS, DeviceCase, build, run_and_compare

from pakv_dialect.soc import SOCS
from runtime.interpreter.trace import LOAD, STORE

LEGACY_SOCS = sorted(name for name, soc in SOCS.items() if soc.supported and name != "Ascend910_95")


@st.composite
def device_cases(draw: st.DrawFn) -> tuple[DeviceCase, str]:
    mode = draw(st.sampled_from(["Norm", "PA_NZ"]))
    soc = draw(st.sampled_from(["Ascend910_95", *LEGACY_SOCS]))
    if soc == "Ascend910_95":
        dtypes = ALL_DTYPES
        index = draw(st.sampled_from(["int32", "int64"]))
    else:
        dtypes, index = ["int8", "fp16", "bf16"], "int32"
    key = draw(st.sampled_from(dtypes))
    value = draw(st.sampled_from(dtypes)) if mode == "PA_NZ" else key
    if mode == "PA_NZ":
        key_token = (draw(st.integers(1, 4)),)
        value_token = (draw(st.integers(1, 4)),)
    else:
        key_token = (draw(st.integers(1, 3)), draw(st.integers(1, 9)))
        value_token = (draw(st.integers(1, 3)), draw(st.integers(1, 9)))
    bad = draw(st.sampled_from([None, None, *BAD_DATA]))
    case = DeviceCase(
        mode=mode,
        key_dtype=key,
        value_dtype=value,
        index_dtype=index,
        cumsum=draw(st.booleans()),
        offsets=draw(st.booleans()) or (bad or "").endswith("offset"),
        block_size=draw(st.sampled_from([1, 2, 5, 8, 16, 24, 32])),
        lens=tuple(draw(st.lists(st.integers(0, 90), min_size=1, max_size=5))),
        key_token=key_token,
        value_token=value_token,
        soc=soc,
        extra_rows=draw(st.integers(-20, 3)),
        repeated_blocks=draw(st.booleans()),
        bad=bad,
        view=draw(st.sampled_from(CACHE_VIEWS)),
        seed=draw(st.integers(0, 2**16)),
    )
    tiles = draw(st.sampled_from(["", "tile-bytes=32", "tile-bytes=64", "tile-bytes=160"]))
    return case, tiles


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(device_cases())
def test_lowered_equals_golden_on_random_calls(drawn: tuple[DeviceCase, str]):
    case, options = drawn
    run_and_compare(build(case), options=options)


ONE_CORE = DeviceCase(soc="Ascend310B", block_size=128, lens=(1,), key_token=(1, 3))
"""One core, one block: every token count up to 128 is one run and one tile."""


def executed_ops(case: DeviceCase, options: str = "") -> int:
    return run_and_compare(build(case), options=options).executed_ops


def test_op_count_does_not_grow_with_tokens_in_a_tile():
    one = executed_ops(ONE_CORE)
    assert executed_ops(ONE_CORE.with_(lens=(128,))) == one
    assert executed_ops(ONE_CORE.with_(lens=(77,), mode="PA_NZ", key_token=(2,))) == (
        executed_ops(ONE_CORE.with_(lens=(1,), mode="PA_NZ", key_token=(2,)))
    )


def test_op_count_does_not_grow_with_elements_per_token():
    """8x to 64x the bytes per token, same tiles: the kernels differ only in baked-in constants
    (so a few ops may differ), never by a count that follows the bytes."""
    norm = ONE_CORE.with_(lens=(100,))
    assert abs(executed_ops(norm.with_(key_token=(8, 24))) - executed_ops(norm)) <= 4
    # Two row groups at least: a one-group token's load has no gap to compute.
    nz = ONE_CORE.with_(lens=(100,), mode="PA_NZ", key_token=(2,))
    whole_block = "slots=2 row-align=false"  # a block of 16 groups fits one tile
    wide = executed_ops(nz.with_(key_token=(16,)), whole_block)
    assert abs(wide - executed_ops(nz, whole_block)) <= 4


def test_op_count_per_dma_is_bounded():
    """Many tiny tiles: ops grow linearly in DMAs with a small constant per DMA."""
    case = DeviceCase(soc="Ascend310B", lens=(300, 200), block_size=32)
    for mode_case in (case, case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))):
        small = run_and_compare(build(mode_case), options="tile-bytes=64")
        table = small.trace.table()
        dmas = int(((table["kind"] == LOAD) | (table["kind"] == STORE)).sum())
        assert dmas > 100
        assert small.executed_ops < 25 * dmas
