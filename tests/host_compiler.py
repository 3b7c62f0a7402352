"""Whether the tests that build emitted AscendC on the host can run here.

Without a C++ compiler those tests skip, saying why; under CI (``CI=true``) they run
anyway and fail with ``HostCompilerMissing``, so a CI machine without g++ cannot pass
silently (``.ci/run`` installs it).
"""

from __future__ import annotations

import os

import pytest

from runtime.ascendc.host_build import find_compiler

COMPILER = find_compiler()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

needs_compiler = pytest.mark.skipif(
    COMPILER is None and not IN_CI,
    reason="no C++ compiler (g++ or $CXX): emitted AscendC cannot be built here "
    "(under CI=true this is a failure instead)",
)
