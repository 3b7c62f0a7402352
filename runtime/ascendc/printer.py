"""The ``ascendc`` target: each lowered kernel as one complete AscendC translation unit.

``xdsl-opt f.mlir -p 'pakv-to-ascend{soc=S}' -t ascendc`` prints, per kernel:

* the includes, and the tiling struct of the kernel's ABI (``GatherTilingData`` or
  ``ScatterTilingData``: ``pakv_dialect.tiling.TILING_ABIS``, named by the kernel's
  ``ascend.tiling``);
* the kernel class in AscendC's usual form. ``Init`` reads the tiling, binds the GM
  tensors, carves the planned UB out of one ``TBuf<TPosition::VECCALC>`` with
  ``GetWithOffset`` (the lowering planned every offset, so there is no ``TQue``) and
  takes event ids from ``TPipe::AllocEventID``. ``Process`` is the lowered control flow
  (``runtime.ascendc.body``), its flags printed one for one as ``SetFlag``/``WaitFlag``.
  Its steps are private stages: ``CopyIn`` (GM->UB, MTE2), ``TransposeBlocks`` and
  ``ZeroFill`` (compute, vector pipe) and ``CopyOut`` (UB->GM, MTE3), each printed
  only when used, with ``DataCopy`` or ``DataCopyPad`` as ``runtime.ascendc.plan``
  decides;
* the ``extern "C" __global__ __aicore__`` entry (GM addresses, workspace, tiling);
* ``KERNEL_TASK_TYPE_DEFAULT`` in the entry where the SoC has a kernel type
  (``SocInfo.kernel_type``: vector-only on A2/A3/950, AI Core on 310P, none elsewhere);
* the host side: ``ComputeGatherTiling`` (``gather_tiling``'s split; the scatter's
  ``ComputeScatterTiling``) and a launcher in
  the asc-devkit examples' form (host ``uint8_t*`` device addresses, ``aclrtStream``,
  ``<<<blockDim, nullptr, stream>>>``), outside ``ASCENDC_CPU_DEBUG`` builds. The host
  build compiles and runs it against the stand-in ``acl/acl.h``.

The layout follows xDSL's CSL target (``print_to_csl``): one print context, units
separated by ``// -----`` when a module holds several kernels.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from io import StringIO
from typing import IO

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target

from pakv_dialect import ascend
from pakv_dialect.tiling import TilingAbi
from runtime.ascendc.body import AscendCPrintContext, events_by_count
from runtime.ascendc.compute import helper_texts
from runtime.ascendc.errors import AscendCEmitError
from runtime.ascendc.plan import (
    KernelPlan,
    camel,
    events_member,
    pascal,
    plan_printing,
)

TILING_RULES: dict[str, dict[str, str]] = {
    "gather": {
        "split_tokens": "std::min(totalTokens, numTokens)",
        "used_cores": "std::min(vectorCores, tiling.splitTokens)",
    },
    "scatter": {
        "split_tokens": "numTokens",
        "used_cores": "std::min(vectorCores, tiling.splitTokens)",
    },
}
"""C++ of each tiling ABI's computed fields (``gather_tiling``, ``scatter_tiling``);
every other field copies the parameter of the same name. (Sizes are unsigned here, so
``max(0, ...)`` has nothing to clamp.)"""

TILING_DOC = {
    "gather": (
        "the sum of seqLens:",
        "the cores share min(totalTokens, numTokens) rows (pakv_dialect/tiling.py).",
    ),
    "scatter": (
        "slotMapping's length:",
        "the cores share the numTokens tokens, one slot each (pakv_dialect/tiling.py).",
    ),
}
"""What each ABI's host function computes from, in two comment lines."""


FITS_NOTE = "// Every value fits its field unconverted: runtime.ascendc.plan proved it per call."


def _copy_helper(helper: str) -> str:
    """The C++ of one copy helper (``ascendc_plan.CopyVariant``).

    Values go into the AscendC fields without casts: the plan proved, call by call, that
    they fit the fields of the op's form (``pakv_dialect.dma.DMA_FORMS``), burst count
    included (the lowering splits copies of more than 4095 bursts).
    """
    to_ub = helper.startswith("CopyIn")
    aligned = helper.endswith("Aligned")
    local, global_ = "ub.ReinterpretCast<T>()", "gm[gmByte / sizeof(T)]"
    dst, src = (local, global_) if to_ub else (global_, local)
    pad = ", DataCopyPadExtParams<T>{}" if to_ub and not aligned else ""
    ub_param, gm_params = (
        "const LocalTensor<uint8_t>& ub",
        "const GlobalTensor<T>& gm, uint64_t gmByte",
    )
    params = f"{ub_param}, {gm_params}" if to_ub else f"{gm_params}, {ub_param}"
    stage = "CopyIn (MTE2): GM -> UB" if to_ub else "CopyOut (MTE3): UB -> GM"
    if "Bursts" not in helper:
        if aligned:
            doc = f"// {stage}: one burst of `bytes` bytes, a multiple of 32 (DataCopy)."
            body = f"    {FITS_NOTE}\n    DataCopy({dst}, {src}, bytes / sizeof(T));"
        else:
            doc = (
                f"// {stage}: one burst of `bytes` bytes, any length (DataCopyPad pads\n"
                "// the burst to 32 bytes in UB)."
            )
            body = (
                "    DataCopyExtParams params;\n"
                f"    {FITS_NOTE}\n"
                "    params.blockCount = 1;\n"
                "    params.blockLen = bytes;\n"
                f"    DataCopyPad({dst}, {src}, params{pad});"
            )
        header = f"__aicore__ inline void {helper}({params}, uint64_t bytes)"
        return f"{doc}\ntemplate <typename T>\n{header}\n{{\n{body}\n}}\n"
    doc = (
        f"// {stage}: nBurst bursts of burstBytes. Burst b starts b * (burstBytes +\n"
        "// gmGapBytes) bytes into GM and b * (burstBytes rounded up to 32 + ubGapBytes)\n"
        "// bytes into UB."
    )
    if aligned:
        doc += " Every length is a multiple of 32: DataCopyParams counts 32-byte blocks."
        struct, api = "DataCopyParams", "DataCopy"
        length, gm_gap = "burstBytes / UB_BLOCK_BYTES", "gmGapBytes / UB_BLOCK_BYTES"
    else:
        doc += "\n// DataCopyPad: burst length and GM gap in bytes, UB gap in 32-byte blocks."
        struct, api = "DataCopyExtParams", "DataCopyPad"
        length, gm_gap = "burstBytes", "gmGapBytes"
    ub_gap = "ubGapBytes / UB_BLOCK_BYTES"
    src_gap, dst_gap = (gm_gap, ub_gap) if to_ub else (ub_gap, gm_gap)
    lines = [
        f"    {struct} params;",
        f"    {FITS_NOTE}",
        f"    params.blockLen = {length};",
        f"    params.srcStride = {src_gap};",
        f"    params.dstStride = {dst_gap};",
    ]
    lines += [
        "    params.blockCount = nBurst;",
        f"    {api}({dst}, {src}, params{pad});",
    ]
    header = (
        f"__aicore__ inline void {helper}({params}, uint64_t nBurst, uint64_t burstBytes, "
        "uint64_t gmGapBytes, uint64_t ubGapBytes)"
    )
    return f"{doc}\ntemplate <typename T>\n{header}\n{{\n" + "\n".join(lines) + "\n}\n"


TRANSPOSE_BLOCKS = """\
// Compute (V): the 32-byte block (r, c) of a rows x cols tile moves to (c, r), turning
// a group-major PA_NZ tile token-major. A 1 x n or n x 1 tile is its own transpose (one
// contiguous copy); otherwise one UB->UB DataCopy per line of the shorter side, its
// blocks written a longer side apart. Both sides are at most 4095 (runtime.ascendc.plan
// proved it), so every value fits its uint16 DataCopyParams field unconverted.
__aicore__ inline void TransposeBlocks(const LocalTensor<uint8_t>& dst,
    const LocalTensor<uint8_t>& src, uint64_t rows, uint64_t cols)
{
    DataCopyParams params;
    params.blockLen = 1;
    if (rows == 1 || cols == 1) {
        params.blockCount = 1;
        params.blockLen = rows * cols;
        DataCopy(dst, src, params);
        return;
    }
    if (rows <= cols) {
        params.blockCount = cols;
        params.dstStride = rows - 1;
        for (uint64_t r = 0; r < rows; ++r) {
            DataCopy(dst[r * UB_BLOCK_BYTES], src[r * cols * UB_BLOCK_BYTES], params);
        }
        return;
    }
    params.blockCount = rows;
    params.srcStride = cols - 1;
    for (uint64_t c = 0; c < cols; ++c) {
        DataCopy(dst[c * rows * UB_BLOCK_BYTES], src[c * UB_BLOCK_BYTES], params);
    }
}
"""

COPY_IN_TRANSPOSED = """\
// CopyIn (MTE2) with Ascend 950's 3-D copy (NDDMA): `rows` GM bursts of `cols` 32-byte
// blocks, burst r at gmByte + r * (cols * 32 + gmGapBytes), block (r, c) landing at UB
// block c * rows + r: a PA_NZ tile's row groups arrive token-major. The loops are the
// vendor's (arch35 gather_pa_kv_cache_nz.h): row groups, rows, the elements of a row.
// rows and cols are at most 65535 (runtime.ascendc.plan proved it): every size and
// stride fits its MultiCopyLoopInfo field.
template <typename T>
__aicore__ inline void CopyInTransposed(const LocalTensor<uint8_t>& ub, const GlobalTensor<T>& gm,
    uint64_t gmByte, uint64_t rows, uint64_t cols, uint64_t gmGapBytes)
{
    constexpr uint64_t ea = UB_BLOCK_BYTES / sizeof(T);
    static constexpr MultiCopyConfig config = {false};
    MultiCopyLoopInfo<3> loops;
    loops.loopSize[0] = rows;
    loops.loopSrcStride[0] = (cols * UB_BLOCK_BYTES + gmGapBytes) / sizeof(T);
    loops.loopDstStride[0] = ea;
    loops.loopSize[1] = cols;
    loops.loopSrcStride[1] = ea;
    loops.loopDstStride[1] = rows * ea;
    loops.loopSize[2] = ea;
    loops.loopSrcStride[2] = 1;
    loops.loopDstStride[2] = 1;
    MultiCopyParams<T, 3> params{loops, T{}};
    DataCopy<T, 3, config>(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params);
}
"""

ZERO_FILL = """\
// Compute (V): zero the first `bytes` bytes (rounded up to 32) of a UB slot, for tokens
// whose table column or block id is out of range: nothing is read from GM for them.
// `bytes` is below 2^31 (runtime.ascendc.plan proved it): the count fits Duplicate's int32_t.
__aicore__ inline void ZeroFill(const LocalTensor<uint8_t>& ub, uint64_t bytes)
{
    const uint64_t blocks = (bytes + UB_BLOCK_BYTES - 1) / UB_BLOCK_BYTES;
    const int32_t halfWords = static_cast<int32_t>(blocks * UB_BLOCK_BYTES / sizeof(uint16_t));
    Duplicate(ub.ReinterpretCast<uint16_t>(), static_cast<uint16_t>(0), halfWords);
}
"""


def _gm_params(plan: KernelPlan) -> str:
    return ", ".join(f"GM_ADDR {t.param}" for t in plan.gm.values())


def _gm_args(plan: KernelPlan) -> str:
    return ", ".join(t.param for t in plan.gm.values())


def _print_prologue(out: AscendCPrintContext, plan: KernelPlan) -> None:
    out.print(
        f"// AscendC kernel {plan.name} for {plan.soc.name}: pakv's ascendc target printed it"
    )
    if plan.tiling.name == "scatter":
        out.print("// from the lowered pakv.scatter (pakv-to-ascend). It writes new key and value")
        out.print("// tokens into the paged caches; each core writes its share of the tokens.")
    elif plan.compute_helpers:
        out.print("// from the lowered pakv program (pakv-to-ascend). Each core loads its share of")
        out.print("// rows tile by tile, computes the consumer's body on them (the Compute stage)")
        out.print("// and stores the results.")
    else:
        out.print(
            "// from the lowered pakv.gather (pakv-to-ascend). It gathers the paged key and value"
        )
        out.print(
            "// caches into contiguous token-major outputs; each core copies its share of rows."
        )
    out.print('#include "kernel_operator.h"')
    out.print("#ifndef ASCENDC_CPU_DEBUG")
    out.print('#include "acl/acl.h"')
    out.print("#endif")
    out.print("#include <algorithm>")
    out.print()
    out.print("using namespace AscendC;")
    out.print()
    tiling = plan.tiling
    out.print(f"// Runtime sizes: computed on the host by {tiling.function}, read by every core.")
    out.print(f"struct {tiling.struct} {{")
    for field_name in tiling.fields:
        out.print(f"    uint64_t {camel(field_name)};")
    out.print("};")
    out.print()
    out.print(
        f"constexpr uint64_t UB_BLOCK_BYTES = {ascend.UB_ALIGN};  // UB address and size unit"
    )
    out.print("// The UB plan (ascend-plan-ub): buffers of `slots` equal slots at planned offsets.")
    for ub in plan.ub.values():
        out.print(
            f"constexpr uint64_t {ub.slot_constant} = {ub.slot_bytes};  "
            f'// "{ub.purpose}": {ub.slots} x {ub.slot_bytes} bytes at UB offset {ub.offset}'
        )
    out.print()


def _print_init(out: AscendCPrintContext, plan: KernelPlan) -> None:
    with out.function(f"__aicore__ inline void Init({_gm_params(plan)}, GM_ADDR tiling)") as body:
        body.print("// Every core reads its own copy of the tiling from GM.")
        body.print("auto tilingGm = reinterpret_cast<__gm__ uint64_t*>(tiling);")
        body.print("auto tilingWords = reinterpret_cast<uint64_t*>(&tiling_);")
        header = f"for (size_t i = 0; i < sizeof({plan.tiling.struct}) / sizeof(uint64_t); ++i)"
        with body.descend(header) as loop:
            loop.print("tilingWords[i] = tilingGm[i];")
        for tensor in plan.gm.values():
            cpp = tensor.kind.ascendc
            body.print(
                f"{tensor.member}.SetGlobalBuffer(reinterpret_cast<__gm__ {cpp}*>({tensor.param}));"
            )
        body.print(
            "// One VECCALC buffer spans the planned UB; each buffer is a view at its offset."
        )
        body.print(f"pipe_.InitBuffer(ubBuf_, {plan.ub_bytes});")
        for ub in plan.ub.values():
            body.print(
                f"{ub.member} = ubBuf_.GetWithOffset<uint8_t>({ub.slots} * {ub.slot_constant}, "
                f"{ub.offset});"
            )
        if plan.events:
            body.print("// Event ids for the flags the lowering planned (one per slot).")
        for count, kinds in events_by_count(plan.events):
            with body.descend(f"for (int32_t id = 0; id < {count}; ++id)") as loop:
                for kind in kinds:
                    loop.print(
                        f"{events_member(kind)}[id] = pipe_.AllocEventID<HardEvent::{kind}>();"
                    )


def _print_class(out: AscendCPrintContext, plan: KernelPlan) -> None:
    out.print(f"class {plan.class_name} {{")
    out.print("public:")
    member = out.nested()
    member.print(f"__aicore__ inline {plan.class_name}() {{}}")
    member.print()
    _print_init(member, plan)
    member.print()
    member.print("// The lowered program (pakv-to-ascend), statement for statement.")
    with member.function("__aicore__ inline void Process()") as body:
        body.print_block(plan.func.body.block)
    member.print()
    out.print("private:")
    helpers = [_copy_helper(name) for name in sorted(plan.copies)]
    helpers += [TRANSPOSE_BLOCKS] if plan.transposes else []
    helpers += [COPY_IN_TRANSPOSED] if plan.transposed_loads else []
    helpers += [ZERO_FILL] if plan.zero_fills else []
    helpers += helper_texts(plan.compute_helpers)
    for helper in helpers:
        member.print(helper)
    member.print("TPipe pipe_;")
    member.print("TBuf<TPosition::VECCALC> ubBuf_;")
    for ub in plan.ub.values():
        member.print(f"LocalTensor<uint8_t> {ub.member};")
    for tensor in plan.gm.values():
        member.print(f"GlobalTensor<{tensor.kind.ascendc}> {tensor.member};")
    for kind, count in sorted(plan.events.items()):
        member.print(f"TEventID {events_member(kind)}[{count}];")
    member.print(f"{plan.tiling.struct} tiling_;")
    out.print("};")
    out.print()


def _print_entry(out: AscendCPrintContext, plan: KernelPlan) -> None:
    out.print("// Device entry: the operands' GM addresses, the workspace (this kernel needs none)")
    out.print("// and the tiling, in GM.")
    header = (
        f'extern "C" __global__ __aicore__ void {plan.name}({_gm_params(plan)}, '
        "GM_ADDR /* workspace */, GM_ADDR tiling)"
    )
    with out.function(header) as body:
        kernel_type = plan.soc.kernel_type
        if kernel_type is not None:
            body.print(f"// The kernel type {plan.soc.name} runs it as (SocInfo.kernel_type).")
            body.print(f"KERNEL_TASK_TYPE_DEFAULT({kernel_type});")
        body.print(f"{plan.class_name} op;")
        body.print(f"op.Init({_gm_args(plan)}, tiling);")
        body.print("op.Process();")
    out.print()


def _print_host(out: AscendCPrintContext, plan: KernelPlan) -> None:
    abi: TilingAbi = plan.tiling
    struct = abi.struct
    parameters = list(inspect.signature(abi.compute).parameters)
    rules = TILING_RULES[abi.name]
    source, split = TILING_DOC[abi.name]
    out.print(f"// Host side. The tiling of one launch, from runtime shapes and {source}")
    out.print(f"// {split}")
    signature = ", ".join(f"uint64_t {camel(p)}" for p in parameters)
    with out.function(f"inline {struct} {abi.function}({signature})") as body:
        body.print(f"{struct} tiling{{}};")
        limit = ascend.function_cores(plan.func)
        for field_name in abi.fields:
            rule = rules.get(field_name, camel(field_name))
            if field_name not in rules and field_name not in parameters:
                raise AscendCEmitError(f"no host rule for tiling field {field_name}")
            if field_name == "used_cores" and limit:
                body.print(f"// The plan asks for at most {limit} cores ({ascend.CORES_ATTR}).")
                rule = rule.replace("vectorCores", f"std::min<uint64_t>(vectorCores, {limit})")
            body.print(f"tiling.{camel(field_name)} = {rule};")
        body.print("return tiling;")
    out.print()
    out.print("#ifndef ASCENDC_CPU_DEBUG")
    out.print("// Launch on `stream` with blockDim = usedCores, as the asc-devkit examples do: the")
    out.print("// arguments are device memory addresses on the host side (uint8_t*); tilingDevice")
    out.print(f"// holds sizeof({struct}) bytes of device memory and receives `tiling`.")
    out.print("// An empty call (no rows to copy) launches nothing.")
    host_params = ", ".join(f"uint8_t* {t.param}" for t in plan.gm.values())
    header = (
        f"inline aclError Launch{pascal(plan.name)}(const {struct}& tiling, "
        f"uint8_t* tilingDevice, aclrtStream stream, {host_params})"
    )
    with out.function(header) as body:
        with body.descend("if (tiling.usedCores == 0)") as branch:
            branch.print("return ACL_SUCCESS;")
        body.print(
            f"const aclError copied = aclrtMemcpy(tilingDevice, sizeof({struct}), &tiling, "
            f"sizeof({struct}), ACL_MEMCPY_HOST_TO_DEVICE);"
        )
        with body.descend("if (copied != ACL_SUCCESS)") as branch:
            branch.print("return copied;")
        body.print(
            f"{plan.name}<<<static_cast<uint32_t>(tiling.usedCores), nullptr, stream>>>("
            f"{_gm_args(plan)}, nullptr, tilingDevice);"
        )
        body.print("return ACL_SUCCESS;")
    out.print("#endif")


def print_kernel(kernel: func.FuncOp, output: IO[str]) -> None:
    """Print one lowered kernel function as a complete AscendC translation unit."""
    plan = plan_printing(kernel)
    out = AscendCPrintContext(output, plan)
    out.taken.update(t.param for t in plan.gm.values())
    _print_prologue(out, plan)
    _print_class(out, plan)
    _print_entry(out, plan)
    _print_host(out, plan)


def kernel_functions(module: ModuleOp) -> list[func.FuncOp]:
    kernels = [
        op
        for op in module.ops
        if isinstance(op, func.FuncOp) and ascend.KERNEL_ATTR in op.attributes
    ]
    if not kernels:
        raise AscendCEmitError(
            f"no function marked {ascend.KERNEL_ATTR}: run pakv-to-ascend before -t ascendc"
        )
    return kernels


def emit_ascendc_kernels(module: ModuleOp) -> dict[str, str]:
    """Each lowered kernel's translation unit, by kernel name."""
    units: dict[str, str] = {}
    for kernel in kernel_functions(module):
        stream = StringIO()
        print_kernel(kernel, stream)
        units[kernel.sym_name.data] = stream.getvalue()
    return units


def emit_ascendc(module: ModuleOp) -> str:
    """The AscendC source of the lowered kernels in ``module`` (the target's output).

    One kernel prints as its translation unit; several are separated by ``// -----``
    lines, each headed ``// FILE: <kernel>.cpp``, as xDSL's CSL target separates files.
    """
    units = emit_ascendc_kernels(module)
    if len(units) == 1:
        return next(iter(units.values()))
    return "// -----\n".join(f"// FILE: {name}.cpp\n{text}" for name, text in units.items())


@dataclass(frozen=True)
class AscendCTarget(Target):
    """``xdsl-opt -t ascendc``: AscendC source for the lowered kernels of the module."""

    name = "ascendc"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(emit_ascendc(module))
