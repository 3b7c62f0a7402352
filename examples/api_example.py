"""The host API from Python: the original document's C example (SPEC section 6).

Run it with ``python examples/api_example.py``; ``tests/test_examples.py`` runs it too.
"""

import numpy as np

import runtime

# The original document's C example (SPEC section 6): every token reads block 1. The
# document fills the caches with ones; numbering each element shows where tokens come from.
key_cache = np.arange(2 * 2 * 32 * 2, dtype=np.float16).reshape(2, 2, 32, 2)
value_cache = np.arange(2 * 2 * 32 * 4, dtype=np.float16).reshape(2, 2, 32, 4)
block_tables = np.ones((4, 6), np.int32)
seq_lens = np.full(4, 3, np.int32)
seq_offset = np.full(4, 2, np.int32)
key_ref = np.zeros((12, 32, 2), np.float16)
value_ref = np.zeros((12, 32, 4), np.float16)

runtime.gather_pa_kv_cache(
    key_cache, value_cache, block_tables, seq_lens, key_ref, value_ref, seq_offset,
    cache_mode="Norm", soc="Ascend910B",
)  # fmt: skip
# Token j of each sequence: column 2 // 2 + j // 2 holds block 1, slot j % 2 (SPEC section 6).
for row in range(12):
    slot = row % 3 % 2
    assert (key_ref[row] == key_cache[1, slot]).all()
    assert (value_ref[row] == value_cache[1, slot]).all()
print("keyRef and valueRef hold block 1's tokens, slots 0, 1, 0 of each sequence")

# The same call through the two-phase aclnn mirror.
status, workspace_size, executor = runtime.host.aclnn.aclnnGatherPaKvCacheGetWorkspaceSize(
    key_cache, value_cache, block_tables, seq_lens, key_ref, value_ref, seq_offset, "Norm", False
)
assert status == 0
assert runtime.host.aclnn.aclnnGatherPaKvCache(None, workspace_size, executor, None) == 0

# Bad input: a status code and a message, and nothing written.
before = key_ref.copy()
try:
    runtime.gather_pa_kv_cache(
        key_cache, value_cache, block_tables, seq_lens[:3], key_ref, value_ref,
        cache_mode="Norm",
    )  # fmt: skip
except runtime.AclnnError as error:
    assert key_ref.tobytes() == before.tobytes()
    print(f"rejected with status {error.status}: nothing written")
    print(error)
