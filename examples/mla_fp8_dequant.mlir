// An MLA cache in fp8 (vLLM's gather_and_maybe_dequant_cache: fp8 e4m3, one scale per
// tensor), as a researcher writes it unfused: pakv.gather into fp8 buffers, then one
// linalg.generic per stream, SPEC section 7: out = bf16(float32(x) * scale). The latent
// (kv_c, 512 channels) is the key stream and the rotary part (k_pe, 64) the value
// stream, as vllm-ascend stores MLA in two caches; PA_NZ layout on Ascend910_95, whose
// AscendC Cast reads fp8 (caches [blocks, H / 32, 128, 32]: 32 fp8 elements per row).
//
// `pakv-to-ascend{soc=Ascend910_95}` fuses both consumers into the gather (on the
// token-major tile, after the NZ transpose: Cast fp8 -> float, Muls, Cast float ->
// bf16) and the fp8 buffers disappear. The scales are 0-d memrefs.

#token = affine_map<(t, c) -> (t, c)>
#tensor = affine_map<(t, c) -> ()>
func.func @mla_fp8_dequant(%kv_c_cache: memref<?x16x128x32xf8E4M3FN>, %k_pe_cache: memref<?x2x128x32xf8E4M3FN>,
                           %block_tables: memref<?x?xi32>, %seq_lens: memref<?xi32>,
                           %kv_c_scale: memref<f32>, %k_pe_scale: memref<f32>,
                           %kv_c: memref<?x512xbf16>, %k_pe: memref<?x64xbf16>) {
  %c0 = arith.constant 0 : index
  %tokens = memref.dim %kv_c, %c0 : memref<?x512xbf16>
  %kv_c_fp8 = memref.alloc(%tokens) : memref<?x512xf8E4M3FN>
  %k_pe_fp8 = memref.alloc(%tokens) : memref<?x64xf8E4M3FN>
  pakv.gather PA_NZ caches(%kv_c_cache, %k_pe_cache) tables(%block_tables) lens(%seq_lens) into(%kv_c_fp8, %k_pe_fp8) {soc = "Ascend910_95"} : memref<?x16x128x32xf8E4M3FN>, memref<?x2x128x32xf8E4M3FN>, memref<?x?xi32>, memref<?xi32> -> memref<?x512xf8E4M3FN>, memref<?x64xf8E4M3FN>
  linalg.generic {indexing_maps = [#token, #tensor, #token], iterator_types = ["parallel", "parallel"]}
      ins(%kv_c_fp8, %kv_c_scale : memref<?x512xf8E4M3FN>, memref<f32>) outs(%kv_c : memref<?x512xbf16>) {
  ^bb0(%x: f8E4M3FN, %scale: f32, %out: bf16):
    %x_f = arith.extf %x : f8E4M3FN to f32
    %scaled = arith.mulf %x_f, %scale : f32
    %result = arith.truncf %scaled : f32 to bf16
    linalg.yield %result : bf16
  }
  linalg.generic {indexing_maps = [#token, #tensor, #token], iterator_types = ["parallel", "parallel"]}
      ins(%k_pe_fp8, %k_pe_scale : memref<?x64xf8E4M3FN>, memref<f32>) outs(%k_pe : memref<?x64xbf16>) {
  ^bb0(%x: f8E4M3FN, %scale: f32, %out: bf16):
    %x_f = arith.extf %x : f8E4M3FN to f32
    %scaled = arith.mulf %x_f, %scale : f32
    %result = arith.truncf %scaled : f32 to bf16
    linalg.yield %result : bf16
  }
  memref.dealloc %kv_c_fp8 : memref<?x512xf8E4M3FN>
  memref.dealloc %k_pe_fp8 : memref<?x64xf8E4M3FN>
  func.return
}
