"""The model factory: a trial's parameters -> a compiled ``keras.Sequential``.

The vocabulary (``CATALOG``, ``TASKS``, ``resolve_params`` -> ``Resolved``, ``validate_value``,
``default_metric``) and a model's size (``count_params``, ``dense_shapes``) are pure Python;
``build_model`` and ``training_callbacks`` import Keras on first use, so checking a study
file does not pay for the TensorFlow import.

>>> from tunekit.factory import build_model, resolve_params
>>> params = resolve_params({"n_layers": 2, "units": 16, "shape": "funnel"}, task="binary")
>>> model = build_model(params, input_shape=(8,), task="binary")
>>> [layer.units for layer in model.layers if type(layer).__name__ == "Dense"]
[16, 8, 1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunekit.factory._catalog import (
    CATALOG,
    TASKS,
    Resolved,
    default_metric,
    resolve_params,
    validate_value,
)
from tunekit.factory._fused import (
    FusedFit,
    MemberResult,
    fit_fused,
    fused_groups,
    unfusable_reason,
)
from tunekit.factory._size import count_params, dense_shapes, out_of_memory_message

if TYPE_CHECKING:
    from tunekit.factory._build import build_model, training_callbacks

__all__ = [
    "CATALOG",
    "TASKS",
    "FusedFit",
    "MemberResult",
    "Resolved",
    "build_model",
    "count_params",
    "default_metric",
    "dense_shapes",
    "fit_fused",
    "fused_groups",
    "out_of_memory_message",
    "resolve_params",
    "training_callbacks",
    "unfusable_reason",
    "validate_value",
]

_LAZY = frozenset({"build_model", "training_callbacks"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from tunekit.factory import _build

        return getattr(_build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
