"""One trial of the user's own model: ``build(hp)`` (or a keras-tuner ``HyperModel``) under tunekit.

The trial's parameters, sampled by the study's strategy from the recorded space, are the
``hp`` values; a parameter ``build`` (or the hypermodel's ``fit``) asks for that the recorded
space lacks is suggested to Optuna there and then (define-by-run), stored with the trial like
any other, and the study's ``space_added`` attribute lists it (a note says so once per process).
Training is the runner's: the same data pipeline, seed, callbacks (report-and-prune, health,
target units), final evaluation and failure handling as a factory trial; a hypermodel that
overrides ``fit`` gets the arrays and keras-tuner's keyword arguments instead.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from typing import TYPE_CHECKING, Any, Protocol

from tunekit._errors import ConfigError
from tunekit.execution._health import health_probe, record_health
from tunekit.execution._trial import RunnerTrial, one_line

if TYPE_CHECKING:
    import keras

    from tunekit._spec import StudySpec
    from tunekit.data import Dataset
    from tunekit.space import Dimension


class Runner(Protocol):
    """What a trial of the user's model uses of the ``TrialRunner`` (its training path)."""

    spec: "StudySpec"
    dataset: "Dataset"
    health: bool
    prune_unhealthy: bool

    def callbacks(self, trial: RunnerTrial, resolved: None, probe: Any = None, after: Any = None) -> list[Any]: ...

    def tune(self, model: "keras.Model", steps: int, epochs: int) -> None: ...

    def inputs(self, batch_size: int, seed: int) -> tuple[tuple[Any, ...], Any, dict[str, Any]]: ...

    def finish(self, trial: RunnerTrial, model: "keras.Model", history: Any, start: float, val: Any,
               batch_size: int) -> float: ...

#: The study attribute listing the parameters first met in a trial (name -> dimension as JSON).
SPACE_ADDED = "space_added"
#: The rest of the note on a parameter first met in a trial.
ADDED_NOTE = ("which recording the space (build(hp) with each parameter's default) did not meet; added to the "
              "study's space. tpe and random learn it as they go; grid, skopt, gp, cmaes, metropolis and anneal draw "
              "it at random. Declare it in build(hp), before any loop or branch, to search it with them.")
#: The default batch size of a study that neither fixes nor searches one (keras-tuner's and Keras').
DEFAULT_BATCH_SIZE = 32

_noted: set[str] = set()
#: Whether this process prints that note (a Dask worker does not: its client prints it, once).
notes_here = True


def _ask(trial: RunnerTrial):
    """A suggestion from ``trial`` for a parameter the recorded space lacks (its condition dropped:
    the ``hp`` object decides activity)."""
    def ask(dim: "Dimension") -> Any:
        if not hasattr(trial, "suggest_float"):  # a retraining stand-in has every value already
            raise ConfigError(f"parameter {dim.name!r} has no value to retrain with; run the study again")
        return dataclasses.replace(dim, when=None).suggest(trial)

    return ask


def _record_added(trial: RunnerTrial, added: dict[str, "Dimension"], where: dict[str, str]) -> None:
    """Note the parameters first met in this trial on the study (once per name) and on stderr."""
    study = trial.study
    stored = json.loads(study.user_attrs.get(SPACE_ADDED) or "{}")
    new = {n: {k: v for k, v in d.to_dict().items() if k != "name"} for n, d in added.items() if n not in stored}
    if new:
        study.set_user_attr(SPACE_ADDED, json.dumps({**stored, **new}, sort_keys=True))
    fresh = [n for n in added if n not in _noted]
    _noted.update(fresh)
    for name in fresh if notes_here else ():
        print(f"note: trial {trial.number}: {where[name]} asked for {name!r}, {ADDED_NOTE}", file=sys.stderr, flush=True)


def _checked(model: Any, label: str) -> "keras.Model":
    """``model`` when it is a compiled Keras model; ConfigError (the same in every trial) otherwise."""
    import keras

    if not isinstance(model, keras.Model):
        raise ConfigError(f"{label} returned {type(model).__name__}, not a keras.Model; return the compiled model")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ConfigError(f"{label} returned a model that is not compiled; call model.compile(optimizer=..., "
                          "loss=..., metrics=['accuracy']) inside it")
    return model


def check_first_model(spec: "StudySpec", ds: "Dataset", metric: str) -> None:
    """Build the user's model once with keras-tuner's defaults and check it against the data before
    anything is written: a model, compiled, taking the data's features, one output per class (or
    target), computing ``metric``. ConfigError (one line) for the first that fails; an error only
    training shows is left to the trials (each fails with its cause)."""
    import keras

    from tunekit.hyper import HyperParameters

    source = spec.model
    hp = HyperParameters()
    try:
        try:
            built = source.build(hp)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"{source.label} failed with its default values {hp.values}: {one_line(exc)}") from None
        model = _checked(built, source.label)
        _check_inputs(model, ds, source.label)
        rows = ds.x_train[: min(32, ds.n_train)]
        try:
            out = model(rows, training=False)
        except Exception as exc:
            raise ConfigError(f"{source.label} makes a model that cannot take the data's rows ({ds.input_shape[0]} "
                              f"features): {one_line(exc)}") from None
        _check_outputs(tuple(out.shape), ds, source.label)
        model.run_eagerly = True  # one batch: no tf.function to trace (this model is thrown away)
        try:
            names = set(model.evaluate(rows, ds.y_train[: len(rows)], verbose=0, return_dict=True))
        except Exception:  # a loss or metric that fails on these labels: each trial fails with its cause
            return
        key = metric[4:] if metric.startswith("val_") else metric
        if key not in names:
            known = ", ".join(sorted([*names, *(f"val_{n}" for n in names)]))
            raise ConfigError(f"metric {metric!r} is not computed for this model (available: {known}); set "
                              "metric= in the StudySpec to one of them, or compile with metrics=['accuracy']")
    finally:
        keras.backend.clear_session()


def _check_inputs(model: "keras.Model", ds: "Dataset", label: str) -> None:
    """ConfigError when ``model`` declares an input of another width than the data's features."""
    inputs = getattr(model, "inputs", None) if model.built else None
    if not inputs or len(inputs) != 1:
        return
    width = tuple(inputs[0].shape)[-1]
    if len(inputs[0].shape) == 2 and width is not None and int(width) != ds.input_shape[0]:
        raise ConfigError(f"{label} makes a model for {width} features, but the data has {ds.input_shape[0]} "
                          f"({ds.name}); give it keras.Input(({ds.input_shape[0]},))")


def _check_outputs(shape: tuple[Any, ...], ds: "Dataset", label: str) -> None:
    """ConfigError when a model's output ``shape`` cannot match the data's classes (or targets)."""
    width = int(shape[-1]) if len(shape) > 1 else 1
    if ds.task == "regression":
        targets = 1 if ds.y_train.ndim == 1 else int(ds.y_train.shape[1])
        if width != targets:
            raise ConfigError(f"{label} makes a model with {width} outputs, but the data has {targets} target "
                              f"({ds.target}); end it with keras.layers.Dense({targets})")
        return
    classes = int(ds.n_classes or 2)
    if width < classes and not (classes == 2 and width == 1):
        binary = " (or Dense(1, activation='sigmoid') with loss='binary_crossentropy')" if classes == 2 else ""
        raise ConfigError(f"{label} makes a model with {width} outputs, but the data has {classes} classes "
                          f"({ds.name}); end it with keras.layers.Dense({classes}, activation='softmax'){binary}")


def fit_own_model(runner: Runner, trial: RunnerTrial, params: dict[str, Any], seed: int) -> float:
    """Build the user's model with this trial's ``hp``, train and evaluate it; the metric's value."""
    import keras

    from tunekit.hyper import HyperParameters

    spec, ds, source = runner.spec, runner.dataset, runner.spec.model
    injected = {"epochs", *spec.fixed}  # the runner's keys, not the user's parameters
    values = {k: v for k, v in params.items() if k in spec.space or k not in injected}
    hp = HyperParameters(values, ask=_ask(trial))
    model = _checked(source.build(hp), source.label)
    in_build = len(hp.asked)
    if model.built:
        trial.set_user_attr("param_count", int(model.count_params()))
    epochs = int(hp.values.get("epochs", params["epochs"]))
    batch_size = int(hp.values.get("batch_size", params.get("batch_size", DEFAULT_BATCH_SIZE)))
    sequential = isinstance(model, keras.Sequential) and model.built  # what the health probe can walk
    probe, after = health_probe(trial, ds, prune=runner.prune_unhealthy) if runner.health and sequential else (None, [])
    callbacks = runner.callbacks(trial, None, probe, after)
    start = time.perf_counter()
    try:
        if source.own_fit:
            val: Any = (ds.x_val, ds.y_val)
            extra = {"batch_size": int(spec.fixed["batch_size"])} if "batch_size" in spec.fixed else {}
            result = source.fit(hp, model, ds.x_train, ds.y_train, validation_data=val, epochs=epochs,
                                callbacks=callbacks, verbose=0, **extra)
            history = result if hasattr(result, "history") else model.history
        else:
            if model.built:
                runner.tune(model, max(1, math.ceil(ds.n_train / batch_size)), epochs)
            train, val, kwargs = runner.inputs(batch_size, seed)
            history = model.fit(*train, validation_data=val, epochs=epochs, callbacks=callbacks, verbose=0, **kwargs)
    finally:
        record_health(trial, probe)
        if hp.asked:
            trial.set_user_attr("added_params", list(hp.asked))
            fit_label = f"{type(source.hypermodel).__name__}.fit(hp, model, ...)"
            where = {n: source.label if i < in_build else fit_label for i, n in enumerate(hp.asked)}
            _record_added(trial, {n: hp.declared[n] for n in hp.asked}, where)
    return runner.finish(trial, model, history, start, val, batch_size)
