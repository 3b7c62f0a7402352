"""``pakv-fuse-consumers``: fold a gather's elementwise consumers into its tiles, and a
scatter's elementwise producers (SPEC section 8's quantisation) into its tiles.

The program a researcher writes gathers into intermediate buffers, then consumes them
with upstream MLIR (SPEC section 7)::

    %ki = memref.alloc(%n) : memref<?x8x128xi8>
    pakv.gather Norm ... into(%ki, %vi) : ...
    linalg.generic {indexing_maps = [#id, #channel, #channel, #id], iterator_types = [...]}
        ins(%ki, %scale, %offset : ...) outs(%key : memref<?x8x128xf16>) {
    ^bb0(%x: i8, %s: f32, %o: f32, %out: f16):
      %f = arith.sitofp %x : i8 to f32
      %d = arith.subf %f, %o : f32
      %m = arith.mulf %d, %s : f32
      %r = arith.truncf %m : f32 to f16
      linalg.yield %r : f16
    }
    memref.dealloc %ki : memref<?x8x128xi8>

The pass does it in two steps, each a function of its own:

1. :func:`raise_consumer`: an elementwise ``linalg.generic`` (memref operands, parallel
   iterators, identity indexing of the gathered input and of the output, each further
   input indexed per tensor ``(d0, ...) -> ()`` or per channel ``(d0, d1, ...) -> (d1,
   ...)``, no results) becomes the equivalent ``pakv.map``, whose body the shared
   verifier (``pakv_dialect.elementwise``) accepts or explains.
2. :func:`fold_map`: a ``pakv.map`` of a gather's intermediate becomes that stream's
   ``key_map``/``value_map``: the gather writes the map's output directly, the
   intermediate's ``memref.alloc`` and ``memref.dealloc`` disappear (its
   ``memref.dim`` uses read the output instead, which has the same shape) and so do
   the ops that only computed its size.

When a consumer cannot be fused the IR is left as it was and the consumer says why in
a ``pakv.not_fused`` string attribute (xDSL has no remark channel: the attribute shows
in the printed IR, and ``pakv compile / run / explain`` report it as an error at the
consumer's line); with ``strict=true`` it is a located error instead. A
consumer is not fused when its body or indexing is not one the target runs, when
anything else reads the intermediate, when its output or parameters are defined after
the gather or used between the gather and it (the fused op writes the output at the
gather), when the stream already has a consumer fused, or when the intermediate is a
function argument: that buffer is the caller's, who may read it after the call, and
fusing would leave it unwritten (allocate it in the function to let it fuse).

Option ``fold=false`` only raises (step 1): ``pakv-to-ascend{fuse=false}`` uses it to
lower the unfused program, each consumer a kernel of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import FileLineColLoc, ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.dialects.linalg.ops import GenericOp
from xdsl.dialects.linalg.ops import YieldOp as LinalgYieldOp
from xdsl.ir import Block, BlockArgument, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.traits import is_side_effect_free
from xdsl.utils.exceptions import VerifyException

from pakv_dialect.elementwise import YieldOp
from pakv_dialect.pakv import GatherOp, MapOp, ScatterOp
from passes.diagnostics import fail_at

NOT_FUSED_ATTR = "pakv.not_fused"
"""String attribute on a consumer the pass left alone: why."""


class NotFused(Exception):
    """Why one consumer stays unfused (the message is the remark)."""


def _memref_rank(value: SSAValue) -> int:
    shape = getattr(value.type, "get_shape", None)
    if shape is None:
        raise NotFused(f"operand {value.type} is not a memref")
    return len(shape())


def _check_indexing(op: GenericOp) -> None:
    """Elementwise over the output, with per-tensor or per-channel parameters."""
    if op.res or len(op.outputs) != 1 or not op.inputs:
        raise NotFused("linalg.generic must read the gathered buffer and write one memref")
    if op.library_call is not None:
        raise NotFused("linalg.generic with a library_call is not an elementwise body")
    if any(it.data != IteratorType.PARALLEL for it in op.iterator_types):
        raise NotFused("linalg.generic must have parallel iterators only (elementwise)")
    rank = _memref_rank(op.outputs[0])
    identity = AffineMap.identity(rank)
    channel = AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in range(1, rank)))
    per_tensor = AffineMap(rank, 0, ())
    maps = [m.data for m in op.indexing_maps]
    if maps[0] != identity or maps[-1] != identity:
        raise NotFused("the gathered input and the output must be indexed by the identity map")
    for index, (value, indexing) in enumerate(zip(op.inputs[1:], maps[1:-1], strict=True)):
        if indexing not in (channel, per_tensor) or _memref_rank(value) != len(indexing.results):
            raise NotFused(
                f"input #{index + 1} must be indexed per tensor {per_tensor} (memref<f32>) or "
                f"per channel {channel}, got {indexing} on {value.type}"
            )


def _body_region(op: GenericOp) -> Region:
    """The linalg body as a pakv body: the same ops, without the output argument, ending
    in ``pakv.yield``."""
    source = op.body.block
    out_arg = source.args[-1]
    if out_arg.uses:
        raise NotFused("the body reads the output's old value: not elementwise")
    block = Block(arg_types=[arg.type for arg in source.args[:-1]])
    mapping: dict[SSAValue, SSAValue] = dict(zip(source.args[:-1], block.args, strict=True))
    for arg, new in zip(source.args[:-1], block.args, strict=True):
        new.name_hint = arg.name_hint
    for inner in source.ops:
        if isinstance(inner, LinalgYieldOp):
            block.add_op(YieldOp(*(mapping[v] for v in inner.operands)))
            continue
        clone = inner.clone(value_mapper=mapping)
        block.add_op(clone)
    return Region(block)


def raise_consumer(op: GenericOp) -> MapOp:
    """The ``pakv.map`` that computes what ``op`` does, or :class:`NotFused`."""
    _check_indexing(op)
    if len(op.body.block.args) != len(op.inputs) + 1:
        raise NotFused("the body takes one argument per operand")
    mapped = MapOp(op.inputs[0], list(op.inputs[1:]), op.outputs[0], _body_region(op))
    mapped.location = op.location
    try:
        mapped.verify()
    except VerifyException as e:
        mapped.erase()
        message = str(e.args[0]) if e.args else str(e)
        raise NotFused(message.removeprefix("pakv.map: ")) from e
    return mapped


def _stream_of(gather: GatherOp, buffer: SSAValue) -> str | None:
    if buffer is gather.key_out:
        return "key"
    if buffer is gather.value_out:
        return "value"
    return None


def _describe(op: Operation) -> str:
    """``memref.copy at f.mlir:12:3`` (the location when the op has one)."""
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        return f"{op.name} at {loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return op.name


def _check_intermediate(
    op: GatherOp | ScatterOp,
    stream: str,
    body: MapOp,
    anchor: Operation,
    buffer: SSAValue,
    role: str,
) -> Block:
    """What fusing ``body`` (a gather's ``consumer`` or a scatter's ``producer``, as
    ``role`` says; ``anchor`` is it as it sits in the IR) into ``op``'s ``stream`` needs
    of the intermediate ``buffer`` between them, for both directions: the stream is
    free, the buffer is the function's own (``memref.alloc``) in ``op``'s block, and
    nothing but the two of them reads or writes it. Returns the block; the caller
    checks the order of the ops, which differs by direction."""
    block = op.parent_block()
    if op.stream_map(stream)[0] is not None:
        raise NotFused(f"the {stream} stream of the {op.name} already has a fused {role}")
    if isinstance(buffer, BlockArgument):
        raise NotFused(
            f"the intermediate is argument #{buffer.index} of the function: the caller's "
            "memory, which the caller may read after the call and fusion would leave "
            "unwritten (allocate it in the function to fuse)"
        )
    alloc = buffer.owner
    if not isinstance(alloc, memref.AllocOp):
        raise NotFused(f"the intermediate is not made by memref.alloc: {buffer}")
    if block is None or anchor.parent_block() is not block or alloc.parent_block() is not block:
        raise NotFused(f"the {op.name}, its intermediate and the {role} must share one block")
    for use in buffer.uses:
        user = use.operation
        if user in (op, anchor, body) or isinstance(user, memref.DeallocOp | memref.DimOp):
            continue
        raise NotFused(f"the intermediate is also used by {_describe(user)}")
    return block


def _check_foldable(gather: GatherOp, stream: str, consumer: MapOp, anchor: Operation) -> None:
    """Everything :func:`fold_map` needs, or :class:`NotFused` saying what is missing.

    ``anchor`` is the consumer as it sits in the IR (the ``linalg.generic`` that
    ``consumer`` was raised from, or ``consumer`` itself)."""
    block = _check_intermediate(gather, stream, consumer, anchor, consumer.source, "consumer")
    if block.get_operation_index(anchor) < block.get_operation_index(gather):
        raise NotFused("the consumer runs before the gather")
    written = [consumer.target, *consumer.params]
    for value in written:
        owner = value.owner
        if isinstance(owner, Operation) and (
            owner.parent_block() is not block
            or block.get_operation_index(owner) > block.get_operation_index(gather)
        ):
            raise NotFused(f"{value} is defined after the gather: the fused op could not use it")
    between = gather.next_op
    while between is not None and between is not anchor:
        if any(value in written for value in between.operands):
            raise NotFused(
                f"{_describe(between)} uses the consumer's output or parameters between the "
                "gather and the consumer"
            )
        between = between.next_op
    if consumer.target in gather.operands:
        raise NotFused("the consumer's output is also an operand of the gather")


def fold_map(gather: GatherOp, stream: str, consumer: MapOp) -> GatherOp:
    """The gather with ``consumer`` as ``stream``'s map (checked by ``_check_foldable``)."""
    buffer = consumer.source
    key_params, value_params = list(gather.key_params), list(gather.value_params)
    regions = {"key": gather.key_map, "value": gather.value_map}
    for name in ("key", "value"):
        region = regions[name]
        if region is not None:
            regions[name] = region.clone()
    body = consumer.body.clone()
    outputs = {"key": gather.key_out, "value": gather.value_out}
    outputs[stream] = consumer.target
    if stream == "key":
        key_params = list(consumer.params)
    else:
        value_params = list(consumer.params)
    regions[stream] = body
    fused = GatherOp(
        gather.key_cache, gather.value_cache, gather.block_tables, gather.seq_lens,
        gather.seq_offset, outputs["key"], outputs["value"], gather.mode, gather.is_cumsum,
        None if gather.soc is None else gather.soc.data,
        key_params=key_params, value_params=value_params, key_map=regions["key"],
        value_map=regions["value"],
    )  # fmt: skip
    fused.location = gather.location
    fused.attributes.update(gather.attributes)
    Rewriter.replace_op(gather, fused)
    Rewriter.erase_op(consumer)
    _drop_intermediate(buffer, consumer.target)
    return fused


def _drop_intermediate(buffer: SSAValue, output: SSAValue) -> None:
    """Erase the intermediate's deallocs and alloc (its dims read ``output``, of the same
    shape), then the pure ops that only fed the alloc."""
    for use in list(buffer.uses):
        user = use.operation
        if isinstance(user, memref.DeallocOp):
            Rewriter.erase_op(user)
        elif isinstance(user, memref.DimOp):
            user.operands[use.index] = output
    alloc = buffer.owner
    if not isinstance(alloc, Operation) or buffer.uses:
        return
    feeders = list(alloc.operands)
    Rewriter.erase_op(alloc)
    while feeders:
        value = feeders.pop()
        owner = value.owner
        if isinstance(owner, Operation) and not value.uses and _removable(owner):
            feeders.extend(owner.operands)
            Rewriter.erase_op(owner)


def _removable(op: Operation) -> bool:
    return isinstance(op, arith.ConstantOp | memref.DimOp) or (
        is_side_effect_free(op) and not op.regions
    )


# --------------------------------------------------------------- the scatter's side
#
# SPEC section 8: a scatter of quantised tokens is written as an elementwise producer
# (``linalg.generic``: fp16 / bf16 tokens in, int8 / fp8 out, per-tensor or per-channel
# inverse scales and offsets) into an intermediate that ``pakv.scatter`` reads. The
# same two steps fold it: the producer is raised to ``pakv.map`` (the same body
# analysis), and the map becomes the scatter stream's ``key_map`` / ``value_map``: the
# scatter reads the map's source and quantises every token between its load and its
# store, and the intermediate disappears.


def _scatter_stream_of(scatter: ScatterOp, buffer: SSAValue) -> str | None:
    if buffer is scatter.key:
        return "key"
    if buffer is scatter.value:
        return "value"
    return None


def _check_producer_foldable(
    scatter: ScatterOp, stream: str, producer: MapOp, anchor: Operation
) -> None:
    """Everything :func:`fold_producer` needs, or :class:`NotFused` saying what is
    missing (``anchor``: the producer as it sits in the IR)."""
    buffer = producer.target
    block = _check_intermediate(scatter, stream, producer, anchor, buffer, "producer")
    if block.get_operation_index(anchor) > block.get_operation_index(scatter):
        raise NotFused("the producer runs after the scatter")
    read = [producer.source, *producer.params]
    between = anchor.next_op
    while between is not None and between is not scatter:
        if any(value in read for value in between.operands) and not is_side_effect_free(between):
            raise NotFused(
                f"{_describe(between)} uses the producer's tokens or parameters between the "
                "producer and the scatter"
            )
        between = between.next_op
    if any(value in scatter.operands for value in read if value is not buffer):
        raise NotFused("the producer reads an operand of the scatter: the fused op would "
                       "read it after writing it")  # fmt: skip


def fold_producer(scatter: ScatterOp, stream: str, producer: MapOp) -> ScatterOp:
    """The scatter with ``producer`` as ``stream``'s map (``_check_producer_foldable``)."""
    buffer = producer.target
    tokens = {"key": scatter.key, "value": scatter.value}
    params = {"key": list(scatter.key_params), "value": list(scatter.value_params)}
    regions = {"key": scatter.key_map, "value": scatter.value_map}
    for name in ("key", "value"):
        region = regions[name]
        if region is not None:
            regions[name] = region.clone()
    tokens[stream] = producer.source
    params[stream] = list(producer.params)
    regions[stream] = producer.body.clone()
    fused = ScatterOp(
        tokens["key"], tokens["value"], scatter.slot_mapping, scatter.key_cache,
        scatter.value_cache, scatter.mode, None if scatter.soc is None else scatter.soc.data,
        key_params=params["key"], value_params=params["value"], key_map=regions["key"],
        value_map=regions["value"],
    )  # fmt: skip
    fused.location = scatter.location
    fused.attributes.update(scatter.attributes)
    Rewriter.replace_op(scatter, fused)
    Rewriter.erase_op(producer)
    _drop_intermediate(buffer, producer.source)
    return fused


def _producers(scatter: ScatterOp) -> list[tuple[str, GenericOp | MapOp]]:
    """The linalg.generic / pakv.map ops that write one of the scatter's token inputs."""
    found: list[tuple[str, GenericOp | MapOp]] = []
    for stream, buffer in (("key", scatter.key), ("value", scatter.value)):
        for use in buffer.uses:
            user = use.operation
            writes = isinstance(user, GenericOp | MapOp) and use.index == len(user.operands) - 1
            if writes:
                found.append((stream, user))  # pyright: ignore[reportArgumentType]
    return found


def fuse_scatter(scatter: ScatterOp, remarks: _Remarks, *, fold: bool) -> None:
    """Raise (and, with ``fold``, fold) every producer of ``scatter``'s tokens."""
    current = scatter
    for stream, producer in _producers(scatter):
        if producer.parent_op() is None:
            continue
        try:
            mapped = producer if isinstance(producer, MapOp) else raise_consumer(producer)
        except NotFused as e:
            remarks.not_fused(producer, str(e))
            continue
        if not fold:
            if mapped is not producer:
                Rewriter.replace_op(producer, mapped)
            continue
        try:
            _check_producer_foldable(current, stream, mapped, producer)
        except NotFused as e:
            if mapped is not producer:
                mapped.erase()
            remarks.not_fused(producer, str(e))
            continue
        if mapped is not producer:
            Rewriter.replace_op(producer, mapped)
        current = fold_producer(current, stream, mapped)


@dataclass
class _Remarks:
    strict: bool

    def not_fused(self, op: Operation, why: str) -> None:
        if self.strict:
            fail_at(op, f"consumer not fused: {why}")
        op.attributes[NOT_FUSED_ATTR] = StringAttr(why)


def _consumers(gather: GatherOp) -> list[tuple[str, GenericOp | MapOp]]:
    """The linalg.generic / pakv.map ops that read one of the gather's outputs first."""
    found: list[tuple[str, GenericOp | MapOp]] = []
    for stream, buffer in (("key", gather.key_out), ("value", gather.value_out)):
        for use in buffer.uses:
            user = use.operation
            reads_first = use.index == 0 and user is not gather
            if reads_first and isinstance(user, GenericOp | MapOp):
                found.append((stream, user))
    return found


def fuse_function(func: FuncOp, *, fold: bool, strict: bool) -> None:
    """Raise (and, with ``fold``, fold) every consumer of every gather in ``func``, and
    every producer of every scatter."""
    remarks = _Remarks(strict)
    for scatter in [op for op in func.walk() if isinstance(op, ScatterOp)]:
        fuse_scatter(scatter, remarks, fold=fold)
    for gather in [op for op in func.walk() if isinstance(op, GatherOp)]:
        current = gather
        for stream, consumer in _consumers(gather):
            if consumer.parent_op() is None:
                continue  # erased while folding the other stream
            try:
                mapped = consumer if isinstance(consumer, MapOp) else raise_consumer(consumer)
            except NotFused as e:
                remarks.not_fused(consumer, str(e))
                continue
            if not fold:
                if mapped is not consumer:
                    Rewriter.replace_op(consumer, mapped)
                continue
            try:
                _check_foldable(current, stream, mapped, consumer)
            except NotFused as e:
                if mapped is not consumer:
                    mapped.erase()
                remarks.not_fused(consumer, str(e))
                continue
            if mapped is not consumer:
                Rewriter.replace_op(consumer, mapped)
            current = fold_map(current, stream, mapped)


def not_fused_remarks(module: Operation) -> list[tuple[Operation, str]]:
    """Every consumer the pass left unfused, with its reason (for tools to print)."""
    remarks: list[tuple[Operation, str]] = []
    for op in module.walk():
        why = op.attributes.get(NOT_FUSED_ATTR)
        if isinstance(why, StringAttr):
            remarks.append((op, why.data))
    return remarks


@dataclass(frozen=True)
class FuseConsumersPass(ModulePass):
    """Fold each elementwise consumer of a ``pakv.gather`` into the gather's stream, and
    each elementwise producer of a ``pakv.scatter``'s tokens into the scatter's."""

    name = "pakv-fuse-consumers"

    strict: bool = False
    """A consumer that cannot be fused is a located error, not a ``pakv.not_fused``."""
    fold: bool = True
    """False: only raise consumers to ``pakv.map`` (the unfused lowering)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in [f for f in op.walk() if isinstance(f, FuncOp)]:
            fuse_function(func, fold=self.fold, strict=self.strict)
