"""Running a checked call on an executor without ever leaving the outputs half written.

SPEC section 3 promises that a call that fails writes nothing. The host checks
(``runtime.host.checks``) make every failure the caller can cause happen before an
executor starts, so an executor that still raises is a PAKV bug (a kernel fault, a
compile error, running out of memory). Even then the caller's outputs must not be
left half written, so :func:`launch` is a small transaction: it saves the rows the
call may write, runs the executor, and if it raises (or is interrupted) puts those
rows back before reporting ``ACLNN_ERR_INNER`` (561000), an internal error that says
so, with the executor's own exception chained for whoever debugs it.

The rows saved are ``[0, min(total, num_tokens))`` of keyRef and valueRef: the only
bytes a call may write (SPEC section 2 leaves every later row untouched, and every
executor is tested to). A scatter saves the cache tokens at its slots in the cache (SPEC
section 8 changes nothing else), one fancy-indexed copy per cache. That costs one copy
of the payload per launch, about what a plain ``np.copyto`` of the outputs costs:
cheaper than any executor here, and the only way to keep the promise for an executor
that fails after it started writing.
Validating "everything an executor could fail on" first cannot keep it: a kernel
fault is found by running the kernel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pakv_dialect.pakv import CacheMode
from runtime.call import GatherCall, KernelCall, ScatterCall
from runtime.host.errors import ACLNN_ERR_INNER, AclnnError
from runtime.host.executors import Executor
from runtime.memory import GmTensor


def written_bytes(call: GatherCall) -> list[tuple[GmTensor, int]]:
    """Each output and how many of its leading bytes the call may write."""
    rows = min(call.total_tokens, call.num_tokens)
    return [
        (tensor, rows * (tensor.nbytes // call.num_tokens))
        for tensor in (call.key_out, call.value_out)
    ]


def _slot_views(call: ScatterCall) -> list[tuple[np.ndarray, tuple[np.ndarray, ...]]]:
    """Each cache as bytes ``[block, position, token bytes]`` (PA_NZ: ``[block, row group,
    position, 32]``) and the index of the tokens its slots in the cache address."""
    nz = call.signature.cache_mode == CacheMode.PA_NZ
    slots = call.slot_mapping.typed().astype(np.int64)
    views: list[tuple[np.ndarray, tuple[np.ndarray, ...]]] = []
    for cache in (call.key_cache, call.value_cache):
        blocks, *layout = cache.shape
        size = layout[1] if nz else layout[0]
        placed = slots[(slots >= 0) & (slots < blocks * size)]
        blk, pos = placed // size, placed % size
        if nz:
            view = cache.bytes.reshape(blocks, layout[0], size, -1)
            views.append((view, (blk[:, None], np.arange(layout[0])[None, :], pos[:, None])))
        else:
            views.append((cache.bytes.reshape(blocks, size, -1), (blk, pos)))
    return views


def _save(call: KernelCall) -> Callable[[], None]:
    """Copy what ``call`` may write; the result puts it back."""
    if isinstance(call, ScatterCall):
        views = [(view, index, view[index].copy()) for view, index in _slot_views(call)]

        def restore_slots() -> None:
            for view, index, before in views:
                view[index] = before

        return restore_slots
    saved: list[tuple[np.ndarray, np.ndarray]] = [
        (tensor.bytes[:count], tensor.bytes[:count].copy()) for tensor, count in written_bytes(call)
    ]

    def restore_rows() -> None:
        for target, before in saved:
            target[...] = before

    return restore_rows


def launch(call: KernelCall, run: Executor, name: str) -> None:
    """Run ``call`` on the executor ``run`` (called ``name``), all or nothing.

    Raises ``AclnnError`` with status ``ACLNN_ERR_INNER`` when the executor raises; the
    outputs are then byte-identical to what they were before the launch. A
    ``KeyboardInterrupt`` also restores them, and is re-raised as it is.
    """
    restore = _save(call)
    try:
        run(call)
    except BaseException as error:
        restore()
        if not isinstance(error, Exception):
            raise
        detail = " ".join(str(error).split()) or "no message"
        raise AclnnError(
            ACLNN_ERR_INNER,
            f"internal error: executor {name!r} failed on a call that passed every check "
            f"({type(error).__name__}: {detail}); {_outputs(call)} unchanged. This is "
            "a bug of PAKV, not of the call's parameters: please report it.",
        ) from error


def _outputs(call: KernelCall) -> str:
    if isinstance(call, ScatterCall):
        return "keyCache and valueCache are"
    return "keyRef and valueRef are"
