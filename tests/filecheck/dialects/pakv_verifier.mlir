// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

// One case per static rule of the pakv.gather verifier (SPEC sections 3 and 9), each
// with its exact message: the operand, the dimension, what was expected, what was given.

// Outputs are buffers of their own: both outputs one value.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %ko) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out is the same value as value_out: an output of pakv.gather must be a buffer of its own (it is written while the other operands are read)

// -----

// Outputs are buffers of their own: an output that is also an input (whatever its type).
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %bt) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<2x3xi32>
  func.return
}

// CHECK: {{^}}value_out is the same value as block_tables: an output of pakv.gather must be a buffer of its own (it is written while the other operands are read)

// -----

// Ranks: caches are 4-D.
func.func @f(%kc: memref<2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache must have rank 4, got rank 3 (memref<2x1x8xf16>)

// -----

// Ranks: blockTables is 2-D.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<6xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<6xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}block_tables must have rank 2, got rank 1 (memref<6xi32>)

// -----

// Ranks: seqLens is 1-D.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2x1xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2x1xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_lens must have rank 1, got rank 2 (memref<2x1xi32>)

// -----

// Ranks: seqOffset is 1-D.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %so: memref<2x1xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32>, memref<2x1xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_offset must have rank 1, got rank 2 (memref<2x1xi32>)

// -----

// Ranks: outputs are 3-D in Norm.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out must have rank 3, got rank 2 (memref<6x8xf16>)

// -----

// Ranks: outputs are 2-D in PA_NZ.
func.func @f(%kc: memref<4x2x2x32xi8>, %vc: memref<4x1x2x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x64xi8>, %vo: memref<6x1x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x32xi8>, memref<4x1x2x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x64xi8>, memref<6x1x16xf16>
  func.return
}

// CHECK: {{^}}value_out must have rank 2, got rank 3 (memref<6x1x16xf16>)

// -----

// seqLens has batch entries.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<3xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<3xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_lens dim 0 must be batch = 2, got 3

// -----

// seqLens has batch + 1 entries when cumsum.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_lens dim 0 must be batch + 1 (cumsum) = 3, got 2

// -----

// seqOffset has batch entries.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %so: memref<3xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32>, memref<3xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_offset dim 0 (batch): expected 2, got 3

// -----

// Layout dims of a cache are static.
func.func @f(%kc: memref<4x?x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x?x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 1 (block_size) must be static, got '?'

// -----

// Output dims after num_tokens are static.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x?xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x?xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out dim 2 (head_size) must be static, got '?'

// -----

// Norm: caches agree on num_blocks.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<5x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<5x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 0 (num_blocks): expected 4, got 5

// -----

// Norm: caches agree on block_size.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x3x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x3x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 1 (block_size): expected 2, got 3

// -----

// PA_NZ: caches agree on num_blocks.
func.func @f(%kc: memref<4x2x2x32xi8>, %vc: memref<5x1x2x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x64xi8>, %vo: memref<6x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x32xi8>, memref<5x1x2x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x64xi8>, memref<6x16xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 0 (num_blocks): expected 4, got 5

// -----

// PA_NZ: caches agree on block_size (dim 2).
func.func @f(%kc: memref<4x2x2x32xi8>, %vc: memref<4x1x3x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x64xi8>, %vo: memref<6x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x32xi8>, memref<4x1x3x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x64xi8>, memref<6x16xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 2 (block_size): expected 2, got 3

// -----

// Element types the operator does not take.
func.func @f(%kc: memref<4x2x1x8xf64>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf64>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf64>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf64>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache element type must be one of i8, ui8, i16, ui16, i32, ui32, f16, bf16, f32, f8E5M2, f8E4M3FN, !pakv.hifloat8, got f64

// -----

// keyRef has keyCache's element type.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xbf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xbf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out element type must equal key_cache's f16, got bf16

// -----

// valueRef has valueCache's element type.
func.func @f(%kc: memref<4x2x2x32xi8>, %vc: memref<4x1x2x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x64xi8>, %vo: memref<6x16xbf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x32xi8>, memref<4x1x2x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x64xi8>, memref<6x16xbf16>
  func.return
}

// CHECK: {{^}}value_out element type must equal value_cache's f16, got bf16

// -----

// Norm: keys and values share one element type.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xbf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xbf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xbf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xbf16>
  func.return
}

// CHECK: {{^}}value_cache element type must equal key_cache's f16 in Norm mode, got bf16

// -----

// Index element types are i32 or i64.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi16>, %sl: memref<2xi16>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi16>, memref<2xi16> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}block_tables element type must be i32 or i64, got i16

// -----

// seqLens has blockTables' element type.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi64>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi64> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_lens element type must equal block_tables' i32, got i64

// -----

// seqOffset has blockTables' element type.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %so: memref<2xi64>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32>, memref<2xi64> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}seq_offset element type must equal block_tables' i32, got i64

// -----

// PA_NZ: dim 3 holds one 32-byte row.
func.func @f(%kc: memref<4x2x2x16xi8>, %vc: memref<4x1x2x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x32xi8>, %vo: memref<6x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x16xi8>, memref<4x1x2x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x32xi8>, memref<6x16xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 3 (ea) must hold one 32-byte NZ row: expected 32 elements of i8, got 16 (16 bytes)

// -----

// PA_NZ: outputs hold H = dim 1 * dim 3 elements.
func.func @f(%kc: memref<4x2x2x32xi8>, %vc: memref<4x1x2x16xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x32xi8>, %vo: memref<6x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x32xi8>, memref<4x1x2x16xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x32xi8>, memref<6x16xf16>
  func.return
}

// CHECK: {{^}}key_out dim 1 (H = cache dim 1 * dim 3): expected 64, got 32

// -----

// Norm: keyRef dim 1 is num_heads.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x2x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x2x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out dim 1 (num_heads): expected 1, got 2

// -----

// Norm: valueRef dim 2 is head_size.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x4xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x4xf16>
  func.return
}

// CHECK: {{^}}value_out dim 2 (head_size): expected 8, got 4

// -----

// Outputs agree on num_tokens.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<7x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<7x1x8xf16>
  func.return
}

// CHECK: {{^}}value_out dim 0 (num_tokens): expected 6, got 7

// -----

// One token is at most 147456 bytes.
func.func @f(%kc: memref<4x2x2x36865xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x2x36865xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x2x36865xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x2x36865xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache: one token is 73730 x 2 = 147460 bytes, above the operator's limit of 147456 bytes

// -----

// Static layout dims are positive.
func.func @f(%kc: memref<4x2x0x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x0x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x0x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x0x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 2 (num_heads) must be positive, got 0

// -----

// The SoC exists.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend999"} : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}unknown SoC 'Ascend999': expected one of Ascend910_95, Ascend910_93, Ascend910B, Ascend310B, Ascend310P, Ascend910, Ascend310

// -----

// Ascend310 does not run the operator.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend310"} : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}GatherPaKvCache is not supported on this SoC: Ascend310

// -----

// The SoC takes the KV element type.
func.func @f(%kc: memref<4x2x1x8xf32>, %vc: memref<4x2x1x8xf32>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf32>, %vo: memref<6x1x8xf32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910B"} : memref<4x2x1x8xf32>, memref<4x2x1x8xf32>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf32>, memref<6x1x8xf32>
  func.return
}

// CHECK: {{^}}key_cache element type fp32 is not supported on Ascend910B (supported: bf16, fp16, int8)

// -----

// The SoC takes the index element type.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi64>, %sl: memref<2xi64>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910_93"} : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi64>, memref<2xi64> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}block_tables element type int64 is not supported on Ascend910_93 (supported: int32)

// -----

// Fused consumers (SPEC section 7): the body's result is the output's element type.
func.func @f(%kc: memref<4x2x1x32xi8>, %vc: memref<4x2x1x32xi8>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xf16>, %vo: memref<6x1x32xi8>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x32xi8>, memref<4x2x1x32xi8>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xf16>, memref<6x1x32xi8> key_map {
  ^bb0(%x: i8):
    %f = arith.sitofp %x : i8 to f32
    pakv.yield %f : f32
  }
  func.return
}

// CHECK: {{^}}key_map: the body's result is f32, the stream's is f16

// -----

// Fused consumers: a parameter is per tensor or per channel (the token's inner dims).
func.func @f(%kc: memref<4x2x1x32xi8>, %vc: memref<4x2x1x32xi8>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xf16>, %vo: memref<6x1x32xi8>, %s: memref<32xf32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) key_params(%s : memref<32xf32>) : memref<4x2x1x32xi8>, memref<4x2x1x32xi8>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xf16>, memref<6x1x32xi8> key_map {
  ^bb0(%x: i8, %sc: f32):
    %f = arith.sitofp %x : i8 to f32
    %m = arith.mulf %f, %sc : f32
    %r = arith.truncf %m : f32 to f16
    pakv.yield %r : f16
  }
  func.return
}

// CHECK: {{^}}key_map parameter #0 must be per tensor (memref<f32>) or per channel (memref<1x32xf32>, the token's inner dims), got memref<32xf32>

// -----

// Fused consumers: every float32 op rounds on its own (no fastmath contraction).
func.func @f(%kc: memref<4x2x1x32xi8>, %vc: memref<4x2x1x32xi8>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xf16>, %vo: memref<6x1x32xi8>, %s: memref<f32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) key_params(%s : memref<f32>) : memref<4x2x1x32xi8>, memref<4x2x1x32xi8>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xf16>, memref<6x1x32xi8> key_map {
  ^bb0(%x: i8, %sc: f32):
    %f = arith.sitofp %x : i8 to f32
    %m = arith.mulf %f, %sc fastmath<contract> : f32
    %r = arith.truncf %m : f32 to f16
    pakv.yield %r : f16
  }
  func.return
}

// CHECK: {{^}}key_map: arith.mulf has fastmath flags #arith.fastmath<contract>: SPEC section 7 rounds every float32 op on its own (no contraction, no reassociation)

// -----

// Fused consumers: arithmetic is float32, after the conversion.
func.func @f(%kc: memref<4x2x1x32xf16>, %vc: memref<4x2x1x32xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xf16>, %vo: memref<6x1x32xf16>, %s: memref<f32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) value_params(%s : memref<f32>) : memref<4x2x1x32xf16>, memref<4x2x1x32xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xf16>, memref<6x1x32xf16>
  func.return
}

// CHECK: {{^}}value_params are the parameters of value_map, which is absent

// -----

// Fused consumers: the SoC must be able to cast (SocInfo.casts, the AscendC Cast docs):
// the Atlas inference series has no float -> bfloat16.
func.func @f(%kc: memref<4x2x1x32xi8>, %vc: memref<4x2x1x32xi8>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xbf16>, %vo: memref<6x1x32xi8>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend310P"} : memref<4x2x1x32xi8>, memref<4x2x1x32xi8>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xbf16>, memref<6x1x32xi8> key_map {
  ^bb0(%x: i8):
    %f = arith.sitofp %x : i8 to f32
    %r = arith.truncf %f : f32 to bf16
    pakv.yield %r : bf16
  }
  func.return
}

// CHECK: {{^}}key_map: arith.truncf f32 to bf16: Ascend310P has no AscendC Cast from float to bfloat16_t, directly or through an exact intermediate type (AscendC Cast docs)

// -----

// Fused consumers: SPEC section 7 does not dequantise int32, uint32 or fp32.
func.func @f(%kc: memref<4x2x1x32xf32>, %vc: memref<4x2x1x32xf32>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x32xf16>, %vo: memref<6x1x32xf32>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x32xf32>, memref<4x2x1x32xf32>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x32xf16>, memref<6x1x32xf32> key_map {
  ^bb0(%x: f32):
    %r = arith.truncf %x : f32 to f16
    pakv.yield %r : f16
  }
  func.return
}

// CHECK: {{^}}key_map: a body dequantises int8, uint8, int16, uint16, fp16, bf16, fp8_e5m2, fp8_e4m3fn, hifloat8 (SPEC section 7), got f32: int32, uint32 and fp32 are not exact in float32 or have nothing to gain

// -----

// HiFloat8 converts with pakv.extf (arith does not know it). A body is a chain: each value
// is used once, by the next op.
func.func @f(%kc: memref<4x2x8x32x!pakv.hifloat8>, %vc: memref<4x2x8x32x!pakv.hifloat8>, %bt: memref<2x3xi64>, %sl: memref<2xi64>, %ko: memref<6x64xbf16>, %vo: memref<6x64x!pakv.hifloat8>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910_95"} : memref<4x2x8x32x!pakv.hifloat8>, memref<4x2x8x32x!pakv.hifloat8>, memref<2x3xi64>, memref<2xi64> -> memref<6x64xbf16>, memref<6x64x!pakv.hifloat8> key_map {
  ^bb0(%x: !pakv.hifloat8):
    %f = pakv.extf %x : !pakv.hifloat8 to f32
    %g = pakv.extf %x : !pakv.hifloat8 to f32
    %a = arith.addf %f, %g : f32
    %u = arith.truncf %a : f32 to bf16
    pakv.yield %u : bf16
  }
  func.return
}

// CHECK: {{^}}key_map: a body is a chain: each value is used once, by the next op (pakv.extf does not use the previous result alone)

// -----

// Memory (SPEC section 9): every operand is in global memory, none in UB.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16, #ascend.address_space<ub>>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16, #ascend.address_space<ub>>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache must be in global memory (no memory space, or #ascend.address_space<gm>), got #ascend.address_space<ub>

// -----

// Layouts: a cache may be strided only along its first axis; the issue's example strides every axis.
func.func @f(%kc: memref<4x2x1x8xf16, strided<[128, 16, 8, 2]>>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16, strided<[128, 16, 8, 2]>>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache layout must keep every dim but the first (num_blocks) dense: expected strided<[s, 8, 8, 1]> (s static or ?), got strided<[128, 16, 8, 2]>

// -----

// Layouts: a cache view starts at its first element.
func.func @f(%kc: memref<4x2x1x8xf16, strided<[32, 8, 8, 1], offset: 16>>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16, strided<[32, 8, 8, 1], offset: 16>>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache layout must start at its first element (offset 0), got offset 16

// -----

// Layouts: blocks are 32-byte aligned apart: 24 fp16 elements are 48 bytes.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16, strided<[24, 8, 8, 1]>>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16, strided<[24, 8, 8, 1]>>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 0 (num_blocks) stride must be a non-negative multiple of 32 bytes, got 24 elements of 2 byte(s)

// -----

// Layouts: blocks do not run backwards.
func.func @f(%kc: memref<4x2x1x8xf16, strided<[-32, 8, 8, 1]>>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16, strided<[-32, 8, 8, 1]>>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 0 (num_blocks) stride must be a non-negative multiple of 32 bytes, got -32 elements of 2 byte(s)

// -----

// Layouts: only a cache may be strided; an output is dense.
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16, strided<[16, 8, 1]>>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16, strided<[16, 8, 1]>>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}key_out must be dense (no layout), got strided<[16, 8, 1]>

// -----

// Layouts: a table is dense too (an affine map that is not the identity).
func.func @f(%kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>, %bt: memref<2x3xi32, affine_map<(d0, d1) -> (d1, d0)>>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16>, memref<4x2x1x8xf16>, memref<2x3xi32, affine_map<(d0, d1) -> (d1, d0)>>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}block_tables must be dense (no layout), got affine_map<(d0, d1) -> (d1, d0)>
