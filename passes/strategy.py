"""The plan options of the lowering, and the strategies that preset them.

PAKV's plan and the vendor's kernels (``../shared/spec/VENDOR_KERNELS.md``, read against
ops-transformer's ``attention/gather_pa_kv_cache/op_kernel``) are points of one option
space, so each vendor strategy is a preset of the same passes, not a fork of them:

==========  ========================  =========================  ======================
option      ``pakv``                  ``a2`` (older A2/A3)        ``ascend950``
==========  ========================  =========================  ======================
split       tokens, balanced          deal: every core walks     batches: whole
                                      every sequence, tiles      sequences,
                                      dealt round-robin          ceil(batch/cores) each
slots       2 (PA_NZ: 4, 950: 2)      1: load, wait, store, wait 1 (its queue's 2nd
                                                                 buffer is never used
                                                                 while the 1st is: every
                                                                 store is followed by an
                                                                 MTE3 -> MTE2 wait)
tile bytes  the UB's share            the whole UB (one 192 KiB  half the UB less its
                                      buffer; ours keeps a 4 KiB index buffers, at most
                                      zero buffer)               one block
PA_NZ       transpose: group-major    per-token: H / ea bursts   block3d (the 3-D copy
            load, V block transpose,  of 32 B, a PipeBarrier     of a whole block) when
            one store (950: load3d,   <PIPE_ALL> after every     a block fits a tile,
            the 3-D copy of a tile);  copy                       else per-token
            tiles on 512-byte rows
sync        flags per slot            Norm flags, PA_NZ barrier  flags
==========  ========================  =========================  ======================

PAKV's defaults are what ``pakv tune`` picks for the benchmark shapes (bench/RESULTS.md
has the numbers): Norm, 2 slots of the largest tile; PA_NZ without the 3-D copy, the
transpose with 4 slots (3 group-major) on 512-byte rows, within 1.2% of the best plan on
every benchmark shape (3 slots wins the seed example by 1.2% and loses the skewed case
by 4%); on Ascend 950 the 3-D copy with 2 slots, within 0.6% of the best everywhere.

Every option can be given on its own (``pakv-to-ascend{strategy=pakv slots=3 nz=load3d}``),
over the strategy's preset; :func:`resolve_plan` says what a kernel gets. The vendor
details each preset follows (``op_kernel/gather_pa_kv_cache_nd.h``, ``_nz.h``,
``arch35/gather_pa_kv_cache_nd.h``, ``arch35/gather_pa_kv_cache_nz.h`` and
``op_host/gather_pa_kv_cache_tiling_arch35.cpp``):

* A2/A3 Norm: every block of every sequence (keys, then values) is cut into
  ``ceil(bytes / 192 KiB)`` pieces of nearly equal size in 512-byte units; a counter
  over all pieces of all sequences deals piece ``n`` to core ``n % cores``.
* A2/A3 PA_NZ: token ``j`` of each sequence goes to core ``j % cores``; here token ``t``
  of the output goes to core ``t % cores`` (the same count per core to within one per
  sequence: a better balance than the vendor's, so the comparison favours it).
* Ascend 950: ``batchPerCore = ceil(batch / cores)``; chunk bytes ``(UB - 1024 - 2 x 1024
  x index bytes - 32) / 2`` (int32 indices assumed), at most one block; the NZ 3-D copy
  reads the whole block even for a partial run.

Where ours differs from the vendor by design (memory safety, SPEC section 3): runs
whose block id or table column is out of range are zero-filled from a small zero
buffer (the vendor reads them), and each tile's DMA is exact for any token size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from pakv_dialect.ascend import UB_ALIGN, CopyDirection, align_up
from pakv_dialect.pakv import CacheMode
from pakv_dialect.soc import AscendCApi, SocInfo


class Strategy(StrEnum):
    PAKV = "pakv"
    A2 = "a2"
    ASCEND950 = "ascend950"


class Split(StrEnum):
    """How the work reaches the cores (``passes/work_split.py``)."""

    TOKENS = "tokens"
    DEAL = "deal"
    BATCHES = "batches"


class NzMethod(StrEnum):
    """How a PA_NZ tile becomes token-major (``passes/nz_tiles.py``)."""

    TRANSPOSE = "transpose"
    LOAD3D = "load3d"
    BLOCK3D = "block3d"
    PER_TOKEN = "per-token"


class Sync(StrEnum):
    """How the pipes are ordered around UB slots (``ascend-insert-sync``)."""

    FLAGS = "flags"
    BARRIER = "barrier"


VENDOR_STRATEGIES: tuple[Strategy, ...] = (Strategy.A2, Strategy.ASCEND950)
"""The vendor's kernels, as strategies."""


class PlanOptionError(ValueError):
    """An option value that names nothing, or options that contradict each other."""


@dataclass(frozen=True)
class PlanChoices:
    """What one kernel's lowering does (every option resolved)."""

    strategy: Strategy
    split: Split
    slots: int
    tile_bytes: int
    """The slot size; 0 derives it from the UB (``passes/tile_plan.py``)."""
    nz: NzMethod
    sync: Sync
    cores: int
    """Most vector cores to launch; 0: all of the SoC's."""
    row_align: bool
    """PA_NZ tiles start at 512-byte rows (16 tokens) of their block where they can."""


VENDOR_UB_RESERVED = 1024 + 2 * 1024 * 4 + UB_ALIGN
"""The Ascend 950 tiling's UB reserve: 1024 bytes, two 1024-entry int32 index queues and
one 32-byte sum buffer (``DoOpTiling`` in ``gather_pa_kv_cache_tiling_arch35.cpp``)."""


def ascend950_chunk_bytes(ub_bytes: int) -> int:
    """The Ascend 950 kernel's chunk: half of the UB left after its reserve, 32-byte
    aligned (``factor * 32`` with ``factor = (UB - reserve) / (32 * 2)``)."""
    return (ub_bytes - VENDOR_UB_RESERVED) // (2 * UB_ALIGN) * UB_ALIGN


def _preset(
    strategy: Strategy, layout: CacheMode, block_bytes: Sequence[int], soc: SocInfo
) -> PlanChoices:
    nz = layout == CacheMode.PA_NZ
    three_d = not soc.missing_apis(frozenset({AscendCApi.ND_DMA}))
    if strategy == Strategy.PAKV:
        if not nz:
            return PlanChoices(
                strategy, Split.TOKENS, 2, 0, NzMethod.TRANSPOSE, Sync.FLAGS, 0, False
            )
        method, slots = (NzMethod.LOAD3D, 2) if three_d else (NzMethod.TRANSPOSE, 4)
        return PlanChoices(strategy, Split.TOKENS, slots, 0, method, Sync.FLAGS, 0, True)
    if strategy == Strategy.A2:
        return PlanChoices(
            strategy, Split.DEAL, 1, 0, NzMethod.PER_TOKEN,
            Sync.BARRIER if nz else Sync.FLAGS, 0, False,
        )  # fmt: skip
    chunk = ascend950_chunk_bytes(soc.ub_usable_bytes)
    # Its 3-D copy needs the 950's NDDMA: elsewhere (a port of the kernel) per token.
    whole_block = three_d and all(size <= chunk for size in block_bytes)
    tile = chunk if nz else min(chunk, align_up(max(block_bytes)))
    return PlanChoices(
        strategy, Split.BATCHES, 1, tile,
        NzMethod.BLOCK3D if whole_block else NzMethod.PER_TOKEN, Sync.FLAGS, 0, False,
    )  # fmt: skip


def _named(kind: type[StrEnum], option: str, value: str | None) -> StrEnum | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(member.value for member in kind)  # pyright: ignore[reportUnknownVariableType]
        raise PlanOptionError(f"{option}={value} names nothing: expected one of {names}") from None


@dataclass(frozen=True)
class PlanOptions:
    """The options as given (None: the strategy's), before a kernel resolves them."""

    strategy: str = Strategy.PAKV.value
    split: str | None = None
    slots: int | None = None
    tile_bytes: int | None = None
    nz: str | None = None
    sync: str | None = None
    cores: int | None = None
    row_align: bool | None = None

    def check(self) -> None:
        """Raise PlanOptionError for a value that names nothing or is out of range."""
        _named(Strategy, "strategy", self.strategy)
        _named(Split, "split", self.split)
        _named(NzMethod, "nz", self.nz)
        _named(Sync, "sync", self.sync)
        if self.cores is not None and self.cores < 0:
            raise PlanOptionError(f"cores must be at least 0 (0: all), got {self.cores}")


SCATTER_PLAN = PlanChoices(
    Strategy.PAKV, Split.TOKENS, 2, 0, NzMethod.TRANSPOSE, Sync.FLAGS, 0, False
)
"""The scatter's plan before options: its own walk over balanced tokens
(``passes/scatter_walk.py``), PA_NZ by the transpose (the only method that runs both
ways), double buffering. The vendor's strategies are gathers: no preset here."""


def _check_scatter(options: PlanOptions) -> None:
    """A scatter honours the plan's sizes (``slots``, ``tile-bytes``, ``row-align``),
    ``cores`` and ``sync``; an option it cannot honour is refused, never ignored."""
    refused = [
        (name, given)
        for name, given, honoured in (
            ("strategy", options.strategy, Strategy.PAKV.value),
            ("split", options.split, Split.TOKENS.value),
            ("nz", options.nz, NzMethod.TRANSPOSE.value),
        )
        if given is not None and given != honoured
    ]
    if refused:
        name, given = refused[0]
        raise PlanOptionError(
            f"{name}={given} is a gather's plan: pakv.scatter takes strategy=pakv, "
            f"split=tokens and nz=transpose"
        )


def resolve_plan(
    options: PlanOptions,
    layout: CacheMode,
    block_bytes: Sequence[int],
    soc: SocInfo,
    direction: CopyDirection = CopyDirection.gather,
) -> PlanChoices:
    """The strategy's preset for a kernel of ``layout`` (blocks of ``block_bytes`` per
    stream) on ``soc`` moving ``direction``, with every option that was given put over
    it (a scatter: :data:`SCATTER_PLAN`, refusing the options it cannot honour)."""
    options.check()
    strategy = Strategy(options.strategy)
    if direction == CopyDirection.scatter:
        _check_scatter(options)
        chosen = SCATTER_PLAN
    else:
        chosen = _preset(strategy, layout, block_bytes, soc)
    overrides = {
        "split": _named(Split, "split", options.split),
        "slots": options.slots,
        "tile_bytes": options.tile_bytes,
        "nz": _named(NzMethod, "nz", options.nz),
        "sync": _named(Sync, "sync", options.sync),
        "cores": options.cores,
        "row_align": options.row_align,
    }
    chosen = replace(chosen, **{k: v for k, v in overrides.items() if v is not None})
    if chosen.nz == NzMethod.BLOCK3D and options.nz is None and chosen.tile_bytes:
        # The Ascend 950 kernel's rule, on the tile actually chosen: a block that does
        # not fit a tile goes token by token.
        if any(size > chosen.tile_bytes for size in block_bytes):
            chosen = replace(chosen, nz=NzMethod.PER_TOKEN)
    if chosen.split == Split.DEAL and chosen.slots != 1:
        raise PlanOptionError(
            f"split=deal takes one tile slot (the dealt tiles of a core are not "
            f"consecutive), got slots={chosen.slots}"
        )
    return chosen


def resolve_split(options: PlanOptions) -> Split:
    """The split of the options: it does not depend on the kernel's layout."""
    options.check()
    given = _named(Split, "split", options.split)
    if given is not None:
        return Split(given)
    return {Strategy.PAKV: Split.TOKENS, Strategy.A2: Split.DEAL}.get(
        Strategy(options.strategy), Split.BATCHES
    )


def plan_spec(choices: PlanChoices) -> str:
    """The choices as ``pakv-to-ascend`` options (what ``pakv tune`` prints)."""
    parts = [
        f"strategy={choices.strategy.value}",
        f"split={choices.split.value}",
        f"slots={choices.slots}",
        f"tile-bytes={choices.tile_bytes}",
        f"nz={choices.nz.value}",
        f"sync={choices.sync.value}",
        f"row-align={'true' if choices.row_align else 'false'}",
    ]
    if choices.cores:
        parts.append(f"cores={choices.cores}")
    return " ".join(parts)
