"""Fused consumers under test: signatures with SPEC section 7 consumers, their data, and
the three ways to run them that must agree bit for bit.

* :func:`run_reference`: the unfused program (``runtime.ir_builder.build_unfused_module``:
  a gather into allocated buffers, then ``linalg.generic`` consumers) run op by op in
  xDSL's interpreter (``runtime.interpreter.array_functions``);
* :func:`run_lowered`: the fused (or, ``fuse=False``, the unfused) program through
  ``pakv-to-ascend`` and the machine model, every kernel on every core;
* ``runtime.golden.golden_dequant_outputs``: SPEC section 7's formula in numpy.

Kernels are compiled once per (signature, SoC, options) and shared by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from pakv_dialect.dtypes import ElementKind, index_kind_named, kv_kind_named
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import soc_info
from runtime.call import DequantSpec, GatherSignature, RunSizes, stream_of
from runtime.golden import total_length
from runtime.host.lowered import apply_pipeline, compile_kernel
from runtime.interpreter.fast_path import CompiledKernel
from runtime.interpreter.pakv_functions import run_function
from runtime.interpreter.sequence import KernelLaunch, kernels_of, run_lowered_program
from runtime.ir_builder import KERNEL_NAME, build_gather_module, build_unfused_module
from runtime.memory import GmTensor

FLOAT_SOURCES = ("fp16", "bf16", "fp8_e5m2", "fp8_e4m3fn", "hifloat8")

SPECIAL_FLOATS: dict[str, list[int]] = {
    "fp16": [0x8000, 0x7C00, 0xFC00, 0x7E01, 0x7C01, 0x7BFF, 0x0001],
    "bf16": [0x8000, 0x7F80, 0xFF80, 0x7FC1, 0x7F81, 0x7F7F, 0x0001],
    "fp8_e5m2": [0x80, 0x7C, 0xFC, 0x7E, 0x7D, 0x7B, 0x01],
    "fp8_e4m3fn": [0x80, 0x7F, 0xFF, 0x7E, 0x01],
    "hifloat8": [0x80, 0x6F, 0xEF, 0x6E, 0x01, 0x00],
}
"""-0.0, +-inf, NaNs (quiet and signalling, with payloads), the largest finite value
and the least subnormal of each float source: planted at the start of every cache."""


def kind(name: str) -> ElementKind:
    found = kv_kind_named(name) or index_kind_named(name)
    assert found is not None, name
    return found


@dataclass(frozen=True)
class FusionCase:
    """One signature with consumers, its SoC and sizes, and what its data looks like."""

    mode: str
    key_dtype: str
    value_dtype: str
    key_map: DequantSpec | None
    value_map: DequantSpec | None
    soc: str = "Ascend910_95"
    heads: int = 2
    head_size: int = 32
    block_size: int = 16
    cumsum: bool = False
    offsets: bool = False
    index: str = "int32"
    batch: int = 3
    num_blocks: int = 9
    table_width: int = 5
    options: str = ""
    """Extra ``pakv-to-ascend`` options (``tile-bytes=256`` forces small tiles)."""
    overflow: bool = True
    """Scales large enough for fp16 results to overflow to +-inf."""
    bad_blocks: bool = True
    """Table entries out of range: the kernel's zero tokens, computed like the rest."""

    def signature(self) -> GatherSignature:
        h = self.heads * self.head_size
        nz = self.mode == CacheMode.PA_NZ.value

        def dims(dtype: str) -> tuple[int, int, int]:
            if nz:
                ea = 32 // kind(dtype).size
                return (h // ea, self.block_size, ea)
            return (self.block_size, self.heads, self.head_size)

        return GatherSignature(
            cache_mode=CacheMode(self.mode),
            cumsum=self.cumsum,
            has_offset=self.offsets,
            key_kind=self.key_dtype,
            value_kind=self.value_dtype,
            index_kind=self.index,
            key_cache_dims=dims(self.key_dtype),
            value_cache_dims=dims(self.value_dtype),
            soc=self.soc,
            key_map=self.key_map,
            value_map=self.value_map,
        )

    def __str__(self) -> str:
        def spec(s: DequantSpec | None) -> str:
            if s is None:
                return "copy"
            return f"{s.out_kind}/{s.scale or '-'}/{s.offset or '-'}"

        extra = "".join(
            f" {flag}" for flag, on in (("cumsum", self.cumsum), ("offsets", self.offsets)) if on
        )
        return (
            f"{self.soc} {self.mode} {self.key_dtype}->{spec(self.key_map)} "
            f"{self.value_dtype}->{spec(self.value_map)}{extra} {self.options}".strip()
        )


@dataclass
class FusionData:
    """A case's arrays by role (storage dtypes) and its total length."""

    case: FusionCase
    arrays: dict[str, np.ndarray]
    total: int
    kinds: dict[str, ElementKind] = field(default_factory=dict[str, ElementKind])

    def copy(self) -> dict[str, np.ndarray]:
        return {role: array.copy() for role, array in self.arrays.items()}

    def tensors(self, arrays: dict[str, np.ndarray]) -> list[GmTensor]:
        roles = self.case.signature().roles
        return [GmTensor.wrap(role, arrays[role], self.kinds[role]) for role in roles]


def _bits(rng: np.random.Generator, element: ElementKind, shape: tuple[int, ...]) -> np.ndarray:
    unsigned = np.dtype(f"u{element.size}")
    bits = rng.integers(0, np.iinfo(unsigned).max, size=shape, dtype=unsigned, endpoint=True)
    special = SPECIAL_FLOATS.get(element.name, [])
    flat = bits.reshape(-1)
    flat[: len(special)] = np.array(special[: flat.size], dtype=unsigned)
    return bits.view(element.storage)


def _params(
    rng: np.random.Generator, spec: DequantSpec, inner: tuple[int, ...], overflow: bool
) -> list[np.ndarray]:
    arrays: list[np.ndarray] = []
    for name, reach in spec.params:
        shape = inner if reach == "channel" else ()
        values = rng.standard_normal(shape).astype(np.float32)
        if name == "scale":
            values = values * np.float32(0.05)
            if overflow and spec.out_kind == "fp16":
                values.reshape(-1)[:1] = np.float32(3e4)  # some fp16 results overflow
            values.reshape(-1)[-1:] = np.float32(-0.0)  # -0.0 times anything finite
        else:
            values = values * np.float32(40)
        arrays.append(np.array(values, dtype=np.float32))
    return arrays


def make_data(case: FusionCase, seed: int) -> FusionData:
    """Random data for ``case``: cache bits with special values planted, tables with
    some ids out of range, lengths that fit, finite parameters (see :func:`_params`),
    outputs of random bits (rows past the total must stay so)."""
    rng = np.random.default_rng(seed)
    signature = case.signature()
    index = kind(case.index).storage
    first_col = np.zeros(case.batch, dtype=np.int64)
    offsets = None
    if case.offsets:
        first_col = rng.integers(0, 2, size=case.batch)
        offsets = first_col * case.block_size + rng.integers(0, case.block_size, size=case.batch)
    capacity = (case.table_width - first_col) * case.block_size
    lens = rng.integers(0, capacity + 1)
    total = int(lens.sum())
    num_tokens = total + 3
    tables = rng.integers(0, case.num_blocks, size=(case.batch, case.table_width))
    if case.bad_blocks:
        tables[0, -1] = case.num_blocks + 7  # out of range: zero tokens in the kernel
    sizes = RunSizes(case.batch, case.num_blocks, case.table_width, num_tokens)
    shapes = signature.operand_shapes(sizes)
    kinds = {role: signature.element(role) for role in signature.roles}
    arrays: dict[str, np.ndarray] = {}
    for role, shape in shapes.items():
        if role in ("key_cache", "value_cache", "key_out", "value_out"):
            arrays[role] = _bits(rng, kinds[role], shape)
    arrays["block_tables"] = tables.astype(index)
    arrays["seq_lens"] = (np.concatenate(([0], np.cumsum(lens))) if case.cumsum else lens).astype(
        index
    )
    if offsets is not None:
        arrays["seq_offset"] = offsets.astype(index)
    for stream in ("key", "value"):
        spec = signature.stream_map(stream)
        if spec is not None:
            inner = shapes[f"{stream}_out"][1:]
            for i, values in enumerate(_params(rng, spec, inner, case.overflow)):
                arrays[f"{stream}_param_{i}"] = values
    assert total == total_length(arrays["seq_lens"], cumsum=case.cumsum)
    return FusionData(case, arrays, total, kinds)


@cache
def _reference_module(case: FusionCase, sizes: RunSizes) -> ModuleOp:
    return build_unfused_module(case.signature(), sizes)


def run_reference(data: FusionData) -> dict[str, np.ndarray]:
    """The unfused program, op by op (module docstring); returns the arrays after it."""
    case = data.case
    arrays = data.copy()
    shapes = {role: a.shape for role, a in arrays.items()}
    sizes = RunSizes(
        shapes["block_tables"][0], shapes["key_cache"][0], shapes["block_tables"][1],
        shapes["key_out"][0],
    )  # fmt: skip
    run_function(_reference_module(case, sizes), data.tensors(arrays), name=KERNEL_NAME)
    return arrays


@dataclass(frozen=True)
class LoweredProgram:
    module: ModuleOp
    kernels: dict[str, CompiledKernel]


@cache
def lowered_program(case: FusionCase, fuse: bool = True) -> LoweredProgram:
    """``case``'s program lowered (fused, or ``fuse=False``: the unfused program's
    kernels) and compiled, once."""
    signature = case.signature()
    module = build_gather_module(signature) if fuse else build_unfused_module(signature)
    options = " ".join(o for o in (case.options, "" if fuse else "fuse=false") if o)
    apply_pipeline(module, case.soc, options)
    module.verify()
    return LoweredProgram(module, {n: compile_kernel(f) for n, f in kernels_of(module).items()})


def run_lowered(
    data: FusionData, fuse: bool = True
) -> tuple[dict[str, np.ndarray], list[KernelLaunch]]:
    """The lowered program on the machine model; returns the arrays after it."""
    program = lowered_program(data.case, fuse)
    arrays = data.copy()
    launches = run_lowered_program(
        program.module, data.tensors(arrays), soc_info(data.case.soc), program.kernels
    )
    return arrays, launches


def differing_rows(
    data: FusionData, got: dict[str, np.ndarray], want: dict[str, np.ndarray]
) -> dict[str, int]:
    """Rows below the total whose bytes differ, per output; and the fused program must
    leave every later row as it was (the unfused one need not: SPEC section 7)."""
    rows = min(data.total, data.arrays["key_out"].shape[0])
    found: dict[str, int] = {}
    for role in ("key_out", "value_out"):
        if rows == 0:
            found[role] = 0
            continue
        a = got[role][:rows].view(np.uint8).reshape(rows, -1)
        b = want[role][:rows].view(np.uint8).reshape(rows, -1)
        found[role] = int((a != b).any(axis=1).sum())
    return found


def untouched_past_total(data: FusionData, got: dict[str, np.ndarray]) -> bool:
    rows = min(data.total, data.arrays["key_out"].shape[0])
    return all(
        np.array_equal(got[role][rows:].view(np.uint8), data.arrays[role][rows:].view(np.uint8))
        for role in ("key_out", "value_out")
    )


def spec_of(stream: str, case: FusionCase) -> DequantSpec | None:
    return case.key_map if stream_of(stream) == "key" else case.value_map
