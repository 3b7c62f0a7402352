// The original operator document's shape example (SPEC section 6): Norm mode, fp16,
// keyCache [128,128,16,144], valueCache [128,128,16,128], blockTables [16,12],
// seqLens [16] summing to 8931, keyRef [8931,16,144], valueRef [8931,16,128].
// `xdsl-opt examples/seed_example.mlir` round-trips it.

func.func @pakv_gather(%key_cache: memref<128x128x16x144xf16>, %value_cache: memref<128x128x16x128xf16>, %block_tables: memref<16x12xi32>, %seq_lens: memref<16xi32>, %key_out: memref<8931x16x144xf16>, %value_out: memref<8931x16x128xf16>) {
  pakv.gather Norm caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) into(%key_out, %value_out) {soc = "Ascend910B"} : memref<128x128x16x144xf16>, memref<128x128x16x128xf16>, memref<16x12xi32>, memref<16xi32> -> memref<8931x16x144xf16>, memref<8931x16x128xf16>
  func.return
}

