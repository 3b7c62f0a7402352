// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p ascend-distribute-tokens | filecheck %s

// ascend.core_tokens becomes balanced_range(split_tokens, used_cores, block_idx):
// begin = b * base + min(b, extra), end = (b + 1) * base + min(b + 1, extra).
// The kernel's existing %c1 is reused.
func.func @kernel(%out: memref<?xi8, #ascend.address_space<gm>>) attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %c1 = arith.constant 1 : index
  %begin, %end = ascend.core_tokens
  %tokens = arith.subi %end, %begin : index
  func.return
}

// CHECK-LABEL: func.func @kernel(
// CHECK-NEXT:    %c1 = arith.constant 1 : index
// CHECK-NEXT:    %core = ascend.get_block_idx
// CHECK-NEXT:    %split_tokens = ascend.get_tiling "split_tokens"
// CHECK-NEXT:    %used_cores = ascend.get_tiling "used_cores"
// CHECK-NEXT:    %base = arith.divui %split_tokens, %used_cores : index
// CHECK-NEXT:    %extra = arith.remui %split_tokens, %used_cores : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.muli %core, %base : index
// CHECK-NEXT:    %[[SKEW:.*]] = arith.minui %core, %extra : index
// CHECK-NEXT:    %token_begin = arith.addi %[[FIRST]], %[[SKEW]] : index
// CHECK-NEXT:    %[[NEXT:.*]] = arith.addi %core, %c1 : index
// CHECK-NEXT:    %[[NEXT_FIRST:.*]] = arith.muli %[[NEXT]], %base : index
// CHECK-NEXT:    %[[NEXT_SKEW:.*]] = arith.minui %[[NEXT]], %extra : index
// CHECK-NEXT:    %token_end = arith.addi %[[NEXT_FIRST]], %[[NEXT_SKEW]] : index
// CHECK-NEXT:    %tokens = arith.subi %token_end, %token_begin : index
// CHECK-NEXT:    func.return
// CHECK-NOT:     ascend.core_tokens

// -----

// Inside loops, the constant 1 is created at the top of the kernel.
func.func @nested(%n: index) attributes {ascend.kernel} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %n step %c4 {
    %begin, %end = ascend.core_tokens
  }
  func.return
}

// CHECK-LABEL: func.func @nested(
// CHECK-NEXT:    %c0 = arith.constant 0 : index
// CHECK-NEXT:    %c4 = arith.constant 4 : index
// CHECK-NEXT:    %c1 = arith.constant 1 : index
// CHECK-NEXT:    scf.for %i = %c0 to %n step %c4 {
// CHECK-NEXT:      %core = ascend.get_block_idx
// CHECK:           %token_end = arith.addi
// CHECK-NEXT:    }

// -----

func.func @outside() {
  "test.op"() ({
    %begin, %end = ascend.core_tokens
    "test.termop"() : () -> ()
  }) : () -> ()
  func.return
}

// CHECK: ascend.core_tokens must sit inside a function marked ascend.kernel
