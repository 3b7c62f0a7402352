// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910_95}' -t ascendc | filecheck %s --check-prefix=LOAD3D
// RUN: xdsl-opt %s -p 'pakv-to-ascend{soc=Ascend910B strategy=a2 cores=8}' -t ascendc | filecheck %s --check-prefix=A2

// What the strategies print: Ascend 950's 3-D copy (NDDMA, MultiCopyParams) with the
// loops of the vendor's arch35 NZ kernel; the older A2/A3 kernel's PipeBarrier<PIPE_ALL>
// after every copy, its tokens dealt over tiling_.usedCores; a plan's core limit in the
// host tiling.
func.func @nz(%kc: memref<?x3x16x16xf16>, %vc: memref<?x2x16x16xf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ko: memref<?x48xf16>, %vo: memref<?x32xf16>) {
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo) : memref<?x3x16x16xf16>, memref<?x2x16x16xf16>, memref<?x?xi32>, memref<?xi32> -> memref<?x48xf16>, memref<?x32xf16>
  func.return
}

// LOAD3D:       CopyInTransposed(tile_[{{.*}} * TILE_SLOT_BYTES], kcGm_, src, 3, count,
// LOAD3D:       __aicore__ inline void CopyInTransposed(const LocalTensor<uint8_t>& ub,
// LOAD3D:         constexpr uint64_t ea = UB_BLOCK_BYTES / sizeof(T);
// LOAD3D-NEXT:    static constexpr MultiCopyConfig config = {false};
// LOAD3D-NEXT:    MultiCopyLoopInfo<3> loops;
// LOAD3D-NEXT:    loops.loopSize[0] = rows;
// LOAD3D-NEXT:    loops.loopSrcStride[0] = (cols * UB_BLOCK_BYTES + gmGapBytes) / sizeof(T);
// LOAD3D-NEXT:    loops.loopDstStride[0] = ea;
// LOAD3D-NEXT:    loops.loopSize[1] = cols;
// LOAD3D-NEXT:    loops.loopSrcStride[1] = ea;
// LOAD3D-NEXT:    loops.loopDstStride[1] = rows * ea;
// LOAD3D-NEXT:    loops.loopSize[2] = ea;
// LOAD3D-NEXT:    loops.loopSrcStride[2] = 1;
// LOAD3D-NEXT:    loops.loopDstStride[2] = 1;
// LOAD3D-NEXT:    MultiCopyParams<T, 3> params{loops, T{}};
// LOAD3D-NEXT:    DataCopy<T, 3, config>(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params);
// LOAD3D-NOT:   TransposeBlocks

// A2:           const uint64_t dealt = token % tiling_.usedCores;
// A2:           for (uint64_t token1 = firstMine; token1 < count;
// A2-NEXT:          token1 += tiling_.usedCores) {
// A2:               CopyInBurstsAligned(tile_, kcGm_, tokenSrc, 3, 32, 480, 0);
// A2-NEXT:          PipeBarrier<PIPE_ALL>();
// A2-NEXT:          CopyOutAligned(koGm_, tokenDst, tile_, 96);
// A2-NEXT:          PipeBarrier<PIPE_ALL>();
// A2-NOT:       SetFlag
// A2:           // The plan asks for at most 8 cores (ascend.cores).
// A2-NEXT:      tiling.usedCores = std::min(std::min<uint64_t>(vectorCores, 8), tiling.splitTokens);
