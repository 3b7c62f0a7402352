// PA_NZ by block transposes (Ascend910_95's default, the 3-D copy, is in ascendc_strategies.mlir):
// RUN: xdsl-opt %s --split-input-file -p 'pakv-to-ascend{soc=Ascend910_95 nz=transpose slots=2 row-align=false}' -t ascendc | filecheck %s

// The copy each DMA prints as (SPEC section 5): DataCopy only for lengths provably a
// multiple of 32 bytes, DataCopyPad with DataCopyExtParams otherwise; PA_NZ tiles come
// in group-major as 32-byte-block bursts and are turned token-major by UB->UB DataCopy.

// Norm, unaligned tokens: keys 12 bytes, values 10 bytes. Every copy is DataCopyPad,
// its blockLen in bytes.
func.func @norm_unaligned(%kc: memref<?x16x2x3xf16>, %vc: memref<?x16x1x5xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x2x3xf16>, %vo: memref<?x1x5xf16>) {
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x16x2x3xf16>, memref<?x16x1x5xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x3xf16>, memref<?x1x5xf16>
  func.return
}

// CHECK-LABEL: // AscendC kernel norm_unaligned for Ascend910_95
// CHECK-NOT:   DataCopy(
// CHECK:           CopyIn(tile_[{{.*}} * TILE_SLOT_BYTES], kcGm_, {{.*}});
// CHECK:           CopyOut(koGm_, {{.*}}, tile_[{{.*}} * TILE_SLOT_BYTES], {{.*}});
// CHECK:           CopyIn(tile_[{{.*}} * TILE_SLOT_BYTES], vcGm_, {{.*}});
// CHECK:           CopyOut(voGm_, {{.*}}, tile_[{{.*}} * TILE_SLOT_BYTES], {{.*}});
// CHECK:       private:
// CHECK:           // CopyIn (MTE2): GM -> UB: one burst of `bytes` bytes, any length (DataCopyPad pads
// CHECK-NEXT:      // the burst to 32 bytes in UB).
// CHECK-NEXT:      template <typename T>
// CHECK-NEXT:      __aicore__ inline void CopyIn(const LocalTensor<uint8_t>& ub, const GlobalTensor<T>& gm,
// CHECK-NEXT:          uint64_t gmByte, uint64_t bytes)
// CHECK-NEXT:      {
// CHECK-NEXT:          DataCopyExtParams params;
// CHECK-NEXT:          // Every value fits its field unconverted: runtime.ascendc.plan proved it per call.
// CHECK-NEXT:          params.blockCount = 1;
// CHECK-NEXT:          params.blockLen = bytes;
// CHECK-NEXT:          DataCopyPad(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params,
// CHECK-NEXT:              DataCopyPadExtParams<T>{});
// CHECK-NEXT:      }
// CHECK:           __aicore__ inline void CopyOut(const GlobalTensor<T>& gm, uint64_t gmByte,
// CHECK-NEXT:          const LocalTensor<uint8_t>& ub, uint64_t bytes)
// CHECK-NEXT:      {
// CHECK-NEXT:          DataCopyExtParams params;
// CHECK-NEXT:          // Every value fits its field unconverted: runtime.ascendc.plan proved it per call.
// CHECK-NEXT:          params.blockCount = 1;
// CHECK-NEXT:          params.blockLen = bytes;
// CHECK-NEXT:          DataCopyPad(gm[gmByte / sizeof(T)], ub.ReinterpretCast<T>(), params);
// CHECK-NEXT:      }
// CHECK:           GlobalTensor<half> kcGm_;
// CHECK:       extern "C" __global__ __aicore__ void norm_unaligned(GM_ADDR kc, GM_ADDR vc, GM_ADDR bt, GM_ADDR sl,
// CHECK-NEXT:      GM_ADDR ko, GM_ADDR vo, GM_ADDR /* workspace */, GM_ADDR tiling)

// -----

// Norm, 64-byte bf16 keys (DataCopy) and 18-byte values (DataCopyPad) in one kernel;
// int64 indices and cumulative seqLens.
func.func @norm_mixed(%kc: memref<?x24x2x16xbf16>, %vc: memref<?x24x3x3xbf16>, %bt: memref<?x?xi64>, %sl: memref<?xi64>, %ko: memref<?x2x16xbf16>, %vo: memref<?x3x3xbf16>) {
  pakv.gather Norm cumsum caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x24x2x16xbf16>, memref<?x24x3x3xbf16>, memref<?x?xi64>, memref<?xi64> -> memref<?x2x16xbf16>, memref<?x3x3xbf16>
  func.return
}

// CHECK-LABEL: // AscendC kernel norm_mixed for Ascend910_95
// CHECK:           kcGm_.SetGlobalBuffer(reinterpret_cast<__gm__ bfloat16_t*>(kc));
// CHECK:           btGm_.SetGlobalBuffer(reinterpret_cast<__gm__ int64_t*>(bt));
// CHECK:           const int64_t [[LEN:[a-zA-Z0-9]+]] = slGm_.GetValue({{.*}});
// CHECK:           CopyInAligned(tile_[{{.*}}], kcGm_, {{.*}});
// CHECK:           CopyOutAligned(koGm_, {{.*}});
// CHECK:           CopyIn(tile_[{{.*}}], vcGm_, {{.*}});
// CHECK:           CopyOut(voGm_, {{.*}});
// CHECK:       private:
// CHECK-DAG:       __aicore__ inline void CopyIn(
// CHECK-DAG:       __aicore__ inline void CopyInAligned(
// CHECK-DAG:       __aicore__ inline void CopyOut(
// CHECK-DAG:       __aicore__ inline void CopyOutAligned(
// CHECK:           GlobalTensor<bfloat16_t> kcGm_;
// CHECK:           GlobalTensor<int64_t> btGm_;

// -----

// PA_NZ, int8 keys (3 row groups of 32 bytes) and fp16 values (2 row groups): one burst
// per row group, block_size 16 rows apart, then TransposeBlocks and one contiguous store.
func.func @nz_mixed(%kc: memref<?x3x16x32xi8>, %vc: memref<?x2x16x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %so: memref<?xi32>, %ko: memref<?x96xi8>, %vo: memref<?x32xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo) : memref<?x3x16x32xi8>, memref<?x2x16x16xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x96xi8>, memref<?x32xf16>
  func.return
}

// CHECK-LABEL: // AscendC kernel nz_mixed for Ascend910_95
// Three bursts of count * 32 bytes, (16 - count) * 32 bytes apart in GM, back to back in UB.
// CHECK:           const uint64_t [[BURST:[a-zA-Z0-9]+]] = [[COUNT:[a-zA-Z0-9]+]] * 32;
// CHECK-NEXT:      const uint64_t [[GAP:[a-zA-Z0-9]+]] = 512 - [[BURST]];
// CHECK:           CopyInBurstsAligned(groupMajor_[{{.*}} * GROUP_MAJOR_SLOT_BYTES], kcGm_,
// CHECK-NEXT:          {{.*}}, 3, [[BURST]], [[GAP]], 0);
// CHECK:           TransposeBlocks(tokenMajor_,
// CHECK-NEXT:          groupMajor_[{{.*}} * GROUP_MAJOR_SLOT_BYTES], 3, [[COUNT]]);
// CHECK:           CopyOutAligned(koGm_, {{.*}}, tokenMajor_, {{.*}});
// CHECK:           CopyInBurstsAligned(groupMajor_[{{.*}} * GROUP_MAJOR_SLOT_BYTES],
// CHECK-NEXT:          vcGm_, {{.*}}, 2, {{.*}}, {{.*}}, 0);
// CHECK:           TransposeBlocks(tokenMajor_,
// CHECK-NEXT:          groupMajor_[{{.*}} * GROUP_MAJOR_SLOT_BYTES], 2, [[COUNT]]);
// CHECK:           CopyOutAligned(voGm_, {{.*}}, tokenMajor_, {{.*}});
// CHECK:       private:
// CHECK:           __aicore__ inline void CopyInBurstsAligned(const LocalTensor<uint8_t>& ub,
// CHECK-NEXT:          const GlobalTensor<T>& gm, uint64_t gmByte, uint64_t nBurst, uint64_t burstBytes,
// CHECK-NEXT:          uint64_t gmGapBytes, uint64_t ubGapBytes)
// CHECK-NEXT:      {
// CHECK-NEXT:          DataCopyParams params;
// CHECK-NEXT:          // Every value fits its field unconverted: runtime.ascendc.plan proved it per call.
// CHECK-NEXT:          params.blockLen = burstBytes / UB_BLOCK_BYTES;
// CHECK-NEXT:          params.srcStride = gmGapBytes / UB_BLOCK_BYTES;
// CHECK-NEXT:          params.dstStride = ubGapBytes / UB_BLOCK_BYTES;
// CHECK-NEXT:          params.blockCount = nBurst;
// CHECK-NEXT:          DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params);
// CHECK-NEXT:      }
// CHECK:           __aicore__ inline void TransposeBlocks(const LocalTensor<uint8_t>& dst,
// CHECK:                   DataCopy(dst[r * UB_BLOCK_BYTES], src[r * cols * UB_BLOCK_BYTES], params);
// CHECK:           GlobalTensor<int8_t> kcGm_;
// CHECK-NEXT:      GlobalTensor<half> vcGm_;

// -----

// PA_NZ with the SPEC shape example's tokens (144 and 128 row groups, block 128): a block
// does not fit a third of the UB, so it is cut in halves, one group-major and one
// token-major slot. Every load goes to the one group-major slot (no slot offset, one event
// id per pipe pair), and a run is cut into nearly equal tiles of at most 27 (31) tokens.
func.func @nz_halves(%kc: memref<?x144x128x16xf16>, %vc: memref<?x128x128x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x2304xf16>, %vo: memref<?x2048xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x144x128x16xf16>, memref<?x128x128x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x2304xf16>, memref<?x2048xf16>
  func.return
}

// CHECK-LABEL: // AscendC kernel nz_halves for Ascend910_95
// CHECK:       constexpr uint64_t GROUP_MAJOR_SLOT_BYTES =
// CHECK-NEXT:      126976;  // "group_major": 1 x 126976 bytes at UB offset 0
// CHECK-NEXT:  constexpr uint64_t TOKEN_MAJOR_SLOT_BYTES =
// CHECK-NEXT:      126976;  // "token_major": 1 x 126976 bytes at UB offset 126976
// CHECK:           for (int32_t id = 0; id < 1; ++id) {
// CHECK:           const uint64_t tiles = (count + 27 - 1) / 27;
// CHECK-NEXT:      const uint64_t even = (count + tiles - 1) / tiles;
// CHECK-NEXT:      const uint64_t tileTokens = even < 27 ? even : 27;
// CHECK-NEXT:      for (uint64_t tilePos = 0; tilePos < count; tilePos += tileTokens) {
// CHECK-NEXT:          const uint64_t tokens =
// CHECK-NEXT:              count - tilePos < tileTokens ? count - tilePos : tileTokens;
// CHECK:               WaitFlag<HardEvent::V_MTE2>(vToMte2Events_[0]);
// CHECK-NEXT:          CopyInBurstsAligned(groupMajor_, kcGm_, tileSrc, 144, burst, gap,
// CHECK:               TransposeBlocks(tokenMajor_, groupMajor_, 144, tokens);
// CHECK-NEXT:          SetFlag<HardEvent::V_MTE2>(vToMte2Events_[0]);
// CHECK:               CopyOutAligned(koGm_, tileDst, tokenMajor_, bytes);
// CHECK:           const uint64_t tiles1 = (count + 31 - 1) / 31;
// CHECK:               CopyInBurstsAligned(groupMajor_, vcGm_, tileSrc1, 128, burst1, gap1,

// -----

// The 8-bit float types of Ascend 950: fp8 keys, HiFloat8 values (PA_NZ).
func.func @nz_fp8(%kc: memref<?x1x8x32xf8E5M2>, %vc: memref<?x2x8x32x!pakv.hifloat8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x32xf8E5M2>, %vo: memref<?x64x!pakv.hifloat8>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x1x8x32xf8E5M2>, memref<?x2x8x32x!pakv.hifloat8>, memref<?x?xi32>, memref<?xi32> -> memref<?x32xf8E5M2>, memref<?x64x!pakv.hifloat8>
  func.return
}

// CHECK-LABEL: // AscendC kernel nz_fp8 for Ascend910_95
// CHECK:           kcGm_.SetGlobalBuffer(reinterpret_cast<__gm__ fp8_e5m2_t*>(kc));
// CHECK-NEXT:      vcGm_.SetGlobalBuffer(reinterpret_cast<__gm__ hifloat8_t*>(vc));
// CHECK:           GlobalTensor<fp8_e5m2_t> kcGm_;
// CHECK-NEXT:      GlobalTensor<hifloat8_t> vcGm_;

// -----

// Strided caches (SPEC section 9): keys with a dynamic block stride (read from the
// tiling, in bytes), values with a static one (128 fp16, 256 bytes: 4 blocks' worth).
func.func @strided(%kc: memref<?x16x2x16xf16, strided<[?, 32, 16, 1]>>, %vc: memref<?x1x2x16xf16, strided<[128, 32, 16, 1]>>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x256xf16>, %vo: memref<?x16xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x16x2x16xf16, strided<[?, 32, 16, 1]>>, memref<?x1x2x16xf16, strided<[128, 32, 16, 1]>>, memref<?x?xi32>, memref<?xi32> -> memref<?x256xf16>, memref<?x16xf16>
  func.return
}

// CHECK-LABEL: // AscendC kernel strided for Ascend910_95
// CHECK:       struct GatherTilingData {
// CHECK:           uint64_t keyBlockStride;
// CHECK:                   const uint64_t src = blk * tiling_.keyBlockStride + blockPos * 32;
// CHECK:                   const uint64_t src1 = blk * 256 + blockPos * 32;
