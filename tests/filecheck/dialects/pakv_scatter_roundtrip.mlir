// RUN: PAKV_ROUNDTRIP
// RUN: PAKV_GENERIC_ROUNDTRIP

// Norm, a decode step: one new token for each of 4 sequences, i64 slots, dynamic sizes.
func.func @norm(%k: memref<?x2x64xbf16>, %v: memref<?x2x64xbf16>, %s: memref<?xi64>, %kc: memref<?x16x2x64xbf16>, %vc: memref<?x16x2x64xbf16>) {
  pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<?x2x64xbf16>, memref<?x2x64xbf16>, memref<?xi64> -> memref<?x16x2x64xbf16>, memref<?x16x2x64xbf16>
  func.return
}

// CHECK-LABEL: func.func @norm
// CHECK-NEXT:    pakv.scatter Norm tokens(%k, %v) slots(%s) into(%kc, %vc) : memref<?x2x64xbf16>, memref<?x2x64xbf16>, memref<?xi64> -> memref<?x16x2x64xbf16>, memref<?x16x2x64xbf16>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "norm"
// CHECK-GENERIC:         "pakv.scatter"(%k, %v, %s, %kc, %vc) <{cache_mode = #pakv<cache_mode Norm>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}> : (memref<?x2x64xbf16>, memref<?x2x64xbf16>, memref<?xi64>, memref<?x16x2x64xbf16>, memref<?x16x2x64xbf16>) -> ()

// -----

// PA_NZ with int8 keys and fp16 values (H = 128 each), on a named SoC.
func.func @pa_nz(%k: memref<8x128xi8>, %v: memref<8x128xf16>, %s: memref<8xi32>, %kc: memref<4x4x16x32xi8>, %vc: memref<4x8x16x16xf16>) {
  pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend910_95"} : memref<8x128xi8>, memref<8x128xf16>, memref<8xi32> -> memref<4x4x16x32xi8>, memref<4x8x16x16xf16>
  func.return
}

// CHECK-LABEL: func.func @pa_nz
// CHECK-NEXT:    pakv.scatter PA_NZ tokens(%k, %v) slots(%s) into(%kc, %vc) {soc = "Ascend910_95"} : memref<8x128xi8>, memref<8x128xf16>, memref<8xi32> -> memref<4x4x16x32xi8>, memref<4x8x16x16xf16>

// CHECK-GENERIC: "pakv.scatter"(%k, %v, %s, %kc, %vc) <{cache_mode = #pakv<cache_mode PA_NZ>, soc = "Ascend910_95", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>, regionSegmentSizes = array<i32: 0, 0>}>
