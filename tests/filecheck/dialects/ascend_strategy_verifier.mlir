// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

// The 3-D copy reads GM and writes UB at a 32-byte aligned offset.
func.func @k(%kc: memref<?x4x16x16xf16, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %buf = ascend.ub_alloc "tile" at 0 : memref<2x2048xi8, #ascend.address_space<ub>>
  ascend.load_transposed %kc[%c0] -> %buf[%c0, %c16] blocks(%c4 x %c16) gap(%c0) : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<2x2048xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}load_transposed ub_offset must be a multiple of 32 bytes, got 16

// -----

func.func @k(%kc: memref<?x4x16x16xf16, #ascend.address_space<gm>>, %other: memref<?x4x16x16xf16, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  ascend.load_transposed %kc[%c0] -> %other[%c0, %c0] blocks(%c4 x %c4) gap(%c0) : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<?x4x16x16xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}load_transposed UB operand must be a memref in #ascend.address_space<ub>
