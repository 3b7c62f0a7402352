// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p convert-pakv-to-ascend | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'convert-pakv-to-ascend{tile-bytes=64}' | filecheck %s --check-prefix=TINY
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'convert-pakv-to-ascend{soc=Ascend310P}' | filecheck %s --check-prefix=SPLIT
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'convert-pakv-to-ascend{soc=Ascend310}' | filecheck %s --check-prefix=NO-SOC
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'convert-pakv-to-ascend{slots=1}' | filecheck %s --check-prefix=ONE-SLOT

// Norm with offsets: keys are 32 bytes per token, values 12 (not 32-byte aligned).
// A block (16 tokens) of keys is 512 bytes, so the tile slot is 512 bytes and every
// run is a single tile: one load and one store of the run's bytes per stream.
func.func @norm(%kc: memref<?x16x2x8xf16>, %vc: memref<?x16x1x6xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %so: memref<?xi32>, %ko: memref<?x2x8xf16>, %vo: memref<?x1x6xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<?x16x2x8xf16>, memref<?x16x1x6xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x2x8xf16>, memref<?x1x6xf16>
  func.return
}

// CHECK-LABEL: func.func @norm(
// CHECK-SAME:    %kc: memref<?x16x2x8xf16, #ascend.address_space<gm>>
// CHECK-SAME:    %vo: memref<?x1x6xf16, #ascend.address_space<gm>>)
// CHECK-SAME:    attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
// CHECK:         %tile = ascend.ub_alloc "tile" : memref<2x512xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %zeros = ascend.ub_alloc "zeros" : memref<1x512xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %batch = ascend.get_tiling "batch"
// CHECK-NEXT:    %table_width = ascend.get_tiling "table_width"
// CHECK-NEXT:    %num_blocks = ascend.get_tiling "num_blocks"
// CHECK-NEXT:    %num_tokens = ascend.get_tiling "num_tokens"
// CHECK-NEXT:    %row_begin, %rows_end = ascend.core_rows {ascend.note = "This core's output rows: {{.*}}"}
// CHECK-NEXT:    %row_end = arith.minui %rows_end, %num_tokens : index
// CHECK-NEXT:    %has_rows = arith.cmpi ult, %row_begin, %row_end : index
// CHECK-NEXT:    scf.if %has_rows {
// CHECK-NEXT:      %{{.*}} = scf.while (%seq = %c0, %start = %c0, %slot = %c0) : (index, index, index) -> (index, index, index) {
// CHECK:             %more = arith.andi
// CHECK-NEXT:        scf.condition(%more) %seq, %start, %slot : index, index, index
// CHECK-NEXT:      } do {
// CHECK-NEXT:      ^bb0(%seq_1: index, %start_1: index, %slot_1: index):
// CHECK-NEXT:        %[[RAW:.*]] = ascend.load_scalar %sl[%seq_1] : memref<?xi32, #ascend.address_space<gm>> -> i32
// CHECK-NEXT:        %raw_len = arith.index_cast %[[RAW]] : i32 to index
// CHECK-NEXT:        %len = arith.maxsi %raw_len, %c0 : index
// CHECK-NEXT:        %end = arith.addi %start_1, %len : index
// CHECK-NEXT:        %lo = arith.maxui %start_1, %row_begin : index
// CHECK-NEXT:        %hi = arith.minui %end, %row_end : index
// CHECK-NEXT:        %overlaps = arith.cmpi ult, %lo, %hi : index
// CHECK-NEXT:        %slot_2 = scf.if %overlaps -> (index) {
// CHECK-NEXT:          %first_token = arith.subi %lo, %start_1 {ascend.note = "This sequence's rows [lo, hi), run by run{{.*}}"} : index
// CHECK:               %[[OFF:.*]] = ascend.load_scalar %so[%seq_1]
// CHECK-NEXT:          %offset = arith.index_cast %[[OFF]] : i32 to index
// CHECK-NEXT:          %negative_offset = arith.cmpi slt, %offset, %c0 : index
// CHECK-NEXT:          %[[COL0:.*]] = arith.divui %offset, %c16 : index
// CHECK-NEXT:          %first_col = arith.select %negative_offset, %table_width, %[[COL0]] : index
// CHECK:               scf.for %block = %first_block to %end_block step %c1 iter_args(%slot_4 = %slot_1) -> (index) {
// CHECK-NEXT:            %block_first = arith.muli %block, %c16 : index
// CHECK-NEXT:            %run_first = arith.maxui %block_first, %first_token : index
// CHECK-NEXT:            %block_pos = arith.remui %run_first, %c16 : index
// CHECK-NEXT:            %room = arith.subi %c16, %block_pos : index
// CHECK-NEXT:            %[[LEFT:.*]] = arith.subi %end_token, %run_first : index
// CHECK-NEXT:            %count = arith.minui %room, %[[LEFT]] : index
// CHECK-NEXT:            %col = arith.addi %first_col, %block : index
// CHECK-NEXT:            %in_table = arith.cmpi ult, %col, %table_width : index
// CHECK-NEXT:            %blk = scf.if %in_table -> (index) {
// CHECK-NEXT:              %[[ID:.*]] = ascend.load_scalar %bt[%seq_1, %col] : memref<?x?xi32, #ascend.address_space<gm>> -> i32
// CHECK-NEXT:              %blk_1 = arith.index_cast %[[ID]] : i32 to index
// CHECK-NEXT:              scf.yield %blk_1 : index
// CHECK-NEXT:            } else {
// CHECK-NEXT:              scf.yield %num_blocks : index
// CHECK-NEXT:            }
// CHECK-NEXT:            %row = arith.addi %start_1, %run_first : index
// CHECK-NEXT:            %valid_block = arith.cmpi ult, %blk, %num_blocks : index
// CHECK-NEXT:            %slot_5 = scf.if %valid_block -> (index) {
// CHECK-NEXT:              %[[BLK:.*]] = arith.muli %blk, %c512 {ascend.note = "Keys: the run is one tile, {{.*}}"} : index
// CHECK-NEXT:              %[[POS:.*]] = arith.muli %block_pos, %c32 : index
// CHECK-NEXT:              %src = arith.addi %[[BLK]], %[[POS]] : index
// CHECK-NEXT:              %run_bytes = arith.muli %count, %c32 : index
// CHECK-NEXT:              %dst = arith.muli %row, %c32 : index
// CHECK-NEXT:              ascend.load %kc[%src] -> %tile[%slot_4, %c0] bursts(%c1 x %run_bytes) gaps(%c0, %c0)
// CHECK-NEXT:              ascend.store %tile[%slot_4, %c0] -> %ko[%dst] bursts(%c1 x %run_bytes) gaps(%c0, %c0)
// CHECK-NEXT:              %next_slot = arith.xori %slot_4, %c1 : index
// CHECK:                   %run_bytes_1 = arith.muli %count, %c12 : index
// CHECK-NEXT:              %dst_1 = arith.muli %row, %c12 : index
// CHECK-NEXT:              ascend.load %vc[%src_1] -> %tile[%next_slot, %c0] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0)
// CHECK-NEXT:              ascend.store %tile[%next_slot, %c0] -> %vo[%dst_1] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0)
// CHECK-NEXT:              %next_slot_1 = arith.xori %next_slot, %c1 : index
// CHECK-NEXT:              scf.yield %next_slot_1 : index
// CHECK-NEXT:            } else {
// CHECK-NEXT:              %zero_dst = arith.muli %row, %c32 {ascend.note = "No valid block {{.*}}"} : index
// CHECK:                   scf.for %dst_2 = %zero_dst to %zero_end step %c512 {
// CHECK-NEXT:                %[[REST:.*]] = arith.subi %zero_end, %dst_2 : index
// CHECK-NEXT:                %bytes = arith.minui %[[REST]], %c512 : index
// CHECK-NEXT:                ascend.fill_zero %zeros[%c0] bytes(%bytes)
// CHECK-NEXT:                ascend.store %zeros[%c0, %c0] -> %ko[%dst_2] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:              }
// CHECK:                   ascend.store %zeros[%c0, %c0] -> %vo[%dst_3]
// CHECK:                   scf.yield %slot_4 : index
// CHECK:             %next_seq = arith.addi %seq_1, %c1 : index
// CHECK-NEXT:        scf.yield %next_seq, %end, %slot_2 : index, index, index
// CHECK-NEXT:      } attributes {ascend.note = "Walk the sequences in output order, up to this core's last row."}
// CHECK-NOT:     pakv.gather

// With 64-byte slots a key run (up to 512 bytes) takes several tiles.
// TINY-LABEL: func.func @norm(
// TINY:         %tile = ascend.ub_alloc "tile" : memref<2x64xi8, #ascend.address_space<ub>>
// TINY:         %src_end = arith.addi %src, %run_bytes : index
// TINY:         %dst_minus_src = arith.subi %{{.*}}, %src : index
// TINY-NEXT:    %slot_6 = scf.for %src_at = %src to %src_end step %c64 iter_args(%slot_7 = %slot_4) -> (index) {
// TINY-NEXT:      %[[REST:.*]] = arith.subi %src_end, %src_at : index
// TINY-NEXT:      %bytes = arith.minui %[[REST]], %c64 : index
// TINY-NEXT:      %dst = arith.addi %src_at, %dst_minus_src : index
// TINY-NEXT:      ascend.load %kc[%src_at] -> %tile[%slot_7, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0)
// TINY-NEXT:      ascend.store %tile[%slot_7, %c0] -> %ko[%dst] bursts(%c1 x %bytes) gaps(%c0, %c0)
// TINY-NEXT:      %next_slot = arith.xori %slot_7, %c1 : index
// TINY-NEXT:      scf.yield %next_slot : index
// TINY-NEXT:    }

// -----

// PA_NZ, cumsum, int8 values with fp16 keys: 4 key row groups, 2 value row groups.
// A 16-token block fits one tile: per run, one group-major load of G bursts of
// count * 32 bytes, one transpose, one contiguous store, per stream. As the block fits
// even a third of the UB, the group-major buffer takes a spare second slot.
func.func @nz(%kc: memref<?x4x16x16xf16>, %vc: memref<?x2x16x32xi8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x64xf16>, %vo: memref<?x64xi8>) {
  pakv.gather PA_NZ cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x16x16xf16>, memref<?x2x16x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<?x64xf16>, memref<?x64xi8>
  func.return
}

// CHECK-LABEL: func.func @nz(
// CHECK:         %group_major = ascend.ub_alloc "group_major" : memref<2x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x2048xi8, #ascend.address_space<ub>>
// CHECK:           ^bb0(%seq_1: index, %start_1: index, %slot_1: index):
// CHECK-NEXT:        %[[HERE:.*]] = ascend.load_scalar %sl[%seq_1]
// CHECK-NEXT:        %cumsum = arith.index_cast %[[HERE]] : i32 to index
// CHECK-NEXT:        %[[NEXT:.*]] = arith.addi %seq_1, %c1 : index
// CHECK-NEXT:        %[[THERE:.*]] = ascend.load_scalar %sl[%[[NEXT]]]
// CHECK-NEXT:        %next_cumsum = arith.index_cast %[[THERE]] : i32 to index
// CHECK-NEXT:        %raw_len = arith.subi %next_cumsum, %cumsum : index
// CHECK-NEXT:        %len = arith.maxsi %raw_len, %c0 : index
// CHECK:               %in_table = arith.cmpi ult, %block, %table_width : index
// CHECK:               %slot_5 = scf.if %valid_block -> (index) {
// CHECK-NEXT:            %[[BLK:.*]] = arith.muli %blk, %c2048 {ascend.note = "Keys: the run is one tile of 4 row groups, loaded group-major (MTE2) while the tile before is stored token-major (MTE3). 2 group-major slots."} : index
// CHECK-NEXT:            %[[POS:.*]] = arith.muli %block_pos, %c32 : index
// CHECK-NEXT:            %src = arith.addi %[[BLK]], %[[POS]] : index
// CHECK-NEXT:            %dst = arith.muli %row, %c128 : index
// CHECK-NEXT:            %burst = arith.muli %count, %c32 : index
// CHECK-NEXT:            %gap = arith.subi %c512, %burst : index
// CHECK-NEXT:            ascend.load %kc[%src] -> %group_major[%slot_4, %c0] bursts(%c4 x %burst) gaps(%gap, %c0)
// CHECK-NEXT:            ascend.transpose_blocks %group_major[%slot_4] -> %token_major[%c0] blocks(%c4 x %count) {ascend.note = "NZ to ND: {{.*}}"}
// CHECK-NEXT:            %bytes = arith.muli %count, %c128 : index
// CHECK-NEXT:            ascend.store %token_major[%c0, %c0] -> %ko[%dst] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:            %next_slot = arith.xori %slot_4, %c1 : index
// CHECK:                 ascend.load %vc[%src_1] -> %group_major[%next_slot, %c0] bursts(%c2 x %burst_1) gaps(%gap_1, %c0)
// CHECK-NEXT:            ascend.transpose_blocks %group_major[%next_slot] -> %token_major[%c0] blocks(%c2 x %count)
// CHECK-NEXT:            %bytes_1 = arith.muli %count, %c64 : index
// CHECK-NEXT:            ascend.store %token_major[%c0, %c0] -> %vo[%dst_1] bursts(%c1 x %bytes_1) gaps(%c0, %c0)
// CHECK:               } else {
// CHECK:                 scf.for %dst_2 = %zero_dst to %zero_end step %c2048 {
// CHECK:                   ascend.fill_zero %token_major[%c0] bytes(%bytes_2)
// CHECK-NEXT:              ascend.store %token_major[%c0, %c0] -> %ko[%dst_2] bursts(%c1 x %bytes_2) gaps(%c0, %c0)

// With 64-byte slots a 128-byte key token no longer fits: one token per tile, cut
// into chunks of 2 row groups; each chunk is stored as 1 burst per token (H apart
// when a tile holds several tokens; here it holds one). Runs take several tiles, so
// there is no spare slot: one group-major slot (the token-major one is the other half
// of double buffering), which every tile loads into; no slot is carried.
// One slot is Norm's single buffering; PA_NZ has two buffers, so it needs two slots.
// ONE-SLOT: cannot tile pakv.gather for Ascend910B: PA_NZ needs at least 2 slots (a group-major one to load, the token-major one to store), got 1
// ONE-SLOT: "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode PA_NZ>
// ONE-SLOT-NEXT: ^^^^^^^^^^^^^---

// TINY-LABEL: func.func @nz(
// TINY:         %group_major = ascend.ub_alloc "group_major" : memref<1x64xi8, #ascend.address_space<ub>>
// TINY-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x64xi8, #ascend.address_space<ub>>
// TINY:         scf.while (%seq = %c0, %start = %c0) : (index, index) -> (index, index) {
// TINY:         scf.for %token = %c0 to %count step %c1 {
// TINY:           scf.for %group = %c0 to %c4 step %c2 {
// TINY-NEXT:        %[[REST:.*]] = arith.subi %c4, %group : index
// TINY-NEXT:        %groups = arith.minui %[[REST]], %c2 : index
// TINY:             ascend.load %kc[%{{.*}}] -> %group_major[%c0, %c0] bursts(%groups x %c32) gaps(%c480, %c0)
// TINY-NEXT:        ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%groups x %c1)
// TINY-NEXT:        %chunk_bytes = arith.muli %groups, %c32 : index
// TINY:             ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%c1 x %chunk_bytes) gaps(%c0, %c0)
// TINY-NEXT:      }
// TINY-NEXT:    }

// -----

// PA_NZ with 4096 row groups per key token (128 KiB). On a 256 KiB UB cut in halves
// (one group-major, one token-major slot) the whole token fits a tile, and its 4096
// bursts take two loads (4095 + 1).
func.func @nz_wide(%kc: memref<?x4096x2x16xf16>, %vc: memref<?x1x2x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x65536xf16>, %vo: memref<?x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4096x2x16xf16>, memref<?x1x2x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x65536xf16>, memref<?x16xf16>
  func.return
}

// SPLIT-LABEL: func.func @nz_wide(
// SPLIT-SAME:    ascend.soc = "Ascend310P"
// SPLIT:         %group_major = ascend.ub_alloc "group_major" : memref<1x131072xi8, #ascend.address_space<ub>>
// SPLIT-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x131072xi8, #ascend.address_space<ub>>
// SPLIT:         ascend.load %kc[%tile_src] -> %group_major[%c0, %c0] bursts(%c4095 x %c32) gaps(%c32, %c0)
// SPLIT-NEXT:    %[[REST:.*]] = arith.addi %tile_src, %c262080 : index
// SPLIT-NEXT:    ascend.load %kc[%[[REST]]] -> %group_major[%c0, %c131040] bursts(%c1 x %c32) gaps(%c32, %c0)
// SPLIT-NEXT:    ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%c4096 x %c1)
// SPLIT:         ascend.store %token_major[%c0, %c0] -> %ko[%tile_dst] bursts(%c1 x %c131072) gaps(%c0, %c0)

// On 910B (96 KiB slots) the token is cut by row groups instead: chunks of 1536 row
// groups of both tokens of a run (1536 x 2 x 32 bytes = 96 KiB), stored as one burst
// per token, 128 KiB (H) apart.
// CHECK-LABEL: func.func @nz_wide(
// CHECK:         %group_major = ascend.ub_alloc "group_major" : memref<1x98304xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x98304xi8, #ascend.address_space<ub>>
// CHECK:         scf.for %group = %c0 to %c4096 step %c1536 {
// CHECK-NEXT:      %[[REST:.*]] = arith.subi %c4096, %group : index
// CHECK-NEXT:      %groups = arith.minui %[[REST]], %c1536 : index
// CHECK:           ascend.load %kc[%{{.*}}] -> %group_major[%c0, %c0] bursts(%groups x %burst) gaps(%gap, %c0)
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%groups x %count)
// CHECK-NEXT:      %chunk_bytes = arith.muli %groups, %c32 : index
// CHECK-NEXT:      %chunk_gap = arith.subi %c131072, %chunk_bytes : index
// CHECK:           ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%count x %chunk_bytes) gaps(%c0, %chunk_gap)

// -----

func.func @wrong_soc(%kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x1x8xf16>, %vo: memref<?x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910_95"} : memref<?x4x1x8xf16>, memref<?x4x1x8xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x1x8xf16>, memref<?x1x8xf16>
  func.return
}

// CHECK: pakv.gather requires SoC Ascend910_95, but the lowering targets Ascend910B
// CHECK: "pakv.gather"
// CHECK-NEXT: ^^^^

// -----

func.func @fp32_on_910b(%kc: memref<?x4x1x8xf32>, %vc: memref<?x4x1x8xf32>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x1x8xf32>, %vo: memref<?x1x8xf32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x1x8xf32>, memref<?x4x1x8xf32>, memref<?x?xi32>, memref<?xi32> -> memref<?x1x8xf32>, memref<?x1x8xf32>
  func.return
}

// CHECK: key_cache element type fp32 is not supported on Ascend910B (supported: bf16, fp16, int8)
// CHECK: "pakv.gather"
// CHECK-NEXT: ^^^^

// -----

func.func @int64_tables_on_910b(%kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>, %bt: memref<?x?xi64>, %sl: memref<?xi64>, %ko: memref<?x1x8xf16>, %vo: memref<?x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x1x8xf16>, memref<?x4x1x8xf16>, memref<?x?xi64>, memref<?xi64> -> memref<?x1x8xf16>, memref<?x1x8xf16>
  func.return
}

// CHECK: block_tables element type int64 is not supported on Ascend910B (supported: int32)

// -----

func.func @not_arguments(%kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>, %bt: memref<?x?xi32>, %ko: memref<?x1x8xf16>, %vo: memref<?x1x8xf16>) {
  %sl = memref.alloc() : memref<3xi32>
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x1x8xf16>, memref<?x4x1x8xf16>, memref<?x?xi32>, memref<3xi32> -> memref<?x1x8xf16>, memref<?x1x8xf16>
  func.return
}

// CHECK: pakv.gather operands must be arguments of @not_arguments

// -----

func.func @other_ops(%kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x1x8xf16>, %vo: memref<?x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x1x8xf16>, memref<?x4x1x8xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x1x8xf16>, memref<?x1x8xf16>
  %zero = arith.constant 0 : index
  func.return
}

// CHECK: @other_ops becomes a device kernel: it may hold only pakv.gather and an empty func.return, found arith.constant
// CHECK: %zero = "arith.constant"
// CHECK-NEXT: ^^^^

// NO-SOC: GatherPaKvCache is not supported on this SoC: Ascend310
