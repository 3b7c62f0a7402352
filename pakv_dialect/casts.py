"""How a SoC carries out one value conversion with AscendC ``Cast`` instructions.

A fused consumer's body converts values (``arith.sitofp i8 to f32``, ``truncf f32 to
bf16``, ...), each rounded to nearest even. A SoC's vector unit converts only the
(source, target) pairs its ``Cast`` supports (``SocInfo.casts``, from the AscendC
docs): Atlas A2 has no ``int8 -> float``, but it has ``int8 -> half`` and ``half ->
float``. :func:`cast_path` finds a chain of supported instructions that computes
exactly the one conversion asked for: every instruction but the last must be exact
on every value the source can hold (``int8 -> half`` is: half holds every int8), so
only the last one rounds, like the conversion itself. An unsigned integer may also
be reread as the signed type of its width (no instruction) when every value fits
both (a ``uint16`` in a ``uint32`` is the same bits as that ``int32``): the Ascend 950
path ``uint16 -> uint32 -> (as int32) -> float``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pakv_dialect.dtypes import DEQUANT_SOURCE_KINDS
from pakv_dialect.soc import CastRound, SocInfo

HOLDS: dict[str, frozenset[str]] = {
    "int8": frozenset({"int8"}),
    "uint8": frozenset({"uint8"}),
    "int16": frozenset({"int8", "uint8", "int16"}),
    "uint16": frozenset({"uint8", "uint16"}),
    "int32": frozenset({"int8", "uint8", "int16", "uint16", "int32"}),
    "uint32": frozenset({"uint8", "uint16", "uint32"}),
    "fp16": frozenset({"int8", "uint8", "fp16", "fp8_e5m2", "fp8_e4m3fn", "hifloat8"}),
    "bf16": frozenset({"int8", "uint8", "bf16", "fp8_e5m2", "fp8_e4m3fn", "hifloat8"}),
    "fp32": frozenset(DEQUANT_SOURCE_KINDS) | {"fp32"},
}
"""Kind -> the kinds whose every value it represents exactly. fp16 holds fp8_e5m2 (its
truncation), fp8_e4m3fn (max 448, least subnormal 2^-9) and HiFloat8 (2^-22 .. 2^15,
at most 3 mantissa bits); bf16's 8-bit significand holds every int8 and uint8 but not
int16; float32 holds every kind of 16 bits or fewer."""

REREAD: dict[str, str] = {
    "uint8": "int8", "int8": "uint8", "uint16": "int16", "int16": "uint16",
    "uint32": "int32", "int32": "uint32",
}  # fmt: skip
"""Integer kinds and the kind of the same width and other signedness."""


def holds(target: str, source: str) -> bool:
    """Whether every value of kind ``source`` is exactly a value of kind ``target``."""
    return source in HOLDS.get(target, frozenset({target}))


@dataclass(frozen=True)
class CastStep:
    """One step of a conversion: a ``Cast`` from ``source`` to ``target`` with ``round``,
    or (``round`` None) the same bits reread as ``target``, no instruction."""

    source: str
    target: str
    round: CastRound | None

    def __str__(self) -> str:
        if self.round is None:
            return f"{self.source} reread as {self.target}"
        return f"Cast {self.source} -> {self.target} ({self.round.value})"


def _instruction(soc: SocInfo, source: str, target: str, values: str) -> CastStep | None:
    """The ``Cast`` from ``source`` to ``target`` of values of kind ``values``, with the
    mode that rounds to nearest even where it must round; None when there is none."""
    modes = soc.cast_modes(source, target)
    preferred = (CastRound.NONE, CastRound.RINT)
    if not holds(target, values):
        preferred = (CastRound.RINT, CastRound.NONE)  # CAST_NONE rounds like RINT then
    for mode in preferred:
        if mode in modes:
            return CastStep(source, target, mode)
    return None


def cast_path(
    soc: SocInfo, source: str, target: str, *, values: str | None = None
) -> tuple[CastStep, ...] | None:
    """The fewest steps that convert ``source`` values to ``target`` on ``soc`` exactly
    as one rounding conversion would (module docstring); None when there are none.

    ``values``: the kind whose values the source holds when narrower than ``source``
    (a quantising body's float32 that is an integer in int8's range: float -> half ->
    int8 is exact then, both steps)."""
    if source == target:
        return ()
    exact = values or source
    kinds = {name for row in soc.casts for name in row[:2]} | set(REREAD)
    paths: dict[str, tuple[CastStep, ...]] = {source: ()}
    queue = deque([source])
    while queue:
        here = queue.popleft()
        for there in sorted(kinds):
            if here == there:
                continue
            step = _instruction(soc, here, there, exact)
            if step is None and REREAD.get(here) == there and holds(there, exact):
                step = CastStep(here, there, None)
            if step is None:
                continue
            path = (*paths[here], step)
            if there == target:
                return path
            if there not in paths and holds(there, exact):  # only exact intermediates
                paths[there] = path
                queue.append(there)
    return None
