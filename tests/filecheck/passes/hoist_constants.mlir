// RUN: xdsl-opt %s --split-input-file -p ascend-hoist-constants | filecheck %s

// What canonicalize leaves in a kernel: constants folded where their op was, inside
// loops and branches, some equal to one at the top. Each value is kept once, at the top
// of the entry block, named as the lowering names constants; the others are merged.
func.func @kernel(%n: index, %flag: i1) attributes {ascend.kernel} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %burst = arith.constant 32 : index
    %zero = arith.constant 0 : index
    scf.if %flag {
      %gap = arith.constant 480 : index
      %more = arith.constant 32 : index
      "test.op"(%i, %burst, %zero, %gap, %more) : (index, index, index, index, index) -> ()
    }
  }
  %wide = arith.constant 7 : i32
  "test.op"(%wide) : (i32) -> ()
  func.return
}

// CHECK-LABEL: func.func @kernel(
// CHECK-NEXT:    %c0 = arith.constant 0 : index
// CHECK-NEXT:    %c1 = arith.constant 1 : index
// CHECK-NEXT:    %c32 = arith.constant 32 : index
// CHECK-NEXT:    %c480 = arith.constant 480 : index
// CHECK-NEXT:    %wide = arith.constant 7 : i32
// CHECK-NEXT:    scf.for %i = %c0 to %n step %c1 {
// CHECK-NEXT:      scf.if %flag {
// CHECK-NEXT:        "test.op"(%i, %c32, %c0, %c480, %c32) : (index, index, index, index, index) -> ()
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:    "test.op"(%wide) : (i32) -> ()
// CHECK-NEXT:    func.return

// -----

// A function that is not a kernel is left as it is.
func.func @host(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %c2 = arith.constant 2 : index
    "test.op"(%c2) : (index) -> ()
  }
  func.return
}

// CHECK-LABEL: func.func @host(
// CHECK:         scf.for %i = %c0 to %n step %c1 {
// CHECK-NEXT:      %c2 = arith.constant 2 : index
