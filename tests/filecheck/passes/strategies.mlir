// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910B strategy=a2}' | filecheck %s --check-prefix=A2
// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910_95 strategy=ascend950}' | filecheck %s --check-prefix=V950
// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910_95}' | filecheck %s --check-prefix=PAKV950
// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910B}' | filecheck %s --check-prefix=PAKV
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-to-ascend{soc=Ascend910B strategy=a3}' | filecheck %s --check-prefix=BAD
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-to-ascend{soc=Ascend910B nz=load3d}' | filecheck %s --check-prefix=NO3D

// The vendor's strategies as presets of the same passes (passes/strategy.py).

func.func @norm(%kc: memref<?x16x2x16xf16>, %vc: memref<?x16x2x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x2x16xf16>, %vc_out: memref<?x2x16xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vc_out) : memref<?x16x2x16xf16>, memref<?x16x2x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x16xf16>, memref<?x2x16xf16>
  func.return
}

// A2/A3 Norm: one tile slot (load, wait, store, wait), every core walks every token
// ([0, split_tokens)), and the pieces of each run (keys, then values) are dealt over
// the cores by a counter threaded through every run: the walk's cursor.
// A2-LABEL: func.func @norm(
// A2:         %tile = ascend.ub_alloc "tile" at 0 : memref<1x1024xi8, #ascend.address_space<ub>>
// A2:         %core = ascend.get_block_idx
// A2-NEXT:    %used_cores = ascend.get_tiling "used_cores"
// A2:         %split_tokens = ascend.get_tiling "split_tokens"
// A2-NEXT:    %write_end = arith.minui %split_tokens, %num_tokens : index
// A2:           %pieces = arith.ceildivui %run_bytes, %c1024 : index
// A2:           %dealt = arith.remui %[[COUNTER:.*]], %used_cores : index
// A2:           %first_mine = arith.remui %{{.*}}, %used_cores : index
// A2-NEXT:      scf.for %piece = %first_mine to %pieces step %used_cores {
// A2:             ascend.load %kc
// A2:             ascend.store %tile
// A2:           %next_piece = arith.addi %[[COUNTER]], %pieces : index
// A2:           %mine = arith.cmpi eq, %{{.*}}, %core : index

// Ascend 950: whole sequences per core, ceil(batch / used_cores) of them; the walk skips
// the sequences before this core's first (their tokens only count).
// V950-LABEL: func.func @norm(
// V950:         %batches_per_core = arith.ceildivui %{{.*}}, %used_cores : index
// V950-NEXT:    %[[FIRST:.*]] = arith.muli %core, %batches_per_core : index
// V950-NEXT:    %batch_begin = arith.minui %[[FIRST]], %{{.*}} : index
// V950:         %seq_end = arith.minui %batch_end, %batch : index
// V950:           %before_share = arith.cmpi ult, %{{.*}}, %batch_begin : index
// V950-NEXT:      %lo = arith.select %before_share, %end, %{{.*}} : index

// -----

func.func @nz(%kc: memref<?x3x16x16xf16>, %vc: memref<?x2x16x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x48xf16>, %vo: memref<?x32xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x3x16x16xf16>, memref<?x2x16x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x48xf16>, memref<?x32xf16>
  func.return
}

// A2/A3 PA_NZ: this core's tokens of the run (dealt by output row), one per tile: H / ea
// bursts of 32 bytes a block row apart, straight to token-major; a barrier after every
// copy instead of flags.
// A2-LABEL: func.func @nz(
// A2-SAME:    ascend.sync = "barrier"
// A2-NOT:       ascend.set_flag
// A2:           scf.for %token_1 = %first_mine to %count step %used_cores {
// A2:             ascend.load %kc[%token_src] -> %tile[%c0, %c0] bursts(%c3 x %c32) gaps(%c480, %c0)
// A2-NEXT:        ascend.pipe_barrier
// A2-NEXT:        ascend.store %tile[%c0, %c0] -> %ko[%token_dst] bursts(%c1 x %c96) gaps(%c0, %c0)
// A2-NEXT:        ascend.pipe_barrier
// A2-NOT:       ascend.wait_flag

// Ascend 950 PA_NZ, a block that fits its chunk: the 3-D copy of every row of the block,
// then the run's tokens stored from where they sit.
// V950-LABEL: func.func @nz(
// V950:           %block_src = arith.muli %blk, %c1536 : index
// V950-NEXT:      ascend.wait_flag[MTE3, MTE2, %c0]
// V950-NEXT:      ascend.load_transposed %kc[%block_src] -> %tile[%c0, %c0] blocks(%c3 x %c16) gap(%c0)
// V950:           %at = arith.muli %block_pos, %c96 : index
// V950:           ascend.store %tile[%c0, %at] -> %ko[%dst] bursts(%c1 x %bytes) gaps(%c0, %c0)

// PAKV on Ascend 950: the 3-D copy of the run's tokens (not a whole block), two slots.
// PAKV950-LABEL: func.func @nz(
// PAKV950:         %tile = ascend.ub_alloc "tile" at 0 : memref<2x1536xi8, #ascend.address_space<ub>>
// PAKV950:           ascend.load_transposed %kc[%src] -> %tile[%[[SLOT:.*]], %c0] blocks(%c3 x %count) gap(%gap)
// PAKV950-NOT:       ascend.transpose_blocks

// PAKV elsewhere: group-major loads and block transposes, 4 slots; a whole block fits a
// tile, so the group-major buffer takes all 4 and the token-major one a fifth.
// PAKV-LABEL: func.func @nz(
// PAKV:         %group_major = ascend.ub_alloc "group_major" at 0 : memref<4x1536xi8, #ascend.address_space<ub>>
// PAKV:           ascend.transpose_blocks %group_major

// BAD: {{^}}pakv-to-ascend: strategy=a3 names nothing: expected one of pakv, a2, ascend950
// NO3D: {{^}}cannot tile the runs of @nz for Ascend910B: nz=load3d needs the 3-D copy (DataCopy (GM -> UB, MultiCopyParams)), which Ascend910B does not have
