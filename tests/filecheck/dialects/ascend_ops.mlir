// RUN: PAKV_ROUNDTRIP
// RUN: PAKV_GENERIC_ROUNDTRIP

func.func @tile(%kc: memref<?x128x16x144xf16, #ascend.address_space<gm>>, %bt: memref<?x?xi32, #ascend.address_space<gm>>, %ko: memref<?x16x144xf16, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4608 = arith.constant 4608 : index
  %b = ascend.get_block_idx
  %n = ascend.get_block_num
  %t = ascend.get_tiling "split_tokens"
  %buf = ascend.ub_alloc "key tile" at 0 : memref<2x96256xi8, #ascend.address_space<ub>>
  %v = ascend.load_scalar %bt[%c0, %c1] : memref<?x?xi32, #ascend.address_space<gm>> -> i32
  ascend.wait_flag[MTE3, MTE2, %c0]
  ascend.load %kc[%c0] -> %buf[%c0, %c0] bursts(%c1 x %c4608) gaps(%c0, %c0) as blocks : memref<?x128x16x144xf16, #ascend.address_space<gm>> -> memref<2x96256xi8, #ascend.address_space<ub>>
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  ascend.store %buf[%c0, %c0] -> %ko[%c0] bursts(%c1 x %c4608) gaps(%c0, %c0) as blocks : memref<2x96256xi8, #ascend.address_space<ub>> -> memref<?x16x144xf16, #ascend.address_space<gm>>
  ascend.set_flag[MTE3, MTE2, %c0]
  ascend.fill_zero %buf[%c1] bytes(%c4608) : memref<2x96256xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK:       %b = ascend.get_block_idx
// CHECK-NEXT:  %n = ascend.get_block_num
// CHECK-NEXT:  %t = ascend.get_tiling "split_tokens"
// CHECK-NEXT:  %buf = ascend.ub_alloc "key tile" at 0 : memref<2x96256xi8, #ascend.address_space<ub>>
// CHECK-NEXT:  %v = ascend.load_scalar %bt[%c0, %c1] : memref<?x?xi32, #ascend.address_space<gm>> -> i32
// CHECK-NEXT:  ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:  ascend.load %kc[%c0] -> %buf[%c0, %c0] bursts(%c1 x %c4608) gaps(%c0, %c0)
// CHECK-NEXT:  ascend.set_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:  ascend.wait_flag[MTE2, MTE3, %c0]
// CHECK-NEXT:  ascend.store %buf[%c0, %c0] -> %ko[%c0] bursts(%c1 x %c4608) gaps(%c0, %c0)
// CHECK-NEXT:  ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:  ascend.fill_zero %buf[%c1] bytes(%c4608)

// CHECK-GENERIC: "ascend.ub_alloc"() <{purpose = "key tile", offset = 0 : i64}> : () -> memref<2x96256xi8, #ascend.address_space<ub>>
// CHECK-GENERIC: "ascend.set_flag"(%c0) <{set_pipe = #ascend<pipe MTE2>, wait_pipe = #ascend<pipe MTE3>}> : (index) -> ()

// -----

func.func @transpose(%in: memref<2x4096xi8, #ascend.address_space<ub>>, %out: memref<2x4096xi8, #ascend.address_space<ub>>, %s: index, %r: index, %c: index) {
  ascend.transpose_blocks %in[%s] -> %out[%s] blocks(%r x %c) : memref<2x4096xi8, #ascend.address_space<ub>> -> memref<2x4096xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.transpose_blocks %in[%s] -> %out[%s] blocks(%r x %c)

// -----

// The run level: this core's tokens, a run copied from a cache block (threading the
// runs' cursor), a run of zeros.
func.func @runs(%kc: memref<?x4x16x16xf16, #ascend.address_space<gm>>, %ko: memref<?x64xf16, #ascend.address_space<gm>>, %blk: index, %pos: index, %count: index, %slot: index) attributes {ascend.kernel} {
  %begin, %end = ascend.core_tokens
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%begin] count(%count) cursor(%slot) {ascend.note = "Keys"} : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<?x64xf16, #ascend.address_space<gm>>
  ascend.zero_run %ko[%end] count(%count) : memref<?x64xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK:       %begin, %end = ascend.core_tokens
// CHECK-NEXT:  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%begin] count(%count) cursor(%slot) {ascend.note = "Keys"} : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<?x64xf16, #ascend.address_space<gm>>
// CHECK-NEXT:  ascend.zero_run %ko[%end] count(%count) : memref<?x64xf16, #ascend.address_space<gm>>

// CHECK-GENERIC: "ascend.copy_run"(%kc, %blk, %pos, %ko, %begin, %count, %slot) <{layout = #pakv<cache_mode PA_NZ>, direction = #ascend<copy_direction gather>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>}> {ascend.note = "Keys"} : (memref<?x4x16x16xf16, #ascend.address_space<gm>>, index, index, memref<?x64xf16, #ascend.address_space<gm>>, index, index, index) -> index
// CHECK-GENERIC: "ascend.zero_run"(%ko, %end, %count) : (memref<?x64xf16, #ascend.address_space<gm>>, index, index) -> ()

// -----

// The scatter's run level: the run's length from its slots, a run copied into a cache
// block (the arrow goes from the tokens to the cache).
func.func @scatter_runs(%k: memref<?x2x64xbf16, #ascend.address_space<gm>>, %s: memref<?xi64, #ascend.address_space<gm>>, %kc: memref<?x16x2x64xbf16, #ascend.address_space<gm>>, %t: index, %slot: index, %blk: index, %pos: index, %limit: index, %c: index) attributes {ascend.kernel} {
  %n = ascend.run_length %s[%t] from(%slot) limit(%limit) : memref<?xi64, #ascend.address_space<gm>>
  %next = ascend.copy_run Norm %k[%t] -> %kc[%blk, %pos] count(%n) cursor(%c) : memref<?x2x64xbf16, #ascend.address_space<gm>> -> memref<?x16x2x64xbf16, #ascend.address_space<gm>>
  func.return
}

// CHECK:       %n = ascend.run_length %s[%t] from(%slot) limit(%limit) : memref<?xi64, #ascend.address_space<gm>>
// CHECK-NEXT:  %next = ascend.copy_run Norm %k[%t] -> %kc[%blk, %pos] count(%n) cursor(%c) : memref<?x2x64xbf16, #ascend.address_space<gm>> -> memref<?x16x2x64xbf16, #ascend.address_space<gm>>

// CHECK-GENERIC: "ascend.run_length"(%s, %t, %slot, %limit) : (memref<?xi64, #ascend.address_space<gm>>, index, index, index) -> index
// CHECK-GENERIC: "ascend.copy_run"(%kc, %blk, %pos, %k, %t, %n, %c) <{layout = #pakv<cache_mode Norm>, direction = #ascend<copy_direction scatter>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>}> : (memref<?x16x2x64xbf16, #ascend.address_space<gm>>, index, index, memref<?x2x64xbf16, #ascend.address_space<gm>>, index, index, index) -> index

// A run over a strided cache: the block stride (bytes) as an operand when the type
// leaves it dynamic.
func.func @strided_run(%kc: memref<?x4x16x16xf16, strided<[?, 256, 16, 1]>, #ascend.address_space<gm>>, %ko: memref<?x64xf16, #ascend.address_space<gm>>, %blk: index, %pos: index, %count: index, %slot: index, %stride: index) attributes {ascend.kernel} {
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] stride(%stride) -> %ko[%pos] count(%count) cursor(%slot) : memref<?x4x16x16xf16, strided<[?, 256, 16, 1]>, #ascend.address_space<gm>> -> memref<?x64xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK:       %next = ascend.copy_run PA_NZ %kc[%blk, %pos] stride(%stride) -> %ko[%pos] count(%count) cursor(%slot) : memref<?x4x16x16xf16, strided<[?, 256, 16, 1]>, #ascend.address_space<gm>> -> memref<?x64xf16, #ascend.address_space<gm>>
// CHECK-GENERIC: "ascend.copy_run"(%kc, %blk, %pos, %ko, %pos, %count, %slot, %stride) <{layout = #pakv<cache_mode PA_NZ>, direction = #ascend<copy_direction gather>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>}> : (memref<?x4x16x16xf16, strided<[?, 256, 16, 1]>, #ascend.address_space<gm>>, index, index, memref<?x64xf16, #ascend.address_space<gm>>, index, index, index, index) -> index
