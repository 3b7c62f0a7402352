// A decode step of an MLA-style model (SPEC section 8): each of the batch's sequences
// writes its one new token into the paged caches. Norm mode, bf16, keys of 576
// elements (512 latent + 64 rope), values of 512, blocks of 16 tokens, int32 slots;
// the number of tokens and of blocks are left dynamic (`?`): one compiled kernel
// serves every batch. A negative slot (padding) skips its token.
// `xdsl-opt examples/scatter_example.mlir -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc`
// prints its AscendC kernel.

func.func @pakv_scatter(%key: memref<?x1x576xbf16>, %value: memref<?x1x512xbf16>, %slot_mapping: memref<?xi32>, %key_cache: memref<?x16x1x576xbf16>, %value_cache: memref<?x16x1x512xbf16>) {
  pakv.scatter Norm tokens(%key, %value) slots(%slot_mapping) into(%key_cache, %value_cache) {soc = "Ascend910B"} : memref<?x1x576xbf16>, memref<?x1x512xbf16>, memref<?xi32> -> memref<?x16x1x576xbf16>, memref<?x16x1x512xbf16>
  func.return
}
