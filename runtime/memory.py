"""The host memory model shared by every executor: global memory as numpy bytes.

A ``GmTensor`` is one GM tensor: a flat ``uint8`` view of the caller's array (no copy,
so writes land in the caller's array), with the shape and element kind that the typed
view needs. The golden reference, the high-level interpreter and the interpreter of
the lowered program all work on these views: data is moved as raw bytes, never
converted, which is what makes every dtype bit-exact (NaN payloads, -0.0, HiFloat8).

A tensor is dense, or dense but for the stride of its first axis (SPEC section 9: a
cache that is a view into a larger buffer, ``big[:, layer]``). A strided tensor's bytes
are the window from its first element to its last byte, gaps included: what a kernel
given its address may touch, so the GM bounds checks cover exactly its real extent.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from pakv_dialect.dtypes import ElementKind


class LayoutError(ValueError):
    """An array whose layout no GM tensor describes (``first_axis_stride``)."""


def first_axis_stride(array: np.ndarray) -> int | None:
    """Bytes from one entry of ``array``'s dim 0 to the next when only that axis is not
    dense; None when the array is C-contiguous. Raises LayoutError for every other
    layout (a strided inner dim, a negative first stride)."""
    if array.flags.c_contiguous:
        return None
    if not array[:1].flags.c_contiguous:
        raise LayoutError("its dims after the first are not dense")
    stride = int(array.strides[0])
    if stride < 0:
        raise LayoutError(f"its first axis runs backwards (a stride of {stride} bytes)")
    return stride


def _byte_window(array: np.ndarray, extent: int) -> np.ndarray:
    """The ``extent`` bytes of memory from ``array``'s first element on, as one view."""
    first = array[(slice(0, 1),) * array.ndim].reshape(-1).view(np.uint8)
    return np.lib.stride_tricks.as_strided(
        first, shape=(extent,), strides=(1,), writeable=array.flags.writeable
    )


@dataclass(frozen=True)
class GmTensor:
    """A tensor in global memory: flat bytes plus the facts to see them typed."""

    name: str
    bytes: np.ndarray[tuple[int], np.dtype[np.uint8]]
    shape: tuple[int, ...]
    kind: ElementKind
    block_stride: int | None = None
    """Bytes from one entry of dim 0 to the next when the tensor is a strided view;
    None when it is dense."""

    @staticmethod
    def wrap(name: str, array: np.ndarray, kind: ElementKind) -> GmTensor:
        """View ``array`` (any dtype of the element's size) as GM bytes: C-contiguous, or
        dense but for its first axis (``first_axis_stride``, whose LayoutError says why
        not)."""
        if array.dtype.itemsize != kind.size:
            raise ValueError(
                f"{name}: dtype {array.dtype} does not hold {kind.name} ({kind.size} bytes)"
            )
        try:
            stride = first_axis_stride(array)
        except LayoutError as e:
            raise LayoutError(f"{name}: {e}") from None
        shape = tuple(array.shape)
        if stride is None:
            return GmTensor(name, array.reshape(-1).view(np.uint8), shape, kind)
        row = prod(shape[1:]) * kind.size
        extent = (shape[0] - 1) * stride + row
        return GmTensor(name, _byte_window(array, extent), shape, kind, stride)

    @property
    def row_bytes(self) -> int:
        """Bytes of one entry of dim 0 (one cache block, one token)."""
        return prod(self.shape[1:]) * self.kind.size

    @property
    def dim0_stride(self) -> int:
        """Bytes from one entry of dim 0 to the next (the row itself when dense)."""
        return self.row_bytes if self.block_stride is None else self.block_stride

    def byte_strides(self) -> tuple[int, ...]:
        """The strides of :meth:`typed`, in bytes."""
        inner = [prod(self.shape[dim + 1 :]) * self.kind.size for dim in range(len(self.shape))]
        return (self.dim0_stride, *inner[1:]) if self.shape else ()

    def rows(self) -> np.ndarray:
        """The bytes as ``[dim 0, row_bytes]`` (a view, strided like the tensor)."""
        return np.lib.stride_tricks.as_strided(
            self.bytes,
            shape=(self.shape[0], self.row_bytes),
            strides=(self.dim0_stride, 1),
            writeable=self.bytes.flags.writeable,
        )

    def typed(self) -> np.ndarray:
        """The tensor as its storage dtype and shape (a view, not a copy)."""
        typed = self.bytes.view(self.kind.storage)
        if self.block_stride is None:
            return typed.reshape(self.shape)
        return np.lib.stride_tricks.as_strided(
            typed, shape=self.shape, strides=self.byte_strides(), writeable=typed.flags.writeable
        )

    @property
    def nbytes(self) -> int:
        """Bytes of memory the tensor spans (gaps of a strided one included)."""
        return self.bytes.size
