// The dequantising examples (issue 11): unfused MLIR that stock xdsl-opt lowers with the
// registered pipeline. Fused: no linalg op and no intermediate buffer are left, one
// kernel computes the consumer in its tiles. Unfused (fuse=false): host code allocates
// the intermediates and calls a gather kernel, then a kernel per consumer.

// RUN: xdsl-opt %S/../../../examples/c8_dequant.mlir -p 'pakv-to-ascend{soc=Ascend910B}' | filecheck %s --check-prefix=C8
// RUN: xdsl-opt %S/../../../examples/c8_dequant.mlir -p 'pakv-to-ascend{soc=Ascend910B}' -t ascendc | filecheck %s --check-prefix=C8-CPP
// RUN: xdsl-opt %S/../../../examples/c8_dequant.mlir -p 'pakv-to-ascend{soc=Ascend910B fuse=false}' | filecheck %s --check-prefix=C8-UNFUSED
// RUN: xdsl-opt %S/../../../examples/mla_fp8_dequant.mlir -p 'pakv-to-ascend{soc=Ascend910_95}' | filecheck %s --check-prefix=MLA
// RUN: xdsl-opt %S/../../../examples/mla_fp8_dequant.mlir -p 'pakv-to-ascend{soc=Ascend910_95}' -t ascendc | filecheck %s --check-prefix=MLA-CPP
// RUN: xdsl-opt %S/../../../examples/mla_fp8_dequant.mlir --print-op-generic | xdsl-opt | filecheck %s --check-prefix=MLA-ROUNDTRIP

// C8-NOT:     linalg.
// C8-NOT:     memref.alloc
// C8:         func.func @c8_dequant(
// C8-SAME:    %key_scale: memref<8x128xf32, #ascend.address_space<gm>>
// C8-SAME:    %key: memref<?x8x128xf16, #ascend.address_space<gm>>
// C8-SAME:    ascend.kernel
// C8:         ascend.load %key_scale
// C8:         ascend.vcast CAST_NONE %input{{.*}} : i8 -> %work{{.*}} : f16
// C8:         ascend.vcast CAST_NONE %work{{.*}} : f16 -> %work{{.*}} : f32
// C8:         ascend.vrows sub
// C8:         ascend.vrows mul
// C8:         ascend.vcast CAST_RINT %work{{.*}} : f32 -> %output{{.*}} : f16
// C8-NOT:     linalg.
// C8-NOT:     memref.alloc

// C8-CPP:     CastTile<half, int8_t>(
// C8-CPP:     RoundMode::CAST_NONE
// C8-CPP:     CastTile<float, half>(
// C8-CPP:     SubRows(
// C8-CPP:     MulRows(
// C8-CPP:     CastTile<half, float>(
// C8-CPP:     RoundMode::CAST_RINT
// C8-CPP:     __aicore__ inline void CastTile(
// C8-CPP:     Cast(dst.ReinterpretCast<T>(), src.ReinterpretCast<U>(), mode, count);
// C8-CPP:     __aicore__ inline void MulRows(
// C8-CPP:     Mul(dst.ReinterpretCast<float>()[r * pitch]
// C8-CPP:     extern "C" __global__ __aicore__ void c8_dequant(GM_ADDR keyCache, GM_ADDR valueCache,
// C8-CPP-NEXT:    GM_ADDR blockTables, GM_ADDR seqLens, GM_ADDR keyScale, GM_ADDR keyOffset, GM_ADDR valueScale,
// C8-CPP-NEXT:    GM_ADDR valueOffset, GM_ADDR key, GM_ADDR value, GM_ADDR /* workspace */, GM_ADDR tiling)

// C8-UNFUSED:      func.func @c8_dequant_0_gather(
// C8-UNFUSED:      func.func @c8_dequant_1_map(
// C8-UNFUSED:      func.func @c8_dequant_2_map(
// C8-UNFUSED:      func.func @c8_dequant(
// C8-UNFUSED:      %key_i8 = memref.alloc(%tokens) : memref<?x8x128xi8, #ascend.address_space<gm>>
// C8-UNFUSED:      func.call @c8_dequant_0_gather(
// C8-UNFUSED-NEXT: func.call @c8_dequant_1_map(%key_i8, %key_scale, %key_offset, %key)
// C8-UNFUSED-NEXT: func.call @c8_dequant_2_map(%value_i8, %value_scale, %value_offset, %value)

// MLA-NOT:    linalg.
// MLA-NOT:    memref.alloc
// MLA:        func.func @mla_fp8_dequant(
// MLA:        ascend.transpose_blocks
// MLA:        ascend.vcast CAST_NONE %{{.*}} : f8E4M3FN -> %work{{.*}} : f32
// MLA:        ascend.vscalar mul
// MLA:        ascend.vcast CAST_RINT %work{{.*}} : f32 -> %output{{.*}} : bf16
// MLA-NOT:    linalg.

// MLA-CPP:    CastTile<float, fp8_e4m3fn_t>(
// MLA-CPP:    MulsTile(
// MLA-CPP:    CastTile<bfloat16_t, float>(
// MLA-CPP:    RoundMode::CAST_RINT
// MLA-CPP:    Muls(dst.ReinterpretCast<float>(), src.ReinterpretCast<float>(), scalar, count);

// MLA-ROUNDTRIP:      pakv.gather PA_NZ caches
// MLA-ROUNDTRIP:      linalg.generic
// MLA-ROUNDTRIP:      arith.extf %{{.*}} : f8E4M3FN to f32
