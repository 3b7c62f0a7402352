// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

// One case per rule of the ascend dialect's verifiers: UB buffers 32-byte aligned and
// inside the kernel SoC's UB, burst counts within the hardware's 4095, UB gaps and
// offsets in 32-byte units, memrefs in the right address space, distinct pipes.

// A UB slot is a whole number of 32-byte blocks.
func.func @k() {
  %b = ascend.ub_alloc "tile" at 0 : memref<2x100xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ub_alloc 'tile' slot size must be a multiple of 32 bytes, got 100

// -----

// UB offsets are 32-byte aligned.
func.func @k() {
  %b = ascend.ub_alloc "tile" at 48 : memref<2x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ub_alloc 'tile' offset must be a non-negative multiple of 32 bytes, got 48

// -----

// Every buffer lies inside the UB of the kernel's SoC (192 KiB on Ascend910B).
func.func @k() attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %b = ascend.ub_alloc "tile" at 131104 : memref<2x32768xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ub_alloc 'tile' occupies [131104, 196640) bytes, past the 196608-byte UB of Ascend910B

// -----

// The same buffer fits the 248 KiB usable UB of Ascend910_95.
func.func @k() attributes {ascend.kernel, ascend.soc = "Ascend910_95"} {
  %b = ascend.ub_alloc "tile" at 131104 : memref<2x32768xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: %b = ascend.ub_alloc "tile" at 131104 : memref<2x32768xi8, #ascend.address_space<ub>>

// -----

// UB buffers are i8 memrefs in the UB address space.
func.func @k() {
  %b = ascend.ub_alloc "tile" at 0 : memref<2x64xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}ub_alloc must produce memref<slots x slot_bytes x i8, #ascend.address_space<ub>>, got memref<2x64xi8, #ascend.address_space<gm>>

// -----

// One copy instruction carries at most 4095 bursts.
func.func @k(%gm: memref<?xf16, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c4096 = arith.constant 4096 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x131072xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c4096 x %c32) gaps(%c0, %c0) : memref<?xf16, #ascend.address_space<gm>> -> memref<1x131072xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}burst count must be in [1, 4095], got 4096

// -----

// UB-side gaps are whole 32-byte blocks.
func.func @k(%gm: memref<?xf16, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c16 = arith.constant 16 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.store %b[%c0, %c0] -> %gm[%c0] bursts(%c2 x %c32) gaps(%c16, %c0) : memref<1x1024xi8, #ascend.address_space<ub>> -> memref<?xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}ascend.store ub_gap must be a multiple of 32 bytes, got 16

// -----

// DMA operands live in the address spaces their direction names.
func.func @k(%gm: memref<?xf16>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c32 x %c32) gaps(%c0, %c0) : memref<?xf16> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load GM operand must be a memref in #ascend.address_space<gm>, got memref<?xf16>

// -----

// A flag links two different pipes.
func.func @k() {
  %c0 = arith.constant 0 : index
  ascend.set_flag[MTE2, MTE2, %c0]
  func.return
}

// CHECK: {{^}}ascend.set_flag needs two different pipes, got MTE2 twice

// -----

// A block transpose reads one buffer and writes another.
func.func @k(%s: index, %r: index, %c: index) {
  %b = ascend.ub_alloc "tile" at 0 : memref<2x1024xi8, #ascend.address_space<ub>>
  ascend.transpose_blocks %b[%s] -> %b[%s] blocks(%r x %c) : memref<2x1024xi8, #ascend.address_space<ub>> -> memref<2x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}transpose_blocks source and target must be distinct buffers

// -----

// A scalar read names one index per dimension.
func.func @k(%bt: memref<?x?xi32, #ascend.address_space<gm>>, %i: index) {
  %v = ascend.load_scalar %bt[%i] : memref<?x?xi32, #ascend.address_space<gm>> -> i32
  func.return
}

// CHECK: {{^}}load_scalar needs 2 indices, got 1
