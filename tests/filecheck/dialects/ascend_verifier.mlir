// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

// One case per rule of the ascend dialect's verifiers: UB buffers 32-byte aligned and
// inside the kernel SoC's UB, burst counts within the hardware's 4095, UB gaps and
// offsets in 32-byte units, memrefs in the right address space, distinct pipes, runs
// between GM tensors that hold the same tokens in the shapes their layout names.

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
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c4096 x %c32) gaps(%c0, %c0) as blocks : memref<?xf16, #ascend.address_space<gm>> -> memref<1x131072xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load burst count 4096 does not fit DataCopyParams.blockCount (uint16 in bursts: 1 to 4095 bursts) of the blocks form

// -----

// UB-side gaps are whole 32-byte blocks.
func.func @k(%gm: memref<?xf16, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c16 = arith.constant 16 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.store %b[%c0, %c0] -> %gm[%c0] bursts(%c2 x %c32) gaps(%c16, %c0) as blocks : memref<1x1024xi8, #ascend.address_space<ub>> -> memref<?xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}ascend.store UB gap 16 does not fit DataCopyParams.srcStride (uint16 in 32-byte blocks: a multiple of 32 from 0 to 2097120 bytes) of the blocks form

// -----

// The blocks form counts lengths in 32-byte blocks: 40 bytes is not a whole block.
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c1 x %c40) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load burst length 40 does not fit DataCopyParams.blockLen (uint16 in 32-byte blocks: a multiple of 32 from 32 to 2097120 bytes) of the blocks form

// -----

// A GM gap of 65536 blocks overflows DataCopyParams' uint16 srcStride (issue 9's bug).
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c2097152 = arith.constant 2097152 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c2 x %c32) gaps(%c2097152, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load GM gap 2097152 does not fit DataCopyParams.srcStride (uint16 in 32-byte blocks: a multiple of 32 from 0 to 2097120 bytes) of the blocks form

// -----

// The bytes form holds that gap: DataCopyExtParams' GM stride is a uint32 of bytes.
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c2097152 = arith.constant 2097152 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c2 x %c32) gaps(%c2097152, %c0) as bytes : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c2 x %c32) gaps(%c2097152, %c0) as bytes

// -----

// DataCopyPad's burst length has 21 bits.
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2097152 = arith.constant 2097152 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c1 x %c2097152) gaps(%c0, %c0) as bytes : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load burst length 2097152 does not fit DataCopyExtParams.blockLen (uint32 in bytes: 1 to 2097151 bytes) of the bytes form

// -----

// A GM gap of 4 GiB overflows DataCopyExtParams' uint32 stride.
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c40 = arith.constant 40 : index
  %c4294967296 = arith.constant 4294967296 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c2 x %c40) gaps(%c4294967296, %c0) as bytes : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load GM gap 4294967296 does not fit DataCopyExtParams.srcStride (uint32 in bytes: 0 to 4294967295 bytes) of the bytes form

// -----

// A UB address is a whole number of 32-byte blocks.
func.func @k(%gm: memref<?xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c16] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x1024xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: {{^}}ascend.load ub_offset must be a multiple of 32 bytes, got 16

// -----

// DMA operands live in the address spaces their direction names.
func.func @k(%gm: memref<?xf16>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %b = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
  ascend.load %gm[%c0] -> %b[%c0, %c0] bursts(%c32 x %c32) gaps(%c0, %c0) as blocks : memref<?xf16> -> memref<1x1024xi8, #ascend.address_space<ub>>
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

// -----

// A run moves tokens between two GM tensors.
func.func @k(%kc: memref<?x16x2x8xf16>, %ko: memref<?x2x8xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16> -> memref<?x2x8xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run cache must be a memref in #ascend.address_space<gm>, got memref<?x16x2x8xf16>

// -----

func.func @k(%kc: memref<?x16x2x8xf16, #ascend.address_space<gm>>, %ko: memref<?x2x8xf16>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16, #ascend.address_space<gm>> -> memref<?x2x8xf16>
  func.return
}

// CHECK: {{^}}copy_run tokens must be a memref in #ascend.address_space<gm>, got memref<?x2x8xf16>

// -----

// Runs move KV tokens: their element type is one the operator takes.
func.func @k(%kc: memref<?x16x2x8xf64, #ascend.address_space<gm>>, %ko: memref<?x2x8xf64, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf64, #ascend.address_space<gm>> -> memref<?x2x8xf64, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run element type must be a KV element type, got f64

// -----

// A run copies bits: the cache and the tokens hold the same element type.
func.func @k(%kc: memref<?x16x2x8xf16, #ascend.address_space<gm>>, %ko: memref<?x2x8xbf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16, #ascend.address_space<gm>> -> memref<?x2x8xbf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run cache and tokens must have one element type, got f16 and bf16

// -----

// The layout fixes the ranks: PA_NZ tokens are [num_tokens, H].
func.func @k(%kc: memref<?x2x16x16xf16, #ascend.address_space<gm>>, %ko: memref<?x2x16xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run PA_NZ %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x2x16x16xf16, #ascend.address_space<gm>> -> memref<?x2x16xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}a PA_NZ copy_run needs a rank-4 cache and rank-2 tokens, got memref<?x2x16x16xf16, #ascend.address_space<gm>> and memref<?x2x16xf16, #ascend.address_space<gm>>

// -----

// A PA_NZ cache row is 32 bytes: a Norm-shaped cache with 8-element heads is not one.
func.func @k(%kc: memref<?x2x16x8xf16, #ascend.address_space<gm>>, %ko: memref<?x16xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run PA_NZ %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x2x16x8xf16, #ascend.address_space<gm>> -> memref<?x16xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}a PA_NZ cache row must hold 32 bytes, got 8 elements of 2 byte(s)

// -----

// The tokens hold what a cache token holds.
func.func @k(%kc: memref<?x16x2x8xf16, #ascend.address_space<gm>>, %ko: memref<?x2x16xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16, #ascend.address_space<gm>> -> memref<?x2x16xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run tokens memref<?x2x16xf16, #ascend.address_space<gm>> do not hold the cache's tokens ([2, 8])

// -----

func.func @k(%kc: memref<?x2x16x16xf16, #ascend.address_space<gm>>, %ko: memref<?x48xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run PA_NZ %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x2x16x16xf16, #ascend.address_space<gm>> -> memref<?x48xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run tokens memref<?x48xf16, #ascend.address_space<gm>> do not hold the cache's tokens (H = 2 x 16)

// -----

// A zero run writes GM tokens.
func.func @k(%ko: memref<?x2x8xf16>, %i: index) {
  ascend.zero_run %ko[%i] count(%i) : memref<?x2x8xf16>
  func.return
}

// CHECK: {{^}}zero_run tokens must be a memref in #ascend.address_space<gm>, got memref<?x2x8xf16>

// -----

// Tokens are indexed by their first dimension.
func.func @k(%ko: memref<f16, #ascend.address_space<gm>>, %i: index) {
  ascend.zero_run %ko[%i] count(%i) : memref<f16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}zero_run tokens must have a token dimension, got memref<f16, #ascend.address_space<gm>>

// -----

// run_length reads a 1-D integer tensor in GM.
func.func @f(%s: memref<?x2xi32, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.run_length %s[%i] from(%i) limit(%i) : memref<?x2xi32, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}run_length source must be a 1-D tensor of integers, got memref<?x2xi32, #ascend.address_space<gm>>

// -----

// A run whose cache's block stride is dynamic takes it as its stride operand (bytes).
func.func @k(%kc: memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #ascend.address_space<gm>>, %ko: memref<?x2x8xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #ascend.address_space<gm>> -> memref<?x2x8xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run needs a stride(...) operand exactly when its cache's dim 0 stride is dynamic, got memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #ascend.address_space<gm>> without one

// -----

// A run reads a cache in place only when its inner dims are dense.
func.func @k(%kc: memref<?x16x2x8xf16, strided<[512, 32, 8, 1]>, #ascend.address_space<gm>>, %ko: memref<?x2x8xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x8xf16, strided<[512, 32, 8, 1]>, #ascend.address_space<gm>> -> memref<?x2x8xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: {{^}}copy_run cache layout must keep every dim but the first (num_blocks) dense: expected strided<[s, 16, 8, 1]> (s static or ?), got strided<[512, 32, 8, 1]>
