"""Shared pieces for benchmarks that train: the reference trial, a plain Keras loop, timing.

The *reference trial* (issue 6): digits; two Dense layers of 128, ReLU, BatchNormalization,
Dropout 0.2, Adam, batch 32, 10 epochs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

REFERENCE = {
    "n_layers": 2, "units": 128, "activation": "relu", "batch_norm": "after", "dropout": 0.2,
    "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": 10,
}


@dataclass
class Timing:
    """Where one trial's wall time went (seconds)."""

    wall: float = 0.0
    build: float = 0.0
    first_epoch: float = 0.0
    later_epochs: list[float] = field(default_factory=list)
    evaluate: float = 0.0
    storage: float = 0.0
    value: float = float("nan")

    @property
    def trace(self) -> float:
        """First epoch minus a typical later one: tracing the train and validation functions."""
        typical = sorted(self.later_epochs)[len(self.later_epochs) // 2] if self.later_epochs else 0.0
        return max(0.0, self.first_epoch - typical)

    @property
    def epochs(self) -> float:
        return self.first_epoch + sum(self.later_epochs) - self.trace

    @property
    def other(self) -> float:
        return max(0.0, self.wall - self.build - self.trace - self.epochs - self.evaluate - self.storage)


def epoch_clock(stored=lambda: 0.0):
    """A Keras callback recording the start of training and the end of every epoch.

    ``stored()`` returns the seconds spent in storage so far; epoch durations exclude it.
    """
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.begin = 0.0
            self.ends: list[float] = []
            self.end = 0.0

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.begin = time.perf_counter() - stored()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.ends.append(time.perf_counter() - stored())

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self.end = time.perf_counter()

        def fill(self, timing: Timing) -> None:
            marks = [self.begin, *self.ends]
            durations = [b - a for a, b in zip(marks, marks[1:])]
            timing.first_epoch = durations[0] if durations else 0.0
            timing.later_epochs = durations[1:]

    return EpochClock()


def plain_trial(dataset: Any, params: dict[str, Any], seed: int) -> Timing:
    """What a user writes without a toolkit: clear, seed, build, ``fit`` on arrays, ``evaluate``.

    The model comes from tunekit's factory, so both sides train the very same network.
    """
    import gc
    import math

    import keras
    import tensorflow as tf

    from tunekit.factory import build_model, resolve_params

    timing = Timing()
    t0 = time.perf_counter()
    keras.backend.clear_session()
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    p = resolve_params(params, task=dataset.task)
    steps = max(1, math.ceil(dataset.n_train / p["batch_size"]))
    model = build_model(p, input_shape=dataset.input_shape, task=dataset.task,
                        n_classes=dataset.n_classes, steps_per_epoch=steps)
    timing.build = time.perf_counter() - t0
    clock = epoch_clock()
    model.fit(dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
              batch_size=p["batch_size"], epochs=p["epochs"], verbose=0, callbacks=[clock])
    clock.fill(timing)
    t1 = time.perf_counter()
    final = model.evaluate(dataset.x_val, dataset.y_val, batch_size=max(p["batch_size"], 256),
                           verbose=0, return_dict=True)
    timing.evaluate = time.perf_counter() - t1
    timing.value = float(final.get("accuracy", final.get("loss")))
    del model
    gc.collect()
    timing.wall = time.perf_counter() - t0
    return timing


class StorageClock:
    """Wraps the public methods of an Optuna storage object to add up the time spent in them."""

    def __init__(self, storage: Any) -> None:
        self.seconds = 0.0
        for name in dir(storage):
            if name.startswith("_"):
                continue
            method = getattr(storage, name)
            if callable(method):
                setattr(storage, name, self._wrap(method))

    def _wrap(self, method):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return timed


def timed_runner_class():
    """A TrialRunner subclass that records a ``Timing`` for each trial it runs."""
    from tunekit.execution import TrialRunner

    class TimedRunner(TrialRunner):
        storage_clock: StorageClock | None = None

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.timings: list[Timing] = []

        def _stored(self) -> float:
            return self.storage_clock.seconds if self.storage_clock else 0.0

        def train(self, trial, params):
            self._timing = Timing()
            self._marks = {"start": (time.perf_counter(), self._stored())}
            value = super().train(trial, params)
            end, stored_end = time.perf_counter(), self._stored()
            fit_end, stored_fit_end = self._marks["fit_end"]
            self._timing.evaluate = (end - fit_end) - (stored_end - stored_fit_end)
            self._timing.value = value
            self.timings.append(self._timing)
            return value

        def tune(self, model, steps, epochs):
            super().tune(model, steps, epochs)
            start, stored = self._marks["start"]
            self._timing.build = (time.perf_counter() - start) - (self._stored() - stored)

        def callbacks(self, trial, resolved, *more):
            runner = self
            clock = epoch_clock(self._stored)
            original_end = clock.on_train_end

            def on_train_end(logs=None):
                original_end(logs)
                clock.fill(runner._timing)
                runner._marks["fit_end"] = (time.perf_counter(), runner._stored())

            clock.on_train_end = on_train_end
            return [clock, *super().callbacks(trial, resolved, *more)]

    return TimedRunner


#: The search space the cross-tool benchmarks share: (name, kind, values or (low, high)).
SEARCH = (
    ("n_layers", "int", (1, 3)),
    ("units", "choice", (32, 64, 128, 256)),
    ("activation", "choice", ("relu", "tanh", "elu")),
    ("batch_norm", "choice", ("none", "after")),
    ("dropout", "choice", (0.0, 0.1, 0.2, 0.3)),
    ("learning_rate", "logfloat", (1e-4, 3e-2)),
    ("batch_size", "choice", (32, 64, 128)),
)


#: A declared starting point inside ``SEARCH`` (the notes' usual network, as in ``REFERENCE``).
#: keras-tuner's hypermodel declares the same values as its ``default=``.
DEFAULTS = {"n_layers": 2, "units": 128, "activation": "relu", "batch_norm": "after", "dropout": 0.2,
            "learning_rate": 1e-3, "batch_size": 32}


def tunekit_space(*, defaults: bool = False) -> dict[str, Any]:
    """``SEARCH`` as tunekit dimensions, with ``DEFAULTS`` declared as ``default=`` if asked."""
    from tunekit import Choice, Float, Int

    dims: dict[str, Any] = {}
    for name, kind, values in SEARCH:
        extra = {"default": DEFAULTS[name]} if defaults else {}
        if kind == "int":
            dims[name] = Int(*values, **extra)
        elif kind == "logfloat":
            dims[name] = Float(*values, log=True, **extra)
        else:
            dims[name] = Choice(list(values), **extra)
    return dims


def configurations(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations drawn from ``SEARCH`` with a fixed seed (the replay list)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n):
        cfg: dict[str, Any] = {}
        for name, kind, values in SEARCH:
            if kind == "int":
                cfg[name] = int(rng.integers(values[0], values[1] + 1))
            elif kind == "logfloat":
                cfg[name] = float(np.exp(rng.uniform(np.log(values[0]), np.log(values[1]))))
            else:
                cfg[name] = values[int(rng.integers(len(values)))]
                cfg[name] = cfg[name].item() if hasattr(cfg[name], "item") else cfg[name]
        configs.append(cfg)
    return configs


def plain_loop(dataset: Any, configs: list[dict[str, Any]], epochs: int, seed: int) -> list[float]:
    """The plain loop: for each configuration clear, seed, build, fit, evaluate."""
    return [plain_trial(dataset, dict(cfg, epochs=epochs), seed=seed + i).value for i, cfg in enumerate(configs)]


def reference_spec(epochs: int | None, name: str) -> tuple[dict[str, Any], Any, Any]:
    """The reference trial as a one-configuration study: (its parameters with ``epochs`` epochs,
    ``REFERENCE``'s when None; the digits dataset; a ``StudySpec`` named ``name``)."""
    from tunekit import Fixed, StudySpec
    from tunekit.data import load_data

    params = dict(REFERENCE, epochs=epochs or REFERENCE["epochs"])
    spec = StudySpec(data="digits", space={"units": Fixed(params["units"])},
                     fixed={k: v for k, v in params.items() if k != "units"}, epochs=params["epochs"], name=name)
    return params, load_data("digits", seed=0), spec
