// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910B}' | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-to-ascend{soc=Ascend910B tile-bytes=131072}' | filecheck %s --check-prefix=MISFIT
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-to-ascend{soc=Ascend310}' | filecheck %s --check-prefix=NO-SOC
// RUN: xdsl-opt %s --split-input-file --print-debuginfo -p 'pakv-to-ascend{soc=Ascend910B}' | filecheck %s --check-prefix=LOC

// The original document's shape example (SPEC section 6), Norm: keys 16 x 144 fp16
// (4608 bytes per token), values 16 x 128 (4096 bytes), 128-token blocks.
func.func @seed_norm(%key_cache: memref<?x128x16x144xf16>, %value_cache: memref<?x128x16x128xf16>, %block_tables: memref<?x?xi32>, %seq_lens: memref<?xi32>, %key_out: memref<?x16x144xf16>, %value_out: memref<?x16x128xf16>) {
  pakv.gather Norm caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) into(%key_out, %value_out) : memref<?x128x16x144xf16>, memref<?x128x16x128xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x16x144xf16>, memref<?x16x128xf16> loc("seed_norm.mlir":8:3)
  func.return
}

// The whole pipeline: a kernel with placed buffers, its tokens from the balanced split,
// and flags around every tile. Two 96256-byte slots + a 4096-byte zero buffer fill
// the 192 KiB UB exactly; a 128-token key run (589824 bytes) takes 7 tiles.
// CHECK-LABEL: func.func @seed_norm(
// CHECK-SAME:    attributes {ascend.kernel, ascend.soc = "Ascend910B", ascend.launch = {{.*}}} {
// CHECK:         %tile = ascend.ub_alloc "tile" at 0 : memref<2x96256xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %zeros = ascend.ub_alloc "zeros" at 192512 : memref<1x4096xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    %batch = ascend.get_tiling "batch"
// CHECK-NEXT:    %table_width = ascend.get_tiling "table_width"
// CHECK-NEXT:    %num_blocks = ascend.get_tiling "num_blocks"
// CHECK-NEXT:    %num_tokens = ascend.get_tiling "num_tokens"
// CHECK-NEXT:    %core = ascend.get_block_idx
// CHECK-NEXT:    %split_tokens = ascend.get_tiling "split_tokens"
// CHECK-NEXT:    %used_cores = ascend.get_tiling "used_cores"
// CHECK:         %write_end = arith.minui %token_end, %num_tokens : index
// CHECK-NEXT:    %has_tokens = arith.cmpi ult, %token_begin, %write_end : index
// CHECK-NEXT:    scf.if %has_tokens {
// CHECK:               scf.for %src_at = %src to %src_end step %c96256 iter_args(%slot_7 = %slot_4) -> (index) {
// CHECK-NEXT:            %[[REST:.*]] = arith.subi %src_end, %src_at : index
// CHECK-NEXT:            %bytes = arith.minui %[[REST]], %c96256 : index
// CHECK-NEXT:            %dst = arith.addi %src_at, %dst_minus_src : index
// CHECK-NEXT:            ascend.wait_flag[MTE3, MTE2, %slot_7]
// CHECK-NEXT:            ascend.load %key_cache[%src_at] -> %tile[%slot_7, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:            ascend.set_flag[MTE2, MTE3, %slot_7]
// CHECK-NEXT:            ascend.wait_flag[MTE2, MTE3, %slot_7]
// CHECK-NEXT:            ascend.store %tile[%slot_7, %c0] -> %key_out[%dst] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:            ascend.set_flag[MTE3, MTE2, %slot_7]
// CHECK-NEXT:            %next_slot = arith.xori %slot_7, %c1 : index
// CHECK-NEXT:            scf.yield %next_slot : index
// CHECK-NEXT:          }
// CHECK:               ascend.load %value_cache
// CHECK:               scf.for %dst_2 = %zero_dst to %zero_end step %c4096 {
// CHECK:                 ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:            ascend.fill_zero %zeros[%c0] bytes(%bytes_2)
// CHECK-NEXT:            ascend.set_flag[V, MTE3, %c0]
// CHECK-NEXT:            ascend.wait_flag[V, MTE3, %c0]
// CHECK-NEXT:            ascend.store %zeros[%c0, %c0] -> %key_out[%dst_2]
// CHECK-NEXT:            ascend.set_flag[MTE3, V, %c0]
// CHECK:         ascend.wait_flag[MTE3, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[MTE3, MTE2, %c1]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    func.return
// CHECK-NOT:     pakv.gather
// CHECK-NOT:     ascend.core_tokens
// CHECK-NOT:     ascend.copy_run
// CHECK-NOT:     ascend.zero_run

// Like an MLIR rewriter, the lowering gives every op it makes the location of the
// pakv.gather it replaces, so a later failure (a buffer that does not fit) points at
// the line that asked for it.
// LOC-LABEL: func.func @seed_norm(
// LOC:         %tile = ascend.ub_alloc "tile" at 0 : memref<2x96256xi8, #ascend.address_space<ub>> loc("seed_norm.mlir":8:3)
// LOC:         ascend.load %key_cache[%src_at] -> {{.*}} loc("seed_norm.mlir":8:3)
// LOC:         ascend.wait_flag[MTE3, MTE2, %c1] loc("seed_norm.mlir":8:3)
// LOC-NEXT:    ascend.wait_flag[MTE3, V, %c0] loc("seed_norm.mlir":8:3)
// LOC-NEXT:    func.return loc(unknown)

// Two 131072-byte slots do not fit a 192 KiB UB: the plan is rejected at the buffer.
// MISFIT: UB plan does not fit: buffer 'tile' (2 x 131072 = 262144 bytes) finds no free room; the kernel's 2 buffer(s) need 266240 bytes, Ascend910B has 196608 usable UB bytes per vector core
// MISFIT: %tile = "ascend.ub_alloc"() <{purpose = "tile"}>
// MISFIT-NEXT: ^^^^

// NO-SOC: GatherPaKvCache is not supported on this SoC: Ascend310

// -----

// The same shapes in PA_NZ: H = 2304 and 2048 fp16, i.e. 144 and 128 row groups of 32 bytes.
func.func @seed_nz(%key_cache: memref<?x144x128x16xf16>, %value_cache: memref<?x128x128x16xf16>, %block_tables: memref<?x?xi32>, %seq_lens: memref<?xi32>, %seq_offset: memref<?xi32>, %key_out: memref<?x2304xf16>, %value_out: memref<?x2048xf16>) {
  pakv.gather PA_NZ caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) offsets(%seq_offset) into(%key_out, %value_out) : memref<?x144x128x16xf16>, memref<?x128x128x16xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x2304xf16>, memref<?x2048xf16>
  func.return
}

// The UB in quarters (PAKV's PA_NZ default on a SoC without the 3-D copy, passes/strategy.py):
// three group-major slots the loads take in turn and one token-major slot of 48 KiB, one
// event per slot. Key tiles of up to 10 tokens (10 x 4608 bytes), value tiles of up to
// 12, cut in steps of that many (row-align: whole tiles, not evened out). Each is a load
// of 144 (128) bursts of 32 bytes per token, a transpose, one contiguous store.
// CHECK-LABEL: func.func @seed_nz(
// CHECK:         %group_major = ascend.ub_alloc "group_major" at 0 : memref<3x49152xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" at 147456 : memref<1x49152xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c1]
// CHECK-NEXT:    ascend.set_flag[V, MTE2, %c2]
// CHECK-NEXT:    ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:    %batch = ascend.get_tiling "batch"
// CHECK:               %[[KEYS:.*]] = scf.for %tile_pos = %c0 to %count step %c10 iter_args(%[[SLOT:.*]] = %{{.*}}) -> (index) {
// CHECK-NEXT:            %[[REST:.*]] = arith.subi %count, %tile_pos : index
// CHECK-NEXT:            %tokens = arith.minui %[[REST]], %c10 : index
// CHECK-NEXT:            %burst = arith.muli %tokens, %c32 : index
// CHECK-NEXT:            %gap = arith.subi %c4096, %burst : index
// CHECK:                 %tile_dst = arith.addi %dst, %{{.*}} : index
// CHECK-NEXT:            ascend.wait_flag[V, MTE2, %[[SLOT]]]
// CHECK-NEXT:            ascend.load %key_cache[%tile_src] -> %group_major[%[[SLOT]], %c0] bursts(%c144 x %burst) gaps(%gap, %c0)
// CHECK-NEXT:            ascend.set_flag[MTE2, V, %[[SLOT]]]
// CHECK-NEXT:            ascend.wait_flag[MTE2, V, %[[SLOT]]]
// CHECK-NEXT:            ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:            ascend.transpose_blocks %group_major[%[[SLOT]]] -> %token_major[%c0] blocks(%c144 x %tokens)
// CHECK-NEXT:            ascend.set_flag[V, MTE2, %[[SLOT]]]
// CHECK-NEXT:            ascend.set_flag[V, MTE3, %c0]
// CHECK-NEXT:            %bytes = arith.muli %tokens, %c4608 : index
// CHECK-NEXT:            ascend.wait_flag[V, MTE3, %c0]
// CHECK-NEXT:            ascend.store %token_major[%c0, %c0] -> %key_out[%tile_dst] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:            ascend.set_flag[MTE3, V, %c0]
// CHECK-NEXT:            %[[NEXT:.*]] = arith.addi %[[SLOT]], %c1 : index
// CHECK-NEXT:            %next_slot = arith.remui %[[NEXT]], %c3 : index
// CHECK-NEXT:            scf.yield %next_slot : index
// CHECK-NEXT:          }
// CHECK:               scf.for %tile_pos_1 = %c0 to %count step %c12 iter_args
// CHECK:                 ascend.load %value_cache[%tile_src_1] -> %group_major[%{{.*}}, %c0] bursts(%c128 x %burst_1) gaps(%gap_1, %c0)
// CHECK:         ascend.wait_flag[V, MTE2, %c0]
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %c1]
// CHECK-NEXT:    ascend.wait_flag[V, MTE2, %c2]
// CHECK-NEXT:    ascend.wait_flag[MTE3, V, %c0]
// CHECK-NEXT:    func.return
// CHECK-NOT:     pakv.gather
