// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc | filecheck %s --check-prefix=AIV
// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910_93}' -t ascendc | filecheck %s --check-prefix=AIV
// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910_95}' -t ascendc | filecheck %s --check-prefix=AIV
// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend310P}' -t ascendc | filecheck %s --check-prefix=AICORE
// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910}' -t ascendc | filecheck %s --check-prefix=NONE
// RUN: xdsl-opt %s --verify-diagnostics -p 'pakv-to-ascend{soc=Ascend310B}' -t ascendc | filecheck %s --check-prefix=REFUSED

// The kernel type each SoC is told (pakv_dialect/soc.py: SocInfo.kernel_type): vector
// only on Atlas A2/A3 and Ascend 950, AI Core on the inference series, none where the
// declaration is not supported (training series, Atlas 200I/500 A2). Ascend310B has no
// SetFlag/WaitFlag or AllocEventID: its kernel lowers (and runs in the interpreter) but
// the ascendc target refuses it, naming what is missing.
func.func @pakv_gather(%kc: memref<?x16x2x16xf16>, %vc: memref<?x16x2x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x2x16xf16>, %vo: memref<?x2x16xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x16x2x16xf16>, memref<?x16x2x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x16xf16>, memref<?x2x16xf16>
  func.return
}

// AIV:         extern "C" __global__ __aicore__ void pakv_gather(
// AIV:             KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
// AIV-NEXT:        KernelPakvGather op;

// AICORE:      extern "C" __global__ __aicore__ void pakv_gather(
// AICORE:          KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AICORE);

// NONE-NOT:    KERNEL_TASK_TYPE_DEFAULT
// NONE:        extern "C" __global__ __aicore__ void pakv_gather(
// NONE:        {
// NONE-NEXT:       KernelPakvGather op;

// REFUSED: ascend.set_flag: Ascend310B has no SetFlag/WaitFlag, TPipe::AllocEventID (AscendC API docs)
