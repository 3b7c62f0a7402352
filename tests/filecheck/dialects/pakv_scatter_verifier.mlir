// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

// One case per static rule of the pakv.scatter verifier (SPEC section 8: section 3's rules
// adapted, shared with pakv.gather in pakv_dialect/kv_layout.py), each with its exact message.

// Caches are buffers of their own: both caches one value.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %kc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache is the same value as value_cache: an output of pakv.scatter must be a buffer of its own (it is written while the other operands are read)

// -----

// Caches are buffers of their own: a cache that is also an input.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %v) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache is the same value as value: an output of pakv.scatter must be a buffer of its own (it is written while the other operands are read)

// -----

// Ranks: tokens are 3-D in Norm.
func.func @f(%k: memref<6x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key must have rank 3, got rank 2 (memref<6x8xf16>)

// -----

// Ranks: tokens are 2-D in PA_NZ.
func.func @f(%k: memref<6x64xi8>, %v: memref<6x4x16xf16>, %s: memref<6xi32>, %kc: memref<4x2x2x32xi8>, %vc: memref<4x4x2x16xf16>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x64xi8>, memref<6x4x16xf16>, memref<6xi32> -> memref<4x2x2x32xi8>, memref<4x4x2x16xf16>
  func.return
}

// CHECK: {{^}}value must have rank 2, got rank 3 (memref<6x4x16xf16>)

// -----

// Ranks: slot_mapping is 1-D.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6x1xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6x1xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}slot_mapping must have rank 1, got rank 2 (memref<6x1xi32>)

// -----

// Ranks: caches are 4-D.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x8xf16>
  func.return
}

// CHECK: {{^}}value_cache must have rank 4, got rank 3 (memref<4x2x8xf16>)

// -----

// Static layout: the block size is static.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x?x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x?x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 1 (block_size) must be static, got '?'

// -----

// The caches agree on num_blocks.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<5x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<5x2x1x8xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 0 (num_blocks): expected 4, got 5

// -----

// The caches agree on the block size (PA_NZ: dim 2).
func.func @f(%k: memref<6x64xi8>, %v: memref<6x64xf16>, %s: memref<6xi32>, %kc: memref<4x2x2x32xi8>, %vc: memref<4x4x3x16xf16>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x64xi8>, memref<6x64xf16>, memref<6xi32> -> memref<4x2x2x32xi8>, memref<4x4x3x16xf16>
  func.return
}

// CHECK: {{^}}value_cache dim 2 (block_size): expected 2, got 3

// -----

// Element types: in the dtype table.
func.func @f(%k: memref<6x1x8xf64>, %v: memref<6x1x8xf64>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf64>, %vc: memref<4x2x1x8xf64>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf64>, memref<6x1x8xf64>, memref<6xi32> -> memref<4x2x1x8xf64>, memref<4x2x1x8xf64>
  func.return
}

// CHECK: {{^}}key_cache element type must be one of i8, ui8, i16, ui16, i32, ui32, f16, bf16, f32, f8E5M2, f8E4M3FN, !pakv.hifloat8, got f64

// -----

// Element types: one type for both caches in Norm.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xbf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xbf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xbf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xbf16>
  func.return
}

// CHECK: {{^}}value_cache element type must equal key_cache's f16 in Norm mode, got bf16

// -----

// NZ rows: dim 3 holds 32 bytes.
func.func @f(%k: memref<6x64xi8>, %v: memref<6x64xf16>, %s: memref<6xi32>, %kc: memref<4x4x2x16xi8>, %vc: memref<4x4x2x16xf16>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x64xi8>, memref<6x64xf16>, memref<6xi32> -> memref<4x4x2x16xi8>, memref<4x4x2x16xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 3 (ea) must hold one 32-byte NZ row: expected 32 elements of i8, got 16 (16 bytes)

// -----

// The token limit: 147456 bytes per token.
func.func @f(%k: memref<6x1x73730xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x73730xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x73730xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x73730xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key_cache: one token is 73730 x 2 = 147460 bytes, above the operator's limit of 147456 bytes

// -----

// Tokens have their cache's element type.
func.func @f(%k: memref<6x1x8xbf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xbf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key element type must equal key_cache's f16, got bf16

// -----

// Tokens: static inner dims.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x?xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x?xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}value dim 2 (head_size) must be static, got '?'

// -----

// Tokens hold one cache token (Norm: heads).
func.func @f(%k: memref<6x2x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x2x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key dim 1 (num_heads): expected 1, got 2

// -----

// Tokens hold one cache token (PA_NZ: H).
func.func @f(%k: memref<6x64xi8>, %v: memref<6x32xf16>, %s: memref<6xi32>, %kc: memref<4x2x2x32xi8>, %vc: memref<4x4x2x16xf16>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x64xi8>, memref<6x32xf16>, memref<6xi32> -> memref<4x2x2x32xi8>, memref<4x4x2x16xf16>
  func.return
}

// CHECK: {{^}}value dim 1 (H = cache dim 1 * dim 3): expected 64, got 32

// -----

// slot_mapping is i32 or i64.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi16>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi16> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}slot_mapping element type must be i32 or i64, got i16

// -----

// One slot per token: key dim 0 is slot_mapping's.
func.func @f(%k: memref<7x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<7x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}key dim 0 (num_tokens = slot_mapping dim 0): expected 6, got 7

// -----

// One slot per token: value dim 0 is slot_mapping's.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<5x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<5x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}value dim 0 (num_tokens = slot_mapping dim 0): expected 6, got 5

// -----

// Keys and values agree on num_tokens (slot_mapping dynamic).
func.func @f(%k: memref<6x1x8xf16>, %v: memref<5x1x8xf16>, %s: memref<?xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x1x8xf16>, memref<5x1x8xf16>, memref<?xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}value dim 0 (num_tokens): expected 6, got 5

// -----

// A static layout dimension is positive.
func.func @f(%k: memref<6x0x8xf16>, %v: memref<6x0x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x0x8xf16>, %vc: memref<4x2x0x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<6x0x8xf16>, memref<6x0x8xf16>, memref<6xi32> -> memref<4x2x0x8xf16>, memref<4x2x0x8xf16>
  func.return
}

// CHECK: {{^}}key_cache dim 2 (num_heads) must be positive, got 0

// -----

// SoC: known.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend999"} : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}unknown SoC 'Ascend999': expected one of Ascend910_95, Ascend910_93, Ascend910B, Ascend310B, Ascend310P, Ascend910, Ascend310

// -----

// SoC: runs the operator.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend310"} : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi32> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}ScatterPaKvCache is not supported on this SoC: Ascend310

// -----

// SoC: takes the KV dtype.
func.func @f(%k: memref<6x1x8xf32>, %v: memref<6x1x8xf32>, %s: memref<6xi32>, %kc: memref<4x2x1x8xf32>, %vc: memref<4x2x1x8xf32>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend910B"} : memref<6x1x8xf32>, memref<6x1x8xf32>, memref<6xi32> -> memref<4x2x1x8xf32>, memref<4x2x1x8xf32>
  func.return
}

// CHECK: {{^}}key_cache element type fp32 is not supported on Ascend910B (supported: bf16, fp16, int8)

// -----

// SoC: takes the index dtype.
func.func @f(%k: memref<6x1x8xf16>, %v: memref<6x1x8xf16>, %s: memref<6xi64>, %kc: memref<4x2x1x8xf16>, %vc: memref<4x2x1x8xf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend910_93"} : memref<6x1x8xf16>, memref<6x1x8xf16>, memref<6xi64> -> memref<4x2x1x8xf16>, memref<4x2x1x8xf16>
  func.return
}

// CHECK: {{^}}slot_mapping element type int64 is not supported on Ascend910_93 (supported: int32)

// -----

// A quantising map (SPEC section 8) must saturate: fptosi without the clamp is refused.
func.func @f(%k: memref<6x64xf16>, %v: memref<6x64xf16>, %s: memref<6xi32>, %kc: memref<4x2x2x32xi8>, %vc: memref<4x4x2x16xf16>, %p: memref<f32>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) key_params(%p : memref<f32>) : memref<6x64xf16>, memref<6x64xf16>, memref<6xi32> -> memref<4x2x2x32xi8>, memref<4x4x2x16xf16> key_map {
  ^bb0(%x: f16, %sc: f32):
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %sc : f32
    %r = math.roundeven %m : f32
    %q = arith.fptosi %r : f32 to i8
    pakv.yield %q : i8
  }
  func.return
}

// CHECK: {{^}}key_map: arith.fptosi to i8 must saturate (SPEC section 8): precede it by math.roundeven, then arith.maximumf and arith.minimumf with constant bounds inside [-128, 127]

// -----

// A clamp wider than the target's range would let the conversion overflow.
func.func @f(%k: memref<6x64xf16>, %v: memref<6x64xf16>, %s: memref<6xi32>, %kc: memref<4x2x2x32xf8E4M3FN>, %vc: memref<4x4x2x16xf16>, %p: memref<f32>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) key_params(%p : memref<f32>) : memref<6x64xf16>, memref<6x64xf16>, memref<6xi32> -> memref<4x2x2x32xf8E4M3FN>, memref<4x4x2x16xf16> key_map {
  ^bb0(%x: f16, %sc: f32):
    %lo = arith.constant -500.0 : f32
    %hi = arith.constant 448.0 : f32
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %sc : f32
    %a = arith.maximumf %m, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %q = arith.truncf %b : f32 to f8E4M3FN
    pakv.yield %q : f8E4M3FN
  }
  func.return
}

// CHECK: {{^}}key_map: arith.truncf to f8E4M3FN: the clamp [-500, 448] must lie inside [-448, 448], or the conversion overflows

// -----

// The SoC must run the quantisation's conversions: Ascend310P has no float -> float Cast
// with CAST_RINT (math.roundeven), so it cannot quantise to int8 exactly.
func.func @f(%k: memref<6x1x32xf16>, %v: memref<6x1x32xf16>, %s: memref<6xi32>, %kc: memref<4x2x1x32xi8>, %vc: memref<4x2x1x32xi8>, %p: memref<f32>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) key_params(%p : memref<f32>) value_params(%p : memref<f32>) {soc = "Ascend310P"} : memref<6x1x32xf16>, memref<6x1x32xf16>, memref<6xi32> -> memref<4x2x1x32xi8>, memref<4x2x1x32xi8> key_map {
  ^bb0(%x: f16, %sc: f32):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %sc : f32
    %r = math.roundeven %m : f32
    %a = arith.maximumf %r, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %q = arith.fptosi %b : f32 to i8
    pakv.yield %q : i8
  } value_map {
  ^bb0(%x: f16, %sc: f32):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %sc : f32
    %r = math.roundeven %m : f32
    %a = arith.maximumf %r, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %q = arith.fptosi %b : f32 to i8
    pakv.yield %q : i8
  }
  func.return
}

// CHECK: {{^}}key_map: math.roundeven: Ascend310P has no AscendC Cast from float to float with CAST_RINT (AscendC Cast docs)
