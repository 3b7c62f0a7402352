"""Run every command the README shows, as written, from the repository root.

The README promises that each command it shows works on a fresh clone once `make demo`
or `make test` has made `.venv`. This script holds it to that: every line of a ```sh
block is run (but `make test`, which `.ci/run` has just run, and `make bench`, which
rewrites bench/RESULTS.md and takes minutes), and every `$ command` of a transcript
block is run and must print the transcript's first line (timings only ever appear on
later lines) and exit 2 when that line reports an error, 0 otherwise.

Usage: `.venv/bin/python .ci/readme_commands.py [README.md]`; exit status 1 names each
command that failed.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = ("make test", "make bench")
"""Commands not run here (see the module docstring)."""
TIMEOUT_S = 600


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    first_output: str | None
    """The transcript's first output line, when the README shows one."""


def readme_commands(readme: str) -> list[Command]:
    """The commands of ```sh blocks and the ``$ `` lines of plain ``` blocks."""
    commands: list[Command] = []
    lines = readme.splitlines()
    fence: str | None = None
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence == "sh" and line.strip():
            text = line.split("  #", 1)[0].strip()
            commands.append(Command(number, text, None))
        elif fence == "" and line.startswith("$ "):
            following = lines[number] if number < len(lines) else ""
            shown = None if following.startswith(("$", "```")) or not following else following
            commands.append(Command(number, line[2:].strip(), shown))
    return commands


def run(command: Command) -> str | None:
    """None when ``command`` behaves as the README says, else why not."""
    done = subprocess.run(
        ["bash", "-c", command.text],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = (done.stdout + done.stderr).splitlines()
    if command.first_output is None:
        return None if done.returncode == 0 else f"exit {done.returncode}: {output[-3:]}"
    expected_status = 2 if "error:" in command.first_output else 0
    if done.returncode != expected_status:
        return f"exit {done.returncode}, the README implies {expected_status}: {output[:3]}"
    if command.first_output not in output[:2]:
        return f"printed {output[:2]}, the README shows {command.first_output!r}"
    return None


def main(argv: list[str]) -> int:
    readme = Path(argv[1]) if len(argv) > 1 else ROOT / "README.md"
    failures = 0
    for command in readme_commands(readme.read_text(encoding="utf-8")):
        if command.text.startswith(SKIPPED):
            print(f"skip  {readme.name}:{command.line}: {command.text} (see the docstring)")
            continue
        why = run(command)
        print(f"{'ok  ' if why is None else 'FAIL'}  {readme.name}:{command.line}: {command.text}")
        if why is not None:
            print(f"      {why}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
