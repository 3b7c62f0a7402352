// Stock xdsl-opt parses and prints every examples/*.mlir file through the
// xdsl.universe entry point, in custom and in generic form.

// RUN: xdsl-opt %S/../../../examples/seed_example.mlir | filecheck %s --check-prefix=SEED
// RUN: xdsl-opt %S/../../../examples/seed_example.mlir --print-op-generic | xdsl-opt | filecheck %s --check-prefix=SEED
// RUN: xdsl-opt %S/../../../examples/seed_hand_example.mlir --print-op-generic | xdsl-opt | filecheck %s --check-prefix=HAND
// RUN: xdsl-opt %S/../../../examples/seed_nz_example.mlir --print-op-generic | xdsl-opt | filecheck %s --check-prefix=NZ
// RUN: xdsl-opt %S/../../../examples/scatter_example.mlir --print-op-generic | xdsl-opt | filecheck %s --check-prefix=SCATTER

// SEED:      pakv.gather Norm caches(%{{.*}}, %{{.*}}) tables(%{{.*}}) lens(%{{.*}}) into(%{{.*}}, %{{.*}})
// SEED-SAME: memref<128x128x16x144xf16>, memref<128x128x16x128xf16>, memref<16x12xi32>, memref<16xi32>
// SEED-SAME: -> memref<8931x16x144xf16>, memref<8931x16x128xf16>

// HAND:      pakv.gather Norm caches
// HAND-SAME: offsets(
// HAND-SAME: memref<2x2x32x2xf16>

// NZ:        pakv.gather PA_NZ

// SCATTER:      pakv.scatter Norm tokens(%{{.*}}, %{{.*}}) slots(%{{.*}}) into(%{{.*}}, %{{.*}}) {soc = "Ascend910B"}
// SCATTER-SAME: memref<?x1x576xbf16>, memref<?x1x512xbf16>, memref<?xi32> -> memref<?x16x1x576xbf16>, memref<?x16x1x512xbf16>
