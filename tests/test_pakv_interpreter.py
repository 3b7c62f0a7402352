"""The high-level op in xDSL's interpreter, and finding the op in a user's IR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gather_cases import GatherCase, assert_c_example_result, c_example, golden_bytes, random_case
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.dialects.memref import MemRef
from xdsl.parser import Parser
from xdsl.utils.exceptions import InterpretationError

from pakv_dialect.pakv import PAKV
from runtime.host.checks import check_call
from runtime.host.executors import run_high_level_interpreter
from runtime.interpreter.pakv_functions import run_function
from runtime.ir_builder import GatherBindingError, build_gather_module, find_gather
from runtime.memory import GmTensor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def parse(text: str) -> ModuleOp:
    ctx = Context()
    for dialect in (Builtin, Func, MemRef, PAKV):
        ctx.load_dialect(dialect)
    return Parser(ctx, text).parse_module()


@pytest.mark.parametrize("cache_mode", ["Norm", "PA_NZ"])
@pytest.mark.parametrize("cumsum", [False, True])
@pytest.mark.parametrize("with_offset", [False, True])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "bf16", "fp32", "hifloat8", "fp8_e5m2"])
def test_interpreter_equals_golden(
    rng: np.random.Generator, cache_mode: str, cumsum: bool, with_offset: bool, dtype: str
) -> None:
    case = random_case(
        rng,
        cache_mode=cache_mode,
        cumsum=cumsum,
        with_offset=with_offset,
        key_dtype=dtype,
        index_dtype="int64",
    )
    expected = golden_bytes(case)
    call = check_call(*case.args(), **case.kwargs())
    assert call is not None
    run_high_level_interpreter(call)
    assert case.output_bytes() == expected


def bind(module: ModuleOp, case: GatherCase) -> list[GmTensor]:
    """The case's arrays as GM tensors in the order of the module's function arguments."""
    binding = find_gather(module)
    call = check_call(*case.args(), **case.kwargs())
    assert call is not None
    by_role = call.operands()
    args: list[GmTensor | None] = [None] * len(binding.func.args)
    for role, index in binding.argument_of.items():
        args[index] = by_role[role]
    assert all(a is not None for a in args)
    return [a for a in args if a is not None]


def test_hand_example_file_runs_in_the_interpreter() -> None:
    module = parse((EXAMPLES / "seed_hand_example.mlir").read_text())
    case = c_example()
    run_function(module, bind(module, case), name="pakv_gather")
    assert_c_example_result(case)


def test_arguments_in_any_order_are_bound_by_role(rng: np.random.Generator) -> None:
    """A user's function may order its arguments differently from ours."""
    case = random_case(rng, with_offset=True, index_dtype="int32", soc="Ascend910B")
    call = check_call(*case.args(), **case.kwargs())
    assert call is not None
    signature_module = build_gather_module(call.signature)
    gather = find_gather(signature_module).op
    t = [str(v.type) for v in gather.operands]  # kc vc bt sl so ko vo
    text = f"""
    func.func @user(%vo: {t[6]}, %so: {t[4]}, %kc: {t[0]}, %ko: {t[5]}, %bt: {t[2]},
                    %sl: {t[3]}, %vc: {t[1]}) {{
      pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) offsets(%so) into(%ko, %vo)
        : {t[0]}, {t[1]}, {t[2]}, {t[3]}, {t[4]} -> {t[5]}, {t[6]}
      func.return
    }}
    """
    module = parse(text)
    binding = find_gather(module)
    assert binding.argument_of == {
        "value_out": 0,
        "seq_offset": 1,
        "key_cache": 2,
        "key_out": 3,
        "block_tables": 4,
        "seq_lens": 5,
        "value_cache": 6,
    }
    expected = golden_bytes(case)
    run_function(module, bind(module, case), name="user")
    assert case.output_bytes() == expected


def test_find_gather_needs_exactly_one_op() -> None:
    hand = (EXAMPLES / "seed_hand_example.mlir").read_text()
    two = parse(hand + hand.replace("@pakv_gather", "@other"))
    with pytest.raises(GatherBindingError, match=r"exactly one pakv\.gather, found 2"):
        find_gather(two)
    assert find_gather(two, "other").func.sym_name.data == "other"
    with pytest.raises(GatherBindingError, match=r"no func\.func @missing"):
        find_gather(two, "missing")
    with pytest.raises(GatherBindingError, match="found 0"):
        find_gather(parse("func.func @f() {\n func.return\n}"))


def test_find_gather_needs_arguments() -> None:
    text = """
    func.func @f(%kc: memref<1x2x1x4xf16>, %vc: memref<1x2x1x4xf16>, %bt: memref<1x1xi32>,
                 %ko: memref<2x1x4xf16>, %vo: memref<2x1x4xf16>) {
      %sl = memref.alloc() : memref<1xi32>
      pakv.gather Norm caches(%kc, %vc) tables(%bt) lens(%sl) into(%ko, %vo)
        : memref<1x2x1x4xf16>, memref<1x2x1x4xf16>, memref<1x1xi32>, memref<1xi32>
        -> memref<2x1x4xf16>, memref<2x1x4xf16>
      func.return
    }
    """
    with pytest.raises(GatherBindingError, match="seq_lens must be an argument of @f"):
        find_gather(parse(text))


def test_interpreter_rejects_non_gm_tensor_operands() -> None:
    module = parse((EXAMPLES / "seed_hand_example.mlir").read_text())
    case = c_example()
    args: list[object] = list(bind(module, case))
    args[0] = case.key_cache
    with pytest.raises(InterpretationError, match="expects GmTensor operands"):
        run_function(module, args, name="pakv_gather")  # pyright: ignore[reportArgumentType]
