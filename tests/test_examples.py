"""The scripts in examples/ run and say what the README says they say."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_api_example_runs_both_interfaces_and_reports_a_rejected_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runpy.run_path(str(EXAMPLES / "api_example.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "keyRef and valueRef hold block 1's tokens, slots 0, 1, 0 of each sequence"
    assert out[1] == "rejected with status 161002: nothing written"
    assert "seqLens dim 0 must be batch = 4, got 3" in out[2]


def test_api_example_runs_in_a_fresh_interpreter() -> None:
    """As ``python examples/api_example.py`` runs it: nothing imported beforehand (in this
    process other tests have long imported ``runtime.host.aclnn``, which hid a bug)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "api_example.py")],
        capture_output=True,
        text=True,
        cwd=EXAMPLES.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("keyRef and valueRef hold block 1's tokens")
