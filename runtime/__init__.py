"""PAKV's runtime: ways to execute a ``pakv.gather`` and the host API around them.

The package is split into wings by concern, each importing only the ones below it
(``pyproject.toml``'s import-linter contract checks it in ``make test``)::

    runtime.tool         the `pakv` command: sources, workloads, explain, timeline
    runtime.host         the aclnn-style host API: checks, executors, errors, Tensor
    runtime.interpreter  the lowered program's interpreter (machine model, fast path)
    runtime.ascendc      the `ascendc` target and the host build of emitted kernels
    runtime.call, .golden, .ir_builder, .memory   shared by every wing

``gather_pa_kv_cache`` and ``scatter_pa_kv_cache`` are the Pythonic calls
(``gather_dequant_pa_kv_cache`` the gather with SPEC section 7's dequantisation fused
in); ``runtime.aclnn`` mirrors the two-phase C API. The public names below load lazily
(PEP 562): importing ``runtime`` or one wing does not drag in the others, so
``xdsl-opt -t ascendc`` never loads the host API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.call import GatherCall, GatherSignature, ScatterCall, ScatterSignature
    from runtime.golden import golden_gather, golden_scatter
    from runtime.host import aclnn
    from runtime.host.api import (
        gather_dequant_pa_kv_cache,
        gather_pa_kv_cache,
        scatter_pa_kv_cache,
    )
    from runtime.host.errors import (
        ACLNN_ERR_PARAM_INVALID,
        ACLNN_ERR_PARAM_NULLPTR,
        ACLNN_SUCCESS,
        AclnnError,
    )
    from runtime.host.tensor import Tensor, TensorLike
    from runtime.memory import GmTensor

_PUBLIC: dict[str, tuple[str, str | None]] = {
    "ACLNN_ERR_PARAM_INVALID": ("runtime.host.errors", "ACLNN_ERR_PARAM_INVALID"),
    "ACLNN_ERR_PARAM_NULLPTR": ("runtime.host.errors", "ACLNN_ERR_PARAM_NULLPTR"),
    "ACLNN_SUCCESS": ("runtime.host.errors", "ACLNN_SUCCESS"),
    "AclnnError": ("runtime.host.errors", "AclnnError"),
    "GatherCall": ("runtime.call", "GatherCall"),
    "GatherSignature": ("runtime.call", "GatherSignature"),
    "GmTensor": ("runtime.memory", "GmTensor"),
    "Tensor": ("runtime.host.tensor", "Tensor"),
    "TensorLike": ("runtime.host.tensor", "TensorLike"),
    "aclnn": ("runtime.host.aclnn", None),
    "gather_dequant_pa_kv_cache": ("runtime.host.api", "gather_dequant_pa_kv_cache"),
    "gather_pa_kv_cache": ("runtime.host.api", "gather_pa_kv_cache"),
    "golden_gather": ("runtime.golden", "golden_gather"),
    "ScatterCall": ("runtime.call", "ScatterCall"),
    "ScatterSignature": ("runtime.call", "ScatterSignature"),
    "golden_scatter": ("runtime.golden", "golden_scatter"),
    "scatter_pa_kv_cache": ("runtime.host.api", "scatter_pa_kv_cache"),
}
"""Public name -> (module, attribute); None: the name is the module itself."""

__all__ = [
    "ACLNN_ERR_PARAM_INVALID",
    "ACLNN_ERR_PARAM_NULLPTR",
    "ACLNN_SUCCESS",
    "AclnnError",
    "GatherCall",
    "GatherSignature",
    "GmTensor",
    "ScatterCall",
    "ScatterSignature",
    "Tensor",
    "TensorLike",
    "aclnn",
    "gather_dequant_pa_kv_cache",
    "gather_pa_kv_cache",
    "golden_gather",
    "golden_scatter",
    "scatter_pa_kv_cache",
]
assert sorted(__all__) == sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
