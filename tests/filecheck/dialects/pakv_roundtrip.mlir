// RUN: PAKV_ROUNDTRIP
// RUN: PAKV_GENERIC_ROUNDTRIP

// Norm, the original document's C example shapes.
func.func @norm(%kc: memref<2x2x32x2xf16>, %vc: memref<2x2x32x4xf16>, %bt: memref<4x6xi32>, %sl: memref<4xi32>, %ko: memref<12x32x2xf16>, %vo: memref<12x32x4xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32> -> memref<12x32x2xf16>, memref<12x32x4xf16>
  func.return
}

// CHECK-LABEL: func.func @norm
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32> -> memref<12x32x2xf16>, memref<12x32x4xf16>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "norm"
// CHECK-GENERIC:         "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode Norm>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}> : (memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32>, memref<12x32x2xf16>, memref<12x32x4xf16>) -> ()

// -----

// PA_NZ: int8 keys (ea = 32) with fp16 values (ea = 16); H = 128 for both.
func.func @pa_nz(%kc: memref<8x4x16x32xi8>, %vc: memref<8x8x16x16xf16>, %bt: memref<2x4xi32>, %sl: memref<2xi32>, %ko: memref<64x128xi8>, %vo: memref<64x128xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<8x4x16x32xi8>, memref<8x8x16x16xf16>, memref<2x4xi32>, memref<2xi32> -> memref<64x128xi8>, memref<64x128xf16>
  func.return
}

// CHECK-LABEL: func.func @pa_nz
// CHECK-NEXT:    pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<8x4x16x32xi8>, memref<8x8x16x16xf16>, memref<2x4xi32>, memref<2xi32> -> memref<64x128xi8>, memref<64x128xf16>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode PA_NZ>,

// -----

// Cumulative seqLens: batch + 1 entries.
func.func @cumsum(%kc: memref<4x16x2x64xbf16>, %vc: memref<4x16x2x64xbf16>, %bt: memref<3x2xi32>, %sl: memref<4xi32>, %ko: memref<96x2x64xbf16>, %vo: memref<96x2x64xbf16>) {
  pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x16x2x64xbf16>, memref<4x16x2x64xbf16>, memref<3x2xi32>, memref<4xi32> -> memref<96x2x64xbf16>, memref<96x2x64xbf16>
  func.return
}

// CHECK-LABEL: func.func @cumsum
// CHECK-NEXT:    pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x16x2x64xbf16>, memref<4x16x2x64xbf16>, memref<3x2xi32>, memref<4xi32> -> memref<96x2x64xbf16>, memref<96x2x64xbf16>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode Norm>, seq_lens_cumsum, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}>

// -----

// seqOffset: the optional operand sits between lens and the outputs.
func.func @offsets(%kc: memref<2x2x32x2xf16>, %vc: memref<2x2x32x4xf16>, %bt: memref<4x6xi32>, %sl: memref<4xi32>, %so: memref<4xi32>, %ko: memref<12x32x2xf16>, %vo: memref<12x32x4xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32>, memref<4xi32> -> memref<12x32x2xf16>, memref<12x32x4xf16>
  func.return
}

// CHECK-LABEL: func.func @offsets
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32>, memref<4xi32> -> memref<12x32x2xf16>, memref<12x32x4xf16>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %so, %ko, %vo) <{cache_mode = #pakv<cache_mode Norm>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}>

// -----

// Dynamic num_blocks, batch, max_blocks_per_seq and num_tokens, with cumsum and offsets.
func.func @dynamic(%kc: memref<?x128x16x144xf16>, %vc: memref<?x128x16x128xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %so: memref<?xi32>, %ko: memref<?x16x144xf16>, %vo: memref<?x16x128xf16>) {
  pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<?x128x16x144xf16>, memref<?x128x16x128xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x16x144xf16>, memref<?x16x128xf16>
  func.return
}

// CHECK-LABEL: func.func @dynamic
// CHECK-NEXT:    pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<?x128x16x144xf16>, memref<?x128x16x128xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x16x144xf16>, memref<?x16x128xf16>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %so, %ko, %vo) <{cache_mode = #pakv<cache_mode Norm>, seq_lens_cumsum, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}> : (memref<?x128x16x144xf16>, memref<?x128x16x128xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32>, memref<?x16x144xf16>, memref<?x16x128xf16>) -> ()

// -----

// HiFloat8 in PA_NZ (one byte: ea = 32) with 64-bit indices on Ascend910_95.
func.func @hifloat8(%kc: memref<?x2x8x32x!pakv.hifloat8>, %vc: memref<?x2x8x32x!pakv.hifloat8>, %bt: memref<?x?xi64>, %sl: memref<?xi64>, %ko: memref<?x64x!pakv.hifloat8>, %vo: memref<?x64x!pakv.hifloat8>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910_95"} : memref<?x2x8x32x!pakv.hifloat8>, memref<?x2x8x32x!pakv.hifloat8>, memref<?x?xi64>, memref<?xi64> -> memref<?x64x!pakv.hifloat8>, memref<?x64x!pakv.hifloat8>
  func.return
}

// CHECK-LABEL: func.func @hifloat8
// CHECK-NEXT:    pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) {soc = "Ascend910_95"} : memref<?x2x8x32x!pakv.hifloat8>, memref<?x2x8x32x!pakv.hifloat8>, memref<?x?xi64>, memref<?xi64> -> memref<?x64x!pakv.hifloat8>, memref<?x64x!pakv.hifloat8>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode PA_NZ>, soc = "Ascend910_95", operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}> : (memref<?x2x8x32x!pakv.hifloat8>

// -----

// Every Ascend910_95 element type in Norm (the verifier accepts each).
func.func @dtypes(%u8: memref<1x4x1x8xui8>, %u8o: memref<4x1x8xui8>, %u8v: memref<4x1x8xui8>, %i16: memref<1x4x1x8xi16>, %i16o: memref<4x1x8xi16>, %i16v: memref<4x1x8xi16>, %u16: memref<1x4x1x8xui16>, %u16o: memref<4x1x8xui16>, %u16v: memref<4x1x8xui16>, %i32: memref<1x4x1x8xi32>, %i32o: memref<4x1x8xi32>, %i32v: memref<4x1x8xi32>, %u32: memref<1x4x1x8xui32>, %u32o: memref<4x1x8xui32>, %u32v: memref<4x1x8xui32>, %f32: memref<1x4x1x8xf32>, %f32o: memref<4x1x8xf32>, %f32v: memref<4x1x8xf32>, %e5: memref<1x4x1x8xf8E5M2>, %e5o: memref<4x1x8xf8E5M2>, %e5v: memref<4x1x8xf8E5M2>, %e4: memref<1x4x1x8xf8E4M3FN>, %e4o: memref<4x1x8xf8E4M3FN>, %e4v: memref<4x1x8xf8E4M3FN>, %bt: memref<1x1xi64>, %sl: memref<1xi64>) {
  pakv.gather Norm caches(%u8, %u8) tables(%bt) lens(%sl) into(%u8o, %u8v) {soc = "Ascend910_95"} : memref<1x4x1x8xui8>, memref<1x4x1x8xui8>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xui8>, memref<4x1x8xui8>
  pakv.gather Norm caches(%i16, %i16) tables(%bt) lens(%sl) into(%i16o, %i16v) {soc = "Ascend910_95"} : memref<1x4x1x8xi16>, memref<1x4x1x8xi16>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xi16>, memref<4x1x8xi16>
  pakv.gather Norm caches(%u16, %u16) tables(%bt) lens(%sl) into(%u16o, %u16v) {soc = "Ascend910_95"} : memref<1x4x1x8xui16>, memref<1x4x1x8xui16>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xui16>, memref<4x1x8xui16>
  pakv.gather Norm caches(%i32, %i32) tables(%bt) lens(%sl) into(%i32o, %i32v) {soc = "Ascend910_95"} : memref<1x4x1x8xi32>, memref<1x4x1x8xi32>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xi32>, memref<4x1x8xi32>
  pakv.gather Norm caches(%u32, %u32) tables(%bt) lens(%sl) into(%u32o, %u32v) {soc = "Ascend910_95"} : memref<1x4x1x8xui32>, memref<1x4x1x8xui32>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xui32>, memref<4x1x8xui32>
  pakv.gather Norm caches(%f32, %f32) tables(%bt) lens(%sl) into(%f32o, %f32v) {soc = "Ascend910_95"} : memref<1x4x1x8xf32>, memref<1x4x1x8xf32>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xf32>, memref<4x1x8xf32>
  pakv.gather Norm caches(%e5, %e5) tables(%bt) lens(%sl) into(%e5o, %e5v) {soc = "Ascend910_95"} : memref<1x4x1x8xf8E5M2>, memref<1x4x1x8xf8E5M2>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xf8E5M2>, memref<4x1x8xf8E5M2>
  pakv.gather Norm caches(%e4, %e4) tables(%bt) lens(%sl) into(%e4o, %e4v) {soc = "Ascend910_95"} : memref<1x4x1x8xf8E4M3FN>, memref<1x4x1x8xf8E4M3FN>, memref<1x1xi64>, memref<1xi64> -> memref<4x1x8xf8E4M3FN>, memref<4x1x8xf8E4M3FN>
  func.return
}

// CHECK-LABEL: func.func @dtypes
// CHECK-NEXT:    pakv.gather Norm caches(%u8, %u8) {{.*}} -> memref<4x1x8xui8>, memref<4x1x8xui8>
// CHECK-NEXT:    pakv.gather Norm caches(%i16, %i16) {{.*}} -> memref<4x1x8xi16>, memref<4x1x8xi16>
// CHECK-NEXT:    pakv.gather Norm caches(%u16, %u16) {{.*}} -> memref<4x1x8xui16>, memref<4x1x8xui16>
// CHECK-NEXT:    pakv.gather Norm caches(%i32, %i32) {{.*}} -> memref<4x1x8xi32>, memref<4x1x8xi32>
// CHECK-NEXT:    pakv.gather Norm caches(%u32, %u32) {{.*}} -> memref<4x1x8xui32>, memref<4x1x8xui32>
// CHECK-NEXT:    pakv.gather Norm caches(%f32, %f32) {{.*}} -> memref<4x1x8xf32>, memref<4x1x8xf32>
// CHECK-NEXT:    pakv.gather Norm caches(%e5, %e5) {{.*}} -> memref<4x1x8xf8E5M2>, memref<4x1x8xf8E5M2>
// CHECK-NEXT:    pakv.gather Norm caches(%e4, %e4) {{.*}} -> memref<4x1x8xf8E4M3FN>, memref<4x1x8xf8E4M3FN>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "dtypes"
// CHECK-GENERIC-COUNT-8: "pakv.gather"

// -----

// Strided caches (SPEC section 9): one layer of a bigger buffer (a static block stride
// of 4 blocks' worth), or a stride given at run time; the inner dims are dense.
func.func @strided(%kc: memref<4x2x1x8xf16, strided<[64, 8, 8, 1]>>, %vc: memref<?x2x1x8xf16, strided<[?, 8, 8, 1]>, #ascend.address_space<gm>>, %bt: memref<2x3xi32>, %sl: memref<2xi32>, %ko: memref<6x1x8xf16>, %vo: memref<6x1x8xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16, strided<[64, 8, 8, 1]>>, memref<?x2x1x8xf16, strided<[?, 8, 8, 1]>, #ascend.address_space<gm>>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>
  func.return
}

// CHECK-LABEL: func.func @strided
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x2x1x8xf16, strided<[64, 8, 8, 1]>>, memref<?x2x1x8xf16, strided<[?, 8, 8, 1]>, #ascend.address_space<gm>>, memref<2x3xi32>, memref<2xi32> -> memref<6x1x8xf16>, memref<6x1x8xf16>

// CHECK-GENERIC: "pakv.gather"(%kc, %vc, %bt, %sl, %ko, %vo) <{cache_mode = #pakv<cache_mode Norm>,
