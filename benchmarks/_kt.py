"""keras-tuner, driven the way its documentation shows, over the same model factory and space.

The hypermodel declares ``SEARCH`` through keras-tuner's ``HyperParameters`` and builds the
very network tunekit builds (tunekit's factory), so both tools train identical models and
only the tuning machinery differs.
"""

from __future__ import annotations

import math
from typing import Any


def ensure_tensorboard_importable() -> str:
    """keras-tuner imports ``tensorboard.plugins.hparams.api`` in every trial on the TensorFlow
    backend, but uses it only when a TensorBoard callback is passed (never here). When
    TensorBoard is not installed (``tensorflow-cpu`` does not pull it in), register an empty
    stand-in module so keras-tuner runs. Returns "installed" or "stub"."""
    import importlib.util
    import sys
    import types

    if getattr(sys.modules.get("tensorboard"), "_tunekit_stub", False):
        return "stub"
    if importlib.util.find_spec("tensorboard") is not None:
        return "installed"
    names = ("tensorboard", "tensorboard.plugins", "tensorboard.plugins.hparams", "tensorboard.plugins.hparams.api")
    for name in names:
        module = sys.modules.setdefault(name, types.ModuleType(name))
        module._tunekit_stub = True
    for parent, child in zip(names, names[1:]):
        setattr(sys.modules[parent], child.rsplit(".", 1)[1], sys.modules[child])
    return "stub"


def hypermodel(dataset: Any, epochs: int):
    """A ``keras_tuner.HyperModel`` over ``SEARCH`` with ``DEFAULTS`` as the hyperparameters'
    ``default=``; ``fit`` uses the sampled batch size."""
    import keras_tuner as kt

    from benchmarks._trials import DEFAULTS, SEARCH
    from tunekit.factory import build_model, resolve_params

    class MLP(kt.HyperModel):
        def build(self, hp: kt.HyperParameters):
            params: dict[str, Any] = {"epochs": epochs}
            for name, kind, values in SEARCH:
                default = DEFAULTS[name]  # keras-tuner 1.4.8 still starts from a random point
                if kind == "int":
                    params[name] = hp.Int(name, values[0], values[1], default=default)
                elif kind == "logfloat":
                    params[name] = hp.Float(name, values[0], values[1], sampling="log", default=default)
                else:
                    params[name] = hp.Choice(name, list(values), default=default)
            p = resolve_params(params, task=dataset.task)
            steps = max(1, math.ceil(dataset.n_train / p["batch_size"]))
            return build_model(p, input_shape=dataset.input_shape, task=dataset.task,
                               n_classes=dataset.n_classes, steps_per_epoch=steps)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)

    return MLP()


def replay_oracle(configs: list[dict[str, Any]], objective: str, direction: str):
    """A keras-tuner oracle that proposes ``configs`` in order, then stops."""
    import keras_tuner as kt
    from keras_tuner.src.engine import trial as trial_module

    class ReplayOracle(kt.oracles.RandomSearchOracle):
        def __init__(self) -> None:
            super().__init__(objective=kt.Objective(objective, direction), max_trials=len(configs))
            self._queue = [dict(c) for c in configs]

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if not self._queue:
                return {"status": trial_module.TrialStatus.STOPPED, "values": None}
            return {"status": trial_module.TrialStatus.RUNNING, "values": self._queue.pop(0)}

    return ReplayOracle()


class TargetReached(Exception):
    """Raised from a tuner's ``on_trial_end`` to end ``search`` at the target (or time cap)."""


def stopping(tuner_class, check):
    """``tuner_class`` whose ``on_trial_end`` calls ``check(trial)`` (which may raise)."""

    class Stopping(tuner_class):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            check(trial)

    return Stopping
