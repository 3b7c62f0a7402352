// RUN: xdsl-opt %s --split-input-file -p 'pakv-outline-kernels' | filecheck %s

// A producer then the scatter (SPEC section 8, unfused): a kernel per op, named by
// its op, whose arguments are the op's operands; the program calls them in turn and
// keeps its host code (the buffer's alloc and dealloc).

func.func @quant(%key: memref<?x1x32xf16>, %value: memref<?x1x32xi8>, %slots: memref<?xi32>, %key_cache: memref<?x16x1x32xi8>, %value_cache: memref<?x16x1x32xi8>, %inv_scale: memref<f32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %key, %c0 : memref<?x1x32xf16>
  %key_q = memref.alloc(%n) : memref<?x1x32xi8>
  pakv.map ins(%key: memref<?x1x32xf16>) params(%inv_scale: memref<f32>) outs(%key_q: memref<?x1x32xi8>) {
  ^bb0(%x: f16, %s: f32):
    %low = arith.constant -1.280000e+02 : f32
    %high = arith.constant 1.270000e+02 : f32
    %x_f = arith.extf %x : f16 to f32
    %y = arith.mulf %x_f, %s : f32
    %r = math.roundeven %y : f32
    %l = arith.maximumf %r, %low : f32
    %h = arith.minimumf %l, %high : f32
    %q = arith.fptosi %h : f32 to i8
    pakv.yield %q : i8
  }
  pakv.scatter Norm tokens(%key_q, %value) slots(%slots) into(%key_cache, %value_cache) : memref<?x1x32xi8>, memref<?x1x32xi8>, memref<?xi32> -> memref<?x16x1x32xi8>, memref<?x16x1x32xi8>
  memref.dealloc %key_q: memref<?x1x32xi8>
  func.return
}

// CHECK:      func.func @quant_0_map(%key: memref<?x1x32xf16>, %inv_scale: memref<f32>, %key_q: memref<?x1x32xi8>) {
// CHECK-NEXT:   pakv.map ins(%key : memref<?x1x32xf16>) params(%inv_scale : memref<f32>) outs(%key_q : memref<?x1x32xi8>) {
// CHECK:        func.return
// CHECK:      func.func @quant_1_scatter(%key_q: memref<?x1x32xi8>, %value: memref<?x1x32xi8>, %slots: memref<?xi32>, %key_cache: memref<?x16x1x32xi8>, %value_cache: memref<?x16x1x32xi8>) {
// CHECK-NEXT:   pakv.scatter Norm tokens(%key_q, %value) slots(%slots) into(%key_cache, %value_cache)
// CHECK-NEXT:   func.return
// CHECK:      func.func @quant(
// CHECK-SAME:   attributes {pakv.host}
// CHECK:        %key_q = memref.alloc(%n) : memref<?x1x32xi8>
// CHECK-NEXT:   func.call @quant_0_map(%key, %inv_scale, %key_q)
// CHECK-NEXT:   func.call @quant_1_scatter(%key_q, %value, %slots, %key_cache, %value_cache)
// CHECK-NEXT:   memref.dealloc %key_q : memref<?x1x32xi8>

// -----

// A scatter on its function's arguments is a kernel already: left as it is.

func.func @plain(%key: memref<?x1x32xi8>, %value: memref<?x1x32xi8>, %slots: memref<?xi32>, %key_cache: memref<?x16x1x32xi8>, %value_cache: memref<?x16x1x32xi8>) {
  pakv.scatter Norm tokens(%key, %value) slots(%slots) into(%key_cache, %value_cache) : memref<?x1x32xi8>, memref<?x1x32xi8>, memref<?xi32> -> memref<?x16x1x32xi8>, memref<?x16x1x32xi8>
  func.return
}

// CHECK:      func.func @plain(
// CHECK-SAME:   %value_cache: memref<?x16x1x32xi8>) {{[{]$}}
// CHECK-NEXT:   pakv.scatter Norm
// CHECK-NEXT:   func.return
// CHECK-NOT:  func.call
