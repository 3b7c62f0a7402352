"""Compile printed AscendC units against the host stand-in and run them on numpy data.

There is no CANN toolkit on the development machines, so the printed kernels run on
the CPU: ``stand_in/kernel_operator.h`` implements the AscendC subset the printer uses
with its documented semantics and hardware checks, ``stand_in/acl/acl.h`` the runtime
calls of the printed host code, and ``stand_in/host_entry.h`` the C entry that Python
calls. A unit's own host code runs: ``ComputeGatherTiling`` (a scatter's
``ComputeScatterTiling``) computes the tiling and the
launcher (``Launch<Kernel>``) copies it to device memory and launches the kernel on
every core. The only rewrite is the one piece of syntax g++ cannot parse, the launch
chevrons ``kernel<<<blockDim, l2ctrl, stream>>>(...)``, which become a call of the
stand-in's launch (as the AscendC compiler lowers them to a runtime launch).

Units are compiled into shared libraries (``g++ -shared -fPIC``), several per compiler
run when many are built at once (each in its own namespace, with its own C entry), and
cached on disk under :func:`cache_dir`, keyed by a hash of the sources, the SoC's
configuration, the compiler, its flags and the stand-in: a unit is compiled once per
machine, and concurrent builds cannot corrupt the cache (each library is written to a
temporary file and renamed into place). Libraries are loaded with ``ctypes``; a run
passes numpy buffers by pointer, so outputs are written in place with no copy, no file
and no process per call.
"""

from __future__ import annotations

import ctypes
import hashlib
import inspect
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from threading import Lock

import numpy as np

from pakv_dialect.soc import AscendCApi, SocInfo, soc_info
from pakv_dialect.tiling import GATHER_ABI, TILING_ABIS, TilingAbi
from runtime.ascendc.plan import pascal
from runtime.call import KernelCall

STAND_IN_DIR = Path(__file__).resolve().parent / "stand_in"
"""The stand-in headers (package data)."""

CXX_FLAGS = (
    "-std=c++17", "-Og", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
    "-fvisibility-inlines-hidden", "-fno-gnu-unique",
)  # fmt: skip
"""The printed unit must compile warning-free. -Og runs as fast as -O1 here (the time
goes to memmove) and compiles in half the time. Each library keeps its own copy of the
stand-in: libraries for different SoCs are built with different -D flags (UB size,
APIs), and one process loads many of them, so the stand-in's inline functions and their
static state (the per-thread simulated core, sized by the SoC's UB) must not be merged
across libraries by the dynamic linker (inline functions hidden; no STB_GNU_UNIQUE
symbols, which even RTLD_LOCAL libraries share). Merged, a 950 kernel could run on a
910B-sized UB: heap corruption, seen as a rare abort."""

COMPILER_ENV = "CXX"
"""Names the C++ compiler (default ``g++``)."""

CACHE_ENV = "PAKV_CACHE_DIR"
"""Overrides where compiled kernels are cached."""

UNITS_PER_LIBRARY = 16
"""Units compiled by one compiler run when many are built at once: each adds a fraction
of a second to a run that costs about two seconds for the headers alone."""

RULE_BROKEN = 3
"""Status of the C entry when the kernel broke a hardware rule (``host_entry.h``)."""

_LAUNCH = re.compile(r"\b(\w+)<<<(.*?)>>>\(")
_ERROR_BYTES = 2048


class HostCompilerMissing(RuntimeError):
    """No C++ compiler: the emitted kernel cannot be built on this machine."""


class HostBuildError(RuntimeError):
    """The printed kernel did not compile; the message holds the compiler's output."""


class HostRunError(RuntimeError):
    """The kernel broke a hardware rule (or the call was malformed); the message says which."""


def find_compiler() -> str | None:
    """The C++ compiler the host build uses (``$CXX``, else ``g++``), or None."""
    return shutil.which(os.environ.get(COMPILER_ENV) or "g++")


def require_compiler() -> str:
    compiler = find_compiler()
    if compiler is None:
        wanted = os.environ.get(COMPILER_ENV) or "g++"
        raise HostCompilerMissing(
            f"the AscendC host build needs a C++17 compiler, and {wanted!r} is not on PATH: "
            "install one (Debian: apt-get install g++) or name it in $CXX"
        )
    return compiler


def cache_dir() -> Path:
    """Where compiled kernels live: ``$PAKV_CACHE_DIR``, else ``$XDG_CACHE_HOME/pakv``,
    else ``~/.cache/pakv`` (each with an ``ascendc-host`` subdirectory)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / "ascendc-host"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pakv" / "ascendc-host"


def soc_flags(soc: SocInfo) -> list[str]:
    """The stand-in's configuration for ``soc``, from the one SoC table."""
    flags = [
        f'-DASCENDC_HOST_SOC="{soc.name}"',
        f"-DASCENDC_HOST_UB_BYTES={soc.ub_usable_bytes}",
        f"-DASCENDC_HOST_EVENT_IDS={soc.event_ids}",
    ]
    if soc.npu_arch is not None:
        flags.append(f"-D__NPU_ARCH__={soc.npu_arch}")
    if soc.kernel_type is not None:
        flags.append(f"-DASCENDC_HOST_KERNEL_TYPE={soc.kernel_type}")
    flags += [f"-DASCENDC_HOST_NO_{api.name}" for api in soc.missing_apis(frozenset(AscendCApi))]
    casts = ";".join(
        f"{source}>{target}:{''.join(sorted(mode.name[0] for mode in modes))}"
        for source, target, modes in soc.casts
    )
    flags.append(f'-DASCENDC_HOST_CASTS="{casts}"')
    return flags


def host_translation(source: str) -> str:
    """``source`` with its launch chevrons as calls of the stand-in's launch."""
    return _LAUNCH.sub(r"ASCENDC_HOST_LAUNCH(\1, \2)(", source)


@dataclass(frozen=True)
class HostUnit:
    """One printed translation unit to build: its text, its kernel entry, its SoC."""

    source: str
    entry: str
    """The kernel's name: its ``extern "C"`` entry, and ``Launch<Entry>`` its launcher."""
    soc: str
    tiling: str = GATHER_ABI.name
    """The kernel's tiling ABI (``pakv_dialect.tiling.TILING_ABIS``): its host function
    computes the tiling (``ComputeGatherTiling``, ``ComputeScatterTiling``)."""

    @property
    def abi(self) -> TilingAbi:
        return TILING_ABIS[self.tiling]

    @property
    def digest(self) -> str:
        text = f"{self.entry}\n{self.soc}\n{self.source}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    @property
    def symbol(self) -> str:
        return f"pakv_run_{self.digest}"


class HostKernel:
    """One compiled unit in a loaded library: ``run`` launches it on host buffers."""

    def __init__(self, library: ctypes.CDLL, unit: HostUnit):
        self.unit = unit
        self.soc = soc_info(unit.soc)
        self._shape_names = tuple(inspect.signature(unit.abi.compute).parameters)
        """The tiling function's parameters, read once: ``inspect`` per call cost more
        than a small launch (and fed the garbage collector)."""
        self._run = getattr(library, unit.symbol)
        self._run.restype = ctypes.c_int
        self._run.argtypes = [
            ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
        ]  # fmt: skip

    def run(self, tensors: Sequence[np.ndarray], shape: Sequence[int]) -> dict[str, int]:
        """Launch on every core the tiling uses; outputs are written into ``tensors``.

        ``tensors`` follow the kernel's GM parameters (C-contiguous, any dtype); ``shape``
        the parameters of the unit's tiling function (``ComputeGatherTiling``...).
        Returns the tiling the unit's host code computed. Raises HostRunError when a
        hardware rule broke.
        """
        fields = self.unit.abi.fields
        for index, tensor in enumerate(tensors):
            if not tensor.flags.c_contiguous:
                raise ValueError(f"GM tensor {index} must be C-contiguous")
        count = len(tensors)
        addresses = (ctypes.c_void_p * count)(*(t.ctypes.data for t in tensors))
        sizes = (ctypes.c_uint64 * count)(*(t.nbytes for t in tensors))
        sizes_in = (ctypes.c_uint64 * len(shape))(*shape)
        tiling = (ctypes.c_uint64 * len(fields))()
        error = ctypes.create_string_buffer(_ERROR_BYTES)
        status = self._run(
            sizes_in, len(shape), addresses, sizes, count, tiling, len(fields), error,
            _ERROR_BYTES,
        )  # fmt: skip
        if status != 0:
            message = error.value.decode(errors="replace")
            what = "broke a hardware rule" if status == RULE_BROKEN else f"failed ({status})"
            raise HostRunError(
                f"AscendC kernel {self.unit.entry} on {self.soc.name} {what}: {message}"
            )
        return dict(zip(fields, tiling, strict=True))

    def run_call(
        self, call: KernelCall, tensors: Sequence[np.ndarray] | None = None
    ) -> dict[str, int]:
        """Run one call; its outputs are written in place.

        ``tensors`` are the kernel's GM arguments in its parameter order (default: the
        call's operands in kernel-argument order). The unit's host code computes the
        tiling from the runtime sizes the call's ``tiling`` passes to its ABI's function
        (``gather_tiling``, ``scatter_tiling``); the result is returned.
        """
        cores = self.soc.vector_cores
        shape = [
            cores if name == "vector_cores" else getattr(call, name) for name in self._shape_names
        ]
        if tensors is None:
            tensors = [t.bytes for t in call.arguments()]
        return self.run(tensors, shape)


@cache
def _compiler_identity(compiler: str) -> str:
    done = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False)
    return f"{compiler}\n{done.stdout}"


@cache
def _stand_in_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(STAND_IN_DIR.rglob("*.h")):
        digest.update(path.relative_to(STAND_IN_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _library_source(units: Sequence[HostUnit], unit_files: Sequence[Path]) -> str:
    lines = [
        "// Generated by runtime/ascendc/host_build.py: printed AscendC units and their C entries.",
        '#include "host_entry.h"',
    ]
    for unit, path in zip(units, unit_files, strict=True):
        space = f"unit_{unit.digest}"
        lines += [
            f"namespace {space} {{",
            f"#define {unit.entry} {unit.entry}_{unit.digest}",
            f'#include "{path.name}"',
            f"#undef {unit.entry}",
            f"}}  // namespace {space}",
            f"PAKV_HOST_ENTRY({unit.symbol}, {space}::{unit.abi.function}, "
            f"{space}::Launch{pascal(unit.entry)})",
        ]
    return "\n".join(lines) + "\n"


_loaded: dict[str, HostKernel] = {}
_loaded_lock = Lock()


def _compile(units: Sequence[HostUnit], compiler: str, library: Path | None) -> None:
    """Compile ``units`` (one SoC) into ``library``, atomically; None: check only (the
    compiler's front end runs, no code is generated)."""
    flags = [*CXX_FLAGS, *soc_flags(soc_info(units[0].soc)), f"-I{STAND_IN_DIR}"]
    directory = cache_dir() if library is None else library.parent
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as scratch:
        workdir = Path(scratch)
        unit_files = [workdir / f"unit_{u.digest}.cpp" for u in units]
        for unit, path in zip(units, unit_files, strict=True):
            path.write_text(host_translation(unit.source))
        main = workdir / "library.cpp"
        main.write_text(_library_source(units, unit_files))
        output = workdir / "library.so"
        target = ["-fsyntax-only"] if library is None else ["-o", str(output)]
        command = [compiler, *flags, str(main), *target]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise HostBuildError(f"{shlex.join(command)}\n{done.stderr}")
        if library is not None:
            os.replace(output, library)


def check_compiles(unit: HostUnit) -> None:
    """Compile ``unit`` for its SoC without generating code; HostBuildError when the
    compiler rejects it (an API the SoC lacks, a GM pointer used as a host one...)."""
    _compile([unit], require_compiler(), None)


def _library_path(units: Sequence[HostUnit], compiler: str) -> Path:
    soc = soc_info(units[0].soc)
    key = hashlib.sha256(
        "\n".join(
            [
                _compiler_identity(compiler),
                *CXX_FLAGS,
                *soc_flags(soc),
                _stand_in_digest(),
                *sorted(u.digest for u in units),
            ]
        ).encode()
    ).hexdigest()[:32]
    return cache_dir() / f"{soc.name}-{key}.so"


def _build_library(units: Sequence[HostUnit], compiler: str) -> list[HostKernel]:
    library = _library_path(units, compiler)
    if not library.exists():
        _compile(units, compiler, library)
    loaded = ctypes.CDLL(str(library))
    return [HostKernel(loaded, unit) for unit in units]


def build_host_kernels(units: Sequence[HostUnit], jobs: int | None = None) -> list[HostKernel]:
    """Every unit compiled (or taken from the cache) and loaded; results in input order.

    Units not loaded yet are grouped by SoC into libraries of up to
    ``UNITS_PER_LIBRARY``, compiled by ``jobs`` compiler runs at a time.
    """
    compiler = require_compiler()
    with _loaded_lock:
        missing = list({u.digest: u for u in units if u.digest not in _loaded}.values())
    batches: list[list[HostUnit]] = []
    for soc in sorted({u.soc for u in missing}):
        same = [u for u in missing if u.soc == soc]
        libraries = -(-len(same) // UNITS_PER_LIBRARY)
        size = -(-len(same) // libraries)  # as even as the library count allows
        batches += [same[i : i + size] for i in range(0, len(same), size)]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(batches) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        built = list(pool.map(lambda batch: _build_library(batch, compiler), batches))
    with _loaded_lock:
        for kernels in built:
            for kernel in kernels:
                _loaded[kernel.unit.digest] = kernel
        return [_loaded[u.digest] for u in units]


def build_host_kernel(unit: HostUnit) -> HostKernel:
    """One unit, compiled (or taken from the cache) and loaded."""
    return build_host_kernels([unit])[0]
