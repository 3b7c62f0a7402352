// vllm-ascend's C8 KV cache (int8, per-channel scale and offset), as a researcher writes
// it unfused: pakv.gather into int8 buffers, then one linalg.generic per stream that
// dequantises every element, SPEC section 7: out = fp16((float32(x) - offset) * scale).
// Norm layout on Ascend910B: caches [blocks, 128, 8, 128], 8 KV heads of 128 channels;
// the scales and offsets hold one value per channel (indexed by the token's inner dims).
//
// `pakv-to-ascend{soc=Ascend910B}` fuses both consumers into the gather (its Cast
// int8 -> half -> float, Sub and Mul per row, Cast float -> half in each tile) and
// the int8 buffers disappear; `fuse=false` keeps them and lowers three kernels.
// `pakv run examples/c8_dequant.mlir --data DIR` reads DIR/<argument name>.npy.

#token = affine_map<(t, h, d) -> (t, h, d)>
#channel = affine_map<(t, h, d) -> (h, d)>
func.func @c8_dequant(%key_cache: memref<?x128x8x128xi8>, %value_cache: memref<?x128x8x128xi8>,
                      %block_tables: memref<?x?xi32>, %seq_lens: memref<?xi32>,
                      %key_scale: memref<8x128xf32>, %key_offset: memref<8x128xf32>,
                      %value_scale: memref<8x128xf32>, %value_offset: memref<8x128xf32>,
                      %key: memref<?x8x128xf16>, %value: memref<?x8x128xf16>) {
  %c0 = arith.constant 0 : index
  %tokens = memref.dim %key, %c0 : memref<?x8x128xf16>
  %key_i8 = memref.alloc(%tokens) : memref<?x8x128xi8>
  %value_i8 = memref.alloc(%tokens) : memref<?x8x128xi8>
  pakv.gather Norm caches(%key_cache, %value_cache) tables(%block_tables) lens(%seq_lens) into(%key_i8, %value_i8) {soc = "Ascend910B"} : memref<?x128x8x128xi8>, memref<?x128x8x128xi8>, memref<?x?xi32>, memref<?xi32> -> memref<?x8x128xi8>, memref<?x8x128xi8>
  linalg.generic {indexing_maps = [#token, #channel, #channel, #token], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%key_i8, %key_scale, %key_offset : memref<?x8x128xi8>, memref<8x128xf32>, memref<8x128xf32>)
      outs(%key : memref<?x8x128xf16>) {
  ^bb0(%x: i8, %scale: f32, %offset: f32, %out: f16):
    %x_f = arith.sitofp %x : i8 to f32
    %centred = arith.subf %x_f, %offset : f32
    %scaled = arith.mulf %centred, %scale : f32
    %result = arith.truncf %scaled : f32 to f16
    linalg.yield %result : f16
  }
  linalg.generic {indexing_maps = [#token, #channel, #channel, #token], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%value_i8, %value_scale, %value_offset : memref<?x8x128xi8>, memref<8x128xf32>, memref<8x128xf32>)
      outs(%value : memref<?x8x128xf16>) {
  ^bb0(%x: i8, %scale: f32, %offset: f32, %out: f16):
    %x_f = arith.sitofp %x : i8 to f32
    %centred = arith.subf %x_f, %offset : f32
    %scaled = arith.mulf %centred, %scale : f32
    %result = arith.truncf %scaled : f32 to f16
    linalg.yield %result : f16
  }
  memref.dealloc %key_i8 : memref<?x8x128xi8>
  memref.dealloc %value_i8 : memref<?x8x128xi8>
  func.return
}
