"""The aclnn status codes and the error the Pythonic API raises with them."""

from __future__ import annotations

ACLNN_SUCCESS = 0
ACLNN_ERR_PARAM_NULLPTR = 161001
"""A required tensor is missing (None)."""
ACLNN_ERR_PARAM_INVALID = 161002
"""A shape, dtype, attribute, SoC or data value breaks SPEC section 3."""
ACLNN_ERR_INNER = 561000
"""An internal error: an executor failed on a call that passed every check (a PAKV bug,
never the caller's input). The outputs are left as they were."""

STATUS_NAMES = {
    ACLNN_SUCCESS: "ACLNN_SUCCESS",
    ACLNN_ERR_PARAM_NULLPTR: "ACLNN_ERR_PARAM_NULLPTR",
    ACLNN_ERR_PARAM_INVALID: "ACLNN_ERR_PARAM_INVALID",
    ACLNN_ERR_INNER: "ACLNN_ERR_INNER",
}


class AclnnError(Exception):
    """A rejected call: ``status`` is the aclnn code, ``message`` says what and where.

    The outputs are byte-identical afterwards: 161001/161002 are raised before anything
    is written, 561000 after the launch put back what a failing executor wrote.
    """

    def __init__(self, status: int, message: str):
        super().__init__(f"{status} {STATUS_NAMES.get(status, 'ACLNN_ERR')}: {message}")
        self.status = status
        self.message = message
