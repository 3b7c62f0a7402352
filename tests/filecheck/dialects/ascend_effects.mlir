// RUN: xdsl-opt %s -p cse,canonicalize --split-input-file | filecheck %s
// Stock cse and canonicalize must keep the meaning of ascend programs: every op
// declares its memory effects (and the pipe it runs on) as traits, so two buffers
// of the same shape and purpose stay two buffers, and no DMA, fill or flag is
// merged, moved across a flag or dropped.

// Two "tile" buffers of the same type: allocations, never merged.
func.func @two_tiles(%src: memref<64xi8, #ascend.address_space<gm>>, %dst: memref<64xi8, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %a = ascend.ub_alloc "tile" : memref<1x32xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "tile" : memref<1x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %a[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<64xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c32] -> %b[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<64xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.store %a[%c0, %c0] -> %dst[%c32] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<64xi8, #ascend.address_space<gm>>
  ascend.store %b[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<64xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-LABEL: func.func @two_tiles
// CHECK:         %[[A:.*]] = ascend.ub_alloc "tile"
// CHECK-NEXT:    %[[B:.*]] = ascend.ub_alloc "tile"
// CHECK-NEXT:    ascend.load %{{.*}}[%{{.*}}] -> %[[A]]
// CHECK-NEXT:    ascend.load %{{.*}}[%{{.*}}] -> %[[B]]
// CHECK-NEXT:    ascend.store %[[A]]
// CHECK-NEXT:    ascend.store %[[B]]

// -----

// The same load twice (the second after a store overwrote the slot's data) and the
// same flags twice: every one of them is an effect in its own right and stays.
func.func @repeated_effects(%src: memref<64xi8, #ascend.address_space<gm>>, %dst: memref<64xi8, #ascend.address_space<gm>>, %lens: memref<4xi32, #ascend.address_space<gm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %tile = ascend.ub_alloc "tile" at 0 : memref<1x32xi8, #ascend.address_space<ub>>
  %n0 = ascend.load_scalar %lens[%c0] : memref<4xi32, #ascend.address_space<gm>> -> i32
  ascend.set_flag[MTE3, MTE2, %c0]
  ascend.wait_flag[MTE3, MTE2, %c0]
  ascend.load %src[%c0] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<64xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  ascend.store %tile[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<64xi8, #ascend.address_space<gm>>
  ascend.set_flag[MTE3, MTE2, %c0]
  ascend.wait_flag[MTE3, MTE2, %c0]
  ascend.load %src[%c0] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<64xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  ascend.store %tile[%c0, %c0] -> %dst[%c32] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<64xi8, #ascend.address_space<gm>>
  %n1 = ascend.load_scalar %lens[%c0] : memref<4xi32, #ascend.address_space<gm>> -> i32
  %sum = arith.addi %n0, %n1 : i32
  "test.op"(%sum) : (i32) -> ()
  func.return
}

// The two scalar reads of the same element, with GM writes between them, both stay.
// CHECK-LABEL: func.func @repeated_effects
// CHECK:         %tile = ascend.ub_alloc "tile" at 0
// CHECK-NEXT:    %n0 = ascend.load_scalar
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.load
// CHECK-NEXT:    ascend.set_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:    ascend.store
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.load
// CHECK-NEXT:    ascend.set_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:    ascend.store
// CHECK-NEXT:    %n1 = ascend.load_scalar

// -----

// Runs are effects too: two equal copy runs (a run gathered twice) and two equal zero
// runs all stay, in order.
func.func @runs(%kc: memref<?x16x2x16xf16, #ascend.address_space<gm>>, %ko: memref<?x2x16xf16, #ascend.address_space<gm>>, %i: index) {
  %a = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x16xf16, #ascend.address_space<gm>> -> memref<?x2x16xf16, #ascend.address_space<gm>>
  %b = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x16xf16, #ascend.address_space<gm>> -> memref<?x2x16xf16, #ascend.address_space<gm>>
  ascend.zero_run %ko[%i] count(%i) : memref<?x2x16xf16, #ascend.address_space<gm>>
  ascend.zero_run %ko[%i] count(%i) : memref<?x2x16xf16, #ascend.address_space<gm>>
  "test.op"(%a, %b) : (index, index) -> ()
  func.return
}

// CHECK-LABEL: func.func @runs
// CHECK-NEXT:    %a = ascend.copy_run Norm
// CHECK-NEXT:    %b = ascend.copy_run Norm
// CHECK-NEXT:    ascend.zero_run
// CHECK-NEXT:    ascend.zero_run
// CHECK-NEXT:    "test.op"(%a, %b)
