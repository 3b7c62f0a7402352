"""Each detector of the machine model, fed a deliberately broken lowered program.

The broken programs are the hand-written kernels of ``kernel_fixtures`` with one edit;
every test checks the exception class, the op the report names, and the message. The
faults are all dynamic (computed offsets, counts and ranges), so the IR verifiers let
them through and only the machine can catch them. Both execution paths must report
the same fault.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from kernel_fixtures import (
    COPY_KERNEL,
    NZ_ROWS,
    ROW_BYTES,
    ROWS_GM,
    ROWS_UB,
    TRANSPOSE_KERNEL,
    byte_tensor,
    run_kernel,
)
from lowered_cases import DeviceCase, build, device_call

from pakv_dialect.ascend import Pipe, WaitFlagOp
from pakv_dialect.soc import soc_info
from runtime.host.lowered import lower
from runtime.interpreter.ascend_functions import kernel_function, kernel_sites
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.faults import (
    BurstCountError,
    DmaFieldError,
    FlagDeadlockError,
    FlagLeakError,
    GmOutOfBoundsError,
    MachineFault,
    OpSite,
    UbMisalignedError,
    UbOverflowError,
    UbOverlapError,
    UnsyncedAccessError,
    WriteConflictError,
)
from runtime.interpreter.machine import AscendMachine
from runtime.interpreter.trace import MTE3

LOAD_LINE = "    ascend.load %src[%off] -> %buf[%slot, %c0]"
STORE_LINE = "    ascend.store %buf[%slot, %c0] -> %dst[%off]"
WAIT_LOADED = "    ascend.wait_flag[MTE2, MTE3, %slot]\n"
WAIT_STORED = "    ascend.wait_flag[MTE3, MTE2, %slot]\n"
C2 = "  %c2 = arith.constant 2 : index\n"
EXTRA = "  %c16 = arith.constant 16 : index\n  %c64 = arith.constant 64 : index\n"


def copy_run(text: str, *, rows: int = 16, cores: int = 2, gm_rows: int | None = None, fast: bool):
    src = np.arange(rows * ROW_BYTES, dtype=np.uint8).reshape(rows, ROW_BYTES)
    dst = np.zeros((rows if gm_rows is None else gm_rows, ROW_BYTES), np.uint8)
    return run_kernel(
        text, {"src": src, "dst": dst}, cores=cores, tiling={"split_tokens": rows}, fast=fast
    )


def check(error: pytest.ExceptionInfo[MachineFault], op: str, *words: str) -> None:
    assert error.value.site.name == op
    message = str(error.value)
    assert op in message
    assert f"op #{error.value.site.ordinal} in @" in message
    for word in words:
        assert word in message, (word, message)


@dataclass(frozen=True)
class Fault:
    """The copy kernel broken by text edits, and the report the machine must give."""

    name: str
    edits: tuple[tuple[str, str], ...]
    """(old, new) replacements; each old text occurs once. %c16 and %c64 exist too."""
    error: type[MachineFault]
    op: str
    """The op the report must name."""
    words: tuple[str, ...]
    """What the message must say."""
    rows: int = 16
    cores: int = 2
    gm_rows: int | None = None
    """Rows of the output tensor (default: as many as the input)."""

    def kernel(self) -> str:
        text = COPY_KERNEL.replace(C2, C2 + EXTRA, 1)
        for old, new in self.edits:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text


COPY_FAULTS = [
    Fault(
        "store before its load is synchronised",
        ((WAIT_LOADED, ""),),
        UnsyncedAccessError,
        "ascend.store",
        ("reads UB buffer 'rows' slot 0", "ascend.load", "MTE2"),
    ),
    Fault(
        # Without the per-tile wait, tile 2 reloads slot 0 while tile 0's store may read it.
        "load over a slot still being stored",
        ((WAIT_STORED, ""),),
        UnsyncedAccessError,
        "ascend.load",
        ("overwrites UB buffer 'rows' slot 0", "MTE3 may still be reading"),
        rows=48,
        cores=1,
    ),
    Fault(
        "wait without set is a deadlock",
        (("  ascend.set_flag[MTE3, MTE2, %c1]\n", ""),),
        FlagDeadlockError,
        "ascend.wait_flag",
        ("wait_flag[MTE3, MTE2, 1]", "no earlier set_flag"),
    ),
    Fault(
        "flag left set at the end",
        (("  ascend.wait_flag[MTE3, MTE2, %c1]\n", ""),),
        FlagLeakError,
        "ascend.set_flag",
        ("core 0: ", "still set when the core ended", "[MTE3, MTE2, 1]"),
    ),
    Fault(
        "misaligned UB offset",
        (
            (
                LOAD_LINE,
                "    %bad = arith.addi %c0, %c16 : index\n"
                + LOAD_LINE.replace("%slot, %c0]", "%slot, %bad]"),
            ),
        ),
        UbMisalignedError,
        "ascend.load",
        ("UB offset 16", "multiples of 32"),
    ),
    Fault(
        "burst count over 4095 at run time",
        (
            (STORE_LINE, "    %many = arith.muli %c64, %c64 : index\n" + STORE_LINE),
            ("-> %dst[%off] bursts(%c1 x", "-> %dst[%off] bursts(%many x"),
        ),
        BurstCountError,
        "ascend.store",
        ("4096 bursts", "[1, 4095]"),
    ),
    Fault(
        # 3 rows of 48 bytes: 144 bytes, not a whole number of DataCopyParams' blocks.
        "blocks-form length that is not a whole block",
        (
            (
                f"gaps(%c0, %c0) as bytes\n        : {ROWS_GM}",
                f"gaps(%c0, %c0) as blocks\n        : {ROWS_GM}",
            ),
            ("  %tile = arith.constant 4 : index\n", "  %tile = arith.constant 3 : index\n"),
        ),
        DmaFieldError,
        "ascend.load",
        ("burst length 144 does not fit DataCopyParams.blockLen", "uint16 in 32-byte blocks"),
    ),
    Fault(
        # 2^34 bytes: past DataCopyExtParams' uint32 GM stride (the hardware would see 0).
        "bytes-form GM gap past 32 bits",
        (
            (
                STORE_LINE,
                "    %w1 = arith.muli %c64, %c64 : index\n    %w2 = arith.muli %w1, %w1 : index\n"
                "    %wide = arith.muli %w2, %c1024 : index\n" + STORE_LINE,
            ),
            (
                f"gaps(%c0, %c0) as bytes\n        : {ROWS_UB}",
                f"gaps(%c0, %wide) as bytes\n        : {ROWS_UB}",
            ),
            (C2, C2 + "  %c1024 = arith.constant 1024 : index\n"),
        ),
        DmaFieldError,
        "ascend.store",
        ("GM gap 17179869184 does not fit DataCopyExtParams.dstStride", "0 to 4294967295 bytes"),
    ),
    Fault(
        # Without ascend.soc the verifier cannot know the capacity; the machine does.
        "buffer outside the UB",
        ((', ascend.soc = "Ascend910B"', ""), ('"rows" at 0', '"rows" at 196352')),
        UbOverflowError,
        "ascend.ub_alloc",
        ("[196352, 196736)", "196608-byte UB of Ascend910B"),
    ),
    Fault(
        "DMA longer than its slot",
        (
            (
                "    %rows = arith.minui %left, %tile : index\n",
                "    %rows = arith.addi %tile, %c1 : index\n",
            ),
        ),
        UbOverflowError,
        "ascend.load",
        ("[0, 256) of UB buffer 'rows' slot 0", "192 bytes"),
    ),
    Fault(
        "overlapping buffers",
        (
            (
                "  ascend.set_flag[MTE3, MTE2, %c0]\n",
                '  %other = ascend.ub_alloc "other" at 320 : '
                "memref<1x64xi8, #ascend.address_space<ub>>\n"
                "  ascend.set_flag[MTE3, MTE2, %c0]\n",
            ),
        ),
        UbOverlapError,
        "ascend.ub_alloc",
        ("'other' [320, 384) overlaps UB buffer 'rows' [0, 384)",),
    ),
    Fault(
        "out of bounds GM write",
        (),
        GmOutOfBoundsError,
        "ascend.store",
        (f"of dst, which has {10 * ROW_BYTES} bytes",),
        gm_rows=10,
    ),
    Fault(
        "out of bounds scalar read",
        (
            (
                "  %b = ascend.get_block_idx\n",
                "  %b = ascend.get_block_idx\n"
                f"  %peek = ascend.load_scalar %src[%c16, %c0] : {ROWS_GM} -> i8\n",
            ),
        ),
        GmOutOfBoundsError,
        "ascend.load_scalar",
        ("index 16 of dim 0 is outside [0, 16)",),
    ),
    Fault(
        # Every core starts at row 0: core 1 rewrites what core 0 wrote.
        "two cores writing the same rows",
        (
            (
                "  %begin = arith.addi %skip, %lead : index\n",
                "  %begin = arith.addi %c0, %c0 : index\n",
            ),
        ),
        WriteConflictError,
        "ascend.store",
        ("core 1 writes bytes [0, 192) of dst", "core 0 also wrote"),
    ),
]

SITE = OpSite("ascend.store", "synthetic", 0, "a store")

PATHS = pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])


@PATHS
def test_unbroken_kernels_run_clean(fast: bool):
    copy_run(COPY_KERNEL, fast=fast)
    src = np.zeros((2, NZ_ROWS, 4, 32), np.uint8)
    dst = np.zeros((2, 4 * NZ_ROWS * 32), np.uint8)
    run_kernel(TRANSPOSE_KERNEL, {"src": src, "dst": dst}, cores=2, soc="Ascend910_95", fast=fast)


@PATHS
@pytest.mark.parametrize("fault", COPY_FAULTS, ids=[f.name for f in COPY_FAULTS])
def test_broken_copy_kernel_is_reported(fault: Fault, fast: bool):
    with pytest.raises(fault.error) as error:
        copy_run(
            fault.kernel(), rows=fault.rows, cores=fault.cores, gm_rows=fault.gm_rows, fast=fast
        )
    check(error, fault.op, *fault.words)


@PATHS
def test_transpose_before_its_load_is_synchronised(fast: bool):
    text = TRANSPOSE_KERNEL.replace("  ascend.wait_flag[MTE2, V, %slot]\n", "")
    src = np.zeros((2, NZ_ROWS, 4, 32), np.uint8)
    dst = np.zeros((2, 4 * NZ_ROWS * 32), np.uint8)
    with pytest.raises(UnsyncedAccessError) as error:
        run_kernel(text, {"src": src, "dst": dst}, cores=2, soc="Ascend910_95", fast=fast)
    check(error, "ascend.transpose_blocks", "V reads UB buffer 'nz tile'")


def test_write_conflict_check_passes_neighbouring_core_ranges():
    """Cores writing neighbouring bytes of one tensor are fine."""
    run = copy_run(COPY_KERNEL, rows=41, cores=7, fast=True)
    assert (run.outputs["dst"] == run.outputs["src"]).all()


@pytest.mark.parametrize("seed", range(30))
def test_write_conflict_check_matches_brute_force(seed: int):
    """The vectorised check finds a cross-core overlap exactly when one exists."""
    rng = np.random.default_rng(seed)
    cores = int(rng.integers(2, 5))
    gm = [np.zeros(400, np.uint8), np.zeros(400, np.uint8)]
    machine = AscendMachine(
        soc_info("Ascend910B"), {}, [byte_tensor(f"out{i}", a) for i, a in enumerate(gm)], cores
    )
    written: list[tuple[int, int, set[int]]] = []
    for core in range(cores):
        machine.start_core(core)
        buf = machine.ub_alloc(SITE, "tile", 1, 4096, 0)
        for _ in range(int(rng.integers(1, 4))):
            tensor = int(rng.integers(0, 2))
            count, length, gap = (int(x) for x in rng.integers(1, 6, 3))
            start = int(rng.integers(0, 400 - count * (length + gap)))
            machine.store(
                SITE, MTE3, "bytes", machine.gm[tensor], start, buf, 0, 0, count, length, gap, 0
            )
            span = {start + b * (length + gap) + i for b in range(count) for i in range(length)}
            written.append((core, tensor, span))
    clash = any(
        c1 != c2 and t1 == t2 and s1 & s2 for c1, t1, s1 in written for c2, t2, s2 in written
    )
    if clash:
        with pytest.raises(WriteConflictError):
            machine.finish()
    else:
        machine.finish()


@pytest.mark.parametrize("mode", ["Norm", "PA_NZ"])
def test_lowered_kernel_without_one_wait_flag(mode: str):
    """The real lowering's kernel, minus its first MTE2 -> consumer wait: reported."""
    case = DeviceCase(mode=mode, lens=(20, 9), block_size=8)
    if mode == "PA_NZ":
        case = case.with_(key_token=(3,), value_token=(2,))
    data = build(case)
    call = device_call(data)
    module = lower(call.signature)
    waits = [
        op for op in module.walk() if isinstance(op, WaitFlagOp) and op.set_pipe.data == Pipe.MTE2
    ]
    assert waits, "the lowering synchronises its loads"
    consumer = waits[0].wait_pipe.data
    waits[0].detach()
    waits[0].erase()
    function = kernel_function(module)
    tiling = call.tiling()
    machine = AscendMachine(
        soc_info(case.soc), tiling, call.arguments(), block_num=tiling.used_cores
    )
    with pytest.raises(UnsyncedAccessError) as error:
        CompiledKernel(function, kernel_sites(function)).run(machine)
    expected = "ascend.store" if consumer == Pipe.MTE3 else "ascend.transpose_blocks"
    check(error, expected, f"{consumer} reads UB buffer", "ascend.load")
