"""The ``ascendc`` target: print each lowered kernel as one AscendC translation unit.

Modelled on xDSL's CSL printer (``xdsl/backend/csl/print_csl.py``): a print context
that owns the SSA-value-to-name map and the indentation, ``descend`` for nested
blocks, and one ``match`` over op classes. What is AscendC-specific:

* **Shape of the unit.** A tiling struct with the runtime sizes of
  ``pakv_dialect.tiling.GatherTiling``; a kernel class with ``Init`` (tiling, GM
  tensors, the UB plan, event ids) and ``Process`` (the lowered control flow), whose
  steps are the private stages ``CopyIn`` (GM->UB, MTE2), ``Compute``
  (``TransposeBlocks``, ``ZeroFill``: vector pipe) and ``CopyOut`` (UB->GM, MTE3);
  the ``extern "C" __global__ __aicore__`` entry; the host tiling function and the
  ``<<<blockDim, nullptr, stream>>>`` launcher.
* **Memory.** The lowering plans every UB byte, so the kernel takes one
  ``TBuf<TPosition::VECCALC>`` and carves each ``ascend.ub_alloc`` out of it at its
  planned offset with ``GetWithOffset``; there is no ``TQue``, because
  synchronisation is the lowering's explicit flags, printed one for one as
  ``SetFlag``/``WaitFlag`` on event ids taken from ``TPipe::AllocEventID``.
* **Copy choice.** ``DataCopy`` only when every length and gap of the copy is
  provably a multiple of 32 bytes (``runtime.ascendc_facts``: constants, products
  with such constants, ...); otherwise ``DataCopyPad``, which is exact for any byte
  length, so no run-time branch is needed. Burst loops (``blockCount <= 4095``) are
  printed only when the burst count is not provably small enough.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from io import StringIO
from typing import IO

from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.traits import is_side_effect_free
from xdsl.utils.exceptions import DiagnosticException
from xdsl.utils.target import Target

from pakv_dialect import ascend
from pakv_dialect.dtypes import ElementKind, index_kind_of_type, kv_kind_of_type
from pakv_dialect.soc import SocInfo, soc_info
from pakv_dialect.tiling import TILING_FIELDS, gather_tiling
from runtime import ascendc_facts as facts

SOCS_WITHOUT_DATA_COPY_PAD = frozenset({"Ascend910", "Ascend310P"})
"""SoCs whose AscendC has no ``DataCopyPad`` (its documented support table lists
Atlas A2/A3, 200I/500 A2 and Ascend 950, not the Atlas training and inference series):
a copy whose length is not provably 32-byte aligned cannot be printed for them."""

MAX_EVENT_IDS = 8
"""Event ids per ``HardEvent`` kind (SetFlag/WaitFlag take ids 0..7)."""

NOTE_ATTR = "ascend.note"
"""Optional string attribute on a lowered op: printed as a comment above it."""

DYNAMIC_EXTENTS: dict[tuple[str, int], str] = {("block_tables", 1): "table_width"}
"""Dynamic inner dimensions of GM tensors read by index, and the tiling field that
holds each (a scalar read linearises its indices with the row length)."""

INDEX_CPP = "int64_t"

_CPP_KEYWORDS = frozenset(
    {
        "auto", "bool", "break", "case", "char", "class", "const", "continue", "default",
        "delete", "do", "double", "else", "enum", "float", "for", "if", "int", "long",
        "new", "register", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "template", "this", "union", "unsigned", "void", "volatile", "while",
        "tiling", "pipe", "half", "event",
    }
)  # fmt: skip


class AscendCEmitError(DiagnosticException):
    """The lowered program holds something the AscendC target cannot print."""


def _fail(op: Operation, message: str) -> AscendCEmitError:
    return AscendCEmitError(f"{op.name}: {message}")


# --------------------------------------------------------------------------- names


def camel(snake: str) -> str:
    """``key_cache`` -> ``keyCache``; ``key tile`` -> ``keyTile``."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", snake) if w]
    if not words:
        return "v"
    head, *rest = words
    name = head[0].lower() + head[1:] + "".join(w[0].upper() + w[1:] for w in rest)
    return f"v{name}" if name[0].isdigit() else name


def pascal(snake: str) -> str:
    name = camel(snake)
    return name[0].upper() + name[1:]


def screaming(snake: str) -> str:
    """``key tile`` -> ``KEY_TILE``."""
    return "_".join(w.upper() for w in re.split(r"[^0-9A-Za-z]+", snake) if w)


def _hard_event(set_pipe: ascend.Pipe, wait_pipe: ascend.Pipe) -> str:
    return f"{set_pipe.value}_{wait_pipe.value}"


def _events_member(hard_event: str) -> str:
    source, target = hard_event.split("_")
    return f"{source.lower()}To{target.capitalize()}Events_"


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class GmTensor:
    """One kernel argument: a GM tensor."""

    role: str
    """The argument's name hint (an operand role of ``pakv.gather``)."""
    param: str
    """C++ parameter name of the entry and ``Init``."""
    member: str
    kind: ElementKind
    memref: MemRefType


@dataclass(frozen=True)
class UbBuffer:
    """One ``ascend.ub_alloc``: a ``LocalTensor<uint8_t>`` view of the planned UB."""

    purpose: str
    member: str
    slot_constant: str
    slots: int
    slot_bytes: int
    offset: int


@dataclass(frozen=True)
class CopyVariant:
    """How one ``ascend.load``/``ascend.store`` is printed."""

    to_ub: bool
    single: bool
    """One burst: no gaps, no burst count."""
    aligned: bool
    """Every length provably a multiple of 32 bytes: ``DataCopy``, else ``DataCopyPad``."""

    @property
    def helper(self) -> str:
        name = "CopyIn" if self.to_ub else "CopyOut"
        if not self.single:
            name += "Bursts"
        return name + ("Aligned" if self.aligned else "")


@dataclass
class KernelPlan:
    """Everything about one kernel that is decided before ``Process`` is printed."""

    func: func.FuncOp
    soc: SocInfo
    gm: list[GmTensor]
    ub: dict[SSAValue, UbBuffer]
    events: dict[str, int]
    """HardEvent name -> how many event ids of that kind the kernel uses."""
    copies: dict[str, bool] = field(default_factory=dict[str, bool])
    """Copy helper name -> whether it must split bursts above MAX_BURSTS."""
    transposes: bool = False
    zero_fills: bool = False

    @property
    def gm_by_arg(self) -> dict[SSAValue, GmTensor]:
        return {arg: tensor for arg, tensor in zip(self.func.body.block.args, self.gm, strict=True)}

    @property
    def class_name(self) -> str:
        return "Kernel" + pascal(self.func.sym_name.data)

    @property
    def ub_bytes(self) -> int:
        ends = [b.offset + b.slots * b.slot_bytes for b in self.ub.values()]
        return ascend.align_up(max(ends, default=ascend.UB_ALIGN))


def copy_variant(op: ascend.LoadOp | ascend.StoreOp, soc: SocInfo) -> CopyVariant:
    """The static copy choice for one DMA op (module docstring, "Copy choice")."""
    single = facts.constant_of(op.n_burst) == 1
    lengths = [op.burst_len] if single else [op.burst_len, op.gm_gap, op.ub_gap]
    aligned = all(facts.is_multiple_of(v, ascend.UB_ALIGN) for v in lengths)
    if not aligned and soc.name in SOCS_WITHOUT_DATA_COPY_PAD:
        raise _fail(
            op,
            f"burst length not provably a multiple of {ascend.UB_ALIGN} bytes, and "
            f"{soc.name} has no DataCopyPad: plan 32-byte aligned bursts for this SoC",
        )
    return CopyVariant(isinstance(op, ascend.LoadOp), single, aligned)


def _gm_tensor(arg: BlockArgument, index: int) -> GmTensor:
    ty = arg.type
    if not isinstance(ty, MemRefType) or ascend.memory_space_of(ty) != ascend.AddressSpace.gm:
        raise AscendCEmitError(f"kernel argument {index} must be a GM memref, got {ty}")
    element = ty.get_element_type()
    kind = kv_kind_of_type(element) or index_kind_of_type(element)
    if kind is None:
        raise AscendCEmitError(f"kernel argument {index} has no AscendC type: {element}")
    role = arg.name_hint or f"gm{index}"
    return GmTensor(role, camel(role), camel(role) + "Gm_", kind, ty)  # pyright: ignore[reportUnknownArgumentType]


def _ub_buffer(op: ascend.UbAllocOp) -> UbBuffer:
    offset = op.planned_offset
    if offset is None:
        raise _fail(op, f"'{op.purpose.data}' has no planned offset: run ascend-plan-ub first")
    purpose = op.purpose.data
    return UbBuffer(
        purpose,
        camel(purpose) + "_",
        screaming(purpose) + "_SLOT_BYTES",
        op.slots,
        op.slot_bytes,
        offset,
    )


def plan_kernel(kernel: func.FuncOp) -> KernelPlan:
    soc_attr = kernel.attributes.get(ascend.SOC_ATTR)
    if not isinstance(soc_attr, StringAttr):
        raise AscendCEmitError(f"@{kernel.sym_name.data} has no {ascend.SOC_ATTR} attribute")
    soc = soc_info(soc_attr.data)
    gm = [_gm_tensor(arg, i) for i, arg in enumerate(kernel.body.block.args)]
    plan = KernelPlan(kernel, soc, gm, {}, {})
    for op in kernel.body.walk():
        match op:
            case ascend.UbAllocOp():
                plan.ub[op.buffer] = _ub_buffer(op)
            case ascend.LoadOp() | ascend.StoreOp():
                variant = copy_variant(op, soc)
                splits = not variant.single and not facts.fits(op.n_burst, ascend.MAX_BURSTS)
                plan.copies[variant.helper] = plan.copies.get(variant.helper, False) or splits
            case ascend.TransposeBlocksOp():
                plan.transposes = True
            case ascend.FillZeroOp():
                plan.zero_fills = True
            case ascend.SetFlagOp() | ascend.WaitFlagOp():
                bound = facts.upper_bound(op.event)
                if bound is None or not facts.is_non_negative(op.event):
                    raise _fail(op, "event number is not provably in a fixed range")
                kind = _hard_event(op.set_pipe.data, op.wait_pipe.data)
                plan.events[kind] = max(plan.events.get(kind, 0), bound + 1)
                if plan.events[kind] > MAX_EVENT_IDS:
                    raise _fail(op, f"{kind} needs more than {MAX_EVENT_IDS} event ids")
            case _:
                pass
    return plan


# --------------------------------------------------------------------------- printing


def cpp_type(ty: Attribute) -> str:
    if isinstance(ty, IndexType):
        return INDEX_CPP
    if isinstance(ty, IntegerType):
        width = ty.width.data
        return "bool" if width == 1 else f"int{width}_t"
    raise AscendCEmitError(f"no C++ type for {ty}")


def _unsigned_type(ty: Attribute) -> str:
    return "uint64_t" if isinstance(ty, IndexType) else f"uint{cpp_type(ty)[3:]}"


_BINARY = {
    arith.AddiOp: "+",
    arith.SubiOp: "-",
    arith.MuliOp: "*",
    arith.DivSIOp: "/",
    arith.RemSIOp: "%",
    arith.ShLIOp: "<<",
    arith.ShRSIOp: ">>",
}
_UNSIGNED_BINARY = {arith.DivUIOp: "/", arith.RemUIOp: "%", arith.ShRUIOp: ">>"}
_BITWISE = {arith.AndIOp: ("&", "&&"), arith.OrIOp: ("|", "||"), arith.XOrIOp: ("^", "!=")}
_ARITH_BINARY = frozenset(
    {
        *_BINARY, *_UNSIGNED_BINARY, *_BITWISE,
        arith.CeilDivUIOp, arith.CeilDivSIOp, arith.FloorDivSIOp,
    }
)  # fmt: skip
_CMPI = ("==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">=")
_MIN_MAX = {
    arith.MinSIOp: ("<", False),
    arith.MaxSIOp: (">", False),
    arith.MinUIOp: ("<", True),
    arith.MaxUIOp: (">", True),
}

MAX_INLINE = 60
"""Longest expression that is inlined into its single use rather than named."""


@dataclass
class AscendCPrintContext:
    """Output, indentation and SSA names while printing one kernel (cf. CslPrintContext)."""

    output: IO[str]
    plan: KernelPlan
    variables: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    taken: set[str] = field(default_factory=set[str])
    """Every C++ name in use in the unit; shared by nested contexts."""
    force_inline: bool = False
    """Inline every pure value (a ``while`` condition must be one expression)."""
    _prefix: str = ""
    _INDENT = "    "

    # ----------------------------------------------------------------- basics

    def print(self, text: str = "") -> None:
        for line in text.split("\n"):
            print((self._prefix + line).rstrip(), file=self.output)

    @contextmanager
    def descend(self, header: str) -> Iterator[AscendCPrintContext]:
        """A nested C++ block: ``header {`` ... ``}`` one indentation level deeper."""
        self.print(f"{header} {{")
        yield replace(self, variables=self.variables.copy(), _prefix=self._prefix + self._INDENT)
        self.print("}")

    def fresh(self, hint: str) -> str:
        base = camel(hint)
        if base in _CPP_KEYWORDS:
            base += "Value"
        name, counter = base, 1
        while name in self.taken:
            name, counter = f"{base}{counter}", counter + 1
        self.taken.add(name)
        return name

    def name_of(self, value: SSAValue) -> str:
        """The C++ expression of an already printed value."""
        if value in self.variables:
            return self.variables[value]
        constant = facts.constant_of(value)
        if constant is not None:
            return str(constant)
        if isinstance(value.owner, arith.ConstantOp) and value.type == IntegerType(1):
            attr = value.owner.value
            assert isinstance(attr, IntegerAttr)
            return "true" if attr.value.data else "false"
        raise AscendCEmitError(f"value {value} used before it was printed")

    def declare(self, value: SSAValue, expression: str, hint: str) -> None:
        name = self.fresh(value.name_hint or hint)
        self.variables[value] = name
        self.print(f"const {cpp_type(value.type)} {name} = {expression};")

    def define(self, value: SSAValue, expression: str, *, atomic: bool = False) -> None:
        """Name ``value`` or inline it into its single use (CSL's promotion rule)."""
        op = value.owner
        inline = self.force_inline or (
            value.name_hint is None
            and isinstance(op, Operation)
            and is_side_effect_free(op)
            and value.has_one_use()
            and len(expression) <= MAX_INLINE
        )
        if inline:
            self.variables[value] = expression if atomic else f"({expression})"
        else:
            self.declare(value, expression, "value")

    # ----------------------------------------------------------------- blocks

    def print_block(self, block: Block) -> None:
        for op in block.ops:
            note = op.attributes.get(NOTE_ATTR)
            if isinstance(note, StringAttr):
                self.print(f"// {note.data}")
            self.print_op(op)

    def assign_all(self, targets: Sequence[str], values: Sequence[SSAValue]) -> None:
        """Parallel assignment ``targets = values`` (loop-carried variables)."""
        pending = [(t, self.name_of(v)) for t, v in zip(targets, values, strict=True)]
        pending = [(t, e) for t, e in pending if t != e]
        if len(pending) > 1:
            staged: list[tuple[str, str]] = []
            for target, expression in pending:
                temp = self.fresh(f"{target}_next")
                self.print(f"const {INDEX_CPP} {temp} = {expression};")
                staged.append((target, temp))
            pending = staged
        for target, expression in pending:
            self.print(f"{target} = {expression};")

    def declare_mutable(self, value: SSAValue, hint: str, init: str | None) -> str:
        name = self.fresh(value.name_hint or hint)
        self.variables[value] = name
        suffix = "" if init is None else f" = {init}"
        self.print(f"{cpp_type(value.type)} {name}{suffix};")
        return name

    # ----------------------------------------------------------------- ops

    def print_op(self, op: Operation) -> None:
        match op:
            case arith.ConstantOp() | ascend.UbAllocOp():
                pass  # constants print inline; UB buffers are members set up in Init
            case ascend.GetTilingOp():
                self.variables[op.result] = f"tiling_.{camel(op.field.data)}"
            case ascend.GetBlockIdxOp():
                self.declare(op.result, "GetBlockIdx()", "block_idx")
            case ascend.GetBlockNumOp():
                self.variables[op.result] = "GetBlockNum()"
            case arith.CmpiOp():
                self.print_cmpi(op)
            case arith.SelectOp():
                cond, lhs, rhs = map(self.name_of, (op.cond, op.lhs, op.rhs))
                self.define(op.result, f"{cond} ? {lhs} : {rhs}")
            case arith.IndexCastOp() | arith.ExtSIOp() | arith.TruncIOp() | arith.ExtUIOp():
                self.print_cast(op)
            case Operation() if type(op) in _MIN_MAX:
                self.print_min_max(op)
            case Operation() if type(op) in _ARITH_BINARY:
                self.print_binary(op)
            case scf.ForOp():
                self.print_for(op)
            case scf.IfOp():
                self.print_if(op)
            case scf.WhileOp():
                self.print_while(op)
            case scf.YieldOp():
                self.print_yield(op)
            case func.ReturnOp():
                self.print_release_events()
                if op.next_op is not None or op.parent_block() is not self.plan.func.body.block:
                    self.print("return;")
            case ascend.LoadScalarOp():
                self.print_load_scalar(op)
            case ascend.LoadOp() | ascend.StoreOp():
                self.print_copy(op)
            case ascend.TransposeBlocksOp():
                source = self.slot_view(op.source, op.source_slot)
                target = self.slot_view(op.target, op.target_slot)
                rows, cols = self.name_of(op.rows), self.name_of(op.cols)
                self.print(f"TransposeBlocks({target}, {source}, {rows}, {cols});")
            case ascend.FillZeroOp():
                view = self.slot_view(op.target, op.slot)
                self.print(f"ZeroFill({view}, {self.name_of(op.bytes)});")
            case ascend.SetFlagOp() | ascend.WaitFlagOp():
                verb = "SetFlag" if isinstance(op, ascend.SetFlagOp) else "WaitFlag"
                kind = _hard_event(op.set_pipe.data, op.wait_pipe.data)
                event = f"{_events_member(kind)}[{self.name_of(op.event)}]"
                self.print(f"{verb}<HardEvent::{kind}>({event});")
            case _:
                raise _fail(op, "the AscendC target does not print this op")

    def print_binary(self, op: Operation) -> None:
        lhs, rhs = op.operands
        result = op.results[0]
        a, b = self.name_of(lhs), self.name_of(rhs)
        kind = type(op)
        if kind in _BINARY:
            self.define(result, f"{a} {_BINARY[kind]} {b}")
        elif kind in _BITWISE:
            bits, logic = _BITWISE[kind]
            self.define(result, f"{a} {logic if result.type == IntegerType(1) else bits} {b}")
        elif kind in _UNSIGNED_BINARY:
            symbol = _UNSIGNED_BINARY[kind]
            if facts.is_non_negative(lhs) and facts.is_non_negative(rhs):
                self.define(result, f"{a} {symbol} {b}")
            else:
                u = _unsigned_type(result.type)
                expression = f"static_cast<{u}>({a}) {symbol} static_cast<{u}>({b})"
                self.define(result, f"static_cast<{cpp_type(result.type)}>({expression})")
        elif kind is arith.CeilDivUIOp or (
            kind is arith.CeilDivSIOp and facts.is_non_negative(lhs)
        ):
            self.define(result, f"({a} + {b} - 1) / {b}")
        elif kind is arith.FloorDivSIOp and facts.is_non_negative(lhs):
            self.define(result, f"{a} / {b}")
        else:
            raise _fail(op, "the AscendC target does not print this arithmetic")

    def print_min_max(self, op: Operation) -> None:
        symbol, unsigned = _MIN_MAX[type(op)]
        lhs, rhs = op.operands
        a, b = self.name_of(lhs), self.name_of(rhs)
        if unsigned and not (facts.is_non_negative(lhs) and facts.is_non_negative(rhs)):
            u = _unsigned_type(lhs.type)
            condition = f"static_cast<{u}>({a}) {symbol} static_cast<{u}>({b})"
        else:
            condition = f"{a} {symbol} {b}"
        self.define(op.results[0], f"{condition} ? {a} : {b}")

    def print_cmpi(self, op: arith.CmpiOp) -> None:
        predicate = op.predicate.value.data
        a, b = self.name_of(op.lhs), self.name_of(op.rhs)
        signed = predicate < 6 or (facts.is_non_negative(op.lhs) and facts.is_non_negative(op.rhs))
        if not signed:
            u = _unsigned_type(op.lhs.type)
            a, b = f"static_cast<{u}>({a})", f"static_cast<{u}>({b})"
        self.define(op.result, f"{a} {_CMPI[predicate]} {b}")

    def print_cast(
        self, op: arith.IndexCastOp | arith.ExtSIOp | arith.TruncIOp | arith.ExtUIOp
    ) -> None:
        source = self.name_of(op.input)
        if isinstance(op, arith.ExtUIOp):
            source = f"static_cast<{_unsigned_type(op.input.type)}>({source})"
        self.define(op.result, f"static_cast<{cpp_type(op.result.type)}>({source})", atomic=True)

    # ----------------------------------------------------------------- control flow

    def print_for(self, op: scf.ForOp) -> None:
        body = op.body.block
        index, *carried = body.args
        for result, init, arg in zip(op.res, op.iter_args, carried, strict=True):
            name = self.declare_mutable(arg, result.name_hint or "carried", self.name_of(init))
            self.variables[result] = name
        lower, upper, step = map(self.name_of, (op.lb, op.ub, op.step))
        i = self.fresh(index.name_hint or "i")
        self.variables[index] = i
        increment = f"++{i}" if step == "1" else f"{i} += {step}"
        with self.descend(f"for ({INDEX_CPP} {i} = {lower}; {i} < {upper}; {increment})") as inner:
            inner.print_block(body)

    def print_if(self, op: scf.IfOp) -> None:
        for result in op.output:
            self.declare_mutable(result, "chosen", None)
        with self.descend(f"if ({self.name_of(op.cond)})") as inner:
            inner.print_block(op.true_region.block)
        else_block = op.false_region.block if op.false_region.blocks else None
        if else_block is not None and not _only_empty_yield(else_block):
            with self.descend("else") as inner:
                inner.print_block(else_block)

    def print_while(self, op: scf.WhileOp) -> None:
        before, after = op.before_region.block, op.after_region.block
        condition = before.last_op
        assert isinstance(condition, scf.ConditionOp)
        names = [
            self.declare_mutable(arg, result.name_hint or "carried", self.name_of(init))
            for arg, result, init in zip(before.args, op.res, op.arguments, strict=True)
        ]
        forwards = list(condition.args) == list(before.args)
        if forwards:
            for result, arg, name in zip(op.res, after.args, names, strict=True):
                self.variables[result] = name
                self.variables[arg] = name
        if forwards and all(is_side_effect_free(o) for o in before.ops if o is not condition):
            header = self.collect_condition(before, condition)
            with self.descend(f"while ({header})") as inner:
                inner.print_block(after)
            return
        results = [self.declare_mutable(r, "result", None) for r in op.res] if not forwards else []
        with self.descend("while (true)") as inner:
            for o in before.ops:
                if o is not condition:
                    inner.print_op(o)
            with inner.descend(f"if (!({inner.name_of(condition.condition)}))") as exit_:
                if results:
                    exit_.assign_all(results, condition.args)
                exit_.print("break;")
            if not forwards:
                for arg, value in zip(after.args, condition.args, strict=True):
                    inner.declare(arg, inner.name_of(value), "carried")
            inner.print_block(after)

    def collect_condition(self, before: Block, condition: scf.ConditionOp) -> str:
        """The loop condition as one expression: the before-block's pure ops, inlined."""
        lines = StringIO()
        scratch = replace(self, output=lines, variables=self.variables.copy(), force_inline=True)
        for o in before.ops:
            if o is not condition:
                scratch.print_op(o)
        if lines.getvalue():
            raise _fail(condition, "the loop condition is too long to inline")
        expression = scratch.name_of(condition.condition)
        return expression[1:-1] if _wrapped(expression) else expression

    def print_yield(self, op: scf.YieldOp) -> None:
        parent = op.parent_op()
        match parent:
            case scf.ForOp():
                carried = parent.body.block.args[1:]
                self.assign_all([self.variables[a] for a in carried], op.arguments)
            case scf.IfOp():
                self.assign_all([self.variables[r] for r in parent.output], op.arguments)
            case scf.WhileOp():
                carried = parent.before_region.block.args
                self.assign_all([self.variables[a] for a in carried], op.arguments)
            case _:
                raise _fail(op, "yield outside scf.for/scf.if/scf.while")

    # ----------------------------------------------------------------- memory

    def slot_view(self, buffer: SSAValue, slot: SSAValue, offset: SSAValue | None = None) -> str:
        """``tile_[slot * SLOT_BYTES + offset]``: a UB byte position as a LocalTensor."""
        ub = self.plan.ub.get(buffer)
        if ub is None:
            raise AscendCEmitError(f"UB operand {buffer} is not an ascend.ub_alloc")
        terms: list[str] = []
        slot_constant = facts.constant_of(slot)
        if slot_constant is None:
            terms.append(f"{self.name_of(slot)} * {ub.slot_constant}")
        elif slot_constant:
            terms.append(f"{slot_constant} * {ub.slot_constant}")
        if offset is not None and facts.constant_of(offset) != 0:
            terms.append(self.name_of(offset))
        return f"{ub.member}[{' + '.join(terms)}]" if terms else ub.member

    def gm_tensor(self, value: SSAValue) -> GmTensor:
        tensor = self.plan.gm_by_arg.get(value)
        if tensor is None:
            raise AscendCEmitError(f"GM operand {value} is not a kernel argument")
        return tensor

    def print_load_scalar(self, op: ascend.LoadScalarOp) -> None:
        tensor = self.gm_tensor(op.source)
        shape = tensor.memref.get_shape()
        linear = ""
        for dim, index in enumerate(op.indices):
            term = self.name_of(index)
            if dim == 0:
                linear = term
                continue
            extent = shape[dim]
            if extent < 0:
                field_name = DYNAMIC_EXTENTS.get((tensor.role, dim))
                if field_name is None:
                    raise _fail(op, f"dim {dim} of {tensor.role} has no runtime extent")
                row = f"tiling_.{camel(field_name)}"
            else:
                row = str(extent)
            linear = f"({linear}) * {row} + {term}" if dim > 1 else f"{linear} * {row} + {term}"
        hint = f"{tensor.role}_value"
        self.declare(op.result, f"{tensor.member}.GetValue({linear})", hint)

    def print_copy(self, op: ascend.LoadOp | ascend.StoreOp) -> None:
        """``CopyIn(ub, gm, gmByte, ...)`` or ``CopyOut(gm, gmByte, ub, ...)``."""
        variant = copy_variant(op, self.plan.soc)
        ub = self.slot_view(op.ub, op.slot, op.ub_offset)
        gm = [self.gm_tensor(op.gm).member, self.name_of(op.gm_offset)]
        sizes = (
            [op.burst_len] if variant.single else [op.n_burst, op.burst_len, op.gm_gap, op.ub_gap]
        )
        operands = [ub, *gm] if variant.to_ub else [*gm, ub]
        operands += [self.name_of(v) for v in sizes]
        self.print(f"{variant.helper}({', '.join(operands)});")

    def print_release_events(self) -> None:
        for kind, count in sorted(self.plan.events.items()):
            member = _events_member(kind)
            with self.descend(f"for (int32_t id = 0; id < {count}; ++id)") as inner:
                inner.print(f"pipe_.ReleaseEventID<HardEvent::{kind}>({member}[id]);")


def _only_empty_yield(block: Block) -> bool:
    return isinstance(block.first_op, scf.YieldOp) and not block.first_op.arguments


def _wrapped(expression: str) -> bool:
    """Whether the outer parentheses of ``expression`` enclose all of it."""
    if not (expression.startswith("(") and expression.endswith(")")):
        return False
    depth = 0
    for position, char in enumerate(expression):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and position < len(expression) - 1:
            return False
    return True


# --------------------------------------------------------------------------- unit


TILING_STRUCT = "GatherTilingData"
TILING_FUNCTION = "ComputeGatherTiling"

_TILING_RULES = {
    "split_tokens": "std::max<int64_t>(0, std::min(totalTokens, numTokens))",
    "used_cores": "std::min(vectorCores, tiling.splitTokens)",
}
"""The C++ of gather_tiling's computed fields (the rest copy same-named parameters)."""


def _tiling_parameters() -> list[str]:
    return list(inspect.signature(gather_tiling).parameters)


def _print_prologue(out: AscendCPrintContext, plan: KernelPlan) -> None:
    name = plan.func.sym_name.data
    out.print(f"// AscendC kernel @{name} for {plan.soc.name}, printed by pakv's ascendc target")
    out.print("// from the lowered pakv.gather (pakv-to-ascend). One launch gathers the paged")
    out.print("// key/value caches into contiguous outputs; each core copies its share of rows.")
    out.print('#include "kernel_operator.h"')
    out.print("#ifndef ASCENDC_CPU_DEBUG")
    out.print('#include "acl/acl.h"')
    out.print("#endif")
    out.print("#include <algorithm>")
    out.print("#include <cstdint>")
    out.print()
    out.print("using namespace AscendC;")
    out.print()
    out.print("// Runtime sizes: computed on the host by ComputeGatherTiling, read by every core.")
    out.print(f"struct {TILING_STRUCT} {{")
    for field_name in TILING_FIELDS:
        out.print(f"    int64_t {camel(field_name)};")
    out.print("};")
    out.print()
    out.print(f"constexpr int64_t UB_BLOCK_BYTES = {ascend.UB_ALIGN};  // UB alignment unit")
    if any(plan.copies.values()):
        out.print(f"constexpr int64_t MAX_BURSTS = {ascend.MAX_BURSTS};  // blockCount limit")
    out.print("// UB plan (ascend-plan-ub): each buffer is `slots` slots at a planned offset.")
    for ub in plan.ub.values():
        out.print(
            f"constexpr int64_t {ub.slot_constant} = {ub.slot_bytes};  "
            f'// "{ub.purpose}": {ub.slots} slot(s) at UB byte {ub.offset}'
        )
    out.print()


def _print_init(out: AscendCPrintContext, plan: KernelPlan, params: str) -> None:
    with out.descend(f"__aicore__ inline void Init({params}, GM_ADDR tiling)") as body:
        body.print("// Every core reads its own copy of the tiling from GM.")
        body.print("auto tilingGm = reinterpret_cast<__gm__ int64_t*>(tiling);")
        body.print("auto tilingWords = reinterpret_cast<int64_t*>(&tiling_);")
        header = f"for (size_t i = 0; i < sizeof({TILING_STRUCT}) / sizeof(int64_t); ++i)"
        with body.descend(header) as loop:
            loop.print("tilingWords[i] = tilingGm[i];")
        for tensor in plan.gm:
            cpp = tensor.kind.ascendc
            body.print(
                f"{tensor.member}.SetGlobalBuffer(reinterpret_cast<__gm__ {cpp}*>({tensor.param}));"
            )
        body.print("// One VECCALC buffer spans the planned UB; each tile is a view at its offset.")
        body.print(f"pipe_.InitBuffer(ubBuf_, {plan.ub_bytes});")
        for ub in plan.ub.values():
            body.print(
                f"{ub.member} = ubBuf_.GetWithOffset<uint8_t>({ub.slots} * {ub.slot_constant}, "
                f"{ub.offset});"
            )
        if plan.events:
            body.print("// Event ids for the flags the lowering planned, one per slot.")
        for kind, count in sorted(plan.events.items()):
            with body.descend(f"for (int32_t id = 0; id < {count}; ++id)") as loop:
                loop.print(f"{_events_member(kind)}[id] = pipe_.AllocEventID<HardEvent::{kind}>();")


def _copy_helper_source(helper: str, splits: bool) -> str:
    """The C++ of one copy helper (see ``CopyVariant``); ``splits``: chunk the bursts."""
    to_ub = helper.startswith("CopyIn")
    aligned = helper.endswith("Aligned")
    single = "Bursts" not in helper
    ub, gm = "ub.ReinterpretCast<T>()", "gm[gmByte / sizeof(T)]"
    dst, src = (ub, gm) if to_ub else (gm, ub)
    pad = ", DataCopyPadExtParams<T>{}" if to_ub and not aligned else ""
    locals_ = "const LocalTensor<uint8_t>& ub"
    globals_ = "const GlobalTensor<T>& gm, int64_t gmByte"
    operands = f"{locals_}, {globals_}" if to_ub else f"{globals_}, {locals_}"
    stage = "CopyIn (MTE2): GM -> UB slot" if to_ub else "CopyOut (MTE3): UB slot -> GM"
    if single:
        header = f"__aicore__ inline void {helper}({operands}, int64_t bytes)"
        if aligned:
            doc = f"// {stage}, one burst of `bytes` bytes, a multiple of 32: plain DataCopy."
            body = f"    DataCopy({dst}, {src}, static_cast<uint32_t>(bytes / sizeof(T)));"
        else:
            doc = (
                f"// {stage}, one burst of `bytes` bytes. DataCopyPad moves any byte length\n"
                "// (the burst is padded to 32 bytes in UB)."
            )
            body = (
                "    DataCopyExtParams params;\n"
                "    params.blockCount = 1;\n"
                "    params.blockLen = static_cast<uint32_t>(bytes);\n"
                f"    DataCopyPad({dst}, {src}, params{pad});"
            )
        return f"{doc}\ntemplate <typename T>\n{header}\n{{\n{body}\n}}\n"
    header = (
        f"__aicore__ inline void {helper}({operands}, int64_t nBurst, int64_t burstBytes,\n"
        "    int64_t gmGapBytes, int64_t ubGapBytes)"
    )
    doc = (
        f"// {stage}, nBurst bursts of burstBytes. Burst b starts b * (burstBytes +\n"
        "// gmGapBytes) bytes into GM and b * (burstBytes rounded up to 32 + ubGapBytes)\n"
        "// bytes into UB."
    )
    gm_gap = "gmGapBytes"
    if aligned:
        doc += " Every length is a multiple of 32: DataCopy counts 32-byte blocks."
        params, length, block_len = "DataCopyParams", "uint16_t", "burstBytes / UB_BLOCK_BYTES"
        gm_gap = "gmGapBytes / UB_BLOCK_BYTES"
        api = "DataCopy"
    else:
        doc += "\n// DataCopyPad: burst length and GM gap in bytes, UB gap in 32-byte blocks."
        params, length, block_len = "DataCopyExtParams", "uint32_t", "burstBytes"
        api = "DataCopyPad"
    src_gap, dst_gap = (gm_gap, "ubGapBytes / UB_BLOCK_BYTES")
    if not to_ub:
        src_gap, dst_gap = dst_gap, src_gap
    lines = [
        f"    {params} params;",
        f"    params.blockLen = static_cast<{length}>({block_len});",
        f"    params.srcStride = static_cast<{length}>({src_gap});",
        f"    params.dstStride = static_cast<{length}>({dst_gap});",
    ]
    if splits:
        ub_at = "ub[first * ubBurstBytes].ReinterpretCast<T>()"
        gm_at = "gm[(gmByte + first * (burstBytes + gmGapBytes)) / sizeof(T)]"
        dst_at, src_at = (ub_at, gm_at) if to_ub else (gm_at, ub_at)
        lines += [
            "    // blockCount is at most MAX_BURSTS: issue the bursts in chunks.",
            "    const int64_t ubBurstBytes = (burstBytes + UB_BLOCK_BYTES - 1) / UB_BLOCK_BYTES"
            " * UB_BLOCK_BYTES + ubGapBytes;",
            "    for (int64_t first = 0; first < nBurst; first += MAX_BURSTS) {",
            "        const int64_t left = nBurst - first;",
            "        params.blockCount ="
            " static_cast<uint16_t>(left < MAX_BURSTS ? left : MAX_BURSTS);",
            f"        {api}({dst_at}, {src_at}, params{pad});",
            "    }",
        ]
    else:
        lines += [
            "    params.blockCount = static_cast<uint16_t>(nBurst);",
            f"    {api}({dst}, {src}, params{pad});",
        ]
    body = "\n".join(lines)
    return f"{doc}\ntemplate <typename T>\n{header}\n{{\n{body}\n}}\n"


TRANSPOSE_BLOCKS = """\
// Compute (V): the 32-byte block (r, c) of a rows x cols tile moves to (c, r), turning a
// group-major PA_NZ tile token-major. A 1 x n or n x 1 tile is its own transpose (one
// contiguous copy); otherwise one UB->UB DataCopy per line of the shorter side, its blocks
// written a longer side apart. The tile fits the UB (rows * cols <= 7936 blocks), so
// with both sides >= 2 the longer one is below MAX_BURSTS.
__aicore__ inline void TransposeBlocks(const LocalTensor<uint8_t>& dst,
    const LocalTensor<uint8_t>& src, int64_t rows, int64_t cols)
{
    DataCopyParams params;
    params.blockLen = 1;
    if (rows == 1 || cols == 1) {
        params.blockLen = static_cast<uint16_t>(rows * cols);
        DataCopy(dst, src, params);
        return;
    }
    if (rows <= cols) {
        params.blockCount = static_cast<uint16_t>(cols);
        params.dstStride = static_cast<uint16_t>(rows - 1);
        for (int64_t r = 0; r < rows; ++r) {
            DataCopy(dst[r * UB_BLOCK_BYTES], src[r * cols * UB_BLOCK_BYTES], params);
        }
        return;
    }
    params.blockCount = static_cast<uint16_t>(rows);
    params.srcStride = static_cast<uint16_t>(cols - 1);
    for (int64_t c = 0; c < cols; ++c) {
        DataCopy(dst[c * rows * UB_BLOCK_BYTES], src[c * UB_BLOCK_BYTES], params);
    }
}
"""

ZERO_FILL = """\
// Compute (V): zero the first `bytes` bytes (rounded up to 32) of a UB slot: the tile of
// tokens whose table column or block id is out of range, so nothing is read from GM.
__aicore__ inline void ZeroFill(const LocalTensor<uint8_t>& ub, int64_t bytes)
{
    const int64_t blocks = (bytes + UB_BLOCK_BYTES - 1) / UB_BLOCK_BYTES;
    const int32_t halfWords = static_cast<int32_t>(blocks * UB_BLOCK_BYTES / 2);
    Duplicate(ub.ReinterpretCast<uint16_t>(), static_cast<uint16_t>(0), halfWords);
}
"""


def _print_helpers(out: AscendCPrintContext, plan: KernelPlan) -> None:
    sources = [_copy_helper_source(h, s) for h, s in sorted(plan.copies.items())]
    if plan.transposes:
        sources.append(TRANSPOSE_BLOCKS)
    if plan.zero_fills:
        sources.append(ZERO_FILL)
    for source in sources:
        out.print(source)


def _print_class(out: AscendCPrintContext, plan: KernelPlan) -> None:
    params = ", ".join(f"GM_ADDR {t.param}" for t in plan.gm)
    name = plan.class_name
    out.print(f"class {name} {{")
    out.print("public:")
    member = replace(out, _prefix=out._prefix + out._INDENT)
    member.print(f"__aicore__ inline {name}() {{}}")
    member.print()
    _print_init(member, plan, params)
    member.print()
    member.print("// The lowered program: this core's rows, walked run by run and tile by tile.")
    with member.descend("__aicore__ inline void Process()") as body:
        body.print_block(plan.func.body.block)
    member.print()
    out.print("private:")
    _print_helpers(member, plan)
    member.print("TPipe pipe_;")
    member.print("TBuf<TPosition::VECCALC> ubBuf_;")
    for ub in plan.ub.values():
        member.print(f"LocalTensor<uint8_t> {ub.member};")
    for tensor in plan.gm:
        member.print(f"GlobalTensor<{tensor.kind.ascendc}> {tensor.member};")
    for kind, count in sorted(plan.events.items()):
        member.print(f"TEventID {_events_member(kind)}[{count}];")
    member.print(f"{TILING_STRUCT} tiling_;")
    out.print("};")
    out.print()


def _print_entry(out: AscendCPrintContext, plan: KernelPlan) -> None:
    name = plan.func.sym_name.data
    params = ", ".join(f"GM_ADDR {t.param}" for t in plan.gm)
    args = ", ".join(t.param for t in plan.gm)
    out.print("// Device entry: GM addresses of the operands, the workspace (none needed) and")
    out.print("// the tiling in GM.")
    header = (
        f'extern "C" __global__ __aicore__ void {name}({params}, '
        "GM_ADDR /* workspace */, GM_ADDR tiling)"
    )
    with out.descend(header) as body:
        body.print(f"{plan.class_name} op;")
        body.print(f"op.Init({args}, tiling);")
        body.print("op.Process();")
    out.print()


def _print_host(out: AscendCPrintContext, plan: KernelPlan) -> None:
    name = plan.func.sym_name.data
    parameters = _tiling_parameters()
    out.print("// ---------------------------------------------------------------- host side")
    out.print("// The tiling of one launch, from runtime shapes and the sum of seqLens: the cores")
    out.print("// share min(totalTokens, numTokens) output rows (pakv_dialect/tiling.py).")
    signature = ", ".join(f"int64_t {camel(p)}" for p in parameters)
    with out.descend(f"inline {TILING_STRUCT} {TILING_FUNCTION}({signature})") as body:
        body.print(f"{TILING_STRUCT} tiling{{}};")
        for field_name in TILING_FIELDS:
            rule = _TILING_RULES.get(field_name)
            if rule is None:
                if field_name not in parameters:
                    raise AscendCEmitError(f"no host rule for tiling field {field_name}")
                rule = camel(field_name)
            body.print(f"tiling.{camel(field_name)} = {rule};")
        body.print("return tiling;")
    out.print()
    out.print("#ifndef ASCENDC_CPU_DEBUG")
    out.print("// Launch on `stream` with blockDim = usedCores; tilingDevice holds a copy of")
    out.print("// `tiling` in device memory. An empty call (no rows to copy) launches nothing.")
    params = ", ".join(f"GM_ADDR {t.param}" for t in plan.gm)
    header = (
        f"inline void Launch{pascal(name)}(const {TILING_STRUCT}& tiling, GM_ADDR tilingDevice, "
        f"aclrtStream stream, {params})"
    )
    with out.descend(header) as body:
        with body.descend("if (tiling.usedCores == 0)") as branch:
            branch.print("return;")
        args = ", ".join(t.param for t in plan.gm)
        body.print(
            f"{name}<<<static_cast<uint32_t>(tiling.usedCores), nullptr, stream>>>("
            f"{args}, nullptr, tilingDevice);"
        )
    out.print("#endif")


def print_kernel(kernel: func.FuncOp, output: IO[str]) -> None:
    """Print one lowered kernel function as a complete AscendC translation unit."""
    plan = plan_kernel(kernel)
    out = AscendCPrintContext(output, plan)
    out.taken.update(t.param for t in plan.gm)
    out.taken.update({"tiling", "op"})
    _print_prologue(out, plan)
    _print_class(out, plan)
    _print_entry(out, plan)
    _print_host(out, plan)


def kernel_functions(module: ModuleOp) -> list[func.FuncOp]:
    kernels = [
        op
        for op in module.ops
        if isinstance(op, func.FuncOp) and ascend.KERNEL_ATTR in op.attributes
    ]
    if not kernels:
        raise AscendCEmitError(
            f"no function marked {ascend.KERNEL_ATTR}: run pakv-to-ascend before -t ascendc"
        )
    return kernels


def emit_ascendc_kernels(module: ModuleOp) -> dict[str, str]:
    """Each lowered kernel's translation unit, by kernel name."""
    units: dict[str, str] = {}
    for kernel in kernel_functions(module):
        stream = StringIO()
        print_kernel(kernel, stream)
        units[kernel.sym_name.data] = stream.getvalue()
    return units


def emit_ascendc(module: ModuleOp) -> str:
    """The AscendC source of every lowered kernel in ``module`` (the target's output).

    One kernel prints as its translation unit; several are separated by ``// -----``
    lines, each headed ``// FILE: <kernel>.cpp`` (as xDSL's CSL target separates files).
    """
    units = emit_ascendc_kernels(module)
    if len(units) == 1:
        return next(iter(units.values()))
    return "// -----\n".join(f"// FILE: {name}.cpp\n{text}" for name, text in units.items())


@dataclass(frozen=True)
class AscendCTarget(Target):
    """``xdsl-opt -t ascendc``: AscendC source for the lowered kernels of the module."""

    name = "ascendc"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(emit_ascendc(module))
