// RUN: PAKV_ROUNDTRIP
// RUN: PAKV_GENERIC_ROUNDTRIP

// The ops the vendor's strategies need (passes/strategy.py): Ascend 950's 3-D copy, the
// PipeBarrier<PIPE_ALL> of the older A2/A3 kernel, the whole-batches share of the 950 one.
func.func @ops(%kc: memref<?x4x16x16xf16, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910_95"} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %first, %end = ascend.core_batches
  %buf = ascend.ub_alloc "tile" at 0 : memref<2x2048xi8, #ascend.address_space<ub>>
  ascend.load_transposed %kc[%c0] -> %buf[%c0, %c0] blocks(%c4 x %c16) gap(%c0) : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<2x2048xi8, #ascend.address_space<ub>>
  ascend.pipe_barrier
  func.return
}

// CHECK:       %first, %end = ascend.core_batches
// CHECK:       ascend.load_transposed %kc[%c0] -> %buf[%c0, %c0] blocks(%c4 x %c16) gap(%c0) : memref<?x4x16x16xf16, #ascend.address_space<gm>> -> memref<2x2048xi8, #ascend.address_space<ub>>
// CHECK-NEXT:  ascend.pipe_barrier

// CHECK-GENERIC: %first, %end = "ascend.core_batches"() : () -> (index, index)
// CHECK-GENERIC: "ascend.load_transposed"(%kc, %c0, %buf, %c0, %c0, %c4, %c16, %c0)
// CHECK-GENERIC: "ascend.pipe_barrier"() : () -> ()

