"""The scatter's emitted AscendC, compiled against the host stand-in and run on every core.

Each kernel is ``pakv-to-ascend`` then ``-t ascendc`` for one signature, built (all at
once, cached on disk) with ``g++ -Wall -Wextra -Werror`` and launched by its own host
code (``ComputeScatterTiling`` and the launcher); the caches it writes must equal the
golden's byte for byte, on data with padding and slots past the cache. Without a C++
compiler these tests skip, saying why (under ``CI=true`` they fail instead).
"""

from __future__ import annotations

import pytest
from host_compiler import needs_compiler
from scatter_cases import ScatterCase, arrays, assert_caches, device_call, expected_caches, nz

from runtime.ascendc.errors import AscendCEmitError
from runtime.ascendc.host_build import HostUnit, build_host_kernels
from runtime.ascendc.printer import emit_ascendc_kernels
from runtime.host.lowered import lower
from runtime.ir_builder import SCATTER_KERNEL_NAME

EMITTING = ("Ascend910B", "Ascend910_93", "Ascend910_95", "Ascend310P", "Ascend910")
"""SoCs the target prints for (Ascend310B is refused)."""


def _cases() -> list[ScatterCase]:
    cases: list[ScatterCase] = []
    for n, soc in enumerate(EMITTING):
        # 32-byte tokens everywhere (310P and 910 have no DataCopyPad).
        base = ScatterCase(soc=soc, key_dtype="bf16", key_token=(2, 16), tokens=200,
                           pattern="out_of_range", seed=n)  # fmt: skip
        cases += [base, nz(base).with_(pattern="padding", block_size=24)]
    unaligned = ScatterCase(soc="Ascend910_95", key_token=(1, 3), pattern="in_order", tokens=300)
    cases += [unaligned, nz(unaligned).with_(key_dtype="int8", value_dtype="fp32", key_token=(40,))]
    return cases


CASES = _cases()


def unit_of(case: ScatterCase, options: str = "") -> HostUnit:
    signature = device_call(case, arrays(case)).signature
    source = emit_ascendc_kernels(lower(signature, options))[SCATTER_KERNEL_NAME]
    return HostUnit(source, SCATTER_KERNEL_NAME, case.soc, "scatter")


@needs_compiler
def test_emitted_scatter_kernels_write_the_golden_caches():
    kernels = build_host_kernels([unit_of(case) for case in CASES])
    for case, kernel in zip(CASES, kernels, strict=True):
        data = arrays(case)
        expected = expected_caches(case, data)
        call = device_call(case, data)
        tiling = kernel.run_call(call)
        assert tiling == call.tiling().fields(), case
        assert_caches(data, expected)


def test_ascend310b_is_refused_with_the_missing_apis():
    case = ScatterCase(soc="Ascend310B")
    with pytest.raises(AscendCEmitError, match="Ascend310B has no SetFlag/WaitFlag"):
        unit_of(case)
