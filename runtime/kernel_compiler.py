"""The fast path: a lowered kernel compiled once into Python closures.

xDSL's interpreter spends tens of microseconds per op resolving operands through
scoped dictionaries and dispatching on op types. Here that work happens once, at
compile time: every SSA value gets a slot in a flat register list, every op becomes a
closure over its operands' slot numbers (``operator.itemgetter`` fetches them in C),
constants are written into the register template, and ``scf.for``/``scf.if``/
``scf.while`` become Python loops and branches over compiled blocks. The ``ascend`` ops
call the same :class:`~runtime.ascend_machine.AscendMachine` methods as the reference
interpreter, and the integer ops use the same ``runtime.int_ops`` table, so both paths
give the same bytes, the same trace and the same executed-op count (counted per block
execution, terminators included, exactly as xDSL's ``OpCounter`` counts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, Region, SSAValue

from pakv_dialect import ascend
from runtime import int_ops
from runtime.ascend_machine import PIPE_ID, AscendMachine, GmRef, OpSite

Registers = list[Any]
Step = Callable[[Registers], None]


class KernelCompileError(ValueError):
    """The kernel holds an op the fast path does not know; the message names it."""


@dataclass
class _Env:
    """What closures reach at run time: the machine's bound methods, the op count.

    Each machine method a closure calls has a one-element cell here, filled with the
    launch's bound method when a run starts (cheaper than an attribute lookup per op).
    """

    methods: dict[str, list[Callable[..., Any] | None]] = field(default_factory=dict)
    ops: int = 0

    def cell(self, name: str) -> list[Callable[..., Any] | None]:
        return self.methods.setdefault(name, [None])

    def bind(self, machine: AscendMachine | None) -> None:
        for name, cell in self.methods.items():
            cell[0] = None if machine is None else getattr(machine, name)


def _getter(slots: Sequence[int]) -> Callable[[Registers], tuple[Any, ...]]:
    """Fetch several registers at once, always as a tuple."""
    if not slots:
        return lambda regs: ()
    if len(slots) == 1:
        (only,) = slots
        return lambda regs: (regs[only],)
    return itemgetter(*slots)


class CompiledKernel:
    """One lowered kernel function, ready to run on any machine with matching arguments.

    Not reentrant: the closures reach the machine through cells that one ``run`` binds,
    so a compiled kernel runs one launch at a time.
    """

    def __init__(self, function: FuncOp, sites: Mapping[Operation, OpSite]):
        self.function = function
        self.sites = sites
        self._env = _Env()
        self._slots: dict[SSAValue, int] = {}
        self._template: Registers = []
        body = function.body.block
        self._arg_slots = tuple(self._slot(arg) for arg in body.args)
        self._body = self._block(body)

    # ------------------------------------------------------------ running

    def run(self, machine: AscendMachine, args: Sequence[GmRef] | None = None) -> int:
        """Run every core of ``machine``; return the number of ops executed."""
        env = self._env
        env.bind(machine)
        env.ops = 0
        kernel_args = machine.gm if args is None else tuple(args)
        if len(kernel_args) != len(self._arg_slots):
            raise ValueError(
                f"@{self.function.sym_name.data} takes {len(self._arg_slots)} arguments, "
                f"got {len(kernel_args)}"
            )
        template, arg_slots, body = self._template, self._arg_slots, self._body

        def one_core() -> None:
            regs = template.copy()
            for slot, value in zip(arg_slots, kernel_args, strict=True):
                regs[slot] = value
            body(regs)

        try:
            machine.run_cores(one_core)
        finally:
            env.bind(None)
        return env.ops

    # ------------------------------------------------------------ compiling

    def _slot(self, value: SSAValue) -> int:
        slot = self._slots.get(value)
        if slot is None:
            slot = self._slots[value] = len(self._template)
            self._template.append(None)
        return slot

    def _read(self, values: Sequence[SSAValue]) -> tuple[int, ...]:
        return tuple(self._slots[v] for v in values)

    def _block(self, block: Block) -> Callable[[Registers], tuple[Any, ...]]:
        """Compile a block: a function that runs it and returns its terminator's operands."""
        for arg in block.args:
            self._slot(arg)
        steps: list[Step] = []
        terminator: Operation | None = None
        for op in block.ops:
            if isinstance(op, scf.YieldOp | scf.ConditionOp | func.ReturnOp):
                terminator = op
                break
            step = self._op(op)
            if step is not None:
                steps.append(step)
        yielded = _getter(self._read(terminator.operands) if terminator else ())
        size = len(block.ops)
        env = self._env
        all_steps = tuple(steps)

        def run_block(regs: Registers) -> tuple[Any, ...]:
            env.ops += size
            for step in all_steps:
                step(regs)
            return yielded(regs)

        return run_block

    def _region(
        self, region: Region
    ) -> tuple[Callable[[Registers], tuple[Any, ...]], tuple[int, ...]] | None:
        """A single-block region's runner and block-argument slots (None when empty)."""
        if not region.blocks:
            return None
        if len(region.blocks) != 1:
            parent = region.parent_op()
            raise KernelCompileError(
                f"{self.sites.get(parent, parent.name) if parent else 'a region'}: "
                "multi-block regions are not supported"
            )
        block = region.block
        runner = self._block(block)
        return runner, self._read(block.args)

    def _op(self, op: Operation) -> Step | None:
        """Compile one non-terminator op into a step (None when it needs no run-time work)."""
        results = tuple(self._slot(r) for r in op.results)
        if isinstance(op, arith.ConstantOp):
            value = op.value
            if not isinstance(value, IntegerAttr):
                raise KernelCompileError(f"{self.sites[op]}: only integer constants are supported")
            data = value.value.data
            if isinstance(op.result.type, IndexType):
                data = int_ops.wrap(data, int_ops.INDEX_WIDTH)
            self._template[results[0]] = data
            return None
        for kind, compile_kind in self._COMPILERS:
            if isinstance(op, kind):
                return compile_kind(self, op, results)
        raise KernelCompileError(f"the fast path cannot run {self.sites.get(op, op.name)}")

    # ---- arith

    def _binary(self, op: Operation, results: tuple[int, ...]) -> Step:
        fn = int_ops.BINARY[type(op)]
        width = int_ops.width_of(op.results[0].type)
        lhs, rhs = self._read(op.operands)
        (out,) = results

        def step(regs: Registers) -> None:
            regs[out] = fn(regs[lhs], regs[rhs], width)

        return step

    def _cmpi(self, op: Operation, results: tuple[int, ...]) -> Step:
        assert isinstance(op, arith.CmpiOp)
        predicate = op.predicate.value.data
        width = int_ops.width_of(op.lhs.type)
        lhs, rhs = self._read(op.operands)
        (out,) = results
        compare = int_ops.cmpi

        def step(regs: Registers) -> None:
            regs[out] = compare(predicate, regs[lhs], regs[rhs], width)

        return step

    def _select(self, op: Operation, results: tuple[int, ...]) -> Step:
        cond, if_true, if_false = self._read(op.operands)
        (out,) = results

        def step(regs: Registers) -> None:
            regs[out] = regs[if_true] if regs[cond] else regs[if_false]

        return step

    def _cast(self, op: Operation, results: tuple[int, ...]) -> Step:
        source = int_ops.width_of(op.operands[0].type)
        target = int_ops.width_of(op.results[0].type)
        zero_extend = int_ops.CASTS[type(op)]
        (value,) = self._read(op.operands)
        (out,) = results
        cast = int_ops.cast

        def step(regs: Registers) -> None:
            regs[out] = cast(regs[value], source, target, zero_extend=zero_extend)

        return step

    # ---- scf

    def _for(self, op: Operation, results: tuple[int, ...]) -> Step:
        assert isinstance(op, scf.ForOp)
        lower, upper, stride, *inits = self._read(op.operands)
        compiled = self._region(op.body)
        assert compiled is not None
        body, (iv, *carried) = compiled
        get_inits = _getter(inits)

        def step(regs: Registers) -> None:
            values = get_inits(regs)
            for index in range(regs[lower], regs[upper], regs[stride]):
                regs[iv] = index
                for slot, value in zip(carried, values, strict=True):
                    regs[slot] = value
                values = body(regs)
            for slot, value in zip(results, values, strict=True):
                regs[slot] = value

        return step

    def _if(self, op: Operation, results: tuple[int, ...]) -> Step:
        assert isinstance(op, scf.IfOp)
        (cond,) = self._read(op.operands)
        then = self._region(op.true_region)
        otherwise = self._region(op.false_region)
        then_body = then[0] if then else (lambda regs: ())
        else_body = otherwise[0] if otherwise else (lambda regs: ())

        def step(regs: Registers) -> None:
            values = then_body(regs) if regs[cond] else else_body(regs)
            for slot, value in zip(results, values, strict=True):
                regs[slot] = value

        return step

    def _while(self, op: Operation, results: tuple[int, ...]) -> Step:
        assert isinstance(op, scf.WhileOp)
        get_inits = _getter(self._read(op.operands))
        before = self._region(op.before_region)
        after = self._region(op.after_region)
        assert before is not None and after is not None
        before_body, before_args = before
        after_body, after_args = after

        def step(regs: Registers) -> None:
            values = get_inits(regs)
            forwarded: list[Any] = []
            while True:
                for slot, value in zip(before_args, values, strict=True):
                    regs[slot] = value
                cond, *forwarded = before_body(regs)
                if not cond:
                    break
                for slot, value in zip(after_args, forwarded, strict=True):
                    regs[slot] = value
                values = after_body(regs)
            for slot, value in zip(results, forwarded, strict=True):
                regs[slot] = value

        return step

    # ---- ascend

    def _machine_call(self, op: Operation, results: tuple[int, ...]) -> Step:
        """An ascend op whose operands go to the machine method of the same name."""
        site = self.sites[op]
        fetch = _getter(self._read(op.operands))
        extra: tuple[Any, ...] = ()
        if isinstance(op, ascend.GetTilingOp):
            extra = (op.field.data,)
        elif isinstance(op, ascend.UbAllocOp):
            extra = (op.purpose.data, op.slots, op.slot_bytes, op.planned_offset)
        elif isinstance(op, ascend.SetFlagOp | ascend.WaitFlagOp):
            extra = (PIPE_ID[op.set_pipe.data], PIPE_ID[op.wait_pipe.data])

        method = self._env.cell(op.name.removeprefix("ascend."))
        if results:
            (out,) = results

            def step_with_result(regs: Registers) -> None:
                regs[out] = method[0](site, *extra, *fetch(regs))  # pyright: ignore[reportOptionalCall]

            return step_with_result

        def step(regs: Registers) -> None:
            method[0](site, *extra, *fetch(regs))  # pyright: ignore[reportOptionalCall]

        return step

    _COMPILERS: tuple[
        tuple[type[Operation] | tuple[type[Operation], ...], Callable[..., Step]], ...
    ] = (
        (tuple(int_ops.BINARY), _binary),
        (arith.CmpiOp, _cmpi),
        (arith.SelectOp, _select),
        (tuple(int_ops.CASTS), _cast),
        (scf.ForOp, _for),
        (scf.IfOp, _if),
        (scf.WhileOp, _while),
        (
            (
                ascend.GetBlockIdxOp,
                ascend.GetBlockNumOp,
                ascend.GetTilingOp,
                ascend.UbAllocOp,
                ascend.LoadScalarOp,
                ascend.LoadOp,
                ascend.StoreOp,
                ascend.TransposeBlocksOp,
                ascend.FillZeroOp,
                ascend.SetFlagOp,
                ascend.WaitFlagOp,
            ),
            _machine_call,
        ),
    )
