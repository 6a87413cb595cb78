"""tunekit: hyperparameter tuning for Keras MLPs, every trial kept in an Optuna study database.

Example:
    >>> import tunekit
    >>> from tunekit import StudySpec, Float, Int, Choice
    >>> spec = StudySpec(data="digits", space={"n_layers": Int(1, 3), "units": Int(16, 256, log=True)}, epochs=5)
    >>> study = tunekit.run(spec, strategy="tpe", n_trials=10)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from tunekit._errors import ConfigError, TrialError, TunekitError
from tunekit._version import __version__
from tunekit.space import Bool, Choice, Fixed, Float, Int, PerLayer, Space

# Heavier pieces (TensorFlow, pandas) load on first use.
_LAZY = {
    "StudySpec": ("tunekit._spec", "StudySpec"),
    "load_spec": ("tunekit._spec", "load_spec"),
    "run": ("tunekit.study", "run"),
    "join": ("tunekit.study", "join"),
    "load_study": ("tunekit.storage._storage", "load_study"),
    "trials_frame": ("tunekit.study", "trials_frame"),
    "studies_frame": ("tunekit.study", "studies_frame"),
    "load_data": ("tunekit.data", "load_data"),
    "build_model": ("tunekit.factory", "build_model"),
    "best_model": ("tunekit.study", "best_model"),
    "STRATEGIES": ("tunekit.strategies", "STRATEGIES"),
    "make_sampler": ("tunekit.strategies", "make_sampler"),
    "HyperParameters": ("tunekit.hyper", "HyperParameters"),  # keras-tuner's hp, for build(hp) type hints
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        import warnings

        module, attr = _LAZY[name]
        with warnings.catch_warnings():
            # Optuna imports tqdm.auto, which warns in a notebook without ipywidgets; tunekit
            # draws no notebook progress bar, so the warning says nothing to a tunekit user.
            warnings.filterwarnings("ignore", message="IProgress not found")
            value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tunekit' has no attribute {name!r}")


__all__ = [
    "Bool", "Choice", "ConfigError", "Fixed", "Float", "HyperParameters", "Int", "PerLayer", "STRATEGIES", "Space",
    "StudySpec", "TrialError", "TunekitError", "__version__", "best_model", "build_model", "join", "load_data", "load_spec",
    "load_study", "make_sampler", "run", "studies_frame", "trials_frame",
]
