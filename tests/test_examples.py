"""The scripts in examples/ run and say what the README says they say."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_api_example_runs_both_interfaces_and_reports_a_rejected_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runpy.run_path(str(EXAMPLES / "api_example.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "keyRef and valueRef are all ones"
    assert out[1] == "rejected with status 161002: nothing written"
    assert "seqLens dim 0 must be batch = 4, got 3" in out[2]
