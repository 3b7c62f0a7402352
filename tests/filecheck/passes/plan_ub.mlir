// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p ascend-plan-ub | filecheck %s
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics -p 'ascend-plan-ub{soc=Ascend910_95}' | filecheck %s --check-prefix=SOC95

// Buffers are placed in program order, back to back (slot sizes are 32-byte multiples).
// 2 x 96256 + 4096 = 196608 bytes: exactly the 192 KiB UB of Ascend910B.
func.func @norm_plan() attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %tile = ascend.ub_alloc "tile" : memref<2x96256xi8, #ascend.address_space<ub>>
  %zeros = ascend.ub_alloc "zeros" : memref<1x4096xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK-LABEL: func.func @norm_plan()
// CHECK-NEXT:    %tile = ascend.ub_alloc "tile" at 0 : memref<2x96256xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %zeros = ascend.ub_alloc "zeros" at 192512 : memref<1x4096xi8, #ascend.address_space<ub>>

// -----

// A buffer that already has an offset keeps it; the others fill the gaps, first fit.
func.func @fixed_first() attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %a = ascend.ub_alloc "a" : memref<1x64xi8, #ascend.address_space<ub>>
  %fixed = ascend.ub_alloc "fixed" at 32 : memref<1x32xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "b" : memref<1x32xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK-LABEL: func.func @fixed_first()
// CHECK-NEXT:    %a = ascend.ub_alloc "a" at 64 : memref<1x64xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %fixed = ascend.ub_alloc "fixed" at 32 : memref<1x32xi8, #ascend.address_space<ub>>
// CHECK-NEXT:    %b = ascend.ub_alloc "b" at 0 : memref<1x32xi8, #ascend.address_space<ub>>

// -----

// Functions that are not kernels are left alone.
func.func @not_a_kernel() {
  %a = ascend.ub_alloc "a" : memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK-LABEL: func.func @not_a_kernel()
// CHECK-NEXT:    %a = ascend.ub_alloc "a" : memref<1x64xi8, #ascend.address_space<ub>>

// -----

// Without an ascend.soc attribute the pass's soc option decides the capacity:
// 200000 bytes do not fit the 192 KiB of Ascend910B but fit the 248 KiB of Ascend910_95.
func.func @no_soc_attribute() attributes {ascend.kernel} {
  %big = ascend.ub_alloc "big" : memref<1x200000xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: UB plan does not fit: buffer 'big' (1 x 200000 = 200000 bytes) finds no free room; the kernel's 1 buffer(s) need 200000 bytes, Ascend910B has 196608 usable UB bytes per vector core
// CHECK: %big = "ascend.ub_alloc"()
// CHECK-NEXT: ^^^^
// SOC95-LABEL: func.func @no_soc_attribute()
// SOC95-NEXT:    %big = ascend.ub_alloc "big" at 0 : memref<1x200000xi8, #ascend.address_space<ub>>

// -----

// Double buffering that does not fit: rejected at the buffer, with the totals.
func.func @misfit() attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %tile = ascend.ub_alloc "tile" : memref<2x98304xi8, #ascend.address_space<ub>>
  %zeros = ascend.ub_alloc "zeros" : memref<1x4096xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: UB plan does not fit: buffer 'zeros' (1 x 4096 = 4096 bytes) finds no free room; the kernel's 2 buffer(s) need 200704 bytes, Ascend910B has 196608 usable UB bytes per vector core
// CHECK: %zeros = "ascend.ub_alloc"()
// CHECK-NEXT: ^^^^

// -----

func.func @overlap() attributes {ascend.kernel, ascend.soc = "Ascend910B"} {
  %a = ascend.ub_alloc "a" at 0 : memref<1x64xi8, #ascend.address_space<ub>>
  %b = ascend.ub_alloc "b" at 32 : memref<1x64xi8, #ascend.address_space<ub>>
  func.return
}

// CHECK: UB plan does not fit: buffer 'b' (1 x 64 = 64 bytes) at offset 32 overlaps [0, 64)

// -----

func.func @unknown_soc() attributes {ascend.kernel, ascend.soc = "Ascend999"} {
  func.return
}

// CHECK: unknown SoC 'Ascend999': expected one of
