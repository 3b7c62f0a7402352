"""Which names from the IR can become identifiers of the printed AscendC, and which cannot.

The AscendC target prints the kernel function's symbol as the ``extern "C"`` entry point
and each argument's name (camel-cased) as a C++ parameter. MLIR allows names C++ does
not (``@class``, ``@"weird name!"``, ``%int``), so the target checks them before it prints
a line and refuses a bad one with a diagnostic located at the function: renaming the
entry point behind the user's back would break every launcher that calls it by name.

``RESERVED`` is the one list of what a printed name must never be: the C++ keywords
(C++17, alternative tokens included) and the names the printer declares itself at the
scopes where user names appear (``body.AscendCPrintContext.fresh`` avoids them too).
Names of the AscendC API itself (``DataCopy``, ...) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from xdsl.dialects import func

from runtime.ascendc.errors import AscendCEmitError

CPP_KEYWORDS = frozenset(
    """
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t
    char32_t class compl const const_cast constexpr continue decltype default delete do
    double dynamic_cast else enum explicit export extern false float for friend goto if
    inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq
    private protected public register reinterpret_cast return short signed sizeof static
    static_assert static_cast struct switch template this thread_local throw true try
    typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
    xor_eq
    """.split()
)
"""C++17's keywords and alternative tokens: never an identifier."""

PRINTER_NAMES = frozenset(
    """
    GatherTilingData ComputeGatherTiling ScatterTilingData ComputeScatterTiling
    UB_BLOCK_BYTES MAX_BURSTS AscendC GM_ADDR half
    tiling tilingDevice tilingGm tilingWords stream op id
    """.split()
)
"""Names the printer declares itself: globals, and the parameters and locals of the
functions whose parameters are the kernel's arguments."""

RESERVED = CPP_KEYWORDS | PRINTER_NAMES

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an identifier of the printed kernel, or None if it can."""
    if not _IDENTIFIER.match(name):
        return "not a C++ identifier (letters, digits and '_', not starting with a digit)"
    if name in CPP_KEYWORDS:
        return "a C++ keyword"
    if "__" in name or name.startswith("_"):
        return "reserved for the C++ implementation (a leading '_' or a double '__')"
    if name in PRINTER_NAMES:
        return "a name the printed kernel declares itself"
    return None


def check_printed_names(kernel: func.FuncOp, parameters: Sequence[str]) -> None:
    """The kernel's symbol and its arguments' C++ names (``parameters``, in argument
    order) are usable and distinct; raises :class:`AscendCEmitError`
    located at the function otherwise."""
    symbol = kernel.sym_name.data
    problem = name_problem(symbol)
    if problem is not None:
        raise AscendCEmitError(
            f'@{_quoted(symbol)} cannot be the AscendC kernel\'s name (its extern "C" entry '
            f"point): {problem}; rename the function",
            kernel,
        )
    seen: dict[str, int] = {}
    for index, (arg, name) in enumerate(zip(kernel.body.block.args, parameters, strict=True)):
        where = f"argument %{arg.name_hint or index} of @{symbol}"
        problem = name_problem(name)
        if problem is not None:
            raise AscendCEmitError(
                f"{where} prints as the C++ parameter '{name}': {problem}; rename it", kernel
            )
        if name in seen:
            other = kernel.body.block.args[seen[name]]
            raise AscendCEmitError(
                f"{where} and argument %{other.name_hint or seen[name]} both print as the C++ "
                f"parameter '{name}'; rename one of them",
                kernel,
            )
        seen[name] = index


def _quoted(symbol: str) -> str:
    """``symbol`` as MLIR spells it: bare when it can be, else in quotes."""
    return symbol if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$.]*", symbol) else f'"{symbol}"'
