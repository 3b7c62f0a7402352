"""A small tensor wrapper for the two facts a numpy array cannot carry.

Plain numpy arrays are accepted everywhere (ml_dtypes' bfloat16 and float8 included)
and mean: format ND, element type the one ``pakv_dialect.dtypes`` maps the numpy dtype
to. Wrap an array in ``Tensor`` only to say what numpy cannot:

* HiFloat8 data, which has no numpy dtype and is stored as uint8:
  ``Tensor(bits_u8, dtype="hifloat8")``;
* the FRACTAL_NZ format that Ascend910_95 requires of PA_NZ caches:
  ``Tensor(cache, format="FRACTAL_NZ")``.

The wrapper never copies: writes through it land in the wrapped array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pakv_dialect.soc import TensorFormat


@dataclass(frozen=True)
class Tensor:
    """A numpy array plus an explicit element type name and storage format."""

    data: np.ndarray
    dtype: str | None = None
    """A SPEC dtype name (``"hifloat8"``, ``"fp16"``, ...); None: inferred from ``data``."""
    format: str = TensorFormat.ND.value
    """``"ND"`` or ``"FRACTAL_NZ"`` (aclFormat names); validated by the host checks."""


TensorLike = Tensor | np.ndarray
"""What the host API takes for every tensor parameter."""
