"""Issue 12, defect 3: a trial's parameters are resolved (validated, defaults filled) once,
into an immutable object that the model, optimizer, schedule and callback builders use as is."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
import pytest

from tunekit import ConfigError, Float, StudySpec
from tunekit.data import load_data
from tunekit.execution import Speedups, TrialRunner
from tunekit.factory import _catalog, build_model, count_params, resolve_params, training_callbacks


@contextmanager
def counting_resolutions() -> Iterator[list[int]]:
    """Count the calls of the catalog's resolution in this thread (a profile hook: nothing is replaced)."""
    code = _catalog._resolve.__code__
    calls = [0]

    def hook(frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "call" and frame.f_code is code:
            calls[0] += 1

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def test_resolved_parameters_are_immutable_and_kept_as_they_are() -> None:
    resolved = resolve_params({"learning_rate": 0.01, "schedule": "step"}, task="binary")
    with pytest.raises(TypeError):
        resolved["learning_rate"] = -1.0  # type: ignore[index]
    assert resolved["learning_rate"] == 0.01 and resolved["decay_rate"] == 0.5
    assert resolve_params(resolved, task="binary") is resolved  # already resolved: used as is
    assert dict(resolved) == dict(resolve_params(dict(resolved), task="binary"))


def test_builders_use_a_resolved_object_without_resolving_again() -> None:
    resolved = resolve_params({"n_layers": 1, "units": 4, "patience": 2, "schedule": "plateau"}, task="binary")
    with counting_resolutions() as calls:
        count = count_params(resolved, input_shape=(3,), task="binary")
        model = build_model(resolved, input_shape=(3,), task="binary")
        callbacks = training_callbacks(resolved, monitor="val_loss", mode="min")
    assert calls[0] == 0
    assert model.count_params() == count == 3 * 4 + 4 + 4 + 1
    assert [type(cb).__name__ for cb in callbacks] == ["EarlyStopping", "ReduceLROnPlateau"]


def test_a_resolved_object_of_another_task_is_refused() -> None:
    resolved = resolve_params({"loss": "hinge"}, task="binary")
    with pytest.raises(ConfigError, match="loss 'hinge' is not valid for task 'regression'"):
        build_model(resolved, input_shape=(3,), task="regression")


@pytest.mark.slow
def test_one_trial_resolves_its_parameters_once() -> None:
    spec = StudySpec(data="iris", space={"learning_rate": Float(1e-3, 1e-1, log=True)},
                     fixed={"n_layers": 1, "units": 4, "patience": 1}, epochs=1)
    runner = TrialRunner(spec=spec, dataset=load_data("iris", seed=0), metric="val_accuracy", seed=0,
                         speedups=Speedups.none())
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    with counting_resolutions() as calls:
        study.optimize(runner, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE
    assert calls[0] == 1
