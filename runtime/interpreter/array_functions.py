"""The unfused program, op by op, on whole numpy arrays: the reference a fusion meets.

A researcher's program gathers into buffers (``memref.alloc``) and consumes them with
``linalg.generic`` bodies of ``arith`` ops (SPEC section 7). This module runs it in
xDSL's own interpreter, each op meaning what MLIR says, computed one vectorised numpy
call per op over a whole tensor. xDSL 0.74 does part of it as needed and part of it
not, so:

* ``arith.mulf``, ``addf``, ``subf`` are xDSL's own ``ArithFunctions`` impls, used as
  they are: each is one Python operator (``lhs * rhs``), and here its operands are
  float32 numpy arrays (the body runs once on the whole tensor), so it computes
  float32 arithmetic rounded to nearest even per op, as SPEC section 7 requires.
  (On Python floats the same impls would compute in double precision, with no
  rounding to float32 between ops: they are only correct with the operands this
  module feeds them.)
* ``arith.extf``, ``truncf``, ``sitofp``, ``uitofp`` have no impl in xDSL 0.74:
  :class:`ArrayCastFunctions` adds them (``pakv_dialect.dtypes.convert_values``:
  numpy for fp16 and integers, ml_dtypes for bf16 and fp8, round to nearest even,
  overflow to +-inf), and ``pakv.extf`` decodes HiFloat8.
* ``linalg.generic`` is xDSL's ``LinalgFunctions.run_generic`` in meaning but not in
  mechanics: that impl loops over every element with ``ShapedArray`` (which holds
  neither bf16 nor fp8) and calls the body per element. :class:`ArrayLinalgFunctions`
  runs the body once, on the whole input array and the parameters broadcast by their
  indexing maps (per tensor: 0-d; per channel: the token's inner dims, numpy's
  trailing-dimension broadcast), and writes the result into the output. The
  consumers it accepts are the elementwise ones (``passes.fuse_consumers`` checks the
  same forms before it raises or fuses one).
* ``memref.alloc`` / ``dealloc`` / ``dim`` (:class:`ArrayMemrefFunctions`) make and
  measure ``GmTensor`` buffers (xDSL's use ``ShapedArray``); a new buffer holds
  ``0xA5`` bytes, like an uninitialised one that nobody may read.
* ``pakv.map`` is the raised form of such a consumer (the same body), and bodies end in
  ``pakv.yield``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import arith, math, memref
from xdsl.dialects.builtin import MemRefType
from xdsl.dialects.linalg.ops import GenericOp
from xdsl.dialects.linalg.ops import YieldOp as LinalgYieldOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    TerminatorValue,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.ir import Attribute, Operation, Region

from pakv_dialect.dtypes import ElementKind, convert_values, kv_kind_of_type
from pakv_dialect.elementwise import ExtFOp, YieldOp
from pakv_dialect.pakv import MapOp
from runtime.memory import GmTensor

UNINITIALISED = 0xA5
"""What a freshly allocated buffer holds (a real one holds whatever was there)."""


def allocate(ty: Attribute, sizes: Sequence[int], name: str) -> GmTensor:
    """A new GM buffer of memref type ``ty`` (``sizes`` fill its dynamic dims), holding
    :data:`UNINITIALISED` bytes."""
    assert isinstance(ty, MemRefType)
    dynamic = iter(sizes)
    shape = tuple(next(dynamic) if dim < 0 else dim for dim in ty.get_shape())
    kind = element_kind(ty.get_element_type())  # pyright: ignore[reportUnknownArgumentType]
    data = np.full(int(np.prod(shape)) * kind.size, UNINITIALISED, dtype=np.uint8)
    return GmTensor.wrap(name, data.view(kind.storage).reshape(shape), kind)


def element_kind(ty: Attribute) -> ElementKind:
    kind = kv_kind_of_type(ty)
    if kind is None:
        raise ValueError(f"no element kind for {ty}")
    return kind


def _convert(op: Operation, value: np.ndarray) -> np.ndarray:
    source = element_kind(op.operands[0].type)
    target = element_kind(op.results[0].type)
    if source.name in ("uint8", "uint16", "uint32"):
        value = value.view(source.storage)
    return convert_values(np.asarray(value), source, target)


@register_impls
class ArrayCastFunctions(InterpreterFunctions):
    """The conversions xDSL 0.74 does not interpret, on arrays (module docstring)."""

    @impl(arith.ExtFOp)
    def run_extf(self, interpreter: Interpreter, op: arith.ExtFOp, args: PythonValues):
        return (_convert(op, args[0]),)

    @impl(arith.TruncFOp)
    def run_truncf(self, interpreter: Interpreter, op: arith.TruncFOp, args: PythonValues):
        return (_convert(op, args[0]),)

    @impl(arith.SIToFPOp)
    def run_sitofp(self, interpreter: Interpreter, op: arith.SIToFPOp, args: PythonValues):
        return (_convert(op, args[0]),)

    @impl(arith.UIToFPOp)
    def run_uitofp(self, interpreter: Interpreter, op: arith.UIToFPOp, args: PythonValues):
        return (_convert(op, args[0]),)

    @impl(ExtFOp)
    def run_pakv_extf(self, interpreter: Interpreter, op: ExtFOp, args: PythonValues):
        return (_convert(op, args[0]),)


@register_impls
class ArrayQuantFunctions(InterpreterFunctions):
    """A quantising body's ops (SPEC section 8, ``pakv_dialect.elementwise``) on float32
    arrays, each what MLIR says: ``math.roundeven`` (``np.rint``: ties to even),
    ``arith.maximumf`` / ``minimumf`` (``np.maximum`` / ``np.minimum``: NaN propagates,
    as IEEE-754 maximum / minimum), ``arith.fptosi`` (toward zero, ``np.trunc``; its
    poison, NaN or out of range, refined to 0 and saturation, the same refinement as
    every kernel's). The clamps' bounds are xDSL's ``arith.constant`` (a Python float,
    which numpy keeps float32 beside a float32 array)."""

    @impl(math.RoundEvenOp)
    def run_roundeven(self, interpreter: Interpreter, op: math.RoundEvenOp, args: PythonValues):
        return (np.rint(np.asarray(args[0], dtype=np.float32)),)

    @impl(arith.MaximumfOp)
    def run_maximumf(self, interpreter: Interpreter, op: arith.MaximumfOp, args: PythonValues):
        return (np.maximum(np.asarray(args[0], dtype=np.float32), np.float32(args[1])),)

    @impl(arith.MinimumfOp)
    def run_minimumf(self, interpreter: Interpreter, op: arith.MinimumfOp, args: PythonValues):
        return (np.minimum(np.asarray(args[0], dtype=np.float32), np.float32(args[1])),)

    @impl(arith.FPToSIOp)
    def run_fptosi(self, interpreter: Interpreter, op: arith.FPToSIOp, args: PythonValues):
        target = element_kind(op.result.type)
        info = np.iinfo(target.storage)  # pyright: ignore[reportCallIssue, reportArgumentType]
        truncated = np.nan_to_num(np.trunc(np.asarray(args[0], dtype=np.float32)), nan=0.0)
        return (np.clip(truncated, info.min, info.max).astype(target.storage),)


def run_body(
    interpreter: Interpreter, body: Region, element: np.ndarray, params: list[np.ndarray]
) -> np.ndarray:
    """Evaluate a per-element body once on whole arrays (``element`` and its parameters,
    broadcastable to it); returns the yielded array."""
    with np.errstate(over="ignore", invalid="ignore"):  # +-inf and NaN are results too
        (result,) = interpreter.run_ssacfg_region(body, (element, *params), "body")
    return np.broadcast_to(result, element.shape)


def _parameter(tensor: GmTensor) -> np.ndarray:
    """A parameter as a float32 array that broadcasts over ``[tokens, ...]``."""
    return tensor.typed()


def apply_map(
    interpreter: Interpreter,
    body: Region,
    source: np.ndarray,
    params: list[GmTensor],
    target: np.ndarray,
) -> None:
    """``target[...] = body(source, params)`` over whole arrays (typed views)."""
    if source.size == 0:
        return
    target[...] = run_body(interpreter, body, source, [_parameter(p) for p in params])


@register_impls
class ArrayLinalgFunctions(InterpreterFunctions):
    """Elementwise ``linalg.generic`` and ``pakv.map`` on GM tensors, one body run per
    op (module docstring)."""

    @impl(GenericOp)
    def run_generic(
        self, interpreter: Interpreter, op: GenericOp, args: tuple[Any, ...]
    ) -> PythonValues:
        interpreter.interpreter_assert(
            not op.res and len(op.outputs) == 1 and op.library_call is None,
            "the array interpreter runs elementwise linalg.generic on memrefs",
        )
        tensors: list[GmTensor] = list(args)
        source, *params, target = tensors
        body = op.body
        interpreter.interpreter_assert(
            not body.block.args[-1].uses, "the body must not read the output's old value"
        )
        # The body's last argument (the output's element) is unused: pass the target.
        values = [_parameter(p) for p in params]
        if source.typed().size:
            with np.errstate(over="ignore", invalid="ignore"):  # +-inf and NaN are results too
                result = interpreter.run_ssacfg_region(
                    body, (source.typed(), *values, target.typed()), "linalg.generic"
                )
            target.typed()[...] = np.broadcast_to(result[0], target.shape)
        return ()

    @impl_terminator(LinalgYieldOp)
    def run_linalg_yield(
        self, interpreter: Interpreter, op: LinalgYieldOp, args: tuple[Any, ...]
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    @impl_terminator(YieldOp)
    def run_pakv_yield(
        self, interpreter: Interpreter, op: YieldOp, args: tuple[Any, ...]
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    @impl(MapOp)
    def run_map(self, interpreter: Interpreter, op: MapOp, args: tuple[Any, ...]) -> PythonValues:
        tensors: list[GmTensor] = list(args)
        source, *params, target = tensors
        apply_map(interpreter, op.body, source.typed(), params, target.typed())
        return ()


@register_impls
class ArrayMemrefFunctions(InterpreterFunctions):
    """``memref.alloc`` / ``dealloc`` / ``dim`` on GM tensors (module docstring)."""

    @impl(memref.AllocOp)
    def run_alloc(
        self, interpreter: Interpreter, op: memref.AllocOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return (allocate(op.memref.type, args, op.memref.name_hint or "buffer"),)

    @impl(memref.DeallocOp)
    def run_dealloc(
        self, interpreter: Interpreter, op: memref.DeallocOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return ()

    @impl(memref.DimOp)
    def run_dim(
        self, interpreter: Interpreter, op: memref.DimOp, args: tuple[Any, ...]
    ) -> PythonValues:
        tensor: GmTensor = args[0]
        return (tensor.shape[args[1]],)
