"""HiFloat8, Huawei's 8-bit float, as an xDSL type.

Neither MLIR's builtin types nor ml_dtypes know HiFloat8. The gather never computes
on it, it only moves its bits, so the type carries no semantics beyond its width of
one byte; the host stores it as uint8.
"""

from __future__ import annotations

from xdsl.ir import ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition


@irdl_attr_definition
class HiFloat8Type(ParametrizedAttribute, TypeAttribute):
    """``!pakv.hifloat8``: one byte, Huawei HiFloat8 encoding."""

    name = "pakv.hifloat8"
