"""The machine model's op semantics, and the two execution paths agreeing on it.

Ops are called directly on an ``AscendMachine`` with numpy data whose expected bytes
are computed independently (numpy slicing on the typed arrays); then whole kernels,
hand-written ones and real lowered ones (Norm, PA_NZ, zero-filled tokens), run on the
generated fast path and on xDSL's interpreter, which must give identical bytes, traces
and executed-op counts. The fast path's inline integer forms are checked against
``runtime.interpreter.int_ops`` on edge values of every width.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import Any

import numpy as np
import pytest
from kernel_fixtures import (
    ARITH_KERNEL,
    COPY_KERNEL,
    NZ_ROWS,
    ROW_BYTES,
    TRANSPOSE_KERNEL,
    Run,
    assert_paths_agree,
    byte_tensor,
    kernel_text,
    parse_kernel,
    run_kernel,
)
from lowered_cases import DeviceCase, build, run_and_compare

from pakv_dialect.dtypes import ElementKind, index_kind_named, kv_kind_named
from pakv_dialect.soc import soc_info
from runtime.interpreter import int_ops
from runtime.interpreter.ascend_functions import kernel_function, kernel_sites, run_with_xdsl
from runtime.interpreter.fast_path import CompiledKernel, KernelCompileError
from runtime.interpreter.faults import (
    BadTilingFieldError,
    BurstCountError,
    DmaFieldError,
    FlagDeadlockError,
    GmOutOfBoundsError,
    IndexCountError,
    MachineFault,
    OpSite,
    UbMisalignedError,
    UbOverflowError,
    UnknownVariantError,
    UnplannedBufferError,
    UnsyncedAccessError,
)
from runtime.interpreter.machine import UB_POISON, AscendMachine, UbBuffer
from runtime.interpreter.trace import (
    FILL_ZERO,
    LOAD,
    MTE2,
    MTE3,
    SET_FLAG,
    STORE,
    TRANSPOSE,
    WAIT_FLAG,
    S,
    TraceRow,
    V,
)
from runtime.memory import GmTensor

SITE = OpSite("ascend.test", "unit", 0, "direct call")


def kv_kind_named_or_fail(name: str) -> ElementKind:
    kind = kv_kind_named(name)
    assert kind is not None, name
    return kind


def machine_over(*arrays: np.ndarray, soc: str = "Ascend910B") -> AscendMachine:
    tensors = [byte_tensor(f"t{i}", a) for i, a in enumerate(arrays)]
    machine = AscendMachine(soc_info(soc), {"split_tokens": 1}, tensors, block_num=1)
    machine.start_core(0)
    return machine


def test_ub_is_the_socs_usable_capacity_and_starts_poisoned():
    for soc in ("Ascend910B", "Ascend910_95"):
        machine = machine_over(np.zeros(4, np.uint8), soc=soc)
        assert machine.ub.size == soc_info(soc).ub_usable_bytes
        assert (machine.ub == UB_POISON).all()


def test_strided_load_and_store_move_exactly_the_bursts():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, 1000, dtype=np.uint8)
    dst = np.zeros(1000, np.uint8)
    machine = machine_over(src, dst)
    gm_src, gm_dst = machine.gm
    buf = machine.ub_alloc(SITE, "tile", 2, 512, 64)
    # 5 bursts of 40 bytes, 7 bytes apart in GM; padded to 64 in UB plus a 32-byte gap.
    machine.load(SITE, MTE2, "bytes", gm_src, 11, buf, 1, 32, 5, 40, 7, 32)
    slot = machine.ub[64 + 512 : 64 + 1024]
    for b in range(5):
        ub_at = 32 + b * 96
        assert (slot[ub_at : ub_at + 40] == src[11 + b * 47 : 11 + b * 47 + 40]).all()
        assert (slot[ub_at + 40 : ub_at + 96] == UB_POISON).all()  # padding untouched
    # Store the same bursts contiguously (gm gap 0) at byte 100.
    machine.sync.set_flag(SITE, MTE2, MTE3, 0)
    machine.sync.wait_flag(SITE, MTE2, MTE3, 0)
    machine.store(SITE, MTE3, "bytes", gm_dst, 100, buf, 1, 32, 5, 40, 0, 32)
    expected = np.concatenate([src[11 + b * 47 : 11 + b * 47 + 40] for b in range(5)])
    assert (dst[100:300] == expected).all()
    assert not dst[:100].any() and not dst[300:].any()
    load, set_flag, wait_flag, store = machine.trace.rows
    assert load == TraceRow(
        0, LOAD, MTE2, SITE.ordinal, tensor=0, gm_offset=11, n_burst=5, burst_len=40, gm_gap=7,
        slot=1,
    )  # fmt: skip
    assert set_flag == TraceRow(0, SET_FLAG, MTE2, SITE.ordinal, event=0, peer=MTE3)
    assert wait_flag == TraceRow(0, WAIT_FLAG, MTE3, SITE.ordinal, event=0, peer=MTE2)
    assert store == TraceRow(
        0, STORE, MTE3, SITE.ordinal, tensor=1, gm_offset=100, n_burst=5, burst_len=40, slot=1
    )
    assert machine.trace.stores == [store]


def test_flag_rows_follow_their_pipes_and_event_at_one_site():
    """A flag op's row is kept per site for its next runs: a site whose pipes or event
    change (an event from an operand) still records the row of each run."""
    machine = machine_over(np.zeros(4, np.uint8))
    calls = [(MTE2, MTE3, 0), (MTE2, MTE3, 1), (V, MTE3, 1), (MTE2, MTE3, 1), (MTE2, V, 1)]
    for set_pipe, wait_pipe, event in calls:
        machine.sync.set_flag(SITE, set_pipe, wait_pipe, event)
        machine.sync.wait_flag(SITE, set_pipe, wait_pipe, event)
    expected = [
        row
        for set_pipe, wait_pipe, event in calls
        for row in (
            TraceRow(0, SET_FLAG, set_pipe, SITE.ordinal, event=event, peer=wait_pipe),
            TraceRow(0, WAIT_FLAG, wait_pipe, SITE.ordinal, event=event, peer=set_pipe),
        )
    ]
    assert machine.trace.rows == expected


def test_a_strided_cache_is_seen_through_its_strides_up_to_its_real_extent():
    """SPEC section 9: layer 1 of a ``[4, 3, 2, 32]`` int8 buffer. The GM tensor spans
    from its first byte to its last (gaps included): a read of the last block's bytes
    works, one byte more is out of bounds; a scalar read follows the real strides."""
    rng = np.random.default_rng(1)
    buffer = rng.integers(-128, 128, size=(4, 3, 2, 32), dtype=np.int8)
    view = buffer[:, 1]
    tensor = GmTensor.wrap("keyCache", view, kv_kind_named_or_fail("int8"))
    assert (tensor.block_stride, tensor.nbytes) == (192, 3 * 192 + 64)
    assert np.array_equal(tensor.typed(), view) and np.shares_memory(tensor.bytes, buffer)
    machine = AscendMachine(soc_info("Ascend910B"), {}, [tensor], block_num=1)
    machine.start_core(0)
    (ref,) = machine.gm
    assert machine.load_scalar(SITE, S, ref, 3, 1, 5) == int(view[3, 1, 5])
    buf = machine.ub_alloc(SITE, "tile", 1, 128, 0)
    machine.load(SITE, MTE2, "blocks", ref, 3 * 192, buf, 0, 0, 1, 64, 0, 0)
    assert (machine.ub[:64] == view[3].reshape(-1).view(np.uint8)).all()
    with pytest.raises(GmOutOfBoundsError, match=r"bytes \[577, 641\) of keyCache, which has 640"):
        machine.load(SITE, MTE2, "bytes", ref, 3 * 192 + 1, buf, 0, 0, 1, 64, 0, 0)


def test_transpose_blocks_swaps_32_byte_blocks():
    machine = machine_over(np.zeros(4, np.uint8))
    src = machine.ub_alloc(SITE, "in", 1, 6 * 32, 0)
    dst = machine.ub_alloc(SITE, "out", 1, 6 * 32, 6 * 32)
    blocks = np.arange(6 * 32, dtype=np.uint8).reshape(2, 3, 32)  # rows 2, cols 3
    machine.ub[: 6 * 32] = blocks.reshape(-1)
    machine.transpose_blocks(SITE, V, src, 0, dst, 0, 2, 3)
    out = machine.ub[6 * 32 : 12 * 32].reshape(3, 2, 32)
    for r in range(2):
        for c in range(3):
            assert (out[c, r] == blocks[r, c]).all()


def test_fill_zero_clears_the_aligned_prefix_only():
    machine = machine_over(np.zeros(4, np.uint8))
    buf = machine.ub_alloc(SITE, "zeros", 2, 128, 0)
    machine.fill_zero(SITE, V, buf, 1, 33)
    assert not machine.ub[128 : 128 + 64].any()
    assert (machine.ub[128 + 64 : 256] == UB_POISON).all()
    assert (machine.ub[:128] == UB_POISON).all()


def test_load_scalar_reads_typed_elements():
    table = np.array([[5, -7, 1 << 40], [3, 2, 1]], dtype=np.int64)
    kind = index_kind_named("int64")
    assert kind is not None
    machine = AscendMachine(
        soc_info("Ascend910_95"), {}, [GmTensor.wrap("blockTables", table, kind)], block_num=1
    )
    machine.start_core(0)
    (ref,) = machine.gm
    assert machine.load_scalar(SITE, S, ref, 0, 1) == -7
    assert machine.load_scalar(SITE, S, ref, 0, 2) == 1 << 40
    assert machine.load_scalar(SITE, S, ref, 1, 0) == 3


def one_slot(machine: AscendMachine, slot_bytes: int = 64) -> UbBuffer:
    """A one-slot UB buffer at offset 0."""
    return machine.ub_alloc(SITE, "t", 1, slot_bytes, 0)


MISUSES: list[tuple[str, Callable[[AscendMachine], object], type[MachineFault], str]] = [
    ("load_scalar with too few indices", lambda m: m.load_scalar(SITE, S, m.gm[0], 3),
     IndexCountError, "1 indices into a 2-d tensor"),
    ("load_scalar with too many indices", lambda m: m.load_scalar(SITE, S, m.gm[0], 0, 0, 0),
     IndexCountError, "3 indices into a 2-d tensor"),
    ("load_scalar past a dimension", lambda m: m.load_scalar(SITE, S, m.gm[0], 0, 8),
     GmOutOfBoundsError, "index 8 of dim 1 is outside [0, 8)"),
    ("load_scalar at a negative index", lambda m: m.load_scalar(SITE, S, m.gm[0], -1, 0),
     GmOutOfBoundsError, "index -1 of dim 0"),
    ("run_length over a 2-d tensor", lambda m: m.run_length(SITE, S, m.gm[0], 0, 0, 4),
     IndexCountError, "it has 2 dims"),
    ("run_length past its tensor", lambda m: m.run_length(SITE, S, m.gm[1], 60, 0, 5),
     GmOutOfBoundsError, "t1[60:65], outside [0, 64)"),
    ("load of no bursts",
     lambda m: m.load(SITE, MTE2, "bytes", m.gm[0], 0, one_slot(m), 0, 0, 0, 8, 0, 0),
     BurstCountError, "load with 0 bursts"),
    ("store past its tensor",
     lambda m: m.store(SITE, MTE3, "bytes", m.gm[0], 60, one_slot(m), 0, 0, 1, 8, 0, 0),
     GmOutOfBoundsError, "store touches bytes [60, 68) of t0"),
    ("load into a slot the buffer lacks",
     lambda m: m.load(SITE, MTE2, "bytes", m.gm[0], 0, one_slot(m), 1, 0, 1, 8, 0, 0),
     UbOverflowError, "slot 1"),
    ("store with a misaligned UB gap",
     lambda m: m.store(SITE, MTE3, "bytes", m.gm[0], 0, one_slot(m, 256), 0, 0, 2, 8, 0, 8),
     UbMisalignedError, "UB gap 8"),
    ("load of a form the machine lacks",
     lambda m: m.load(SITE, MTE2, "words", m.gm[0], 0, one_slot(m), 0, 0, 1, 32, 0, 0),
     UnknownVariantError, "load as 'words'"),
    ("blocks load of a length that is no multiple of 32",
     lambda m: m.load(SITE, MTE2, "blocks", m.gm[0], 0, one_slot(m), 0, 0, 1, 8, 0, 0),
     DmaFieldError, "load: "),
    ("transpose larger than its slots",
     lambda m: m.transpose_blocks(
         SITE, V, m.ub_alloc(SITE, "a", 1, 64, 0), 0, m.ub_alloc(SITE, "b", 1, 64, 64), 0, 2, 2
     ),
     UbOverflowError, "transpose of 2 x 2 blocks"),
    ("fill_zero of nothing", lambda m: m.fill_zero(SITE, V, one_slot(m), 0, 0),
     UbOverflowError, "fill_zero of 0 bytes"),
    ("vcast of an element kind the machine lacks",
     lambda m: m.vcast(SITE, V, "int8", "fp7", b := one_slot(m), 0, 0, b, 0, 0, 8),
     UnknownVariantError, "element kind 'fp7'"),
    ("vscalar of an unknown arithmetic",
     lambda m: m.vscalar(SITE, V, "div", b := one_slot(m), 0, 0, np.float32(2), b, 0, 0, 8),
     UnknownVariantError, "vscalar of kind 'div'"),
    ("vrows of an unknown arithmetic",
     lambda m: m.vrows(SITE, V, "max", b := one_slot(m), 0, 0, b, 0, 0, b, 0, 0, 1, 8, 8),
     UnknownVariantError, "vrows of kind 'max'"),
    ("vrows with a misaligned pitch",
     lambda m: m.vrows(SITE, V, "add", b := one_slot(m), 0, 0, b, 0, 0, b, 0, 0, 2, 3, 3),
     UbMisalignedError, "pitch of 3 elements"),
    ("buffer without a planned offset", lambda m: m.ub_alloc(SITE, "t", 1, 64, None),
     UnplannedBufferError, "no planned offset"),
    ("unknown tiling field", lambda m: m.get_tiling(SITE, "nope"),
     BadTilingFieldError, "no tiling field 'nope'"),
    ("wait for a flag never set", lambda m: m.sync.wait_flag(SITE, MTE2, MTE3, 5),
     FlagDeadlockError, "wait_flag[MTE2, MTE3, 5]"),
]  # fmt: skip
"""Each way of calling a machine method wrongly: the call, the fault, words of its report."""


@pytest.mark.parametrize(
    ("call", "fault", "words"), [m[1:] for m in MISUSES], ids=[m[0] for m in MISUSES]
)
def test_each_misuse_is_a_fault_naming_its_site_and_core(
    call: Callable[[AscendMachine], object], fault: type[MachineFault], words: str
):
    """Every misuse is a MachineFault subclass whose report names the op and the core
    (never a bare Python error), and it records no trace row."""
    machine = machine_over(np.arange(64, dtype=np.uint8).reshape(8, 8), np.zeros(64, np.uint8))
    machine.start_core(3)
    with pytest.raises(fault) as error:
        call(machine)
    assert error.value.site is SITE and error.value.core == 3
    assert str(error.value).startswith(f"core 3: {SITE}: ")
    assert words in str(error.value)
    assert len(machine.trace) == 0


def test_the_machine_runs_each_op_on_the_pipe_it_is_given():
    """The machine keeps no table of which pipe an op runs on: the same fill on MTE2
    instead of V needs no flag before an MTE2 load of its slot (one pipe runs in
    order), a V op that then reads the slot is told to wait for MTE2, and each row
    records the pipe it was given."""
    machine = machine_over(np.zeros(64, np.uint8))
    buf = machine.ub_alloc(SITE, "t", 1, 64, 0)
    other = machine.ub_alloc(SITE, "o", 1, 64, 64)
    machine.fill_zero(SITE, MTE2, buf, 0, 32)
    machine.load(SITE, MTE2, "bytes", machine.gm[0], 0, buf, 0, 0, 1, 32, 0, 0)
    with pytest.raises(UnsyncedAccessError, match=r"V reads UB buffer 't' slot 0 .* on MTE2"):
        machine.transpose_blocks(SITE, V, buf, 0, other, 0, 1, 1)
    assert machine.trace.table()["pipe"].tolist() == [MTE2, MTE2]
    machine.load_scalar(SITE, MTE3, machine.gm[0], 5)
    assert machine.trace.table()["pipe"].tolist() == [MTE2, MTE2, MTE3]


@pytest.mark.parametrize("rows,cores", [(37, 5), (8, 3), (1, 1), (200, 7)])
def test_copy_kernel_fast_and_reference_paths_agree(rows: int, cores: int):
    rng = np.random.default_rng(rows)
    src = rng.integers(0, 256, (rows, ROW_BYTES), dtype=np.uint8)
    dst = rng.integers(0, 256, (rows + 3, ROW_BYTES), dtype=np.uint8)
    arrays = {"src": src, "dst": dst}
    tiling = {"split_tokens": rows}
    fast = run_kernel(COPY_KERNEL, arrays, cores=cores, tiling=tiling, fast=True)
    slow = run_kernel(COPY_KERNEL, arrays, cores=cores, tiling=tiling, fast=False)
    assert (fast.outputs["dst"][:rows] == src).all()
    assert (fast.outputs["dst"][rows:] == dst[rows:]).all()
    assert (fast.outputs["dst"] == slow.outputs["dst"]).all()
    assert_paths_agree(fast, slow)


def test_transpose_kernel_fast_and_reference_paths_agree():
    rng = np.random.default_rng(1)
    src = rng.integers(0, 256, (4, NZ_ROWS, 4, 32), dtype=np.uint8)
    dst = np.zeros((4, 4 * NZ_ROWS * 32), np.uint8)
    arrays = {"src": src, "dst": dst}
    fast = run_kernel(TRANSPOSE_KERNEL, arrays, cores=4, soc="Ascend910_95", fast=True)
    slow = run_kernel(TRANSPOSE_KERNEL, arrays, cores=4, soc="Ascend910_95", fast=False)
    expected = np.zeros_like(dst)
    expected[:, : 2 * NZ_ROWS * 32] = src[:, :, 2:4, :].transpose(0, 2, 1, 3).reshape(4, -1)
    assert (fast.outputs["dst"] == expected).all()
    assert (slow.outputs["dst"] == expected).all()
    assert_paths_agree(fast, slow)


def test_copy_kernel_op_count_is_per_tile():
    """4 rows per tile: the op count grows by a fixed amount per tile, not per byte."""

    def ops(rows: int) -> int:
        src = np.zeros((rows, ROW_BYTES), np.uint8)
        arrays = {"src": src, "dst": src.copy()}
        return run_kernel(COPY_KERNEL, arrays, cores=1, tiling={"split_tokens": rows}).executed_ops

    one_tile, two_tiles, ten_tiles = ops(4), ops(8), ops(40)
    per_tile = two_tiles - one_tile
    assert per_tile > 0
    assert ten_tiles == one_tile + 9 * per_tile
    assert ops(3) == one_tile  # a partial tile costs the same ops as a full one


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  %f = arith.constant 1.5 : f64\n", r"arith\.constant .*only integer and f32 constants"),
        ("  %m, %h = arith.mulsi_extended %c2, %c2 : index\n", r"cannot run arith\.mulsi_extended"),
    ],
)
def test_fast_path_names_an_op_it_cannot_run(line: str, message: str):
    text = COPY_KERNEL.replace(
        "  %b = ascend.get_block_idx\n", line + "  %b = ascend.get_block_idx\n"
    )
    func = kernel_function(parse_kernel(text))
    with pytest.raises(KernelCompileError, match=message):
        CompiledKernel(func, kernel_sites(func))


def test_unknown_tiling_field_is_reported():
    text = COPY_KERNEL.replace('get_tiling "split_tokens"', 'get_tiling "no_such_field"')
    src = np.zeros((4, ROW_BYTES), np.uint8)
    with pytest.raises(BadTilingFieldError, match="no tiling field 'no_such_field'"):
        run_kernel(text, {"src": src, "dst": src.copy()}, cores=1, tiling={"split_tokens": 4})


# --------------------------------------------------------------------------- integer forms

WIDTHS = (1, 8, 32, 64)


def edge_values(width: int, *, in_range: bool) -> list[int]:
    """Values at and around the edges of ``width`` bits (and beyond, unless in_range)."""
    half = 1 << (width - 1)
    values = {0, 1, -1, 2, -2, 3, half - 1, -half, half - 2, -half + 1, 5, -7, 1 << (width // 2)}
    if not in_range:
        values |= {half, -half - 1, 2 * half - 1, 2 * half, 3 * 2 * half + 5, -(5 << width)}
    keep = [v for v in sorted(values) if not in_range or int_ops.wrap(v, width) == v]
    return [*keep, *((True, False) if not in_range or width > 1 else (False,))]


def compiled(lines: list[str]) -> Callable[[Any, Any], Any]:
    """The statements (computing ``r`` from ``a`` and ``b``) as a function."""
    body = "".join(f"    {line}\n" for line in lines)
    namespace: dict[str, Any] = {"wrap": int_ops.wrap}
    exec(f"def form(a, b):\n{body}    return r\n", namespace)
    return namespace["form"]


def same(got: object, expected: object) -> bool:
    """Equal ints (a form may keep a bool operand where the function made it 0 or 1)."""
    return isinstance(got, int) and got == expected


@pytest.mark.parametrize("op", list(int_ops.BINARY), ids=lambda op: op.name)
@pytest.mark.parametrize("in_range", [True, False], ids=["in-range", "any"])
def test_inline_binary_forms_equal_the_int_ops_functions(op: type, in_range: bool):
    function = int_ops.BINARY[op]
    for width in WIDTHS:
        values = edge_values(width, in_range=in_range)
        lines = int_ops.binary_source(op, "r", "a", "b", width, in_range)
        form = compiled(lines) if lines else None
        for a, b in product(values, values):
            try:
                expected = function(a, b, width)
            except (ZeroDivisionError, ValueError) as error:  # x / 0, a negative shift
                if form:
                    with pytest.raises(type(error)):
                        form(a, b)
                continue
            # The fast path relies on every integer op giving an in-range result.
            assert int_ops.wrap(expected, width) == expected, (op.name, width, a, b)
            if form:
                assert same(form(a, b), expected), (op.name, width, a, b, lines)


@pytest.mark.parametrize("predicate", range(10))
@pytest.mark.parametrize("in_range", [True, False], ids=["in-range", "any"])
def test_inline_cmpi_forms_equal_int_ops(predicate: int, in_range: bool):
    for width in WIDTHS:
        lines = int_ops.cmpi_source(predicate, "r", "a", "b", width, in_range)
        if lines is None:
            assert not in_range and predicate >= 2  # signed order needs in-range operands
            continue
        form = compiled(lines)
        values = edge_values(width, in_range=in_range)
        for a, b in product(values, values):
            assert same(form(a, b), int_ops.cmpi(predicate, a, b, width)), (predicate, a, b)


@pytest.mark.parametrize("zero_extend", [False, True], ids=["sign", "zero"])
@pytest.mark.parametrize("in_range", [True, False], ids=["in-range", "any"])
def test_inline_cast_forms_equal_int_ops(zero_extend: bool, in_range: bool):
    for source, target in product(WIDTHS, WIDTHS):
        lines = int_ops.cast_source(
            "r", "a", source, target, zero_extend=zero_extend, in_range=in_range
        )
        form = compiled(lines)
        for value in edge_values(source, in_range=in_range):
            expected = int_ops.cast(value, source, target, zero_extend=zero_extend)
            assert same(form(value, None), expected), (source, target, value, lines)


# --------------------------------------------------------------------------- whole kernels

EDGE_WORDS = [
    0, 1, -1, 2, -2, 7, 255, 256, -128, 127, 2**31 - 1, -(2**31), 2**31, 2**32 + 5,
    2**63 - 1, -(2**63), -(2**63) + 1, 12345678901, -987654321,
]  # fmt: skip


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_arith_kernel_fast_and_reference_paths_agree(seed: int | None):
    """Every integer op on edge (or random) words and bytes: each result is a trace
    event, so equal traces mean equal values, op by op."""
    if seed is None:
        words = np.array(EDGE_WORDS, dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        words = rng.integers(-(2**63), 2**63 - 1, 24, dtype=np.int64, endpoint=True)
        words[::3] >>= rng.integers(1, 62, words[::3].size)  # small values too
    data = np.arange(words.size, dtype=np.uint8) * np.uint8(37)
    kind = index_kind_named("int64")
    assert kind is not None
    runs: list[Run] = []
    for fast in (True, False):
        module = parse_kernel(ARITH_KERNEL)
        tensors = [GmTensor.wrap("words", words.copy(), kind), byte_tensor("bytes", data.copy())]
        machine = AscendMachine(soc_info("Ascend910B"), {"values": words.size}, tensors, 2)
        if fast:
            function = kernel_function(module)
            ops = CompiledKernel(function, kernel_sites(function)).run(machine)
        else:
            ops = run_with_xdsl(module, machine)
        runs.append(Run({}, machine.trace, ops))
    assert_paths_agree(*runs)
    fast_table = runs[0].trace.table()
    assert len(fast_table) > 0
    events = np.unique(fast_table["event"])
    assert events.min() < -(2**62) and events.max() > 2**62  # wrap-around happened


def nz(case: DeviceCase) -> DeviceCase:
    return case.with_(mode="PA_NZ", key_token=(3,), value_token=(2,))


LOWERED_CASES = [
    DeviceCase(lens=(5, 0, 9), block_size=4),
    DeviceCase(lens=(6, 4), block_size=3, offsets=True, cumsum=True, bad="columns"),
    nz(DeviceCase(lens=(7, 3), block_size=4)),
    nz(DeviceCase(lens=(13, 9), block_size=2, bad="block_ids")),
]


@pytest.mark.parametrize("case", LOWERED_CASES, ids=[str(c) for c in LOWERED_CASES])
def test_lowered_kernels_agree_on_both_paths(case: DeviceCase):
    """Real lowered kernels (small tiles, so many of them) on the generated fast path and
    on xDSL's interpreter: the same bytes (the golden's), trace and op count."""
    fast_data, slow_data = build(case), build(case)
    options = "tile-bytes=64 nz=transpose"  # Ascend910_95's default PA_NZ is the 3-D copy
    fast = run_and_compare(fast_data, options=options)
    slow = run_and_compare(slow_data, options=options, reference=True)
    for fast_out, slow_out in (
        (fast_data.key_ref, slow_data.key_ref),
        (fast_data.value_ref, slow_data.value_ref),
    ):
        assert fast_out.tobytes() == slow_out.tobytes()
    assert_paths_agree(fast, slow)
    kinds = set(fast.trace.table()["kind"].tolist())
    assert (TRANSPOSE in kinds) == (case.mode == "PA_NZ")
    assert (FILL_ZERO in kinds) == (case.bad is not None)


def test_fast_path_reports_loops_nested_too_deeply_for_python():
    depth = 24  # CPython allows 20 nested loops in one function
    loops = "".join(
        f"{'  ' * (d + 1)}scf.for %i{d} = %c0 to %c1 step %c1 {{\n" for d in range(depth)
    )
    ends = "".join(f"{'  ' * (d + 1)}}}\n" for d in reversed(range(depth)))
    text = kernel_text("@deep()", "Ascend910B", {"c0": 0, "c1": 1}, loops + ends)
    function = kernel_function(parse_kernel(text))
    with pytest.raises(KernelCompileError, match="nests its loops too deeply"):
        CompiledKernel(function, kernel_sites(function))
