"""Where a memref lives and how its elements lie there: address spaces and layouts.

Address spaces (``#ascend.address_space<gm>`` / ``<ub>``) are the ``ascend`` dialect's
(``pakv_dialect.ascend`` registers the attribute); they are defined here so that the
``pakv`` dialect, which the ``ascend`` one builds on, can hold its operands to them.

Layouts (SPEC section 9): a ``pakv.gather`` operand is dense (no layout, or a strided
layout that is the dense one), except a cache, whose first axis (``num_blocks``) may
have any stride that is a multiple of 32 bytes, static or ``?`` (given at run time),
while its inner dimensions stay dense: ``memref<4x8x2x4xf16, strided<[128, 8, 4, 1]>>``
(blocks 256 bytes apart, each block's 64 elements dense). That is a view into one
larger buffer: one layer of a ``[num_blocks, layers, ...]`` cache, or the keys of
keys and values interleaved. Strides are in elements, as MLIR's ``strided`` layout
says them; every other layout is refused (:func:`cache_layout_error`,
:func:`dense_layout_error`), so nothing is ever read as if it were dense when it is not.
"""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import AffineMapAttr, MemRefType, NoneAttr, StridedLayoutAttr
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute
from xdsl.ir.affine import AffineMap
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.str_enum import StrEnum

BLOCK_STRIDE_ALIGN = 32
"""A cache's first-axis stride is a multiple of this many bytes (SPEC section 9)."""


class AddressSpace(StrEnum):
    gm = "gm"
    ub = "ub"


@irdl_attr_definition
class AddressSpaceAttr(EnumAttribute[AddressSpace]):
    """``#ascend.address_space<gm>`` or ``#ascend.address_space<ub>``."""

    name = "ascend.address_space"

    def print_parameter(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            super().print_parameter(printer)

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> AddressSpace:
        with parser.in_angle_brackets():
            return super().parse_parameter(parser)


GM = AddressSpaceAttr(AddressSpace.gm)
UB = AddressSpaceAttr(AddressSpace.ub)


def memory_space_of(ty: Attribute) -> AddressSpace | None:
    if isinstance(ty, MemRefType) and isinstance(ty.memory_space, AddressSpaceAttr):
        return ty.memory_space.data
    return None


def global_memory_error(role: str, ty: MemRefType) -> str | None:
    """Why ``ty`` is not in global memory, or None: host memory (no memory space, which
    the lowering moves to GM) and ``#ascend.address_space<gm>`` are."""
    space = ty.memory_space
    if isinstance(space, NoneAttr) or space == GM:
        return None
    return (
        f"{role} must be in global memory (no memory space, or #ascend.address_space<gm>), "
        f"got {space}"
    )


def dense_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element strides of a dense (row-major) array of ``shape``."""
    return tuple(prod(shape[dim + 1 :]) for dim in range(len(shape)))


def _is_identity(layout: Attribute) -> bool:
    if isinstance(layout, AffineMapAttr):
        affine = layout.data
        return affine == AffineMap.identity(affine.num_dims)
    return isinstance(layout, NoneAttr)


def _dense_inner(ty: MemRefType, first: int) -> bool:
    """Whether dims ``first..`` of ``ty`` are static and its strides there the dense ones."""
    layout = ty.layout
    assert isinstance(layout, StridedLayoutAttr)
    shape = ty.get_shape()
    if any(size < 0 for size in shape[first:]):
        return False
    return tuple(layout.get_strides()[first:]) == dense_strides(shape)[first:]


def dense_layout_error(role: str, ty: MemRefType) -> str | None:
    """Why ``ty`` is not dense, or None: no layout, an identity map, or the dense strides."""
    layout = ty.layout
    if _is_identity(layout):
        return None
    if isinstance(layout, StridedLayoutAttr) and layout.get_offset() == 0 and _dense_inner(ty, 0):
        return None
    return f"{role} must be dense (no layout), got {layout}"


def cache_layout_error(role: str, ty: MemRefType, element_bytes: int) -> str | None:
    """Why ``ty`` is not a cache layout PAKV reads in place (module docstring), or None."""
    layout = ty.layout
    if _is_identity(layout):
        return None
    expected = "strided<[s, inner dense strides]> (s static or ?)"
    if ty.get_num_dims() >= 1 and all(size >= 0 for size in ty.get_shape()[1:]):
        inner = ", ".join(map(str, dense_strides(ty.get_shape())[1:]))
        expected = f"strided<[s, {inner}]> (s static or ?)"
    if not isinstance(layout, StridedLayoutAttr) or not _dense_inner(ty, 1):
        return (
            f"{role} layout must keep every dim but the first (num_blocks) dense: expected "
            f"{expected}, got {layout}"
        )
    offset = layout.get_offset()
    if offset != 0:
        return f"{role} layout must start at its first element (offset 0), got offset {offset}"
    stride = layout.get_strides()[0]
    if stride is not None and (stride < 0 or stride * element_bytes % BLOCK_STRIDE_ALIGN):
        return (
            f"{role} dim 0 (num_blocks) stride must be a non-negative multiple of "
            f"{BLOCK_STRIDE_ALIGN} bytes, got {stride} elements of {element_bytes} byte(s)"
        )
    return None


def block_stride(ty: MemRefType) -> int | None:
    """Elements from one entry of dim 0 to the next in a checked cache layout: the dense
    size of the inner dims, the static stride, or None when the stride is ``?``."""
    layout = ty.layout
    if isinstance(layout, StridedLayoutAttr):
        return layout.get_strides()[0]
    return prod(ty.get_shape()[1:])
