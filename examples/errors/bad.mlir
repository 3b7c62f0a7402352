// A deliberately wrong call (the README shows what `pakv compile` says about it): two
// sequences in block_tables, but seq_lens holds three lengths.
func.func @pakv_gather(%kc: memref<4x16x2x64xf16>, %vc: memref<4x16x2x64xf16>, %bt: memref<2x2xi32>, %sl: memref<3xi32>, %ko: memref<32x2x64xf16>, %vo: memref<32x2x64xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<4x16x2x64xf16>, memref<4x16x2x64xf16>, memref<2x2xi32>, memref<3xi32> -> memref<32x2x64xf16>, memref<32x2x64xf16>
  func.return
}
