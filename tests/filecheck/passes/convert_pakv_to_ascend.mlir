// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p convert-pakv-to-ascend | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'convert-pakv-to-ascend{soc=Ascend310}' | filecheck %s --check-prefix=NO-SOC

// Norm with offsets: the walk over this core's tokens, sequence by sequence, run by
// run. A valid run is one ascend.copy_run per stream (keys, then values), which
// threads the runs' cursor; an invalid one (column past the table, block id out of
// range) one ascend.zero_run per stream. How the runs' bytes move is left to
// ascend-tile-runs. The arithmetic is built as it reads (%col = 0 + %block below, when
// there is no offset); canonicalize folds it in pakv-to-ascend.
func.func @norm(%kc: memref<?x16x2x8xf16>, %vc: memref<?x16x1x6xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %so: memref<?xi32>, %ko: memref<?x2x8xf16>, %vo: memref<?x1x6xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<?x16x2x8xf16>, memref<?x16x1x6xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x2x8xf16>, memref<?x1x6xf16>
  func.return
}

// CHECK-LABEL: func.func @norm(
// CHECK-SAME:    %kc: memref<?x16x2x8xf16, #ascend.address_space<gm>>
// CHECK-SAME:    %vo: memref<?x1x6xf16, #ascend.address_space<gm>>)
// CHECK-SAME:    attributes {ascend.kernel, ascend.soc = "Ascend910B", ascend.launch = {{.*}}} {
// CHECK-NOT:     ascend.ub_alloc
// CHECK:         %batch = ascend.get_tiling "batch"
// CHECK-NEXT:    %table_width = ascend.get_tiling "table_width"
// CHECK-NEXT:    %num_blocks = ascend.get_tiling "num_blocks"
// CHECK-NEXT:    %num_tokens = ascend.get_tiling "num_tokens"
// CHECK-NEXT:    %token_begin, %token_end = ascend.core_tokens {ascend.note = "This core's tokens: {{.*}}"}
// CHECK-NEXT:    %write_end = arith.minui %token_end, %num_tokens : index
// CHECK-NEXT:    %has_tokens = arith.cmpi ult, %token_begin, %write_end : index
// CHECK-NEXT:    scf.if %has_tokens {
// CHECK-NEXT:      %{{.*}} = scf.while (%seq = %c0, %start = %c0, %slot = %c0) : (index, index, index) -> (index, index, index) {
// CHECK:             %more = arith.andi
// CHECK-NEXT:        scf.condition(%more) %seq, %start, %slot : index, index, index
// CHECK-NEXT:      } do {
// CHECK-NEXT:      ^bb0(%seq_1: index, %start_1: index, %slot_1: index):
// CHECK-NEXT:        %[[RAW:.*]] = ascend.load_scalar %sl[%seq_1] : memref<?xi32, #ascend.address_space<gm>> -> i32
// CHECK-NEXT:        %raw_len = arith.index_cast %[[RAW]] : i32 to index
// CHECK-NEXT:        %len = arith.maxsi %raw_len, %c0 : index
// CHECK-NEXT:        %end = arith.addi %start_1, %len : index
// CHECK-NEXT:        %lo = arith.maxui %start_1, %token_begin : index
// CHECK-NEXT:        %hi = arith.minui %end, %write_end : index
// CHECK-NEXT:        %overlaps = arith.cmpi ult, %lo, %hi : index
// CHECK-NEXT:        %slot_2 = scf.if %overlaps -> (index) {
// CHECK-NEXT:          %first_pos = arith.subi %lo, %start_1 {ascend.note = "This sequence's tokens [lo, hi), run by run{{.*}}"} : index
// CHECK-NEXT:          %end_pos = arith.subi %hi, %start_1 : index
// CHECK-NEXT:          %[[OFF:.*]] = ascend.load_scalar %so[%seq_1]
// CHECK-NEXT:          %offset = arith.index_cast %[[OFF]] : i32 to index
// CHECK-NEXT:          %negative_offset = arith.cmpi slt, %offset, %c0 : index
// CHECK-NEXT:          %[[COL0:.*]] = arith.divui %offset, %c16 : index
// CHECK-NEXT:          %first_col = arith.select %negative_offset, %table_width, %[[COL0]] : index
// CHECK-NEXT:          %first_block = arith.divui %first_pos, %c16 : index
// CHECK-NEXT:          %[[LAST:.*]] = arith.addi %end_pos, %c15 : index
// CHECK-NEXT:          %end_block = arith.divui %[[LAST]], %c16 : index
// CHECK-NEXT:          %slot_3 = scf.for %block = %first_block to %end_block step %c1 iter_args(%slot_4 = %slot_1) -> (index) {
// CHECK-NEXT:            %block_first = arith.muli %block, %c16 : index
// CHECK-NEXT:            %run_first = arith.maxui %block_first, %first_pos : index
// CHECK-NEXT:            %block_pos = arith.remui %run_first, %c16 : index
// CHECK-NEXT:            %room = arith.subi %c16, %block_pos : index
// CHECK-NEXT:            %[[LEFT:.*]] = arith.subi %end_pos, %run_first : index
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
// CHECK-NEXT:            %token = arith.addi %start_1, %run_first : index
// CHECK-NEXT:            %valid_block = arith.cmpi ult, %blk, %num_blocks : index
// CHECK-NEXT:            %slot_5 = scf.if %valid_block -> (index) {
// CHECK-NEXT:              %slot_6 = ascend.copy_run Norm %kc[%blk, %block_pos] -> %ko[%token] count(%count) cursor(%slot_4) {ascend.note = "Keys"} : memref<?x16x2x8xf16, #ascend.address_space<gm>> -> memref<?x2x8xf16, #ascend.address_space<gm>>
// CHECK-NEXT:              %slot_7 = ascend.copy_run Norm %vc[%blk, %block_pos] -> %vo[%token] count(%count) cursor(%slot_6) {ascend.note = "Values"} : memref<?x16x1x6xf16, #ascend.address_space<gm>> -> memref<?x1x6xf16, #ascend.address_space<gm>>
// CHECK-NEXT:              scf.yield %slot_7 : index
// CHECK-NEXT:            } else {
// CHECK-NEXT:              ascend.zero_run %ko[%token] count(%count) {ascend.note = "No valid block {{.*}}"} : memref<?x2x8xf16, #ascend.address_space<gm>>
// CHECK-NEXT:              ascend.zero_run %vo[%token] count(%count) : memref<?x1x6xf16, #ascend.address_space<gm>>
// CHECK-NEXT:              scf.yield %slot_4 : index
// CHECK-NEXT:            }
// CHECK-NEXT:            scf.yield %slot_5 : index
// CHECK-NEXT:          }
// CHECK-NEXT:          scf.yield %slot_3 : index
// CHECK-NEXT:        } else {
// CHECK-NEXT:          scf.yield %slot_1 : index
// CHECK-NEXT:        }
// CHECK-NEXT:        %next_seq = arith.addi %seq_1, %c1 : index
// CHECK-NEXT:        scf.yield %next_seq, %end, %slot_2 : index, index, index
// CHECK-NEXT:      } attributes {ascend.note = "Walk the sequences in token order, up to this core's last token."}
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return
// CHECK-NOT:     pakv.gather

// -----

// PA_NZ, cumsum, int8 values with fp16 keys, no offsets: a length is the difference of
// two running totals, every sequence starts at table column 0, and the runs carry the
// layout (a PA_NZ cache row holds 32 bytes: 16 fp16 or 32 int8 elements).
func.func @nz(%kc: memref<?x4x16x16xf16>, %vc: memref<?x2x16x32xi8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x64xf16>, %vo: memref<?x64xi8>) {
  pakv.gather PA_NZ cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x4x16x16xf16>, memref<?x2x16x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<?x64xf16>, memref<?x64xi8>
  func.return
}

// CHECK-LABEL: func.func @nz(
// CHECK:           ^bb0(%seq_1: index, %start_1: index, %slot_1: index):
// CHECK-NEXT:        %[[HERE:.*]] = ascend.load_scalar %sl[%seq_1]
// CHECK-NEXT:        %cumsum = arith.index_cast %[[HERE]] : i32 to index
// CHECK-NEXT:        %[[NEXT:.*]] = arith.addi %seq_1, %c1 : index
// CHECK-NEXT:        %[[THERE:.*]] = ascend.load_scalar %sl[%[[NEXT]]]
// CHECK-NEXT:        %next_cumsum = arith.index_cast %[[THERE]] : i32 to index
// CHECK-NEXT:        %raw_len = arith.subi %next_cumsum, %cumsum : index
// CHECK-NEXT:        %len = arith.maxsi %raw_len, %c0 : index
// CHECK:               %col = arith.addi %c0, %block : index
// CHECK-NEXT:          %in_table = arith.cmpi ult, %col, %table_width : index
// CHECK:               %slot_6 = ascend.copy_run PA_NZ %kc[%blk, %block_pos] -> %ko[%token] count(%count) cursor(%slot_4) {ascend.note = "Keys"} : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<?x64xf16, #ascend.address_space<gm>>
// CHECK-NEXT:          %slot_7 = ascend.copy_run PA_NZ %vc[%blk, %block_pos] -> %vo[%token] count(%count) cursor(%slot_6) {ascend.note = "Values"} : memref<?x2x16x32xi8, #ascend.address_space<gm>> -> memref<?x64xi8, #ascend.address_space<gm>>
// CHECK:               ascend.zero_run %ko[%token] count(%count)
// CHECK-NEXT:          ascend.zero_run %vo[%token] count(%count)

// -----

// Blocks of one token: every run is one token at position 0 of its block.
func.func @one_token_blocks(%kc: memref<?x1x1x16xf16>, %vc: memref<?x1x1x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x1x16xf16>, %vo: memref<?x1x16xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x1x1x16xf16>, memref<?x1x1x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x1x16xf16>, memref<?x1x16xf16>
  func.return
}

// CHECK-LABEL: func.func @one_token_blocks(
// CHECK:             %block_first = arith.muli %block, %c1 : index
// CHECK-NEXT:        %run_first = arith.maxui %block_first, %first_pos : index
// CHECK-NEXT:        %[[LEFT:.*]] = arith.subi %end_pos, %run_first : index
// CHECK-NEXT:        %count = arith.minui %c1, %[[LEFT]] : index
// CHECK:             ascend.copy_run Norm %kc[%blk, %c0] -> %ko[%token] count(%count)

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

// -----

// pakv.scatter: this core's tokens, slot by slot. A slot in the cache starts a run as
// long as the next slots continue it inside the block (ascend.run_length), moved into
// the cache by one ascend.copy_run per stream in the scatter direction (the arrow goes
// from the tokens to the cache); a slot outside the cache is skipped, one token on.
// The kernel reads the scatter's tiling (ascend.tiling).
func.func @scatter(%k: memref<?x2x64xbf16>, %v: memref<?x2x64xbf16>, %s: memref<?xi32>, %kc: memref<?x16x2x64xbf16>, %vc: memref<?x16x2x64xbf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<?x2x64xbf16>, memref<?x2x64xbf16>, memref<?xi32> -> memref<?x16x2x64xbf16>, memref<?x16x2x64xbf16>
  func.return
}

// CHECK-LABEL: func.func @scatter(
// CHECK-SAME:    attributes {ascend.kernel, ascend.soc = "Ascend910B", ascend.tiling = "scatter", ascend.launch = "scatter", ascend.roles = ["key", "value", "slot_mapping", "key_cache", "value_cache"]}
// CHECK:         %num_tokens = ascend.get_tiling "num_tokens"
// CHECK-NEXT:    %num_blocks = ascend.get_tiling "num_blocks"
// CHECK-NEXT:    %token_begin, %token_end = ascend.core_tokens
// CHECK-NEXT:    %write_end = arith.minui %token_end, %num_tokens : index
// CHECK-NEXT:    %num_slots = arith.muli %num_blocks, %c16 : index
// CHECK-NEXT:    %has_tokens = arith.cmpi ult, %token_begin, %write_end : index
// CHECK-NEXT:    scf.if %has_tokens {
// CHECK-NEXT:      %{{.*}}, %{{.*}} = scf.while (%token = %token_begin, %slot = %c0) : (index, index) -> (index, index) {
// CHECK-NEXT:        %more = arith.cmpi ult, %token, %write_end : index
// CHECK-NEXT:        scf.condition(%more) %token, %slot : index, index
// CHECK-NEXT:      } do {
// CHECK-NEXT:      ^bb0(%token_1: index, %slot_1: index):
// CHECK-NEXT:        %[[RAW:.*]] = ascend.load_scalar %s[%token_1] : memref<?xi32, #ascend.address_space<gm>> -> i32
// CHECK-NEXT:        %cache_slot = arith.index_cast %[[RAW]] : i32 to index
// CHECK-NEXT:        %in_cache = arith.cmpi ult, %cache_slot, %num_slots : index
// CHECK-NEXT:        %next_token, %slot_2 = scf.if %in_cache -> (index, index) {
// CHECK-NEXT:          %blk = arith.divui %cache_slot, %c16 : index
// CHECK-NEXT:          %block_pos = arith.remui %cache_slot, %c16 : index
// CHECK-NEXT:          %room = arith.subi %c16, %block_pos : index
// CHECK-NEXT:          %[[LEFT:.*]] = arith.subi %write_end, %token_1 : index
// CHECK-NEXT:          %limit = arith.minui %room, %[[LEFT]] : index
// CHECK-NEXT:          %count = ascend.run_length %s[%token_1] from(%cache_slot) limit(%limit)
// CHECK-NEXT:          %slot_3 = ascend.copy_run Norm %k[%token_1] -> %kc[%blk, %block_pos] count(%count) cursor(%slot_1) {ascend.note = "Keys"}
// CHECK-NEXT:          %slot_4 = ascend.copy_run Norm %v[%token_1] -> %vc[%blk, %block_pos] count(%count) cursor(%slot_3) {ascend.note = "Values"}
// CHECK-NEXT:          %next_token_1 = arith.addi %token_1, %count : index
// CHECK-NEXT:          scf.yield %next_token_1, %slot_4 : index, index
// CHECK-NEXT:        } else {
// CHECK-NEXT:          %next_token_2 = arith.addi %token_1, %c1 : index
// CHECK-NEXT:          scf.yield %next_token_2, %slot_1 : index, index
// CHECK-NEXT:        }
// CHECK-NEXT:        scf.yield %next_token, %slot_2 : index, index
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// -----

// The scatter checks the SoC table too.
func.func @scatter_int64_on_910b(%k: memref<?x1x8xf16>, %v: memref<?x1x8xf16>, %s: memref<?xi64>, %kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<?x1x8xf16>, memref<?x1x8xf16>, memref<?xi64> -> memref<?x4x1x8xf16>, memref<?x4x1x8xf16>
  func.return
}

// CHECK: slot_mapping element type int64 is not supported on Ascend910B (supported: int32)

// -----

// A scatter's kernel function holds nothing else either.
func.func @scatter_with_other_ops(%k: memref<?x1x8xf16>, %v: memref<?x1x8xf16>, %s: memref<?xi32>, %kc: memref<?x4x1x8xf16>, %vc: memref<?x4x1x8xf16>) {
  %zero = arith.constant 0 : index
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<?x1x8xf16>, memref<?x1x8xf16>, memref<?xi32> -> memref<?x4x1x8xf16>, memref<?x4x1x8xf16>
  func.return
}

// CHECK: @scatter_with_other_ops becomes a device kernel: it may hold only pakv.scatter and an empty func.return, found arith.constant

// -----

// Strided caches (SPEC section 9) are read in place: their layouts move to GM unchanged.
// The keys' block stride is dynamic, so the kernel reads it from its tiling (bytes) and
// every key run takes it; the values' static stride stays in their type.
func.func @strided(%kc: memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>>, %vc: memref<?x16x1x6xf16, strided<[1024, 6, 6, 1]>>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x2x8xf16>, %vo: memref<?x1x6xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>>, memref<?x16x1x6xf16, strided<[1024, 6, 6, 1]>>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x8xf16>, memref<?x1x6xf16>
  func.return
}

// CHECK-LABEL: func.func @strided(
// CHECK-SAME:    %kc: memref<?x16x2x8xf16, strided<[?, 16, 8, 1]>, #ascend.address_space<gm>>
// CHECK-SAME:    %vc: memref<?x16x1x6xf16, strided<[1024, 6, 6, 1]>, #ascend.address_space<gm>>
// CHECK:         %key_block_stride = ascend.get_tiling "key_block_stride"
// CHECK-NOT:     ascend.get_tiling "value_block_stride"
// CHECK:         ascend.copy_run Norm %kc[%blk, %block_pos] stride(%key_block_stride) -> %ko[%token]
// CHECK-NEXT:    ascend.copy_run Norm %vc[%blk, %block_pos] -> %vo[%token]
