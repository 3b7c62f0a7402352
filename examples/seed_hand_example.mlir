// The original document's C example (SPEC section 6), checkable by hand: keyCache
// [2,2,32,2] fp16 all ones, valueCache [2,2,32,4], blockTables [4,6] all ones,
// seqLens [3,3,3,3], seqOffset [2,2,2,2], Norm, non-cumsum. block_size is 2, so token
// j of each sequence reads column 2 // 2 + j // 2 (columns 1, 1, 2: all block 1) and
// keyRef [12,32,2] becomes all ones.

func.func @pakv_gather(%key_cache: memref<2x2x32x2xf16>, %value_cache: memref<2x2x32x4xf16>, %block_tables: memref<4x6xi32>, %seq_lens: memref<4xi32>, %seq_offset: memref<4xi32>, %key_out: memref<12x32x2xf16>, %value_out: memref<12x32x4xf16>) {
  pakv.gather Norm caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) offsets(%seq_offset) into(%key_out, %value_out) : memref<2x2x32x2xf16>, memref<2x2x32x4xf16>, memref<4x6xi32>, memref<4xi32>, memref<4xi32> -> memref<12x32x2xf16>, memref<12x32x4xf16>
  func.return
}
