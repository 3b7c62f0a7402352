// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p ascend-insert-sync | filecheck %s

// Norm: a double-buffered tile written by MTE2 and read by MTE3, and a one-slot
// zero buffer written by V and read by MTE3. Every slot starts free (prologue) and is
// waited for at the end (epilogue); each tile waits for its slot, loads, signals it
// ready, waits, stores and frees it.
func.func @norm(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %n: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %tile = ascend.ub_alloc "tile" : memref<2x64xi8, #ascend.address_space<ub>>
  %zeros = ascend.ub_alloc "zeros" : memref<1x64xi8, #ascend.address_space<ub>>
  %last = scf.for %at = %c0 to %n step %c64 iter_args(%slot = %c0) -> (index) {
    ascend.load %src[%at] -> %tile[%slot, %c0] bursts(%c1 x %c64) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x64xi8, #ascend.address_space<ub>>
    ascend.store %tile[%slot, %c0] -> %dst[%at] bursts(%c1 x %c64) gaps(%c0, %c0) as blocks : memref<2x64xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
    %next = arith.xori %slot, %c1 : index
    scf.yield %next : index
  }
  ascend.fill_zero %zeros[%c0] bytes(%c64) : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.store %zeros[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c64) gaps(%c0, %c0) as blocks : memref<1x64xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-LABEL: func.func @norm(
// CHECK:         %zeros = ascend.ub_alloc "zeros"
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    %last = scf.for %at = %c0 to %n step %c64 iter_args(%slot = %c0) -> (index) {
// CHECK-NEXT:      ascend.wait_flag[MTE3, MTE2, %slot]
// CHECK-NEXT:      ascend.load %src[%at] -> %tile[%slot, %c0]
// CHECK-NEXT:      ascend.set_flag[MTE2, MTE3, %slot]
// CHECK-NEXT:      ascend.wait_flag[MTE2, MTE3, %slot]
// CHECK-NEXT:      ascend.store %tile[%slot, %c0] -> %dst[%at]
// CHECK-NEXT:      ascend.set_flag[MTE3, MTE2, %slot]
// CHECK-NEXT:      %next = arith.xori %slot, %c1 : index
// CHECK-NEXT:      scf.yield %next : index
// CHECK-NEXT:    }
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    ascend.fill_zero %zeros[%c0] bytes(%c64)
// CHECK-NEXT:    ascend.set_flag[V, MTE3, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE3, %c0]
// CHECK-NEXT:    ascend.store %zeros[%c0, %c0] -> %dst[%c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    func.return

// -----

// PA_NZ with a spare group-major slot (MTE2 -> V, two slots; whole-block tiles) and
// token-major (V -> MTE3, one slot).
// A load split in two is one group: one wait before, one set after. The transpose
// reads one buffer and writes the other: two waits before, two sets after.
func.func @nz(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %group_major = ascend.ub_alloc "group_major" : memref<2x64xi8, #ascend.address_space<ub>>
  %token_major = ascend.ub_alloc "token_major" : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %group_major[%slot, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x64xi8, #ascend.address_space<ub>>
  ascend.load %src[%c64] -> %group_major[%slot, %c32] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x64xi8, #ascend.address_space<ub>>
  ascend.transpose_blocks %group_major[%slot] -> %token_major[%c0] blocks(%c2 x %c1) : memref<2x64xi8, #ascend.address_space<ub>> -> memref<1x64xi8, #ascend.address_space<ub>>
  ascend.store %token_major[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c64) gaps(%c0, %c0) as blocks : memref<1x64xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-LABEL: func.func @nz(
// CHECK:         %token_major = ascend.ub_alloc "token_major"
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c1]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %slot]
// CHECK-NEXT:    ascend.load %src[%c0] -> %group_major[%slot, %c0]
// CHECK-NEXT:    ascend.load %src[%c64] -> %group_major[%slot, %c32]
// CHECK-NEXT:    ascend.set_flag[MTE2, V, %slot]
// CHECK-NEXT:    ascend.wait_flag[MTE2, V, %slot]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    ascend.transpose_blocks %group_major[%slot] -> %token_major[%c0]
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %slot]
// CHECK-NEXT:    ascend.set_flag[V, MTE3, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE3, %c0]
// CHECK-NEXT:    ascend.store %token_major[%c0, %c0] -> %dst[%c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %c1]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    func.return

// -----

// PA_NZ's default layout: one group-major slot (MTE2 -> V) and one token-major slot
// (V -> MTE3), written and read once per tile. Each buffer has one event. The load of
// the next tile waits only for the transpose that frees group-major slot 0, not for
// the store: only the next transpose waits for that, so loads and stores overlap.
func.func @nz_one_slot(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %n: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %group_major = ascend.ub_alloc "group_major" : memref<1x64xi8, #ascend.address_space<ub>>
  %token_major = ascend.ub_alloc "token_major" : memref<1x64xi8, #ascend.address_space<ub>>
  scf.for %tile = %c0 to %n step %c1 {
    %at = arith.muli %tile, %c64 : index
    ascend.load %src[%at] -> %group_major[%c0, %c0] bursts(%c2 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
    ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%c2 x %c1) : memref<1x64xi8, #ascend.address_space<ub>> -> memref<1x64xi8, #ascend.address_space<ub>>
    ascend.store %token_major[%c0, %c0] -> %dst[%at] bursts(%c1 x %c64) gaps(%c0, %c0) as blocks : memref<1x64xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  }
  func.return
}

// CHECK-LABEL: func.func @nz_one_slot(
// CHECK:         %token_major = ascend.ub_alloc "token_major"
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    scf.for %tile = %c0 to %n step %c1 {
// CHECK-NEXT:      %at = arith.muli %tile, %c64 : index
// CHECK-NEXT:      ascend.wait_flag[V, MTE2, %c0]
// CHECK-NEXT:      ascend.load %src[%at] -> %group_major[%c0, %c0]
// CHECK-NEXT:      ascend.set_flag[MTE2, V, %c0]
// CHECK-NEXT:      ascend.wait_flag[MTE2, V, %c0]
// CHECK-NEXT:      ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0]
// CHECK-NEXT:      ascend.set_flag[V, MTE2, %c0]
// CHECK-NEXT:      ascend.set_flag[V, MTE3, %c0]
// CHECK-NEXT:      ascend.wait_flag[V, MTE3, %c0]
// CHECK-NEXT:      ascend.store %token_major[%c0, %c0] -> %dst[%at]
// CHECK-NEXT:      ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    }
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    func.return

// -----

// Two buffers on the same pipe pair get disjoint event ranges: the second starts
// after the first's slots, so its events are slot + 2.
func.func @shared_pair(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %slot: index) attributes {ascend.kernel} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %a = ascend.ub_alloc "a" : memref<2x32xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "b" : memref<2x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %a[%slot, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x32xi8, #ascend.address_space<ub>>
  ascend.store %a[%slot, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<2x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  ascend.load %src[%c0] -> %b[%slot, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x32xi8, #ascend.address_space<ub>>
  ascend.store %b[%slot, %c0] -> %dst[%c32] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<2x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-LABEL: func.func @shared_pair(
// CHECK-NEXT:    %c0 = arith.constant 0 : index
// CHECK-NEXT:    %c1 = arith.constant 1 : index
// CHECK-NEXT:    %c32 = arith.constant 32 : index
// CHECK-NEXT:    %c2 = arith.constant 2 : index
// CHECK-NEXT:    %c3 = arith.constant 3 : index
// CHECK:         ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c2]
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c3]
// CHECK:         %event = arith.addi %slot, %c2 : index
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %event]
// CHECK-NEXT:    ascend.load %src[%c0] -> %b[%slot, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE2, MTE3, %event]

// -----

// A fixed slot has a fixed event: the second one-slot buffer on a pipe pair uses event 1.
func.func @shared_pair_fixed_slots(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>) attributes {ascend.kernel} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %a = ascend.ub_alloc "a" : memref<1x32xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "b" : memref<1x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %a[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.store %a[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  ascend.load %src[%c0] -> %b[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  ascend.store %b[%c0, %c0] -> %dst[%c32] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-LABEL: func.func @shared_pair_fixed_slots(
// CHECK-NOT:     arith.addi
// CHECK:         ascend.wait_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.load %src[%c0] -> %b[%c0, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE2, MTE3, %c1]
// CHECK-NOT:     arith.addi

// -----

// A kernel that already holds flags is left as it is.
func.func @already_synchronised(%c0: index) attributes {ascend.kernel} {
  ascend.set_flag[MTE3, MTE2, %c0]
  ascend.wait_flag[MTE3, MTE2, %c0]
  func.return
}

// CHECK-LABEL: func.func @already_synchronised(
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    func.return

// -----

func.func @two_writer_pipes(%src: memref<?xi8, #ascend.address_space<gm>>, %c0: index, %c1: index, %c32: index) attributes {ascend.kernel} {
  %tile = ascend.ub_alloc "tile" : memref<2x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<2x32xi8, #ascend.address_space<ub>>
  ascend.fill_zero %tile[%c1] bytes(%c32) : memref<2x32xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: buffer 'tile' is written on both MTE2 and V: ascend-insert-sync needs one writer pipe and one reader pipe per buffer
// CHECK: "ascend.fill_zero"
// CHECK-NEXT: ^^^^

// -----

func.func @read_first(%dst: memref<?xi8, #ascend.address_space<gm>>, %c0: index, %c1: index, %c32: index) attributes {ascend.kernel} {
  %zeros = ascend.ub_alloc "zeros" : memref<1x32xi8, #ascend.address_space<ub>>
  ascend.store %zeros[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  ascend.fill_zero %zeros[%c0] bytes(%c32) : memref<1x32xi8, #ascend.address_space<ub>>
  ascend.store %zeros[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK: buffer 'zeros' is read before it is written in this block: ascend-insert-sync needs each block to write then read every slot it touches

// -----

// A slot written in one loop and read in another cannot be balanced per block.
func.func @written_not_read(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %c0: index, %c1: index, %c32: index) attributes {ascend.kernel} {
  %tile = ascend.ub_alloc "tile" : memref<1x32xi8, #ascend.address_space<ub>>
  scf.for %i = %c0 to %c32 step %c1 {
    ascend.load %src[%i] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  }
  scf.for %i = %c0 to %c32 step %c1 {
    ascend.store %tile[%c0, %c0] -> %dst[%i] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  }
  func.return
}

// CHECK: // {{-----}}
// CHECK-NEXT: slot of buffer 'tile' is written and not read before this point of its block
// CHECK: "scf.yield"
// CHECK-NEXT: ^^^^

// -----

// Reading a slot inside a nested region while the outer block still holds it
// written would need the nested block to wait on a flag the outer block owns.
func.func @open_across_region(%src: memref<?xi8, #ascend.address_space<gm>>, %dst: memref<?xi8, #ascend.address_space<gm>>, %c0: index, %c1: index, %c32: index) attributes {ascend.kernel} {
  %tile = ascend.ub_alloc "tile" : memref<1x32xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
  scf.for %i = %c0 to %c32 step %c1 {
    ascend.load %src[%i] -> %tile[%c0, %c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<?xi8, #ascend.address_space<gm>> -> memref<1x32xi8, #ascend.address_space<ub>>
    ascend.store %tile[%c0, %c0] -> %dst[%i] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  }
  ascend.store %tile[%c0, %c0] -> %dst[%c0] bursts(%c1 x %c32) gaps(%c0, %c0) as blocks : memref<1x32xi8, #ascend.address_space<ub>> -> memref<?xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK: // {{-----}}
// CHECK-NEXT: slot of buffer 'tile' is written and not read before this point of its block
// CHECK: "scf.for"
// CHECK-NEXT: ^^^^
