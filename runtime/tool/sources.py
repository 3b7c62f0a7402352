"""Where a tool's ``pakv.gather`` (or ``pakv.scatter``) comes from, and how its problems
are located.

A user's op arrives as an MLIR file, an example name, or shape flags (a gather only).
Whatever the source, the result is a verified module with exactly one ``pakv.gather`` or
``pakv.scatter`` on the arguments of its function (:class:`GatherSource`), or an
:class:`InputError`: one line that says what is wrong and, for a file, where
(``file:line:col``, as compilers do).

A program may also gather into buffers it allocates and consume them elementwise
(``linalg.generic``, SPEC section 7: the dequantising examples). Its operands' roles
are bound on a copy that ``pakv-fuse-consumers`` folded into one gather: every
argument is then an operand of that op (caches, tables, lengths, the consumers'
parameters and outputs). The module itself stays as written: it is the reference the
tools run op by op, and the pipeline fuses (or, ``--no-fuse``, does not fuse) it again.
A consumer that cannot be fused is an error at its line, saying why.

Locations: xDSL's parser attaches a location to an op only when the text spells one
(``loc(...)``). :class:`LocatingParser` attaches MLIR's default, the op's own
``file:line:col`` as a ``FileLineColLoc``, so every later diagnostic (verifier, SoC
check, lowering) can name the line the user wrote. Ops created by the lowering have
no location of their own; :func:`location_of` walks up to the nearest op that has one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr, UnknownLoc
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.lexer import Span

from pakv_dialect.pakv import GatherOp, KvOp
from pakv_dialect.soc import DEFAULT_SOC
from passes.fuse_consumers import FuseConsumersPass, not_fused_remarks
from runtime.host.checks import verifier_message
from runtime.host.lowered import lowering_context
from runtime.ir_builder import GatherBindingError, find_kv_op
from runtime.tool.scatter_workload import ScatterOperands
from runtime.tool.shape_spec import ShapeSpec, build_module
from runtime.tool.workload import GatherOperands


class InputError(Exception):
    """Bad input for a tool: a message and, when known, the ``file:line:col`` it is at."""

    def __init__(self, message: str, location: str | None = None):
        super().__init__(message)
        self.message = " ".join(message.split())
        self.location = location

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}error: {self.message}"


class LocatingParser(Parser):
    """xDSL's parser, giving every op it parses its ``file:line:col`` location.

    ``line_offset`` is added to every line: a chunk of a ``--split-input-file`` input
    is parsed alone, but its locations name the lines of the whole file.
    """

    line_offset: int = 0

    def parse_operation(self) -> Operation:
        start = self.pos
        op = super().parse_operation()
        if isinstance(op.location, UnknownLoc):
            where = Span(start, start, self.lexer.input, self.line_offset).get_location()
            op.location = FileLineColLoc(
                StringAttr(where.file), IntAttr(where.line), IntAttr(where.col)
            )
        return op


def location_of(op: Operation | None) -> str | None:
    """``file:line:col`` of ``op``, or of its nearest enclosing op that has one."""
    while op is not None:
        loc = op.location
        if isinstance(loc, FileLineColLoc):
            return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
        op = op.parent_op()
    return None


def failing_op(module: ModuleOp) -> Operation | None:
    """The first op whose own verifier fails, in the order ``module.verify()`` runs them."""
    for op in module.walk(region_first=True):
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException:
            return op
    return None


def verify_located(module: ModuleOp, fallback: str | None = None) -> None:
    """``module.verify()``, turning a failure into an InputError at the failing op."""
    try:
        module.verify()
    except VerifyException as e:
        where = location_of(failing_op(module)) or fallback
        raise InputError(verifier_message(e), where) from None


@dataclass
class GatherSource:
    """A verified module holding one ``pakv.gather`` or ``pakv.scatter``, and where it
    came from."""

    name: str
    """The file path, or ``example <name>`` / ``shape flags``."""
    stem: str
    """A short name for output files."""
    module: ModuleOp
    """The module as written (a program's consumers unfused)."""
    func_name: str
    op: KvOp
    """The op the roles are bound on: the module's gather with its consumers folded in
    (in a copy of the module; the same op as written when it has none), or its scatter."""
    operands: GatherOperands | ScatterOperands
    argument_of: dict[str, int]
    """Operand role -> index of the kernel argument that carries it."""
    argument_names: dict[str, str]
    """Operand role -> the name of that argument (``%kr`` -> ``kr``; the role's name
    when the argument has none)."""
    location: str | None
    """The op's ``file:line:col`` (None when built from flags)."""
    seconds: dict[str, float]
    """Time spent on parse and verify."""

    @property
    def has_consumers(self) -> bool:
        """Whether the program computes on the gathered elements (SPEC section 7)."""
        return isinstance(self.op, GatherOp) and self.op.is_fused

    @property
    def gather_operands(self) -> GatherOperands:
        """The operands of a ``pakv.gather`` source (shape flags and examples always are
        one); InputError for a ``pakv.scatter``."""
        if not isinstance(self.operands, GatherOperands):
            raise InputError(f"{self.name} holds a {self.op.name}, not a pakv.gather")
        return self.operands

    @property
    def soc_attribute(self) -> str | None:
        return None if self.op.soc is None else self.op.soc.data

    def default_soc(self) -> str:
        """The op's own ``soc`` when it names one, else the project's default."""
        return self.soc_attribute or DEFAULT_SOC

    def where(self) -> str:
        """The op's location, or the source's name when it has none."""
        return self.location or self.name

    def check_soc(self, soc: str) -> None:
        """SPEC section 4 for ``soc``: the chip exists, runs the op, takes its dtypes."""
        try:
            self.op.verify_soc(soc)
        except VerifyException as e:
            raise InputError(verifier_message(e), self.where()) from None
        if self.soc_attribute is not None and self.soc_attribute != soc:
            raise InputError(
                f'{self.op.name} names soc = "{self.soc_attribute}" but --soc is {soc}',
                self.where(),
            )


def _bind(module: ModuleOp, name: str, stem: str, seconds: dict[str, float]) -> GatherSource:
    start = time.perf_counter()
    verify_located(module, name)
    seconds["verify"] = time.perf_counter() - start
    fused = module.clone()
    FuseConsumersPass().apply(lowering_context(), fused)
    try:
        binding = find_kv_op(fused)
    except GatherBindingError as e:
        for consumer, why in not_fused_remarks(fused):
            raise InputError(
                f"this consumer of pakv.gather cannot be fused into it: {why}",
                location_of(consumer) or name,
            ) from None
        raise InputError(str(e), name) from None
    op = binding.op
    operands = GatherOperands.of(op) if isinstance(op, GatherOp) else ScatterOperands.of(op)
    return GatherSource(
        name=name,
        stem=stem,
        module=module,
        func_name=binding.func.sym_name.data,
        op=op,
        operands=operands,
        argument_of=dict(binding.argument_of),
        argument_names={
            role: binding.func.body.block.args[index].name_hint or role
            for role, index in binding.argument_of.items()
        },
        location=location_of(binding.op),
        seconds=seconds,
    )


def read_file(path: Path) -> GatherSource:
    """Parse and verify an MLIR file; InputError names the file and line on failure.

    The text is UTF-8; a byte-order mark at its start (some Windows editors write one)
    is read as what it is, not as the first character of the program.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError as e:
        raise InputError(f"cannot read {path}: not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    return parse_text(text, str(path), path.stem)


def parse_text(text: str, name: str, stem: str) -> GatherSource:
    """Parse and verify MLIR text; locations read ``name:line:col``."""
    start = time.perf_counter()
    parser = LocatingParser(lowering_context(), text, name)
    try:
        module = parser.parse_module()
    except ParseError as e:
        raise InputError(e.msg, str(e.span.get_location())) from None
    except VerifyException as e:  # a custom parser that checks while building
        where = Span(parser.pos, parser.pos, parser.lexer.input).get_location()
        raise InputError(verifier_message(e), str(where)) from None
    seconds = {"parse": time.perf_counter() - start}
    return _bind(module, name, stem, seconds)


def from_spec(spec: ShapeSpec, name: str, stem: str) -> GatherSource:
    """Build and verify the module that shape flags (or an example) describe."""
    start = time.perf_counter()
    module = build_module(spec)
    return _bind(module, name, stem, {"build": time.perf_counter() - start})
