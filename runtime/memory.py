"""The host memory model shared by every executor: global memory as numpy bytes.

A ``GmTensor`` is one GM tensor: a flat ``uint8`` view of the caller's array (no copy,
so writes land in the caller's array), with the shape and element kind that the typed
view needs. The golden reference, the high-level interpreter and the interpreter of
the lowered program all work on these views: data is moved as raw bytes, never
converted, which is what makes every dtype bit-exact (NaN payloads, -0.0, HiFloat8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pakv_dialect.dtypes import ElementKind


@dataclass(frozen=True)
class GmTensor:
    """A tensor in global memory: flat bytes plus the facts to see them typed."""

    name: str
    bytes: np.ndarray[tuple[int], np.dtype[np.uint8]]
    shape: tuple[int, ...]
    kind: ElementKind

    @staticmethod
    def wrap(name: str, array: np.ndarray, kind: ElementKind) -> GmTensor:
        """View ``array`` (C-contiguous, any dtype of the same size) as GM bytes."""
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if array.dtype.itemsize != kind.size:
            raise ValueError(
                f"{name}: dtype {array.dtype} does not hold {kind.name} ({kind.size} bytes)"
            )
        flat = array.reshape(-1).view(np.uint8)
        return GmTensor(name, flat, tuple(array.shape), kind)

    def typed(self) -> np.ndarray:
        """The tensor as its storage dtype and shape (a view, not a copy)."""
        return self.bytes.view(self.kind.storage).reshape(self.shape)

    @property
    def nbytes(self) -> int:
        return self.bytes.size
