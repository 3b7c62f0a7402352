"""Data for one ``pakv.gather``: random valid inputs that fit its types, or ``.npy`` files.

The command-line tool and the benchmarks run a gather whose *types* come from IR (a
user's file, an example, or shape flags) but whose *data* nobody wrote down. This
module makes that data:

* :class:`GatherOperands` reads what the op expects from the op itself: element kinds
  and shapes (``-1`` where a dimension is dynamic), mode, cumsum, block size.
* :func:`resolve_sizes` fixes the dynamic dimensions (batch, num_blocks, table width,
  num_tokens) from flags, or from defaults small enough to run in a blink.
* :func:`random_inputs` draws valid data for those shapes: random bit patterns in the
  caches (every NaN payload is fair game: the copy must be bit-exact), block tables
  with ids in range, lengths and offsets that never reach past the table, and a total
  that fills ``num_tokens`` when the output's size is fixed.
* :func:`load_inputs` reads ``<argument name>.npy`` (or ``<role>.npy``, or the
  operator's parameter name, e.g. ``keyCache.npy``) from a directory instead, and
  checks it against the op's types.

A gather with consumers (SPEC section 7) has more operands: the consumers' scales and
offsets (roles ``key_param_0``, ...: random finite float32 values, or files), and
outputs of the consumers' types.

Nothing is allocated before :func:`check_memory` has compared what the data needs
(its operands, plus the golden reference's copies of the outputs) with the memory this
host has available: ``--num-tokens 10**12`` is a one-line error naming the flag and
the bytes, never a ``MemoryError`` (or the kernel's OOM killer) halfway through.

:func:`gather_call` then runs the host checks of SPEC section 3 (``runtime.host.checks``)
on either, so bad data files fail exactly as they would at the API.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import DYNAMIC_INDEX

from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.layouts import block_stride, dense_strides
from pakv_dialect.pakv import CacheMode, GatherOp, ScatterOp
from pakv_dialect.soc import soc_info
from runtime.call import (
    API_NAMES,
    CACHE_ROLES,
    OPERAND_ROLES,
    OUTPUT_ROLES,
    GatherCall,
    RunSizes,
    size_dims,
)
from runtime.golden import total_length
from runtime.host.checks import check_data, check_parameters, expected_format
from runtime.host.tensor import Tensor
from runtime.ir_builder import gather_operands
from runtime.tool.units import size_text

DYNAMIC = DYNAMIC_INDEX
"""How :class:`GatherOperands` spells a dynamic dimension (xDSL's ``?``)."""

Inputs = dict[str, np.ndarray]
"""Arrays by operand role (``runtime.call.OPERAND_ROLES``), in storage dtypes."""


class WorkloadError(ValueError):
    """Data that cannot be made or read for the op; the message says which and why."""


@dataclass(frozen=True)
class GatherOperands:
    """What a ``pakv.gather`` expects of its operands, read from the op's types."""

    mode: CacheMode
    cumsum: bool
    block_size: int
    kinds: Mapping[str, ElementKind]
    """Element kind of every operand role present."""
    shapes: Mapping[str, tuple[int, ...]]
    """Shape of every operand role present; ``DYNAMIC`` (-1) where it is ``?``."""
    block_strides: Mapping[str, int | None]
    """Each cache's dim 0 stride in elements as its type fixes it (SPEC section 9); None
    where it is ``?`` (the data's own stride reaches the kernel through the tiling)."""

    token_roles = OUTPUT_ROLES
    """The token-major tensors (the gather's outputs)."""
    written_roles = OUTPUT_ROLES
    """What a call writes."""

    @property
    def has_offset(self) -> bool:
        return "seq_offset" in self.shapes

    @property
    def params(self) -> tuple[str, ...]:
        """The consumers' parameter roles (``key_param_0``, ...), in operand order."""
        return tuple(role for role in self.shapes if "_param_" in role)

    def plain(self) -> GatherOperands:
        """The plain gather behind a gather with consumers: outputs of the caches'
        kinds, no parameters. The host checks of SPEC section 3 judge it (they are
        the same for both: the consumers change no shape and no index)."""
        kinds = {r: k for r, k in self.kinds.items() if "_param_" not in r}
        kinds |= {out: self.kinds[out.replace("_out", "_cache")] for out in OUTPUT_ROLES}
        shapes = {r: s for r, s in self.shapes.items() if "_param_" not in r}
        return GatherOperands(
            self.mode, self.cumsum, self.block_size, kinds, shapes, self.block_strides
        )

    def laid_out(self, role: str, array: np.ndarray) -> np.ndarray:
        """``array`` in the layout the op's type fixes for ``role`` (:func:`laid_out`)."""
        return laid_out(array, self.block_strides.get(role))

    @staticmethod
    def of(op: GatherOp) -> GatherOperands:
        """The expectations of a verified ``op``."""
        kinds: dict[str, ElementKind] = {}
        shapes: dict[str, tuple[int, ...]] = {}
        strides: dict[str, int | None] = {}
        for role, value in gather_operands(op).items():
            ty = op.memref_type(value)
            element = ty.get_element_type()
            kind = kv_kind_of_type(element) or index_kind_of_type(element)
            assert kind is not None, f"{role}: {element} (the verifier admits no such type)"
            kinds[role] = kind
            shapes[role] = tuple(ty.get_shape())
            if role in CACHE_ROLES:
                strides[role] = block_stride(ty)
        return GatherOperands(op.mode, op.is_cumsum, op.block_size(), kinds, shapes, strides)


def laid_out(array: np.ndarray, stride: int | None) -> np.ndarray:
    """``array``'s values with dim 0 ``stride`` elements apart (a cache whose type names a
    block stride, SPEC section 9): a view with that stride into a buffer of its own, the
    gaps zero. As given when ``stride`` is None (the type says ``?``) or dense."""
    row = math.prod(array.shape[1:])
    if stride is None or stride == row or array.shape[0] == 0:
        return array
    size = array.dtype.itemsize
    buffer = np.zeros((array.shape[0] - 1) * stride + row, dtype=array.dtype)
    view = np.lib.stride_tricks.as_strided(
        buffer,
        shape=array.shape,
        strides=(stride * size, *(s * size for s in dense_strides(array.shape)[1:])),
    )
    view[...] = array
    return view


def cache_block_strides(op: GatherOp | ScatterOp) -> dict[str, int | None]:
    """Each cache's dim 0 stride in elements as the op's type fixes it (None: ``?``)."""
    return {
        role: block_stride(op.memref_type(value))
        for role, value in op.operands_by_role()
        if role in CACHE_ROLES
    }


DEFAULT_SIZES = RunSizes(batch=4, num_blocks=32, table_width=8, num_tokens=None)
"""What a dynamic dimension becomes when no flag chooses it. A dynamic ``num_tokens``
becomes the total of random lengths (each up to what the table can address)."""


def _static(shape: tuple[int, ...], dim: int) -> int | None:
    size = shape[dim]
    return None if size == DYNAMIC else size


def _pick(what: str, static: int | None, chosen: int | None, default: int | None) -> int | None:
    if static is not None:
        if chosen is not None and chosen != static:
            raise WorkloadError(
                f"--{what.replace('_', '-')} {chosen} conflicts with the IR's {static}"
            )
        return static
    if chosen is not None and chosen < 0:
        raise WorkloadError(f"--{what.replace('_', '-')} must be >= 0, got {chosen}")
    return chosen if chosen is not None else default


def resolve_sizes(operands: GatherOperands, chosen: RunSizes) -> RunSizes:
    """Every size fixed: the IR's static ones, else ``chosen``, else the defaults.

    ``num_tokens`` stays None when it is dynamic and not chosen: the random lengths
    decide it (:func:`random_inputs`). WorkloadError: a flag contradicts the IR.
    """
    shapes = operands.shapes
    batch_static = _static(shapes["block_tables"], 0)
    if batch_static is None:
        lens = _static(shapes["seq_lens"], 0)
        batch_static = None if lens is None else lens - (1 if operands.cumsum else 0)
    if batch_static is None and operands.has_offset:
        batch_static = _static(shapes["seq_offset"], 0)
    num_tokens = _static(shapes["key_out"], 0)
    if num_tokens is None:
        num_tokens = _static(shapes["value_out"], 0)
    key_blocks = _static(shapes["key_cache"], 0)
    return RunSizes(
        batch=_pick("batch", batch_static, chosen.batch, DEFAULT_SIZES.batch),
        num_blocks=_pick(
            "num_blocks",
            key_blocks if key_blocks is not None else _static(shapes["value_cache"], 0),
            chosen.num_blocks,
            DEFAULT_SIZES.num_blocks,
        ),
        table_width=_pick(
            "table_width",
            _static(shapes["block_tables"], 1),
            chosen.table_width,
            DEFAULT_SIZES.table_width,
        ),
        num_tokens=_pick("num_tokens", num_tokens, chosen.num_tokens, None),
    )


def concrete_shape(
    shape: tuple[int, ...], sizes: RunSizes, role: str, cumsum: bool
) -> tuple[int, ...]:
    """``shape`` with its dynamic dimension(s) replaced by the run's sizes."""
    sized = size_dims(role, sizes, cumsum=cumsum)
    assert DYNAMIC not in sized, f"{role}: {sizes} leaves a size unset"
    fill = (*sized, *shape[len(sized) :])
    return tuple(want if size == DYNAMIC else size for size, want in zip(shape, fill, strict=True))


SIZE_FLAGS: dict[str, str] = {
    "key_cache": "--num-blocks",
    "value_cache": "--num-blocks",
    "block_tables": "--batch x --table-width",
    "seq_lens": "--batch",
    "seq_offset": "--batch",
    "key_out": "--num-tokens",
    "value_out": "--num-tokens",
}
"""The flag that sizes each operand's first dimension (what to lower when it is too big)."""


def available_memory() -> int | None:
    """Bytes this host can still give a process (``MemAvailable``), else its physical
    memory; None when neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(
    shapes: Mapping[str, tuple[int, ...]], kinds: Mapping[str, ElementKind], what: str
) -> None:
    """WorkloadError unless this host can hold arrays of ``shapes`` (by operand role)
    plus a golden copy of each output; ``what`` says where the sizes came from."""
    nbytes = {role: math.prod(shape) * kinds[role].size for role, shape in shapes.items()}
    needed = sum(nbytes.values()) + sum(nbytes.get(role, 0) for role in OUTPUT_ROLES)
    available = available_memory()
    if available is None or needed <= available:
        return
    largest = sorted(nbytes, key=nbytes.__getitem__, reverse=True)[:2]
    parts = " and ".join(f"{API_NAMES[role]} {size_text(nbytes[role])}" for role in largest)
    flags = " and ".join(dict.fromkeys(SIZE_FLAGS[role] for role in largest))
    raise WorkloadError(
        f"{what}: the data would need {size_text(needed)} ({parts} the largest, sized by "
        f"{flags}; the outputs count twice, as the golden reference fills copies), more "
        f"than the {size_text(available)} of memory this host has available"
    )


def random_bits(rng: np.random.Generator, kind: ElementKind, shape: tuple[int, ...]) -> np.ndarray:
    """Uniformly random bit patterns seen as ``kind``'s storage dtype (NaNs, -0.0, ...)."""
    unsigned = np.dtype(f"u{kind.size}")
    bits = rng.integers(0, np.iinfo(unsigned).max, size=shape, dtype=unsigned, endpoint=True)
    return bits.view(kind.storage)


def fill_lengths(rng: np.random.Generator, total: int, capacity: np.ndarray) -> np.ndarray:
    """Random lengths, each at most ``capacity[i]``, that add up to ``total``.

    ``total`` must not exceed ``capacity.sum()``. Random shares are rounded down and
    capped, then what is left goes to the sequences with room, in random order.
    """
    capacity = capacity.astype(np.int64)
    assert 0 <= total <= int(capacity.sum())
    weights = rng.random(capacity.size) + 0.05
    lens = np.minimum(np.floor(total * weights / weights.sum()).astype(np.int64), capacity)
    left = total - int(lens.sum())
    for i in rng.permutation(capacity.size):  # one step per sequence, not per token
        if left == 0:
            break
        take = min(left, int(capacity[i] - lens[i]))
        lens[i] += take
        left -= take
    return lens


def random_inputs(
    operands: GatherOperands,
    sizes: RunSizes,
    rng: np.random.Generator,
    *,
    lens: np.ndarray | None = None,
    warn: Callable[[str], None] | None = None,
    what: str = "the sizes",
) -> Inputs:
    """Valid random data for ``operands`` at ``sizes`` (see the module docstring).

    ``lens`` fixes the per-sequence lengths (their count is the batch); otherwise
    they are random, filling ``sizes.num_tokens`` rows when it is set, or as many as
    the table can address (``warn`` is told when that leaves rows unfilled). ``what``
    names the sizes' origin in a WorkloadError (``--num-tokens 1000``).
    """
    assert sizes.batch is not None and sizes.num_blocks is not None
    assert sizes.table_width is not None
    batch = sizes.batch if lens is None else lens.size
    width, block_size = sizes.table_width, operands.block_size
    if width < 1 or sizes.num_blocks < 1:
        raise WorkloadError(
            f"random data needs at least one block and one table column, got num_blocks "
            f"{sizes.num_blocks} and table width {width}"
        )
    first_col = np.zeros(batch, dtype=np.int64)
    offsets = None
    if operands.has_offset:
        first_col = rng.integers(0, max(1, width // 4), size=batch)
        offsets = first_col * block_size + rng.integers(0, block_size, size=batch)
    capacity = (width - first_col) * block_size
    unfilled = None
    if lens is None:
        if sizes.num_tokens is None:
            lens = rng.integers(1, capacity + 1)
        else:
            addressable = int(capacity.sum())
            if addressable < sizes.num_tokens:
                unfilled = (
                    f"the block table addresses only {addressable} tokens ({batch} sequences "
                    f"x {width} columns x {block_size} tokens per block"
                    f"{', less the columns seqOffset skips' if first_col.any() else ''}): "
                    f"the lengths fill {addressable} of the {sizes.num_tokens} rows, the rest "
                    "stay as they were (raise --table-width or --batch to fill them)"
                )
            lens = fill_lengths(rng, min(sizes.num_tokens, addressable), capacity)
    lens = lens.astype(np.int64)
    if (lens > capacity).any():
        i = int(np.flatnonzero(lens > capacity)[0])
        raise WorkloadError(
            f"sequence {i} has {lens[i]} tokens, more than the {capacity[i]} its "
            f"{width - first_col[i]} table columns of {block_size} tokens can address"
        )
    total = int(lens.sum())
    num_tokens = total if sizes.num_tokens is None else sizes.num_tokens
    if num_tokens < total:
        raise WorkloadError(f"the lengths total {total} tokens, more than num_tokens {num_tokens}")
    final = RunSizes(batch, sizes.num_blocks, width, num_tokens)

    def shape(role: str) -> tuple[int, ...]:
        return concrete_shape(operands.shapes[role], final, role, operands.cumsum)

    check_memory({role: shape(role) for role in operands.shapes}, operands.kinds, what)
    if unfilled is not None and warn is not None:
        warn(unfilled)
    index = operands.kinds["block_tables"].storage
    seq_lens = np.concatenate(([0], np.cumsum(lens))) if operands.cumsum else lens
    caches = {role: random_bits(rng, operands.kinds[role], shape(role)) for role in CACHE_ROLES}
    inputs: Inputs = {
        **{role: operands.laid_out(role, array) for role, array in caches.items()},
        "block_tables": rng.integers(0, sizes.num_blocks, size=(batch, width)).astype(index),
        "seq_lens": seq_lens.astype(index),
        "key_out": random_bits(rng, operands.kinds["key_out"], shape("key_out")),
        "value_out": random_bits(rng, operands.kinds["value_out"], shape("value_out")),
    }
    if offsets is not None:
        inputs["seq_offset"] = offsets.astype(index)
    for role in operands.params:  # finite scales and offsets: N(0, 1) in float32
        inputs[role] = rng.standard_normal(shape(role)).astype(np.float32)
    return inputs


def _file_names(role: str, names: Mapping[str, str]) -> list[str]:
    """The file stems that may hold ``role``: its argument's name, the role, and the
    operator's parameter name (not for a consumer's parameter: the IR, not the
    operator, says what it means)."""
    stems = [names.get(role, role), role]
    if "_param_" not in role:
        stems.append(API_NAMES[role])
    return list(dict.fromkeys(stems))


def operand_file(path: Path, role: str, kind: ElementKind, shape: Sequence[int]) -> np.ndarray:
    """The contiguous array of ``path`` when it can be operand ``role`` (elements of
    ``kind``; ``shape`` with DYNAMIC dims), else WorkloadError naming the file."""
    array = read_npy(path)
    if array.dtype.kind == "V" and array.dtype.itemsize == kind.size:
        # numpy saves ml_dtypes (bf16, fp8) as raw bytes ("|V2"): the bits are the data.
        array = array.view(kind.storage)
    if array.dtype != kind.storage:
        raise WorkloadError(
            f"{path}: the op's {role} holds {kind.name} (stored as {kind.storage}), "
            f"the file holds {array.dtype}"
        )
    if array.ndim != len(shape) or any(
        want not in (DYNAMIC, got) for want, got in zip(shape, array.shape, strict=True)
    ):
        expected = "x".join("?" if d == DYNAMIC else str(d) for d in shape)
        raise WorkloadError(
            f"{path}: the op's {role} has shape {expected}, the file holds "
            f"{'x'.join(map(str, array.shape))}"
        )
    return np.ascontiguousarray(array)


def data_file(directory: Path, role: str, names: Mapping[str, str]) -> Path | None:
    """The one file holding ``role`` (:func:`_file_names`), or None."""
    found = [directory / f"{name}.npy" for name in _file_names(role, names)]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        raise WorkloadError(
            f"--data {directory}: both {found[0].name} and {found[1].name} hold {role}; "
            "keep one of them"
        )
    return found[0] if found else None


def read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except EOFError:
        raise WorkloadError(f"{path}: not a readable .npy file (it is empty)") from None
    except (OSError, ValueError) as e:
        raise WorkloadError(f"{path}: not a readable .npy file ({e})") from None


def load_inputs(
    directory: Path, operands: GatherOperands, soc: str, names: Mapping[str, str] | None = None
) -> Inputs:
    """``<argument name>.npy`` files (or ``<role>.npy``, ``<apiName>.npy``) from
    ``directory``, checked against the op; ``names`` maps roles to argument names.

    The outputs are optional: missing ones start as zeros with as many rows as the
    lengths total (or the IR's static ``num_tokens``), once the host's data checks
    passed on the inputs (AclnnError otherwise: lengths of ``2**40`` are a 161002, not
    an attempt to allocate them) and :func:`check_memory` agreed.
    """
    if not directory.is_dir():
        raise WorkloadError(f"--data {directory}: not a directory")
    names = names or {}
    inputs: Inputs = {}
    for role, shape in operands.shapes.items():
        path = data_file(directory, role, names)
        if path is None:
            if role in OUTPUT_ROLES:
                continue
            first, *others = (f"{stem}.npy" for stem in _file_names(role, names))
            also = f" (or {', '.join(others)})" if others else ""
            raise WorkloadError(
                f"--data {directory}: missing {first}{also} that the op's operands need"
            )
        array = operand_file(path, role, operands.kinds[role], shape)
        inputs[role] = operands.laid_out(role, array)
    missing = [role for role in OUTPUT_ROLES if role not in inputs]
    if missing:
        shapes = _output_shapes(operands, inputs, soc)
        check_memory(
            {**{r: a.shape for r, a in inputs.items()}, **{r: shapes[r] for r in missing}},
            operands.kinds,
            f"--data {directory}",
        )
        for role in missing:
            inputs[role] = np.zeros(shapes[role], dtype=operands.kinds[role].storage)
    return inputs


def _output_shapes(
    operands: GatherOperands, inputs: Inputs, soc: str
) -> dict[str, tuple[int, ...]]:
    """Both outputs' shapes: as many rows as a given output (or the IR) fixes, else
    rows enough for the lengths' total.

    That total is taken only from data the host checks accept, judged with one-row
    stand-ins for the outputs, so nothing large is allocated for bad lengths.
    """

    def rows_of(role: str, rows: int) -> tuple[int, ...]:
        return (rows, *operands.shapes[role][1:])

    fixed = [inputs[r].shape[0] for r in OUTPUT_ROLES if r in inputs]
    fixed += [operands.shapes[r][0] for r in OUTPUT_ROLES if operands.shapes[r][0] != DYNAMIC]
    if fixed:
        return {role: rows_of(role, fixed[0]) for role in OUTPUT_ROLES}
    plain = operands.plain()
    stand_ins = {
        role: np.zeros(rows_of(role, 1), plain.kinds[role].storage) for role in OUTPUT_ROLES
    }
    checked = check_parameters(
        *_tensor_args({**inputs, **stand_ins}, plain, soc),
        cache_mode=operands.mode.value,
        is_seq_lens_cumsum=operands.cumsum,
        soc=soc,
    )
    if checked.empty:  # nothing will be copied: the rows only have to exist
        total = total_length(inputs["seq_lens"], cumsum=operands.cumsum)
    else:
        total = check_data(
            checked.arrays, mode=operands.mode, cumsum=operands.cumsum, num_tokens=None
        )
    return {role: rows_of(role, total) for role in OUTPUT_ROLES}


def _tensor_args(inputs: Inputs, operands: GatherOperands, soc: str) -> list[Tensor | None]:
    """``inputs`` as the host API's positional arguments (``OPERAND_ROLES`` order, the
    offset last): caches as FRACTAL_NZ on SoCs that tell the formats apart in PA_NZ
    mode, every dtype by name (HiFloat8 included)."""
    chip = soc_info(soc)
    roles = [r for r in OPERAND_ROLES if r != "seq_offset"] + ["seq_offset"]
    return [
        None
        if role not in inputs
        else Tensor(
            inputs[role],
            dtype=operands.kinds[role].name,
            format=expected_format(role, operands.mode, chip).value,
        )
        for role in roles
    ]


def gather_call(inputs: Inputs, operands: GatherOperands, soc: str) -> GatherCall | None:
    """The host checks of SPEC section 3 on ``inputs``; None: an empty call.

    A gather with consumers is judged as its plain gather (:meth:`GatherOperands.plain`)
    on outputs of the caches' kinds that ``np.empty`` reserves and nothing touches: the
    returned call's outputs are those stand-ins, so it serves the checks, the sizes and
    the tiling; the program runs on ``inputs``.
    AclnnError: the data breaks a rule (the message says which).
    """
    plain = operands.plain()
    if operands.params or plain.kinds != operands.kinds:
        inputs = {r: a for r, a in inputs.items() if "_param_" not in r} | {
            role: np.empty(inputs[role].shape, plain.kinds[role].storage) for role in OUTPUT_ROLES
        }
    return check_parameters(
        *_tensor_args(inputs, plain, soc),
        cache_mode=operands.mode.value,
        is_seq_lens_cumsum=operands.cumsum,
        soc=soc,
    ).at_launch()
