// A PA_NZ example on Ascend910_95: int8 keys and fp16 values (PA_NZ may mix dtypes),
// cumulative seqLens, int64 indices. A PA_NZ cache is [num_blocks, H / ea, block_size,
// ea] with one 32-byte row per (group, token): ea = 32 for int8, 16 for fp16. Keys have
// H = 4 * 32 = 128 elements per token, values H = 8 * 16 = 128.

func.func @pakv_gather(%key_cache: memref<?x4x16x32xi8>, %value_cache: memref<?x8x16x16xf16>, %block_tables: memref<?x?xi64>, %seq_lens: memref<?xi64>, %key_out: memref<?x128xi8>, %value_out: memref<?x128xf16>) {
  pakv.gather PA_NZ cumsum caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) into(%key_out, %value_out) {soc = "Ascend910_95"} : memref<?x4x16x32xi8>, memref<?x8x16x16xf16>, memref<?x?xi64>, memref<?xi64> -> memref<?x128xi8>, memref<?x128xf16>
  func.return
}
