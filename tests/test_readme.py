"""The README's commands, read the way `.ci/readme_commands.py` (which CI runs) reads
them: each must work as written from the repository root on a fresh clone, so each is a
`make` target or names the venv's executable, and every example file it names exists."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


@cache
def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci/readme_commands.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_command_runs_without_an_activated_venv() -> None:
    commands = _runner().readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) >= 10, "the README's code blocks were not found"
    for command in commands:
        assert command.text.startswith(("make ", ".venv/bin/")), command
        for path in re.findall(r"(?:examples|bench)/[\w./-]+", command.text):
            assert (ROOT / path).exists(), f"README line {command.line} names {path}"


def test_the_runner_reads_transcripts() -> None:
    """A transcript's first output line is what the runner compares; a block in another
    language is not run."""
    text = "```\n$ .venv/bin/pakv run x\nPASS  y\n  more\n$ make demo\n```\n```python\nf()\n```\n"
    commands = _runner().readme_commands(text)
    assert [(c.line, c.text, c.first_output) for c in commands] == [
        (2, ".venv/bin/pakv run x", "PASS  y"),
        (5, "make demo", None),
    ]
