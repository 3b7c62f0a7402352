// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p pakv-fuse-consumers | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-fuse-consumers{fold=false}' | filecheck %s --check-prefix=RAISE
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'pakv-fuse-consumers{strict=true}' | filecheck %s --check-prefix=STRICT

// The C8 form (vllm-ascend): per-channel scale and offset, int8 -> fp16, both streams.
// Both consumers fold into the gather; the intermediates (alloc, dealloc) and the ops
// that only sized them (memref.dim, the constant) disappear.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#ch = affine_map<(d0, d1, d2) -> (d1, d2)>
func.func @c8(%kc: memref<?x16x2x32xi8>, %vc: memref<?x16x2x32xi8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %ks: memref<2x32xf32>, %ko: memref<2x32xf32>, %vs: memref<2x32xf32>, %vo: memref<2x32xf32>, %key: memref<?x2x32xf16>, %value: memref<?x2x32xf16>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %key, %c0 : memref<?x2x32xf16>
  %ki = memref.alloc(%n) : memref<?x2x32xi8>
  %vi = memref.alloc(%n) : memref<?x2x32xi8>
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<?x16x2x32xi8>, memref<?x16x2x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x32xi8>, memref<?x2x32xi8>
  linalg.generic {indexing_maps = [#id, #ch, #ch, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ki, %ks, %ko : memref<?x2x32xi8>, memref<2x32xf32>, memref<2x32xf32>) outs(%key : memref<?x2x32xf16>) {
  ^bb0(%x: i8, %s: f32, %o: f32, %out: f16):
    %f = arith.sitofp %x : i8 to f32
    %d = arith.subf %f, %o : f32
    %m = arith.mulf %d, %s : f32
    %r = arith.truncf %m : f32 to f16
    linalg.yield %r : f16
  }
  linalg.generic {indexing_maps = [#id, #ch, #ch, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%vi, %vs, %vo : memref<?x2x32xi8>, memref<2x32xf32>, memref<2x32xf32>) outs(%value : memref<?x2x32xf16>) {
  ^bb0(%x: i8, %s: f32, %o: f32, %out: f16):
    %f = arith.sitofp %x : i8 to f32
    %d = arith.subf %f, %o : f32
    %m = arith.mulf %d, %s : f32
    %r = arith.truncf %m : f32 to f16
    linalg.yield %r : f16
  }
  memref.dealloc %ki : memref<?x2x32xi8>
  memref.dealloc %vi : memref<?x2x32xi8>
  func.return
}

// CHECK-LABEL: func.func @c8(
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%key, %value) key_params(%ks, %ko : memref<2x32xf32>, memref<2x32xf32>) value_params(%vs, %vo : memref<2x32xf32>, memref<2x32xf32>) : memref<?x16x2x32xi8>, memref<?x16x2x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<?x2x32xf16>, memref<?x2x32xf16> key_map {
// CHECK-NEXT:    ^bb0(%x: i8, %s: f32, %o: f32):
// CHECK-NEXT:      %f = arith.sitofp %x : i8 to f32
// CHECK-NEXT:      %d = arith.subf %f, %o : f32
// CHECK-NEXT:      %m = arith.mulf %d, %s : f32
// CHECK-NEXT:      %r = arith.truncf %m : f32 to f16
// CHECK-NEXT:      pakv.yield %r : f16
// CHECK-NEXT:    } value_map {
// CHECK:           pakv.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// RAISE-LABEL: func.func @c8(
// RAISE:         pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) :
// RAISE-NEXT:    pakv.map ins(%ki : memref<?x2x32xi8>) params(%ks, %ko : memref<2x32xf32>, memref<2x32xf32>) outs(%key : memref<?x2x32xf16>) {
// RAISE-NEXT:    ^bb0(%x: i8, %s: f32, %o: f32):
// RAISE-NEXT:      %f = arith.sitofp %x : i8 to f32
// RAISE:           pakv.yield %r : f16
// RAISE-NEXT:    }
// RAISE-NEXT:    pakv.map ins(%vi
// RAISE:         memref.dealloc %ki

// -----

// MLA (vLLM gather_and_maybe_dequant_cache): fp8 per-tensor scale -> bf16, PA_NZ, with a
// per-tensor offset on the keys (x - o) * s and a plain scale on the values; static
// shapes, so no memref.dim.
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> ()>
func.func @mla(%kc: memref<8x18x16x32xf8E4M3FN>, %vc: memref<8x16x16x32xf8E4M3FN>, %bt: memref<2x4xi32>, %sl: memref<2xi32>, %ks: memref<f32>, %ko: memref<f32>, %vs: memref<f32>, %key: memref<64x576xbf16>, %value: memref<64x512xbf16>) {
  %ki = memref.alloc() : memref<64x576xf8E4M3FN>
  %vi = memref.alloc() : memref<64x512xf8E4M3FN>
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<8x18x16x32xf8E4M3FN>, memref<8x16x16x32xf8E4M3FN>, memref<2x4xi32>, memref<2xi32> -> memref<64x576xf8E4M3FN>, memref<64x512xf8E4M3FN>
  linalg.generic {indexing_maps = [#id, #t, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%ki, %ks, %ko : memref<64x576xf8E4M3FN>, memref<f32>, memref<f32>) outs(%key : memref<64x576xbf16>) {
  ^bb0(%x: f8E4M3FN, %s: f32, %o: f32, %out: bf16):
    %f = arith.extf %x : f8E4M3FN to f32
    %d = arith.subf %f, %o : f32
    %m = arith.mulf %s, %d : f32
    %r = arith.truncf %m : f32 to bf16
    linalg.yield %r : bf16
  }
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%vi, %vs : memref<64x512xf8E4M3FN>, memref<f32>) outs(%value : memref<64x512xbf16>) {
  ^bb0(%x: f8E4M3FN, %s: f32, %out: bf16):
    %f = arith.extf %x : f8E4M3FN to f32
    %m = arith.mulf %f, %s : f32
    %r = arith.truncf %m : f32 to bf16
    linalg.yield %r : bf16
  }
  memref.dealloc %ki : memref<64x576xf8E4M3FN>
  memref.dealloc %vi : memref<64x512xf8E4M3FN>
  func.return
}

// CHECK-LABEL: func.func @mla(
// CHECK-NEXT:    pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%key, %value) key_params(%ks, %ko : memref<f32>, memref<f32>) value_params(%vs : memref<f32>) :
// CHECK-SAME:      -> memref<64x576xbf16>, memref<64x512xbf16> key_map {
// CHECK:           %m = arith.mulf %s, %d : f32
// CHECK:         } value_map {
// CHECK-NEXT:    ^bb0(%x_1: f8E4M3FN, %s_1: f32):
// CHECK-NOT:     memref.
// CHECK:         func.return

// -----

// A plain cast on the keys only (no parameters); the values' intermediate is a
// function argument, so it stays the gather's output, unfused, with no consumer.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @keys_only(%kc: memref<?x16x1x32xbf16>, %vc: memref<?x16x1x32xbf16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %vi: memref<?x1x32xbf16>, %key: memref<100x1x32xf32>) {
  %ki = memref.alloc() : memref<100x1x32xbf16>
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<?x16x1x32xbf16>, memref<?x16x1x32xbf16>, memref<?x?xi32>, memref<?xi32> -> memref<100x1x32xbf16>, memref<?x1x32xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ki : memref<100x1x32xbf16>) outs(%key : memref<100x1x32xf32>) {
  ^bb0(%x: bf16, %out: f32):
    %f = arith.extf %x : bf16 to f32
    linalg.yield %f : f32
  }
  memref.dealloc %ki : memref<100x1x32xbf16>
  func.return
}

// CHECK-LABEL: func.func @keys_only(
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%key, %vi) : memref<?x16x1x32xbf16>, memref<?x16x1x32xbf16>, memref<?x?xi32>, memref<?xi32> -> memref<100x1x32xf32>, memref<?x1x32xbf16> key_map {
// CHECK-NEXT:    ^bb0(%x: bf16):
// CHECK-NEXT:      %f = arith.extf %x : bf16 to f32
// CHECK-NEXT:      pakv.yield %f : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// -----

// Keys and values with different consumers: a per-tensor scale on int16 keys to fp32,
// an int8 -> fp16 -> fp32 cast chain with a per-channel offset on the values.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#t = affine_map<(d0, d1, d2) -> ()>
#ch = affine_map<(d0, d1, d2) -> (d1, d2)>
func.func @different(%kc: memref<?x8x1x16xi16>, %vc: memref<?x8x1x16xi16>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %s: memref<f32>, %o: memref<1x16xf32>, %key: memref<32x1x16xf32>, %value: memref<32x1x16xf16>) {
  %ki = memref.alloc() : memref<32x1x16xi16>
  %vi = memref.alloc() : memref<32x1x16xi16>
  pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<?x8x1x16xi16>, memref<?x8x1x16xi16>, memref<?x?xi32>, memref<?xi32> -> memref<32x1x16xi16>, memref<32x1x16xi16>
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ki, %s : memref<32x1x16xi16>, memref<f32>) outs(%key : memref<32x1x16xf32>) {
  ^bb0(%x: i16, %sc: f32, %out: f32):
    %f = arith.sitofp %x : i16 to f32
    %m = arith.mulf %f, %sc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id, #ch, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%vi, %o : memref<32x1x16xi16>, memref<1x16xf32>) outs(%value : memref<32x1x16xf16>) {
  ^bb0(%x: i16, %off: f32, %out: f16):
    %f = arith.sitofp %x : i16 to f32
    %a = arith.addf %off, %f : f32
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  }
  func.return
}

// CHECK-LABEL: func.func @different(
// CHECK-NEXT:    pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%key, %value) key_params(%s : memref<f32>) value_params(%o : memref<1x16xf32>) :
// CHECK:           %m = arith.mulf %f, %sc : f32
// CHECK-NEXT:      pakv.yield %m : f32
// CHECK:           %a = arith.addf %off, %f_1 : f32
// CHECK-NEXT:      %r = arith.truncf %a : f32 to f16
// CHECK-NEXT:      pakv.yield %r : f16
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// -----

// Not fused: something else reads the intermediate (a copy), and a body holds an op the
// target cannot run (arith.divf). The IR is left as it was, each consumer saying why.
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> ()>
func.func @refused(%kc: memref<?x2x16x32xi8>, %vc: memref<?x2x16x32xi8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %s: memref<f32>, %copy: memref<10x64xi8>, %key: memref<10x64xf16>, %value: memref<10x64xf16>) {
  %ki = memref.alloc() : memref<10x64xi8>
  %vi = memref.alloc() : memref<10x64xi8>
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<?x2x16x32xi8>, memref<?x2x16x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<10x64xi8>, memref<10x64xi8>
  "memref.copy"(%ki, %copy) : (memref<10x64xi8>, memref<10x64xi8>) -> ()
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%ki, %s : memref<10x64xi8>, memref<f32>) outs(%key : memref<10x64xf16>) {
  ^bb0(%x: i8, %sc: f32, %out: f16):
    %f = arith.sitofp %x : i8 to f32
    %m = arith.mulf %f, %sc : f32
    %r = arith.truncf %m : f32 to f16
    linalg.yield %r : f16
  }
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%vi, %s : memref<10x64xi8>, memref<f32>) outs(%value : memref<10x64xf16>) {
  ^bb0(%x: i8, %sc: f32, %out: f16):
    %f = arith.sitofp %x : i8 to f32
    %m = arith.divf %f, %sc : f32
    %r = arith.truncf %m : f32 to f16
    linalg.yield %r : f16
  }
  func.return
}

// CHECK-LABEL: func.func @refused(
// CHECK:         pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) :
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "the intermediate is also used by memref.copy"}
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "arith.divf is not supported in a fused body (supported: arith.addf, arith.constant, arith.extf, arith.fptosi, arith.maximumf, arith.minimumf, arith.mulf, arith.sitofp, arith.subf, arith.truncf, arith.uitofp, math.roundeven, pakv.extf, pakv.yield)"}

// STRICT: consumer not fused: the intermediate is also used by memref.copy

// -----

// Not fused: parameter minus element, and an intermediate passed in by the caller.
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> ()>
func.func @more_refusals(%kc: memref<?x2x16x32xi8>, %vc: memref<?x2x16x32xi8>, %bt: memref<?x?xi32>, %sl: memref<?xi32>, %s: memref<f32>, %vi: memref<10x64xi8>, %key: memref<10x64xf32>, %value: memref<10x64xf32>) {
  %ki = memref.alloc() : memref<10x64xi8>
  pakv.gather PA_NZ caches(%kc, %vc) tables(%bt) lens(%sl) into(%ki, %vi) : memref<?x2x16x32xi8>, memref<?x2x16x32xi8>, memref<?x?xi32>, memref<?xi32> -> memref<10x64xi8>, memref<10x64xi8>
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%ki, %s : memref<10x64xi8>, memref<f32>) outs(%key : memref<10x64xf32>) {
  ^bb0(%x: i8, %o: f32, %out: f32):
    %f = arith.sitofp %x : i8 to f32
    %d = arith.subf %o, %f : f32
    linalg.yield %d : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%vi : memref<10x64xi8>) outs(%value : memref<10x64xf32>) {
  ^bb0(%x: i8, %out: f32):
    %f = arith.sitofp %x : i8 to f32
    linalg.yield %f : f32
  }
  func.return
}

// CHECK-LABEL: func.func @more_refusals(
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "arith.subf subtracts a parameter from the element (SPEC section 7: x - offset); parameter minus element is not supported"}
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "the intermediate is argument #5 of the function: the caller's memory, which the caller may read after the call and fusion would leave unwritten (allocate it in the function to fuse)"}

// -----

// SPEC section 8's write side: quantising producers fold into pakv.scatter. Keys: fp16 to
// int8, per-tensor inverse scale (roundeven, clamp, fptosi); values: bf16 to int8 with
// per-channel inverse scale and offset. The intermediates, their dims and deallocs go.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#ch = affine_map<(d0, d1, d2) -> (d1, d2)>
#t = affine_map<(d0, d1, d2) -> ()>
func.func @quantise(%key: memref<?x2x32xf16>, %value: memref<?x2x32xbf16>, %slots: memref<?xi32>, %kc: memref<?x16x2x32xi8>, %vc: memref<?x16x2x32xi8>, %ks: memref<f32>, %vs: memref<2x32xf32>, %vo: memref<2x32xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %key, %c0 : memref<?x2x32xf16>
  %ki = memref.alloc(%n) : memref<?x2x32xi8>
  %vi = memref.alloc(%n) : memref<?x2x32xi8>
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%key, %ks : memref<?x2x32xf16>, memref<f32>) outs(%ki : memref<?x2x32xi8>) {
  ^bb0(%x: f16, %s: f32, %out: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %s : f32
    %r = math.roundeven %m : f32
    %a = arith.maximumf %r, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %q = arith.fptosi %b : f32 to i8
    linalg.yield %q : i8
  }
  linalg.generic {indexing_maps = [#id, #ch, #ch, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%value, %vs, %vo : memref<?x2x32xbf16>, memref<2x32xf32>, memref<2x32xf32>) outs(%vi : memref<?x2x32xi8>) {
  ^bb0(%x: bf16, %s: f32, %o: f32, %out: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %f = arith.extf %x : bf16 to f32
    %m = arith.mulf %f, %s : f32
    %p = arith.addf %m, %o : f32
    %r = math.roundeven %p : f32
    %b = arith.minimumf %r, %hi : f32
    %a = arith.maximumf %b, %lo : f32
    %q = arith.fptosi %a : f32 to i8
    linalg.yield %q : i8
  }
  pakv.scatter Norm tokens(%ki, %vi) slots(%slots) into(%kc, %vc) : memref<?x2x32xi8>, memref<?x2x32xi8>, memref<?xi32> -> memref<?x16x2x32xi8>, memref<?x16x2x32xi8>
  memref.dealloc %ki : memref<?x2x32xi8>
  memref.dealloc %vi : memref<?x2x32xi8>
  func.return
}

// CHECK-LABEL: func.func @quantise(
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     linalg.generic
// CHECK:         pakv.scatter Norm tokens(%key, %value) slots(%slots) into(%kc, %vc) key_params(%ks : memref<f32>) value_params(%vs, %vo : memref<2x32xf32>, memref<2x32xf32>) : memref<?x2x32xf16>, memref<?x2x32xbf16>, memref<?xi32> -> memref<?x16x2x32xi8>, memref<?x16x2x32xi8> key_map {
// CHECK-NEXT:    ^bb0(%x: f16, %s: f32):
// CHECK:           %r = math.roundeven %m : f32
// CHECK:           %q = arith.fptosi %b : f32 to i8
// CHECK-NEXT:      pakv.yield %q : i8
// CHECK-NEXT:    } value_map {
// CHECK:           arith.addf
// CHECK:           pakv.yield
// CHECK-NEXT:    }
// CHECK-NOT:     memref.dealloc
// CHECK-NEXT:    func.return

// RAISE-LABEL: func.func @quantise(
// RAISE:         pakv.map ins(%key : memref<?x2x32xf16>) params(%ks : memref<f32>) outs(%ki : memref<?x2x32xi8>)
// RAISE:         pakv.map ins(%value : memref<?x2x32xbf16>) params(%vs, %vo : memref<2x32xf32>, memref<2x32xf32>) outs(%vi : memref<?x2x32xi8>)
// RAISE:         pakv.scatter Norm tokens(%ki, %vi)

// -----

// Not fused on the write side: a conversion to fp8 that does not saturate (truncf alone
// would overflow to NaN), and an intermediate another op reads too.
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> ()>
func.func @quant_refusals(%key: memref<8x64xf32>, %value: memref<8x64xf16>, %slots: memref<8xi32>, %kc: memref<?x2x16x32xf8E4M3FN>, %vc: memref<?x2x16x32xi8>, %s: memref<f32>, %copy: memref<8x64xi8>) {
  %ki = memref.alloc() : memref<8x64xf8E4M3FN>
  %vi = memref.alloc() : memref<8x64xi8>
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%key, %s : memref<8x64xf32>, memref<f32>) outs(%ki : memref<8x64xf8E4M3FN>) {
  ^bb0(%x: f32, %sc: f32, %out: f8E4M3FN):
    %m = arith.mulf %x, %sc : f32
    %q = arith.truncf %m : f32 to f8E4M3FN
    linalg.yield %q : f8E4M3FN
  }
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]} ins(%value, %s : memref<8x64xf16>, memref<f32>) outs(%vi : memref<8x64xi8>) {
  ^bb0(%x: f16, %sc: f32, %out: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %f = arith.extf %x : f16 to f32
    %m = arith.mulf %f, %sc : f32
    %r = math.roundeven %m : f32
    %a = arith.maximumf %r, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %q = arith.fptosi %b : f32 to i8
    linalg.yield %q : i8
  }
  "memref.copy"(%vi, %copy) : (memref<8x64xi8>, memref<8x64xi8>) -> ()
  pakv.scatter PA_NZ tokens(%ki, %vi) slots(%slots) into(%kc, %vc) : memref<8x64xf8E4M3FN>, memref<8x64xi8>, memref<8xi32> -> memref<?x2x16x32xf8E4M3FN>, memref<?x2x16x32xi8>
  func.return
}

// CHECK-LABEL: func.func @quant_refusals(
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "a body dequantises int8, uint8, int16, uint16, fp16, bf16, fp8_e5m2, fp8_e4m3fn, hifloat8 (SPEC section 7), got f32: int32, uint32 and fp32 are not exact in float32 or have nothing to gain"}
// CHECK:         linalg.generic {{.*}} attrs = {pakv.not_fused = "the intermediate is also used by memref.copy"}
