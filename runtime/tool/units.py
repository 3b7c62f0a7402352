"""How the tools print byte counts and bandwidths (one place for every message)."""

from __future__ import annotations

_LARGE = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"))


def size_text(count: int) -> str:
    """A byte count as bytes, or as MB from 100 kB up (GB, TB when that large)."""
    if count < 100_000:
        return f"{count} B"
    scale, unit = next((s, u) for s, u in _LARGE if count >= s or u == "MB")
    return f"{count / scale:.2f} {unit}"


def rate(bytes_per_ns: float) -> str:
    """A bandwidth given in bytes per nanosecond (= GB/s), in GB/s or TB/s."""
    return f"{bytes_per_ns / 1e3:.2f} TB/s" if bytes_per_ns >= 1e3 else f"{bytes_per_ns:.1f} GB/s"
