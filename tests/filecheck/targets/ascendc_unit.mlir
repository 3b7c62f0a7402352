// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc | filecheck %s

// The original document's C example (SPEC section 6): Norm, fp16, seqOffset given.
// One translation unit: tiling struct, kernel class (Init / Process / stage helpers),
// the extern "C" entry, the host tiling function and the <<<>>> launcher.
func.func @pakv_gather(%key_cache: memref<?x2x32x2xf16>, %value_cache: memref<?x2x32x4xf16>, %block_tables: memref<?x?xi32>, %seq_lens: memref<?xi32>, %seq_offset: memref<?xi32>, %key_out: memref<?x32x2xf16>, %value_out: memref<?x32x4xf16>) {
  pakv.gather Norm caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) offsets(%seq_offset) into(%key_out, %value_out) : memref<?x2x32x2xf16>, memref<?x2x32x4xf16>, memref<?x?xi32>, memref<?xi32>, memref<?xi32> -> memref<?x32x2xf16>, memref<?x32x4xf16>
  func.return
}

// CHECK:       #include "kernel_operator.h"
// CHECK:       using namespace AscendC;
// CHECK:       struct GatherTilingData {
// CHECK-NEXT:      uint64_t batch;
// CHECK-NEXT:      uint64_t numBlocks;
// CHECK-NEXT:      uint64_t tableWidth;
// CHECK-NEXT:      uint64_t numTokens;
// CHECK-NEXT:      uint64_t splitTokens;
// CHECK-NEXT:      uint64_t usedCores;
// CHECK-NEXT:      uint64_t keyBlockStride;
// CHECK-NEXT:      uint64_t valueBlockStride;
// CHECK-NEXT:  };
// CHECK:       constexpr uint64_t TILE_SLOT_BYTES = [[SLOT:[0-9]+]];  // "tile": 2 x [[SLOT]] bytes at UB offset 0

// CHECK:       class KernelPakvGather {
// CHECK-NEXT:  public:
// CHECK:           __aicore__ inline void Init(GM_ADDR keyCache, GM_ADDR valueCache, GM_ADDR blockTables,
// CHECK-NEXT:          GM_ADDR seqLens, GM_ADDR seqOffset, GM_ADDR keyOut, GM_ADDR valueOut, GM_ADDR tiling)
// CHECK:               keyCacheGm_.SetGlobalBuffer(reinterpret_cast<__gm__ half*>(keyCache));
// CHECK:               blockTablesGm_.SetGlobalBuffer(reinterpret_cast<__gm__ int32_t*>(blockTables));
// CHECK:               pipe_.InitBuffer(ubBuf_, {{[0-9]+}});
// CHECK-NEXT:          tile_ = ubBuf_.GetWithOffset<uint8_t>(2 * TILE_SLOT_BYTES, 0);
// CHECK:                   mte3ToMte2Events_[id] = pipe_.AllocEventID<HardEvent::MTE3_MTE2>();

// The lowered program: its flags one for one, its copies through the stage helpers.
// CHECK:           __aicore__ inline void Process()
// CHECK-NEXT:      {
// CHECK-NEXT:          // Prologue: every slot starts free; each flag is set before its first wait.
// CHECK-NEXT:          SetFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[0]);
// CHECK-NEXT:          SetFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[1]);
// CHECK:               const uint64_t core = GetBlockIdx();
// CHECK:               while (seq < tiling_.batch && start < {{.*}}) {
// CHECK:                   const int32_t seqLensValue = seqLensGm_.GetValue(seq);
// CHECK:                           blockTablesGm_.GetValue(seq * tiling_.tableWidth + {{.*}});
// CHECK:                           WaitFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[[[SLOT_VAR:[a-zA-Z0-9]+]]]);
// CHECK-NEXT:                      CopyInAligned(tile_[[[SLOT_VAR]] * TILE_SLOT_BYTES], keyCacheGm_,
// CHECK-NEXT:                          {{[a-zA-Z0-9]+}});
// CHECK-NEXT:                      SetFlag<HardEvent::MTE2_MTE3>(mte2ToMte3Events_[[[SLOT_VAR]]]);
// CHECK-NEXT:                      WaitFlag<HardEvent::MTE2_MTE3>(mte2ToMte3Events_[[[SLOT_VAR]]]);
// CHECK-NEXT:                      CopyOutAligned(keyOutGm_, {{.*}}, tile_[[[SLOT_VAR]] * TILE_SLOT_BYTES],
// CHECK-NEXT:                          {{[a-zA-Z0-9]+}});
// CHECK-NEXT:                      SetFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[[[SLOT_VAR]]]);
// CHECK:                               ZeroFill(zeros_, {{.*}});
// CHECK:               // Epilogue: consume the last set of every flag before the kernel ends.
// CHECK-NEXT:          WaitFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[0]);
// CHECK-NEXT:          WaitFlag<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[1]);
// CHECK:                   pipe_.ReleaseEventID<HardEvent::MTE3_MTE2>(mte3ToMte2Events_[id]);

// 128- and 256-byte tokens: every copy is a whole number of 32-byte blocks, so DataCopy.
// CHECK:       private:
// CHECK:           __aicore__ inline void CopyInAligned(const LocalTensor<uint8_t>& ub, const GlobalTensor<T>& gm,
// CHECK-NEXT:          uint64_t gmByte, uint64_t bytes)
// CHECK-NEXT:      {
// CHECK-NEXT:          // Every value fits its field unconverted: runtime.ascendc.plan proved it per call.
// CHECK-NEXT:          DataCopy(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], bytes / sizeof(T));
// CHECK-NEXT:      }
// CHECK:           __aicore__ inline void ZeroFill(const LocalTensor<uint8_t>& ub, uint64_t bytes)
// CHECK:               Duplicate(ub.ReinterpretCast<uint16_t>(), static_cast<uint16_t>(0), halfWords);
// CHECK:           TPipe pipe_;
// CHECK-NEXT:      TBuf<TPosition::VECCALC> ubBuf_;
// CHECK:           GlobalTensor<half> keyCacheGm_;
// CHECK:           TEventID mte3ToMte2Events_[2];
// CHECK:           GatherTilingData tiling_;
// CHECK-NEXT:  };

// CHECK:       extern "C" __global__ __aicore__ void pakv_gather(GM_ADDR keyCache, GM_ADDR valueCache,
// CHECK-NEXT:      GM_ADDR blockTables, GM_ADDR seqLens, GM_ADDR seqOffset, GM_ADDR keyOut, GM_ADDR valueOut,
// CHECK-NEXT:      GM_ADDR /* workspace */, GM_ADDR tiling)
// CHECK-NEXT:  {
// CHECK-NEXT:      // The kernel type Ascend910B runs it as (SocInfo.kernel_type).
// CHECK-NEXT:      KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
// CHECK-NEXT:      KernelPakvGather op;
// CHECK-NEXT:      op.Init(keyCache, valueCache, blockTables, seqLens, seqOffset, keyOut, valueOut, tiling);
// CHECK-NEXT:      op.Process();
// CHECK-NEXT:  }

// CHECK:       inline GatherTilingData ComputeGatherTiling(uint64_t batch, uint64_t numBlocks, uint64_t tableWidth,
// CHECK-NEXT:      uint64_t numTokens, uint64_t totalTokens, uint64_t vectorCores, uint64_t keyBlockStride,
// CHECK-NEXT:      uint64_t valueBlockStride)
// CHECK:           tiling.splitTokens = std::min(totalTokens, numTokens);
// CHECK-NEXT:      tiling.usedCores = std::min(vectorCores, tiling.splitTokens);
// CHECK-NEXT:      tiling.keyBlockStride = keyBlockStride;
// CHECK-NEXT:      tiling.valueBlockStride = valueBlockStride;
// The launcher in the asc-devkit examples' form: host-side uint8_t* device addresses.
// CHECK:       #ifndef ASCENDC_CPU_DEBUG
// CHECK:       inline aclError LaunchPakvGather(const GatherTilingData& tiling, uint8_t* tilingDevice,
// CHECK-NEXT:      aclrtStream stream, uint8_t* keyCache, uint8_t* valueCache, uint8_t* blockTables,
// CHECK-NEXT:      uint8_t* seqLens, uint8_t* seqOffset, uint8_t* keyOut, uint8_t* valueOut)
// CHECK:           const aclError copied = aclrtMemcpy(tilingDevice, sizeof(GatherTilingData), &tiling,
// CHECK-NEXT:          sizeof(GatherTilingData), ACL_MEMCPY_HOST_TO_DEVICE);
// CHECK:           pakv_gather<<<static_cast<uint32_t>(tiling.usedCores), nullptr, stream>>>(keyCache, valueCache,
// CHECK-NEXT:          blockTables, seqLens, seqOffset, keyOut, valueOut, nullptr, tilingDevice);
// CHECK-NEXT:      return ACL_SUCCESS;
// CHECK:       #endif
