// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -t ascendc | filecheck %s

// The printer on its own, on hand-written lowered kernels: what the pipeline's output
// does not exercise, and the located errors for programs it cannot print.

// Each DMA prints as the form it names: 40-byte bursts and 8-byte GM gaps are the bytes
// form, DataCopyPad with DataCopyExtParams. A burst count from the tiling is bounded by
// the program (at most 4095 bursts per instruction: the lowering splits longer copies).
// A note on an op prints as a comment; a loop condition that is not the loop's own
// arguments gives the general `while (true)` form; signed division of a value that may
// be negative casts.
func.func @bursts(%src: memref<?x40xi8, #ascend.address_space<gm>>, %dst: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c40 = arith.constant 40 : index
  %c4095 = arith.constant 4095 : index
  %cm3 = arith.constant -3 : index
  %rows = ascend.get_tiling "split_tokens"
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x196608xi8, #ascend.address_space<ub>>
  %shifted = arith.addi %rows, %cm3 : index
  %half = arith.divsi %shifted, %c8 {ascend.note = "signed: the count may be negative"} : index
  %count = arith.minui %half, %c4095 : index
  %res = scf.while (%left = %rows) : (index) -> index {
    %more = arith.cmpi ult, %c0, %left : index
    %next = arith.subi %left, %c1 : index
    scf.condition(%more) %next : index
  } do {
  ^bb0(%after: index):
    scf.yield %after : index
  }
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%count x %c40) gaps(%c8, %c0) as bytes : memref<?x40xi8, #ascend.address_space<gm>> -> memref<1x196608xi8, #ascend.address_space<ub>>
  ascend.store %buf[%c0, %c0] -> %dst[%c0] bursts(%count x %c40) gaps(%c0, %c0) as bytes : memref<1x196608xi8, #ascend.address_space<ub>> -> memref<?x40xi8, #ascend.address_space<gm>>
  func.return
}

// CHECK-NOT:   MAX_BURSTS
// CHECK:           const uint64_t shifted = tiling_.splitTokens + static_cast<uint64_t>(-3);
// CHECK-NEXT:      // signed: the count may be negative
// CHECK-NEXT:      const uint64_t halfValue = static_cast<uint64_t>(static_cast<int64_t>(shifted) / 8);
// CHECK-NEXT:      const uint64_t count = halfValue < 4095 ? halfValue : 4095;
// CHECK-NEXT:      uint64_t left = tiling_.splitTokens;
// CHECK-NEXT:      uint64_t res;
// CHECK-NEXT:      while (true) {
// CHECK-NEXT:          const bool more = 0 < left;
// CHECK-NEXT:          const uint64_t next = left - 1;
// CHECK-NEXT:          if (!more) {
// CHECK-NEXT:              res = next;
// CHECK-NEXT:              break;
// CHECK-NEXT:          }
// CHECK-NEXT:          const uint64_t after = next;
// CHECK-NEXT:          left = after;
// CHECK-NEXT:      }
// CHECK-NEXT:      CopyInBursts(rows_, srcGm_, 0, count, 40, 8, 0);
// CHECK-NEXT:      CopyOutBursts(dstGm_, 0, rows_, count, 40, 0, 0);
// CHECK:       private:
// CHECK:           __aicore__ inline void CopyInBursts(const LocalTensor<uint8_t>& ub, const GlobalTensor<T>& gm,
// CHECK-NEXT:          uint64_t gmByte, uint64_t nBurst, uint64_t burstBytes, uint64_t gmGapBytes,
// CHECK-NEXT:          uint64_t ubGapBytes)
// CHECK-NEXT:      {
// CHECK-NEXT:          DataCopyExtParams params;
// CHECK-NEXT:          // Every value fits its field unconverted: runtime.ascendc.plan proved it per call.
// CHECK-NEXT:          params.blockLen = burstBytes;
// CHECK-NEXT:          params.srcStride = gmGapBytes;
// CHECK-NEXT:          params.dstStride = ubGapBytes / UB_BLOCK_BYTES;
// CHECK-NEXT:          params.blockCount = nBurst;
// CHECK-NEXT:          DataCopyPad(ub.ReinterpretCast<T>(), gm[gmByte / sizeof(T)], params,
// CHECK-NEXT:              DataCopyPadExtParams<T>{});
// CHECK-NEXT:      }
// CHECK:           __aicore__ inline void CopyOutBursts(const GlobalTensor<T>& gm, uint64_t gmByte,
// CHECK:               params.srcStride = ubGapBytes / UB_BLOCK_BYTES;
// CHECK-NEXT:          params.dstStride = gmGapBytes;
// CHECK-NEXT:          params.blockCount = nBurst;
// CHECK-NEXT:          DataCopyPad(gm[gmByte / sizeof(T)], ub.ReinterpretCast<T>(), params);
// CHECK:           GlobalTensor<int8_t> srcGm_;

// -----

// A burst count the program does not bound may exceed the 4095 bursts of blockCount.
func.func @unbounded_bursts(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c40 = arith.constant 40 : index
  %rows = ascend.get_tiling "split_tokens"
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x196608xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%rows x %c40) gaps(%c0, %c0) as bytes : memref<?x40xi8, #ascend.address_space<gm>> -> memref<1x196608xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load: the bytes form (as the op says) does not fit: the burst count (unbounded) does not provably fit DataCopyExtParams.blockCount (uint16 in bursts: 1 to 4095 bursts)

// -----

// scf.for compares signed, so a loop prints as a plain unsigned C++ loop only when the
// facts prove its bounds non-negative: `16 - n % 16` lies in [1, 16], but `16 - n % 32`
// and `n - m` may be negative, so those loops compare as int64_t.
func.func @loop_bounds(%dst: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %n = ascend.get_tiling "split_tokens"
  %m = ascend.get_tiling "used_cores"
  %pos = arith.remui %n, %c16 : index
  %room = arith.subi %c16, %pos : index
  scf.for %i = %c0 to %room step %c1 {
  }
  %wide_pos = arith.remui %n, %c32 : index
  %past = arith.subi %c16, %wide_pos : index
  scf.for %j = %c0 to %past step %c1 {
  }
  %diff = arith.subi %n, %m : index
  scf.for %k = %c0 to %diff step %c1 {
  }
  func.return
}

// CHECK:       void Process()
// CHECK:           const uint64_t room = 16 - pos;
// CHECK-NEXT:      for (uint64_t i = 0; i < room; ++i) {
// CHECK:           const uint64_t past = 16 - widePos;
// CHECK-NEXT:      for (uint64_t j = 0; static_cast<int64_t>(j) < static_cast<int64_t>(past); ++j) {
// CHECK:           const uint64_t diff = tiling_.splitTokens - tiling_.usedCores;
// CHECK-NEXT:      for (uint64_t k = 0; static_cast<int64_t>(k) < static_cast<int64_t>(diff); ++k) {

// -----

// Ascend910 has no DataCopyPad: a copy in the bytes form cannot be printed for it.
func.func @no_pad(%src: memref<?x40xi8, #ascend.address_space<gm>>, %dst: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c1 x %c40) gaps(%c0, %c0) as bytes : memref<?x40xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load: Ascend910 has no DataCopyPad, which this DMA's bytes form needs (its lengths are not all 32-byte multiples): plan 32-byte aligned bursts for this SoC

// -----

// A blocks-form length must provably be a whole number of 32-byte blocks (DataCopy
// would round the rest down).
func.func @blocks_unaligned(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %n = ascend.get_tiling "num_tokens"
  %bytes = arith.muli %n, %c8 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c1 x %bytes) gaps(%c0, %c0) as blocks : memref<?x40xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load: the blocks form (as the op says) does not fit: the burst length is not provably a multiple of 32 bytes, which DataCopyParams.blockLen (uint16 in 32-byte blocks: a multiple of 32 from 32 to 2097120 bytes) needs

// -----

func.func @unplanned(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %buf = ascend.ub_alloc "rows" : memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.ub_alloc: 'rows' has no planned offset: run ascend-plan-ub first

// -----

// An event number the printer cannot bound cannot get its ids allocated up front.
func.func @unbounded_event(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %n = ascend.get_tiling "used_cores"
  ascend.set_flag[MTE2, MTE3, %n]
  ascend.wait_flag[MTE2, MTE3, %n]
  func.return
}

// CHECK: ascend.set_flag: event number is not provably in a fixed range

// -----

func.func @not_a_kernel(%src: memref<?x40xi8>) {
  func.return
}

// CHECK: no function marked ascend.kernel: run pakv-to-ascend before -t ascendc

// -----

// A GM gap of 65537 32-byte blocks (a PA_NZ row stride with block_size 65537) does not
// fit DataCopyParams' uint16 srcStride: the lowering gives such a load the bytes form,
// whose GM stride is a uint32 byte count. Nothing is cast into a field it may not fit.
func.func @wide_gap(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %row = arith.constant 2097184 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %gap = arith.subi %row, %c32 : index
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c2 x %c32) gaps(%gap, %c0) as bytes : memref<?x32xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK:       CopyInBursts(rows_, srcGm_, 0, 2, 32, gap, 0);
// CHECK:       __aicore__ inline void CopyInBursts(
// CHECK:           DataCopyExtParams params;
// CHECK:           params.srcStride = gmGapBytes;
// CHECK-NOT:   static_cast<uint16_t>

// -----

// The same load in the blocks form where the gap still fits: DataCopyParams, in 32-byte
// blocks.
func.func @narrow_gap(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %row = arith.constant 2097120 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %gap = arith.subi %row, %c32 : index
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c2 x %c32) gaps(%gap, %c0) as blocks : memref<?x32xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK:       CopyInBurstsAligned(rows_, srcGm_, 0, 2, 32, gap, 0);
// CHECK:           DataCopyParams params;
// CHECK:           params.srcStride = gmGapBytes / UB_BLOCK_BYTES;

// -----

// The wide gap in the blocks form (as a hand-written op may say): the printer proves
// the op's own form and refuses it where it stands.
func.func @wide_gap_in_blocks(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910"} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %row = arith.constant 2097184 : index
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %gap = arith.subi %row, %c32 : index
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c2 x %c32) gaps(%gap, %c0) as blocks : memref<?x32xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load: the blocks form (as the op says) does not fit: the GM gap (up to 2097184) does not provably fit DataCopyParams.srcStride (uint16 in 32-byte blocks: a multiple of 32 from 0 to 2097120 bytes)

// -----

// A gap the facts cannot bound fits no field at all.
func.func @unbounded_gap(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %n = ascend.get_tiling "num_blocks"
  %buf = ascend.ub_alloc "rows" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %gap = arith.muli %n, %c32 : index
  ascend.load %src[%c0] -> %buf[%c0, %c0] bursts(%c2 x %c32) gaps(%gap, %c0) as bytes : memref<?x32xi8, #ascend.address_space<gm>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.load: the bytes form (as the op says) does not fit: the GM gap (unbounded) does not provably fit DataCopyExtParams.srcStride (uint32 in bytes: 0 to 4294967295 bytes)

// -----

// Ascend910 has event ids 0-3 only.
func.func @five_events(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910"} {
  %c4 = arith.constant 4 : index
  ascend.set_flag[MTE2, MTE3, %c4]
  ascend.wait_flag[MTE2, MTE3, %c4]
  func.return
}

// CHECK: ascend.set_flag: MTE2_MTE3 needs more than the 4 event ids of Ascend910

// -----

// Ascend310B has neither SetFlag/WaitFlag nor AllocEventID: a synchronised kernel is refused.
func.func @no_flags(%src: memref<?x40xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend310B"} {
  %c0 = arith.constant 0 : index
  ascend.set_flag[MTE2, MTE3, %c0]
  ascend.wait_flag[MTE2, MTE3, %c0]
  func.return
}

// CHECK: ascend.set_flag: Ascend310B has no SetFlag/WaitFlag, TPipe::AllocEventID (AscendC API docs): the ascendc target cannot print event flags for it; the lowered kernel still runs in the interpreter

// -----

// TransposeBlocks puts the sides in uint16 DataCopyParams fields: they must be bounded.
func.func @unbounded_transpose(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %n = ascend.get_tiling "num_tokens"
  %a = ascend.ub_alloc "a" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "b" at 64 : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.transpose_blocks %a[%c0] -> %b[%c0] blocks(%c2 x %n) : memref<1x64xi8, #ascend.address_space<ub>> -> memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.transpose_blocks: a transpose of up to 2 x unbounded blocks does not provably fit DataCopyParams (blockCount at most 4095, blockLen at most 65535 blocks)

// -----

// ZeroFill passes the length as Duplicate's int32_t count: it must be bounded.
func.func @unbounded_fill(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %n = ascend.get_tiling "num_tokens"
  %a = ascend.ub_alloc "a" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  ascend.fill_zero %a[%c0] bytes(%n) : memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.fill_zero: a zero fill length (unbounded) is not provably at most 2147483616

// -----

// A Cast the SoC's AscendC Cast table lacks is refused where it stands (Ascend910B's
// int8 -> half takes CAST_NONE only), as is a count the Cast's uint32_t may not hold.
func.func @cast_mode_the_soc_lacks(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %w = ascend.ub_alloc "work" at 0 : memref<2x64xi8, #ascend.address_space<ub>>
  ascend.vcast CAST_RINT %w[%c0, %c0] : i8 -> %w[%c1, %c0] : f16 count(%c32) : memref<2x64xi8, #ascend.address_space<ub>> -> memref<2x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.vcast: Ascend910B has no AscendC Cast from int8_t to half with CAST_RINT (AscendC Cast docs)

// -----

func.func @unbounded_cast(%src: memref<?x32xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = ascend.get_tiling "num_tokens"
  %w = ascend.ub_alloc "work" at 0 : memref<2x64xi8, #ascend.address_space<ub>>
  ascend.vcast CAST_NONE %w[%c0, %c0] : i8 -> %w[%c1, %c0] : f16 count(%n) : memref<2x64xi8, #ascend.address_space<ub>> -> memref<2x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: ascend.vcast: a Cast count (unbounded) is not provably at most 4294967295
