// The original document's example, lowered by stock xdsl-opt with the registered
// pipeline and printed as AscendC by the registered target.

// RUN: xdsl-opt %S/../../../examples/seed_example.mlir -p 'pakv-to-ascend{soc=Ascend910B}' | filecheck %s
// RUN: xdsl-opt %S/../../../examples/seed_example.mlir -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc | filecheck %s --check-prefix=CPP

// CHECK:     func.func @{{.*}}(%{{.*}}: memref<128x128x16x144xf16, #ascend.address_space<gm>>
// CHECK-SAME: attributes {ascend.kernel, ascend.soc = "Ascend910B", ascend.launch = {{.*}}}
// CHECK-NOT: pakv.gather
// CHECK:     ascend.ub_alloc "tile" at 0
// CHECK:     scf.while
// CHECK:     scf.for
// CHECK:     ascend.load %key_cache
// CHECK:     ascend.store
// CHECK-NOT: pakv.gather

// CPP: struct GatherTilingData {
// CPP: class KernelPakvGather {
// CPP: __aicore__ inline void Process()
// CPP: extern "C" __global__ __aicore__ void pakv_gather(
// CPP: <<<static_cast<uint32_t>(tiling.usedCores), nullptr, stream>>>
