"""`make demo`: the original document's shape example, compiled, run, verified, emitted.

SPEC section 6: keyCache [128,128,16,144] fp16, valueCache [128,128,16,128],
blockTables [16,12] int32, seqLens [16] summing to 8931, keyRef [8931,16,144],
valueRef [8931,16,128], Norm. Random cache bits (NaN payloads and -0.0 included),
run through ``runtime.gather_pa_kv_cache`` with the default executor (the lowered
program in the interpreter), compared bit for bit with the golden reference; then the
same compiled kernel is printed as AscendC into ``out/``. Exits non-zero on a mismatch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import runtime
from pakv_dialect.dtypes import kv_kind_named
from runtime.ascendc.printer import emit_ascendc
from runtime.host import executors
from runtime.host.checks import check_call
from runtime.host.lowered import compile_signature, last_run
from runtime.interpreter.trace import LOAD, STORE
from runtime.ir_builder import build_gather_module
from runtime.tool.shape_spec import EXAMPLES, even_lengths, signature
from runtime.tool.workload import random_bits

KERNEL_FILE = Path("out/pakv_gather_seed_Ascend910B.cpp")
SEED = EXAMPLES["seed"].spec
"""SPEC section 6's shape example: the one definition of its numbers."""


def main() -> int:
    rng = np.random.default_rng(2025)
    shapes = signature(SEED).operand_shapes(SEED.run_sizes)
    kind = kv_kind_named(SEED.dtype)
    assert kind is not None
    key_cache = random_bits(rng, kind, shapes["key_cache"])
    value_cache = random_bits(rng, kind, shapes["value_cache"])
    block_tables = rng.integers(0, SEED.num_blocks, size=shapes["block_tables"], dtype=np.int32)
    seq_lens = even_lengths(SEED, rng).astype(np.int32)
    key_ref = np.zeros(shapes["key_out"], kind.storage)
    value_ref = np.zeros(shapes["value_out"], kind.storage)
    inputs = (key_cache, value_cache, block_tables, seq_lens)
    mode = SEED.mode

    call = check_call(
        *inputs, key_ref, value_ref, cache_mode=mode, is_seq_lens_cumsum=False, soc=SEED.soc
    )
    assert call is not None
    print(
        "The op, as compiled (one kernel for every num_blocks/batch/width/num_tokens and "
        "cache block stride):"
    )
    print(build_gather_module(call.signature))

    runtime.gather_pa_kv_cache(*inputs, key_ref, value_ref, cache_mode=mode, soc=SEED.soc)

    key_golden, value_golden = np.zeros_like(key_ref), np.zeros_like(value_ref)
    runtime.golden_gather(*inputs, key_golden, value_golden, cache_mode=mode, cumsum=False)
    same = key_ref.tobytes() == key_golden.tobytes() and (
        value_ref.tobytes() == value_golden.tobytes()
    )
    tokens = f"{SEED.num_tokens} tokens of {SEED.batch} sequences"
    where = f"executor={executors.DEFAULT_EXECUTOR!r}, {tokens}"
    if not same:
        print(f"MISMATCH: keyRef/valueRef differ from the golden reference ({where})")
        return 1
    print(f"MATCH: keyRef and valueRef equal the golden reference bit for bit ({where})")
    run = last_run()
    if run is not None:
        loaded = int(run.trace.dma_bytes(LOAD, run.cores).sum())
        stored = int(run.trace.dma_bytes(STORE, run.cores).sum())
        print(
            f"lowered run: {run.cores} cores, {run.executed_ops} ops executed, "
            f"{loaded} bytes loaded and {stored} bytes stored"
        )

    KERNEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    KERNEL_FILE.write_text(emit_ascendc(compile_signature(call.signature).module))
    lines = len(KERNEL_FILE.read_text().splitlines())
    print(f"AscendC kernel written to {KERNEL_FILE} ({lines} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
