"""PAKV's host runtime: the aclnnGatherPaKvCache API on host arrays.

``gather_pa_kv_cache`` is the Pythonic call; ``runtime.aclnn`` mirrors the two-phase
C API. Importing this package does no work beyond importing its modules: kernels are
built on first use and cached per signature.
"""

from runtime import aclnn
from runtime.api import gather_pa_kv_cache
from runtime.call import GatherCall, GatherSignature
from runtime.errors import (
    ACLNN_ERR_PARAM_INVALID,
    ACLNN_ERR_PARAM_NULLPTR,
    ACLNN_SUCCESS,
    AclnnError,
)
from runtime.golden import golden_gather
from runtime.memory import GmTensor
from runtime.tensor import Tensor, TensorLike

__all__ = [
    "ACLNN_ERR_PARAM_INVALID",
    "ACLNN_ERR_PARAM_NULLPTR",
    "ACLNN_SUCCESS",
    "AclnnError",
    "GatherCall",
    "GatherSignature",
    "GmTensor",
    "Tensor",
    "TensorLike",
    "aclnn",
    "gather_pa_kv_cache",
    "golden_gather",
]
