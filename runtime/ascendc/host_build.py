"""Compile a printed AscendC kernel against the host stand-in and run it on numpy data.

There is no CANN toolkit on the development machines, so the printed kernels are
proven on the CPU: ``tests/ascendc_host/kernel_operator.h`` implements the AscendC
subset the printer uses with its documented semantics and hardware checks, and
``tests/ascendc_host/harness_main.cpp`` drives one kernel. Each distinct kernel
source is compiled once (``HostBuilds`` caches by content); each run exchanges
tensors with the binary through raw byte files, so data moves bit for bit.
"""

from __future__ import annotations

import hashlib
import inspect
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pakv_dialect.soc import soc_info
from pakv_dialect.tiling import TILING_FIELDS, gather_tiling
from runtime.call import GatherCall

STAND_IN_DIR = Path(__file__).resolve().parents[2] / "tests" / "ascendc_host"
"""The stand-in ``kernel_operator.h`` and the harness ``main``."""

CXX_FLAGS = ("-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-DASCENDC_CPU_DEBUG")
"""The printed unit must compile warning-free; -O1 keeps builds around a second."""

HARDWARE_RULE_STATUS = 3
"""Exit status of the harness when the kernel broke a hardware rule."""


class HostBuildError(RuntimeError):
    """The printed kernel did not compile; the message holds the compiler's output."""


class HostRunError(RuntimeError):
    """The kernel broke a hardware rule (or the harness failed); the message says which."""


def find_compiler() -> str | None:
    """The C++ compiler the host check uses, or None when the machine has none."""
    return shutil.which("g++")


@dataclass(frozen=True)
class HostKernel:
    """One compiled kernel: the harness binary with the printed unit built in."""

    binary: Path
    entry: str


@dataclass(frozen=True)
class GmArgument:
    """One kernel argument for a run: its array and whether the kernel writes it."""

    array: np.ndarray
    output: bool = False


def _source_key(source: str, entry: str) -> str:
    return hashlib.sha256(f"{entry}\n{source}".encode()).hexdigest()[:16]


@dataclass
class HostBuilds:
    """Builds kernels under ``root``, one compiler run per distinct (source, entry)."""

    root: Path
    compiler: str
    _built: dict[str, HostKernel] = field(default_factory=dict[str, HostKernel])

    def build(self, source: str, entry: str) -> HostKernel:
        key = _source_key(source, entry)
        if key in self._built:
            return self._built[key]
        directory = self.root / key
        directory.mkdir(parents=True, exist_ok=True)
        unit = directory / "kernel.cpp"
        unit.write_text(source)
        binary = directory / "harness"
        command = [
            self.compiler,
            *CXX_FLAGS,
            f"-I{STAND_IN_DIR}",
            f'-DPAKV_KERNEL_SOURCE="{unit}"',
            f"-DPAKV_KERNEL_ENTRY={entry}",
            str(STAND_IN_DIR / "harness_main.cpp"),
            "-o",
            str(binary),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise HostBuildError(f"{' '.join(command)}\n{done.stderr}")
        kernel = HostKernel(binary, entry)
        self._built[key] = kernel
        return kernel

    def build_all(self, units: Iterable[tuple[str, str]], jobs: int = 2) -> list[HostKernel]:
        """Build several (source, entry) units in parallel; results in input order."""
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(lambda unit: self.build(*unit), units))


def run_host_kernel(
    kernel: HostKernel,
    arguments: Sequence[GmArgument],
    shape: Sequence[int],
    ub_bytes: int,
    workdir: Path,
) -> dict[str, int]:
    """Run ``kernel`` on every core; output arrays are overwritten in place.

    ``arguments`` follow the entry's GM parameters; ``shape`` the parameters of the
    unit's ``ComputeGatherTiling``. Returns the tiling the unit's host code computed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"ub_bytes {ub_bytes}", "shape " + " ".join(str(v) for v in shape)]
    files: list[Path] = []
    for index, argument in enumerate(arguments):
        path = workdir / f"gm{index}.bin"
        data = np.ascontiguousarray(argument.array).reshape(-1).view(np.uint8)
        path.write_bytes(data.tobytes())
        files.append(path)
        lines.append(f"gm {'out' if argument.output else 'in'} {data.size} {path}")
    manifest = workdir / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [str(kernel.binary), str(manifest)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise HostRunError(done.stderr.strip() or f"harness exited with {done.returncode}")
    for argument, path in zip(arguments, files, strict=True):
        if argument.output:
            raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
            argument.array.reshape(-1).view(np.uint8)[:] = raw
    words = done.stdout.split()
    if not words or words[0] != "tiling" or len(words) != len(TILING_FIELDS) + 1:
        raise HostRunError(f"unexpected harness output: {done.stdout!r}")
    return dict(zip(TILING_FIELDS, map(int, words[1:]), strict=True))


def run_call_on_host(kernel: HostKernel, call: GatherCall, workdir: Path) -> dict[str, int]:
    """Run one call's operands through ``kernel``; its outputs are written in place.

    The host side of the printed unit computes the tiling from the same runtime sizes
    ``GatherCall.tiling`` passes to ``gather_tiling``; the result is returned for checks.
    """
    soc = soc_info(call.signature.soc)
    outputs = (call.key_out, call.value_out)
    arguments = [
        GmArgument(t.bytes, output=any(t is out for out in outputs)) for t in call.arguments()
    ]
    sizes = {"vector_cores": soc.vector_cores}
    shape = [
        sizes[name] if name in sizes else getattr(call, name)
        for name in inspect.signature(gather_tiling).parameters
    ]
    return run_host_kernel(kernel, arguments, shape, soc.ub_usable_bytes, workdir)
