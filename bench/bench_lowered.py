"""Benchmark: the lowered kernel (compiled fast path) against a vectorised numpy gather.

Not a test: it prints a table. On the original document's example shapes (SPEC
section 6: keyCache [128, 128, 16, 144], valueCache [128, 128, 16, 128], 16 sequences
of 8931 tokens in total, fp16), in Norm and in PA_NZ layout, it times

* numpy: the whole gather as numpy fancy indexing (token indices computed vectorised,
  one ``take``/fancy-index per output), the yardstick a Python user would write;
* lowered: ``runtime.lowered_executor.run_lowered`` on the compiled kernel, i.e. every
  core's ascend program run op by op with one numpy copy per DMA;
* compile: lowering + closure compilation of the signature, reported separately.

Ratios are lowered / numpy, measured in the same run (best of ``--repeat``). The target
is lowered <= 2x numpy. Usage: ``python bench/bench_lowered.py [--repeat N] [--soc S]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime.ascend_machine import LOAD, STORE
from runtime.call import GatherCall
from runtime.checks import check_call
from runtime.lowered_executor import compile_signature, run_lowered
from runtime.tensor import Tensor

NUM_BLOCKS, BLOCK_SIZE, HEADS = 128, 128, 16
KEY_HEAD, VALUE_HEAD = 144, 128
BATCH, WIDTH, TOKENS = 16, 12, 8931
EA = 16  # fp16 elements per 32-byte NZ row


@dataclass
class Example:
    mode: str
    key_cache: np.ndarray
    value_cache: np.ndarray
    block_tables: np.ndarray
    seq_lens: np.ndarray
    key_out: np.ndarray
    value_out: np.ndarray


def example(mode: str, rng: np.random.Generator) -> Example:
    """SPEC section 6's shapes with random fp16 bits, random blocks and lengths."""
    lens = rng.multinomial(TOKENS, np.full(BATCH, 1 / BATCH)).astype(np.int32)
    tables = rng.permutation(NUM_BLOCKS * 2)[: BATCH * WIDTH] % NUM_BLOCKS
    tables = tables.reshape(BATCH, WIDTH).astype(np.int32)

    def bits(shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(0, 1 << 16, size=shape, dtype=np.uint16).view(np.float16)

    if mode == "Norm":
        key_cache = bits((NUM_BLOCKS, BLOCK_SIZE, HEADS, KEY_HEAD))
        value_cache = bits((NUM_BLOCKS, BLOCK_SIZE, HEADS, VALUE_HEAD))
        key_out = np.zeros((TOKENS, HEADS, KEY_HEAD), np.float16)
        value_out = np.zeros((TOKENS, HEADS, VALUE_HEAD), np.float16)
    else:
        key_cache = bits((NUM_BLOCKS, HEADS * KEY_HEAD // EA, BLOCK_SIZE, EA))
        value_cache = bits((NUM_BLOCKS, HEADS * VALUE_HEAD // EA, BLOCK_SIZE, EA))
        key_out = np.zeros((TOKENS, HEADS * KEY_HEAD), np.float16)
        value_out = np.zeros((TOKENS, HEADS * VALUE_HEAD), np.float16)
    return Example(mode, key_cache, value_cache, tables, lens, key_out, value_out)


def numpy_gather(ex: Example) -> None:
    """The vectorised numpy gather (valid data, no offsets, non-cumsum)."""
    lens = ex.seq_lens.astype(np.int64)
    seq = np.repeat(np.arange(lens.size), lens)
    starts = np.cumsum(lens) - lens
    token = np.arange(seq.size) - starts[seq]
    blk = ex.block_tables[seq, token // BLOCK_SIZE].astype(np.int64)
    slot = token % BLOCK_SIZE
    for cache, out in ((ex.key_cache, ex.key_out), (ex.value_cache, ex.value_out)):
        if ex.mode == "Norm":
            flat = cache.reshape(-1, *cache.shape[2:])
            np.take(flat, blk * BLOCK_SIZE + slot, axis=0, out=out[: seq.size])
        else:
            groups = np.arange(cache.shape[1])
            out[: seq.size] = cache[blk[:, None], groups[None, :], slot[:, None]].reshape(
                seq.size, -1
            )


def checked_call(ex: Example, soc: str) -> GatherCall:
    nz = ex.mode == "PA_NZ" and soc == "Ascend910_95"
    fmt = "FRACTAL_NZ" if nz else "ND"
    call = check_call(
        Tensor(ex.key_cache, dtype="fp16", format=fmt),
        Tensor(ex.value_cache, dtype="fp16", format=fmt),
        ex.block_tables,
        ex.seq_lens,
        ex.key_out,
        ex.value_out,
        None,
        cache_mode=ex.mode,
        is_seq_lens_cumsum=False,
        soc=soc,
    )
    assert call is not None
    return call


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--soc", default="Ascend910B")
    args = parser.parse_args()
    rng = np.random.default_rng(2024)

    header = (
        f"{'mode':6} {'MB moved':>9} {'numpy ms':>9} {'lowered ms':>11} {'ratio':>6} "
        f"{'compile ms':>11} {'ops':>7} {'DMAs':>6} {'cores':>5}"
    )
    print(f"GatherPaKvCache, SPEC 6 example shapes, fp16, {TOKENS} tokens, soc {args.soc}")
    print(header)
    print("-" * len(header))
    for mode in ("Norm", "PA_NZ"):
        ex = example(mode, rng)
        call = checked_call(ex, args.soc)
        compile_signature.cache_clear()
        start = time.perf_counter()
        compile_signature(call.signature)
        compile_ms = (time.perf_counter() - start) * 1e3

        run = run_lowered(call)
        lowered_key, lowered_value = ex.key_out.copy(), ex.value_out.copy()
        numpy_gather(ex)
        if not (
            np.array_equal(lowered_key.view(np.uint16), ex.key_out.view(np.uint16))
            and np.array_equal(lowered_value.view(np.uint16), ex.value_out.view(np.uint16))
        ):
            raise SystemExit(f"{mode}: lowered output differs from the numpy gather")

        numpy_s = best_of(args.repeat, lambda: numpy_gather(ex))  # noqa: B023
        lowered_s = best_of(args.repeat, lambda: run_lowered(call))  # noqa: B023
        table = run.trace.table()
        dmas = int(np.isin(table["kind"], (LOAD, STORE)).sum())
        moved = 2 * (ex.key_out.nbytes + ex.value_out.nbytes) / 1e6
        print(
            f"{mode:6} {moved:9.1f} {numpy_s * 1e3:9.2f} {lowered_s * 1e3:11.2f} "
            f"{lowered_s / numpy_s:6.2f} {compile_ms:11.1f} {run.executed_ops:7d} {dmas:6d} "
            f"{run.cores:5d}"
        )
    print("ratio = lowered / numpy (target <= 2); MB moved = GM bytes read + written")


if __name__ == "__main__":
    main()
