// The transpose with two slots and tiles cut evenly (PAKV's PA_NZ default, 4 slots on
// 512-byte rows, is in strategies.mlir):
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'ascend-tile-runs{slots=2 row-align=false}' | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'ascend-tile-runs{tile-bytes=64 slots=2 row-align=false}' | filecheck %s --check-prefix=TINY
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'ascend-tile-runs{tile-bytes=320 slots=2 row-align=false}' | filecheck %s --check-prefix=EVEN
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'ascend-tile-runs{slots=1}' | filecheck %s --check-prefix=ONE-SLOT

#gm = #ascend.address_space<gm>

// Norm: keys of 32 bytes per token (2 x 8 fp16), values of 12 (1 x 6), 16-token blocks.
// A block of keys is 512 bytes, so the tile slot is 512 bytes and every run is a
// single tile: one load and one store of the run's bytes per stream. The runs' cursor
// (%slot) is the load slot of the next tile: keys load into it, values into the next.
// Key copies are whole 32-byte blocks (the blocks form, DataCopy); value copies are
// not (the bytes form, DataCopyPad).
func.func @norm(%kc: memref<?x16x2x8xf16, #gm>, %vc: memref<?x16x1x6xf16, #gm>, %ko: memref<?x2x8xf16, #gm>, %vo: memref<?x1x6xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %keys = ascend.copy_run Norm %kc[%blk, %pos] -> %ko[%token] count(%count) cursor(%slot) {ascend.note = "Keys"} : memref<?x16x2x8xf16, #gm> -> memref<?x2x8xf16, #gm>
  %values = ascend.copy_run Norm %vc[%blk, %pos] -> %vo[%token] count(%count) cursor(%keys) {ascend.note = "Values"} : memref<?x16x1x6xf16, #gm> -> memref<?x1x6xf16, #gm>
  "test.op"(%values) : (index) -> ()
  ascend.zero_run %ko[%token] count(%count) {ascend.note = "Zeros"} : memref<?x2x8xf16, #gm>
  func.return
}

// CHECK-LABEL: func.func @norm(
// CHECK:         %tile = ascend.ub_alloc "tile" : memref<2x512xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %zeros = ascend.ub_alloc "zeros" : memref<1x512xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %[[BLK:.*]] = arith.muli %blk, %c512 {ascend.note = "Keys: the run is one tile, one burst in (MTE2) and one out (MTE3)."} : index
// CHECK-NEXT:    %[[POS:.*]] = arith.muli %pos, %c32 : index
// CHECK-NEXT:    %src = arith.addi %[[BLK]], %[[POS]] : index
// CHECK-NEXT:    %run_bytes = arith.muli %count, %c32 : index
// CHECK-NEXT:    %dst = arith.muli %token, %c32 : index
// CHECK-NEXT:    ascend.load %kc[%src] -> %tile[%slot, %c0] bursts(%c1 x %run_bytes) gaps(%c0, %c0) as blocks :
// CHECK-NEXT:    ascend.store %tile[%slot, %c0] -> %ko[%dst] bursts(%c1 x %run_bytes) gaps(%c0, %c0) as blocks :
// CHECK-NEXT:    %next_slot = arith.xori %slot, %c1 : index
// CHECK-NEXT:    %[[VBLK:.*]] = arith.muli %blk, %c192 {ascend.note = "Values: the run is one tile, {{.*}}"} : index
// CHECK:         %run_bytes_1 = arith.muli %count, %c12 : index
// CHECK-NEXT:    %dst_1 = arith.muli %token, %c12 : index
// CHECK-NEXT:    ascend.load %vc[%src_1] -> %tile[%next_slot, %c0] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0) as bytes :
// CHECK-NEXT:    ascend.store %tile[%next_slot, %c0] -> %vo[%dst_1] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0) as bytes :
// CHECK-NEXT:    %next_slot_1 = arith.xori %next_slot, %c1 : index
// CHECK-NEXT:    "test.op"(%next_slot_1) : (index) -> ()
// CHECK-NEXT:    %zero_dst = arith.muli %token, %c32 {ascend.note = "Zeros"} : index
// CHECK-NEXT:    %[[BYTES:.*]] = arith.muli %count, %c32 : index
// CHECK-NEXT:    %zero_end = arith.addi %zero_dst, %[[BYTES]] : index
// CHECK-NEXT:    scf.for %dst_2 = %zero_dst to %zero_end step %c512 {
// CHECK-NEXT:      %[[REST:.*]] = arith.subi %zero_end, %dst_2 : index
// CHECK-NEXT:      %bytes = arith.minui %[[REST]], %c512 : index
// CHECK-NEXT:      ascend.fill_zero %zeros[%c0] bytes(%bytes)
// CHECK-NEXT:      ascend.store %zeros[%c0, %c0] -> %ko[%dst_2] bursts(%c1 x %bytes) gaps(%c0, %c0) as blocks :
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return
// CHECK-NOT:     ascend.copy_run
// CHECK-NOT:     ascend.zero_run

// With 64-byte slots a key run (up to 512 bytes) takes several tiles; the slot is
// carried through the tile loop, and the values' loop starts where the keys' ended.
// TINY-LABEL: func.func @norm(
// TINY:         %tile = ascend.ub_alloc "tile" : memref<2x64xi8, #ascend.address_space<ub>>
// TINY:         %src_end = arith.addi %src, %run_bytes : index
// TINY-NEXT:    %[[DST:.*]] = arith.muli %token, %c32 : index
// TINY-NEXT:    %dst_minus_src = arith.subi %[[DST]], %src : index
// TINY-NEXT:    %slot_1 = scf.for %src_at = %src to %src_end step %c64 iter_args(%slot_2 = %slot) -> (index) {
// TINY-NEXT:      %[[REST:.*]] = arith.subi %src_end, %src_at : index
// TINY-NEXT:      %bytes = arith.minui %[[REST]], %c64 : index
// TINY-NEXT:      %dst = arith.addi %src_at, %dst_minus_src : index
// TINY-NEXT:      ascend.load %kc[%src_at] -> %tile[%slot_2, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0)
// TINY-NEXT:      ascend.store %tile[%slot_2, %c0] -> %ko[%dst] bursts(%c1 x %bytes) gaps(%c0, %c0)
// TINY-NEXT:      %next_slot = arith.xori %slot_2, %c1 : index
// TINY-NEXT:      scf.yield %next_slot : index
// TINY-NEXT:    }
// TINY:         %slot_3 = scf.for %src_at_1 = %src_1 to %src_end_1 step %c64 iter_args(%slot_4 = %slot_1) -> (index) {
// TINY:         "test.op"(%slot_3) : (index) -> ()

// One slot is single buffering: every tile loads into slot 0 and the cursor passes
// through.
// ONE-SLOT-LABEL: func.func @norm(
// ONE-SLOT:         %tile = ascend.ub_alloc "tile" : memref<1x512xi8, #ascend.address_space<ub>>
// ONE-SLOT:         ascend.load %kc[%src] -> %tile[%c0, %c0] bursts(%c1 x %run_bytes) gaps(%c0, %c0)
// ONE-SLOT:         ascend.load %vc[%src_1] -> %tile[%c0, %c0] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0)
// ONE-SLOT-NOT:     arith.xori
// ONE-SLOT:         "test.op"(%slot) : (index) -> ()

// -----

#gm = #ascend.address_space<gm>

// PA_NZ: fp16 keys of 4 row groups (128 bytes per token), 16-token blocks, the runs in
// a loop that carries their cursor. A whole block (2048 bytes) fits even a third of
// the UB, so every run is one tile: one group-major load of 4 bursts of count * 32
// bytes, one transpose, one contiguous store; the group-major buffer takes a spare
// second slot, so the cursor stays the next tile's load slot.
func.func @nz(%kc: memref<?x4x16x16xf16, #gm>, %ko: memref<?x64xf16, #gm>, %n: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %last = scf.for %blk = %c0 to %n step %c1 iter_args(%cursor = %slot) -> (index) {
    %token = arith.muli %blk, %c16 : index
    %next = ascend.copy_run PA_NZ %kc[%blk, %c0] -> %ko[%token] count(%count) cursor(%cursor) {ascend.note = "Keys"} : memref<?x4x16x16xf16, #gm> -> memref<?x64xf16, #gm>
    scf.yield %next : index
  }
  ascend.zero_run %ko[%n] count(%count) : memref<?x64xf16, #gm>
  func.return
}

// CHECK-LABEL: func.func @nz(
// CHECK:         %group_major = ascend.ub_alloc "group_major" : memref<2x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %last = scf.for %blk = %c0 to %n step %c1 iter_args(%cursor = %slot) -> (index) {
// CHECK-NEXT:      %token = arith.muli %blk, %c16 : index
// CHECK-NEXT:      %[[BLK:.*]] = arith.muli %blk, %c2048 {ascend.note = "Keys: the run is one tile of 4 row groups, loaded group-major (MTE2) while the tile before is stored token-major (MTE3). 2 group-major slots."} : index
// CHECK-NEXT:      %[[POS:.*]] = arith.muli %c0, %c32 : index
// CHECK-NEXT:      %src = arith.addi %[[BLK]], %[[POS]] : index
// CHECK-NEXT:      %dst = arith.muli %token, %c128 : index
// CHECK-NEXT:      %burst = arith.muli %count, %c32 : index
// CHECK-NEXT:      %gap = arith.subi %c512, %burst : index
// CHECK-NEXT:      %tile_src = arith.addi %src, %c0 : index
// CHECK-NEXT:      %tile_dst = arith.addi %dst, %c0 : index
// CHECK-NEXT:      %[[AT:.*]] = arith.addi %tile_src, %c0 : index
// CHECK-NEXT:      %[[UB:.*]] = arith.muli %burst, %c0 : index
// CHECK-NEXT:      ascend.load %kc[%[[AT]]] -> %group_major[%cursor, %[[UB]]] bursts(%c4 x %burst) gaps(%gap, %c0) as blocks :
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%cursor] -> %token_major[%c0] blocks(%c4 x %count) {ascend.note = "NZ to ND: {{.*}}"}
// CHECK-NEXT:      %bytes = arith.muli %count, %c128 : index
// CHECK-NEXT:      ascend.store %token_major[%c0, %c0] -> %ko[%tile_dst] bursts(%c1 x %bytes) gaps(%c0, %c0) as blocks :
// CHECK-NEXT:      %next_slot = arith.xori %cursor, %c1 : index
// CHECK-NEXT:      scf.yield %next_slot : index
// CHECK-NEXT:    }
// CHECK-NEXT:    %zero_dst = arith.muli %n, %c128 : index
// CHECK:         scf.for %dst_1 = %zero_dst to %zero_end step %c2048 {
// CHECK:           ascend.fill_zero %token_major[%c0] bytes(%bytes_1)
// CHECK-NEXT:      ascend.store %token_major[%c0, %c0] -> %ko[%dst_1] bursts(%c1 x %bytes_1) gaps(%c0, %c0)

// With 64-byte slots a 128-byte token no longer fits: a tile is one token by 2 of its
// 4 row groups, each chunk stored as one burst. Runs take several tiles, so there is no
// spare slot: one group-major slot (the token-major one is the other half of double
// buffering), which every tile loads into. The cursor passes through every run, and
// the loop that carried it no longer does.
// TINY-LABEL: func.func @nz(
// TINY:         %group_major = ascend.ub_alloc "group_major" : memref<1x64xi8, #ascend.address_space<ub>>
// TINY-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x64xi8, #ascend.address_space<ub>>
// TINY-NEXT:    scf.for %blk = %c0 to %n step %c1 {
// TINY:           scf.for %tile_pos = %c0 to %count step %c1 {
// TINY:             scf.for %group = %c0 to %c4 step %c2 {
// TINY-NEXT:          %[[REST:.*]] = arith.subi %c4, %group : index
// TINY-NEXT:          %groups = arith.minui %[[REST]], %c2 : index
// TINY:               ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%groups x %c32) gaps(%c480, %c0)
// TINY-NEXT:          ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%groups x %c1)
// TINY-NEXT:          %chunk_bytes = arith.muli %groups, %c32 : index
// TINY:               ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%c1 x %chunk_bytes) gaps(%c0, %c0)
// TINY-NEXT:        }
// TINY-NEXT:      }
// TINY-NEXT:    }
// TINY-NEXT:    %zero_dst = arith.muli %n, %c128 : index

// With 320-byte slots a tile holds 2 whole tokens: a run of count tokens is cut into
// ceil(count / 2) tiles of nearly equal size.
// EVEN-LABEL: func.func @nz(
// EVEN:         %group_major = ascend.ub_alloc "group_major" : memref<1x256xi8, #ascend.address_space<ub>>
// EVEN-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x256xi8, #ascend.address_space<ub>>
// EVEN-NEXT:    scf.for %blk = %c0 to %n step %c1 {
// EVEN:           %tiles = arith.ceildivui %count, %c2 : index
// EVEN-NEXT:      %[[EVEN:.*]] = arith.ceildivui %count, %tiles : index
// EVEN-NEXT:      %tile_tokens = arith.minui %[[EVEN]], %c2 : index
// EVEN-NEXT:      scf.for %tile_pos = %c0 to %count step %tile_tokens {
// EVEN-NEXT:        %[[REST:.*]] = arith.subi %count, %tile_pos : index
// EVEN-NEXT:        %tokens = arith.minui %[[REST]], %tile_tokens : index
// EVEN-NEXT:        %burst = arith.muli %tokens, %c32 : index
// EVEN-NEXT:        %gap = arith.subi %c512, %burst : index
// EVEN:             ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%c4 x %burst) gaps(%gap, %c0)
// EVEN-NEXT:        ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%c4 x %tokens)

// PA_NZ needs a group-major slot to load and the token-major one to store.
// ONE-SLOT: cannot tile the runs of @nz for Ascend910B: PA_NZ needs at least 2 slots (one the loads write, one the transpose writes for the stores), got 1
// ONE-SLOT: "ascend.copy_run"

// -----

#gm = #ascend.address_space<gm>

// 4096 row groups per key token (128 KiB). On Ascend310P's 256 KiB UB, cut in halves,
// the whole token fits a tile, and its 4096 bursts take two loads (4095 + 1).
func.func @nz_wide(%kc: memref<?x4096x2x16xf16, #gm>, %ko: memref<?x65536xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend310P"} {
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%token] count(%count) cursor(%slot) : memref<?x4096x2x16xf16, #gm> -> memref<?x65536xf16, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @nz_wide(
// CHECK:         %group_major = ascend.ub_alloc "group_major" : memref<1x131072xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x131072xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %{{.*}} = arith.muli %blk, %c262144 {ascend.note = "Tiles of up to 1 token(s) x 4096 row groups, {{.*}}"} : index
// CHECK:         scf.for %tile_pos = %c0 to %count step %c1 {
// CHECK:           ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%c4095 x %c32) gaps(%c32, %c0)
// CHECK-NEXT:      %[[REST:.*]] = arith.addi %tile_src, %c262080 : index
// CHECK-NEXT:      ascend.load %kc[%[[REST]]] -> %group_major[%c0, %c131040] bursts(%c1 x %c32) gaps(%c32, %c0)
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%c4096 x %c1)
// CHECK:           ascend.store %token_major[%c0, %c0] -> %ko[%tile_dst] bursts(%c1 x %c131072) gaps(%c0, %c0)
// CHECK:         "test.op"(%slot) : (index) -> ()

// -----

#gm = #ascend.address_space<gm>

// The same token on Ascend910B (96 KiB slots) is cut by row groups: chunks of 1536
// row groups of both tokens of a run (1536 x 2 x 32 bytes = 96 KiB), stored as one
// burst per token, 128 KiB (H) apart.
func.func @nz_split(%kc: memref<?x4096x2x16xf16, #gm>, %ko: memref<?x65536xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%token] count(%count) cursor(%slot) : memref<?x4096x2x16xf16, #gm> -> memref<?x65536xf16, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @nz_split(
// CHECK:         %group_major = ascend.ub_alloc "group_major" : memref<1x98304xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %token_major = ascend.ub_alloc "token_major" : memref<1x98304xi8, #ascend.address_space<ub>>
// CHECK:         scf.for %group = %c0 to %c4096 step %c1536 {
// CHECK-NEXT:      %[[REST:.*]] = arith.subi %c4096, %group : index
// CHECK-NEXT:      %groups = arith.minui %[[REST]], %c1536 : index
// CHECK:           ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%groups x %burst) gaps(%gap, %c0)
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%groups x %count)
// CHECK-NEXT:      %chunk_bytes = arith.muli %groups, %c32 : index
// CHECK-NEXT:      %chunk_gap = arith.subi %c131072, %chunk_bytes : index
// CHECK:           ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%count x %chunk_bytes) gaps(%c0, %chunk_gap)

// -----

#gm = #ascend.address_space<gm>

// block_size 65537 (issue 9): a load of both row groups of k tokens has a GM gap of up
// to 65536 rows of 32 bytes, one past DataCopyParams' uint16 srcStride. Ascend910B has
// DataCopyPad: the load takes the bytes form, whose GM stride is a uint32 of bytes.
func.func @nz_huge_block(%kc: memref<?x2x65537x32xi8, #gm>, %ko: memref<?x64xi8, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%token] count(%count) cursor(%slot) : memref<?x2x65537x32xi8, #gm> -> memref<?x64xi8, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @nz_huge_block(
// CHECK:         %gap = arith.subi %c2097184, %burst : index
// CHECK:         ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%c2 x %burst) gaps(%gap, %c0) as bytes :
// CHECK:         ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%c1 x %{{.*}}) gaps(%c0, %c0) as blocks :

// -----

#gm = #ascend.address_space<gm>

// Ascend910 has no DataCopyPad, and no form of it holds that gap: every tile takes one
// row group, so each load is one burst and says no gap (its store: one 32-byte burst
// per token, 64 bytes apart).
func.func @nz_huge_block_no_pad(%kc: memref<?x2x65537x32xi8, #gm>, %ko: memref<?x64xi8, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910"} {
  %next = ascend.copy_run PA_NZ %kc[%blk, %pos] -> %ko[%token] count(%count) cursor(%slot) : memref<?x2x65537x32xi8, #gm> -> memref<?x64xi8, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @nz_huge_block_no_pad(
// CHECK:         scf.for %group = %c0 to %c2 step %c1 {
// CHECK:           %groups = arith.minui %{{.*}}, %c1 : index
// CHECK:           ascend.load %kc[%{{.*}}] -> %group_major[%c0, %{{.*}}] bursts(%groups x %burst) gaps(%c0, %c0) as blocks :
// CHECK-NEXT:      ascend.transpose_blocks %group_major[%c0] -> %token_major[%c0] blocks(%groups x %{{.*}})
// CHECK-NEXT:      %chunk_bytes = arith.muli %groups, %c32 : index
// CHECK-NEXT:      %chunk_gap = arith.subi %c64, %chunk_bytes : index
// CHECK:           ascend.store %token_major[%c0, %c0] -> %ko[%{{.*}}] bursts(%{{.*}} x %chunk_bytes) gaps(%c0, %chunk_gap) as blocks :
// CHECK-NOT:     gaps(%gap

// -----

#gm = #ascend.address_space<gm>

// Strided caches (SPEC section 9): a run starts blk * block_stride bytes into its cache.
// The keys' stride is the run's operand (from the tiling); the values' is the type's
// 1024 elements of fp16, 2048 bytes. Each block is dense inside, so the tiles are those
// of a dense cache.
func.func @strided(%kc: memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #gm>, %vc: memref<?x16x1x6xf16, strided<[1024, 6, 6, 1]>, #gm>, %ko: memref<?x2x8xf16, #gm>, %vo: memref<?x1x6xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index, %stride: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %keys = ascend.copy_run Norm %kc[%blk, %pos] stride(%stride) -> %ko[%token] count(%count) cursor(%slot) {ascend.note = "Keys"} : memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #gm> -> memref<?x2x8xf16, #gm>
  %values = ascend.copy_run Norm %vc[%blk, %pos] -> %vo[%token] count(%count) cursor(%keys) {ascend.note = "Values"} : memref<?x16x1x6xf16, strided<[1024, 6, 6, 1]>, #gm> -> memref<?x1x6xf16, #gm>
  "test.op"(%values) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @strided(
// CHECK:         %[[KBLK:.*]] = arith.muli %blk, %stride {ascend.note = "Keys: {{.*}}"} : index
// CHECK-NEXT:    %[[KPOS:.*]] = arith.muli %pos, %c32 : index
// CHECK-NEXT:    %src = arith.addi %[[KBLK]], %[[KPOS]] : index
// CHECK:         ascend.load %kc[%src] -> %tile[%slot, %c0] bursts(%c1 x %run_bytes) gaps(%c0, %c0) as blocks :
// CHECK:         %[[VBLK:.*]] = arith.muli %blk, %c2048 {ascend.note = "Values: {{.*}}"} : index
// CHECK-NEXT:    %[[VPOS:.*]] = arith.muli %pos, %c12 : index
// CHECK-NEXT:    %src_1 = arith.addi %[[VBLK]], %[[VPOS]] : index
// CHECK:         ascend.load %vc[%src_1] -> %tile[%next_slot, %c0] bursts(%c1 x %run_bytes_1) gaps(%c0, %c0) as bytes :

// -----

#gm = #ascend.address_space<gm>

// A kernel's runs share one plan: one layout and one block size.
func.func @mixed(%kc: memref<?x16x2x16xf16, #gm>, %ko: memref<?x2x16xf16, #gm>, %nc: memref<?x2x16x16xf16, #gm>, %no: memref<?x32xf16, #gm>, %i: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %a = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x16xf16, #gm> -> memref<?x2x16xf16, #gm>
  %b = ascend.copy_run PA_NZ %nc[%i, %i] -> %no[%i] count(%i) cursor(%a) : memref<?x2x16x16xf16, #gm> -> memref<?x32xf16, #gm>
  func.return
}

// CHECK: ascend-tile-runs needs one layout and block size per kernel: this run is PA_NZ with blocks of 16, the first Norm with blocks of 16

// -----

#gm = #ascend.address_space<gm>

// Zero chunks are cut by the plan of the runs that copy into the same tokens.
func.func @zeros_alone(%ko: memref<?x2x16xf16, #gm>, %i: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  ascend.zero_run %ko[%i] count(%i) : memref<?x2x16xf16, #gm>
  func.return
}

// CHECK: ascend-tile-runs cuts a zero run by the plan of the copy runs into its tokens: none here

// -----

#gm = #ascend.address_space<gm>

// The block size is static: it is the plan's first number.
func.func @dynamic_block(%kc: memref<?x?x2x16xf16, #gm>, %ko: memref<?x2x16xf16, #gm>, %i: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %a = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x?x2x16xf16, #gm> -> memref<?x2x16xf16, #gm>
  func.return
}

// CHECK: ascend-tile-runs needs a static block size, got memref<?x?x2x16xf16, #ascend.address_space<gm>>

// -----

#gm = #ascend.address_space<gm>

// A scatter's Norm run: the same tiles the other way round, loaded from the tokens and
// stored into the block; no zero buffer (a scatter never writes zeros).
func.func @scatter_norm(%k: memref<?x2x16xf16, #gm>, %kc: memref<?x16x2x16xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %next = ascend.copy_run Norm %k[%token] -> %kc[%blk, %pos] count(%count) cursor(%slot) : memref<?x2x16xf16, #gm> -> memref<?x16x2x16xf16, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @scatter_norm(
// CHECK:         %tile = ascend.ub_alloc "tile" : memref<2x1024xi8, #ascend.address_space<ub>>
// CHECK-NOT:     ascend.ub_alloc
// CHECK:         %dst = arith.addi
// CHECK-NEXT:    %run_bytes = arith.muli %count, %c64 : index
// CHECK-NEXT:    %src = arith.muli %token, %c64 : index
// CHECK-NEXT:    ascend.load %k[%src] -> %tile[%slot, %c0] bursts(%c1 x %run_bytes) gaps(%c0, %c0)
// CHECK-NEXT:    ascend.store %tile[%slot, %c0] -> %kc[%dst] bursts(%c1 x %run_bytes) gaps(%c0, %c0)
// CHECK-NEXT:    %next_slot = arith.xori %slot, %c1 : index

// TINY-LABEL: func.func @scatter_norm(
// TINY:         %src_end = arith.addi %src, %run_bytes : index
// TINY-NEXT:    %dst_minus_src = arith.subi %dst, %src : index
// TINY-NEXT:    %slot_1 = scf.for %src_at = %src to %src_end step %c64 iter_args(%slot_2 = %slot) -> (index) {
// TINY:           ascend.load %k[%src_at] -> %tile[%slot_2, %c0] bursts(%c1 x %bytes)
// TINY-NEXT:      ascend.store %tile[%slot_2, %c0] -> %kc[%dst_1] bursts(%c1 x %bytes)

// -----

#gm = #ascend.address_space<gm>

// A scatter's PA_NZ run: one token-major burst in (into a token-major slot, which the
// loads take in turns), the block transpose to group-major, then one store of 4 row
// groups, each a burst of count x 32 bytes, block_size x 32 bytes apart in the cache.
func.func @scatter_nz(%k: memref<?x64xf16, #gm>, %kc: memref<?x4x16x16xf16, #gm>, %blk: index, %pos: index, %token: index, %count: index, %slot: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %next = ascend.copy_run PA_NZ %k[%token] -> %kc[%blk, %pos] count(%count) cursor(%slot) : memref<?x64xf16, #gm> -> memref<?x4x16x16xf16, #gm>
  "test.op"(%next) : (index) -> ()
  func.return
}

// CHECK-LABEL: func.func @scatter_nz(
// CHECK:         %token_major = ascend.ub_alloc "token_major" : memref<2x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %group_major = ascend.ub_alloc "group_major" : memref<1x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %{{.*}} = arith.muli %blk, %c2048 {ascend.note = "The run is one tile of 4 row groups, loaded token-major (MTE2) while the tile before is stored group-major (MTE3). 2 token-major slots."} : index
// CHECK:         %burst = arith.muli %count, %c32 : index
// CHECK-NEXT:    %gap = arith.subi %c512, %burst : index
// CHECK:         %bytes = arith.muli %count, %c128 : index
// CHECK-NEXT:    ascend.load %k[%tile_src] -> %token_major[%slot, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0)
// CHECK-NEXT:    ascend.transpose_blocks %token_major[%slot] -> %group_major[%c0] blocks(%count x %c4)
// CHECK:         ascend.store %group_major[%c0, %{{.*}}] -> %kc[%{{.*}}] bursts(%c4 x %burst) gaps(%c0, %gap)
// CHECK-NEXT:    %next_slot = arith.xori %slot, %c1 : index

// TINY-LABEL: func.func @scatter_nz(
// TINY:         scf.for %group = %c0 to %c4 step %c2 {
// TINY:           %chunk_bytes = arith.muli %groups, %c32 : index
// TINY:           ascend.load %k[%{{.*}}] -> %token_major[%c0, %c0] bursts(%c1 x %chunk_bytes)
// TINY-NEXT:      ascend.transpose_blocks %token_major[%c0] -> %group_major[%c0] blocks(%c1 x %groups)
// TINY:           ascend.store %group_major[%c0, %c0] -> %kc[%{{.*}}] bursts(%groups x %c32) gaps(%c0, %c480)

// EVEN-LABEL: func.func @scatter_nz(
// EVEN:         scf.for %tile_pos = %c0 to %count step %tile_tokens {
// EVEN:           ascend.load %k[%tile_src] -> %token_major[%c0, %c0] bursts(%c1 x %bytes)
// EVEN-NEXT:      ascend.transpose_blocks %token_major[%c0] -> %group_major[%c0] blocks(%tokens x %c4)
// EVEN:           ascend.store %group_major[%c0, %{{.*}}] -> %kc[%{{.*}}] bursts(%c4 x %burst) gaps(%c0, %gap)

// -----

#gm = #ascend.address_space<gm>

// A kernel's runs move one way: its buffers' pipes follow the direction.
func.func @both_directions(%kc: memref<?x16x2x16xf16, #gm>, %ko: memref<?x2x16xf16, #gm>, %i: index) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %a = ascend.copy_run Norm %kc[%i, %i] -> %ko[%i] count(%i) cursor(%i) : memref<?x16x2x16xf16, #gm> -> memref<?x2x16xf16, #gm>
  %b = ascend.copy_run Norm %ko[%i] -> %kc[%i, %i] count(%i) cursor(%a) : memref<?x2x16xf16, #gm> -> memref<?x16x2x16xf16, #gm>
  func.return
}

// CHECK: ascend-tile-runs needs one direction per kernel (its buffers' pipes follow it): this run is a scatter, the first a gather
