"""``_dask._offers``: a parameter first met on a Dask worker is drawn next time by the study's own
strategy on the client, exactly as ``trial.suggest`` draws it in a local run (no Dask needed)."""

from __future__ import annotations

import json

import optuna
import pytest

from tunekit import Choice, Int
from tunekit.execution._dask import _offers
from tunekit.execution._own_model import SPACE_ADDED

MET = {"batch_size": Int(4, 120), "act": Choice(["relu", "tanh", "elu"])}


def _study(sampler: optuna.samplers.BaseSampler, history: int) -> optuna.Study:
    """A study whose first ``history`` trials met both parameters (tpe has something to learn from)."""
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.set_user_attr(SPACE_ADDED, json.dumps({n: {k: v for k, v in d.to_dict().items() if k != "name"}
                                                 for n, d in MET.items()}))
    for i in range(history):
        trial = study.ask()
        value = trial.suggest_int("batch_size", 4, 120) / 120 + (trial.suggest_categorical("act", ["relu", "tanh",
                                                                                                    "elu"]) == "elu")
        study.tell(trial, value)
    return study


@pytest.mark.parametrize("make", [
    lambda: optuna.samplers.TPESampler(seed=3, n_startup_trials=4),
    lambda: __import__("tunekit.strategies._random", fromlist=["x"]).TrialSeededRandomSampler(seed=3),
], ids=["tpe", "random"])
def test_the_client_draws_what_trial_suggest_would(make) -> None:
    for history in (0, 8):
        offered, suggested = _study(make(), history), _study(make(), history)
        trial = offered.ask()
        offers = _offers(offered, trial)
        twin = suggested.ask()
        assert offers == {"batch_size": twin.suggest_int("batch_size", 4, 120),
                          "act": twin.suggest_categorical("act", ["relu", "tanh", "elu"])}
        assert trial.params == {}  # offered, not stored: only what the model asks for is recorded


def test_an_enqueued_trial_keeps_its_values_and_a_fresh_study_offers_nothing() -> None:
    study = _study(optuna.samplers.TPESampler(seed=0), 0)
    study.enqueue_trial({"batch_size": 77})
    assert _offers(study, study.ask())["batch_size"] == 77
    fresh = optuna.create_study()
    assert _offers(fresh, fresh.ask()) == {}  # no parameter met on a worker yet: the worker draws
