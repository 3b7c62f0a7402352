// A quantising decode step (SPEC section 8, vllm-ascend's C8 write side): each new
// bf16 token is quantised to int8 before it lands in the paged caches, written as a
// researcher writes it in upstream MLIR: one elementwise linalg.generic per stream
// (x * inv_scale + offset, math.roundeven, a clamp to [-128, 127], arith.fptosi), into
// a buffer that pakv.scatter reads. Keys: per-channel inverse scale and offset; values:
// per-tensor inverse scale. `pakv-fuse-consumers` folds both producers into the
// scatter (the buffers disappear); `pakv compile / run / explain` accept it.

builtin.module {
  func.func @pakv_scatter(%key: memref<?x1x576xbf16>, %value: memref<?x1x512xbf16>, %slot_mapping: memref<?xi32>, %key_cache: memref<?x16x1x576xi8, strided<[?, 576, 576, 1]>>, %value_cache: memref<?x16x1x512xi8, strided<[?, 512, 512, 1]>>, %key_inv_scale: memref<1x576xf32>, %key_offset: memref<1x576xf32>, %value_inv_scale: memref<f32>) {
    %0 = arith.constant 0 : index
    %1 = memref.dim %key, %0 : memref<?x1x576xbf16>
    %key_quantised = memref.alloc(%1) : memref<?x1x576xi8>
    linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%key, %key_inv_scale, %key_offset : memref<?x1x576xbf16>, memref<1x576xf32>, memref<1x576xf32>) outs(%key_quantised : memref<?x1x576xi8>) {
    ^bb0(%2: bf16, %3: f32, %4: f32, %5: i8):
      %low = arith.constant -1.280000e+02 : f32
      %high = arith.constant 1.270000e+02 : f32
      %x_f = arith.extf %2 : bf16 to f32
      %6 = arith.mulf %x_f, %3 : f32
      %7 = arith.addf %6, %4 : f32
      %8 = math.roundeven %7 : f32
      %9 = arith.maximumf %8, %low : f32
      %10 = arith.minimumf %9, %high : f32
      %q = arith.fptosi %10 : f32 to i8
      linalg.yield %q : i8
    }
    %11 = arith.constant 0 : index
    %12 = memref.dim %value, %11 : memref<?x1x512xbf16>
    %value_quantised = memref.alloc(%12) : memref<?x1x512xi8>
    linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> ()>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%value, %value_inv_scale : memref<?x1x512xbf16>, memref<f32>) outs(%value_quantised : memref<?x1x512xi8>) {
    ^bb0(%13: bf16, %14: f32, %15: i8):
      %low_1 = arith.constant -1.280000e+02 : f32
      %high_1 = arith.constant 1.270000e+02 : f32
      %x_f_1 = arith.extf %13 : bf16 to f32
      %16 = arith.mulf %x_f_1, %14 : f32
      %17 = math.roundeven %16 : f32
      %18 = arith.maximumf %17, %low_1 : f32
      %19 = arith.minimumf %18, %high_1 : f32
      %q_1 = arith.fptosi %19 : f32 to i8
      linalg.yield %q_1 : i8
    }
    pakv.scatter Norm tokens(%key_quantised, %value_quantised) slots(%slot_mapping) into(%key_cache, %value_cache) {soc = "Ascend910B"} : memref<?x1x576xi8>, memref<?x1x512xi8>, memref<?xi32> -> memref<?x16x1x576xi8, strided<[?, 576, 576, 1]>>, memref<?x16x1x512xi8, strided<[?, 512, 512, 1]>>
    memref.dealloc %key_quantised : memref<?x1x576xi8>
    memref.dealloc %value_quantised : memref<?x1x512xi8>
    func.return
  }
}
