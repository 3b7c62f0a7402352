"""Shared pytest setup: makes the plain helper modules beside this file importable.

``tests/`` is not a package (xDSL installs one called ``tests``), so helpers such as
``gather_cases`` are imported by module name through this directory on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, different per test."""
    seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(request.node.nodeid))
    return np.random.default_rng(seed)
