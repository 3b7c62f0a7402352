// RUN: xdsl-opt %S/../../../examples/scatter_example.mlir -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc | filecheck %s

// The scatter example (a decode step, MLA-style bf16 tokens of 576 / 512 elements) as
// one AscendC translation unit: the scatter's tiling struct and host function, the walk
// over this core's tokens with the run's length found by a scalar loop that stops at
// the first slot off the run, and each run copied in (from the tokens) and out (into
// the block) as one burst per stream.

// CHECK:      // from the lowered pakv.scatter (pakv-to-ascend). It writes new key and value
// CHECK:      struct ScatterTilingData {
// CHECK-NEXT:     uint64_t numTokens;
// CHECK-NEXT:     uint64_t numBlocks;
// CHECK-NEXT:     uint64_t splitTokens;
// CHECK-NEXT:     uint64_t usedCores;
// CHECK-NEXT:     uint64_t keyBlockStride;
// CHECK-NEXT:     uint64_t valueBlockStride;
// CHECK-NEXT: };
// CHECK:      class KernelPakvScatter {
// CHECK:              while (token < writeEnd) {
// CHECK-NEXT:             const int32_t slotMappingValue = slotMappingGm_.GetValue(token);
// CHECK-NEXT:             const uint64_t cacheSlot = static_cast<uint64_t>(slotMappingValue);
// CHECK-NEXT:             const bool inCache = cacheSlot < numSlots;
// CHECK:                  if (inCache) {
// CHECK:                      const uint64_t limit = room < writeEnd - token ? room : writeEnd - token;
// CHECK-NEXT:                 uint64_t count = 0;
// CHECK-NEXT:                 while (count < limit && static_cast<uint64_t>(static_cast<int64_t>(slotMappingGm_.GetValue(token + count))) == cacheSlot + count) {
// CHECK-NEXT:                     ++count;
// CHECK-NEXT:                 }
// CHECK-NEXT:                 // Keys: the run is one tile, one burst in (MTE2) and one out (MTE3).
// CHECK:                      CopyInAligned(tile_[slot * TILE_SLOT_BYTES], keyGm_, src, runBytes);
// CHECK:                      CopyOutAligned(keyCacheGm_, dst, tile_[slot * TILE_SLOT_BYTES], runBytes);
// CHECK:                      CopyInAligned(tile_[nextSlot * TILE_SLOT_BYTES], valueGm_, src1, runBytes1);
// CHECK:                  } else {
// CHECK-NEXT:                 nextToken = token + 1;
// CHECK:      inline ScatterTilingData ComputeScatterTiling(uint64_t numTokens, uint64_t numBlocks,
// CHECK-NEXT:     uint64_t vectorCores, uint64_t keyBlockStride, uint64_t valueBlockStride)
// CHECK:          tiling.splitTokens = numTokens;
// CHECK-NEXT:     tiling.usedCores = std::min(vectorCores, tiling.splitTokens);
// CHECK:      inline aclError LaunchPakvScatter(const ScatterTilingData& tiling, uint8_t* tilingDevice,
