// RUN: not xdsl-opt %s 2>&1 | filecheck %s

// ascend.copy_run's custom form reads its direction off its arrow: the cache side has
// two indices (block, position), the tokens side one. Anything else is a parse error.
func.func @f(%k: memref<?x2x8xf16, #ascend.address_space<gm>>, %i: index) {
  %n = ascend.copy_run Norm %k[%i] -> %k[%i] count(%i) cursor(%i) : memref<?x2x8xf16, #ascend.address_space<gm>> -> memref<?x2x8xf16, #ascend.address_space<gm>>
  func.return
}

// CHECK: copy_run reads `%cache[%blk, %pos] -> %tokens[%token]` (gather) or `%tokens[%token] -> %cache[%blk, %pos]` (scatter)
