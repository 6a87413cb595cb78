"""Every diagnosis from real Keras training on digits (a few epochs), stored on a real trial."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from tunekit import Choice, StudySpec, TrialError
from tunekit._records import PRUNED_REASON
from tunekit.data import load_data
from tunekit.execution import TrialRunner
from tunekit.health import DIAGNOSES, THRESHOLDS
from tunekit.health._attrs import read_health
from tunekit.health._rules import first_last_ratio

pytestmark = pytest.mark.slow

DIGITS = load_data("digits", seed=0)


def run_one(url: str, fixed: dict, *, epochs: int = 4, seed: int = 0, **runner: object) -> FrozenTrial:
    """One trial of ``fixed`` (plus a one-value searched parameter), trained for ``epochs``."""
    spec = StudySpec(data="digits", space={"batch_size": Choice([32])}, fixed=fixed, epochs=epochs)
    study = optuna.create_study(storage=url, direction="maximize")
    study.optimize(TrialRunner(spec=spec, dataset=DIGITS, metric="val_accuracy", seed=seed, **runner),
                   n_trials=1, catch=(TrialError,))
    return optuna.load_study(study_name=study.study_name, storage=url).trials[0]


def diagnosis(trial: FrozenTrial) -> str:
    found = read_health(trial.user_attrs)
    assert found is not None, f"no health on trial: {sorted(trial.user_attrs)}"
    return found[0].name


def test_sigmoid_at_depth_vanishes_by_the_rules_factor(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 8, "units": 64, "activation": "sigmoid", "initializer": "glorot_uniform"})
    assert diagnosis(trial) == "vanishing"
    assert trial.user_attrs["health_layer"] == "dense_0"
    _, series = read_health(trial.user_attrs)
    ratio = first_last_ratio(series)
    assert ratio < THRESHOLDS["vanishing_ratio"].value
    first, last = series.grad_norm[0][0], series.grad_norm[0][-1]  # at the start, too
    assert first < THRESHOLDS["vanishing_ratio"].value * last


def test_relu_at_depth_with_he_initialization_is_ok(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 8, "units": 64, "activation": "relu", "initializer": "he_normal"})
    assert diagnosis(trial) == "ok"
    assert trial.user_attrs["health_layer"] is None
    _, series = read_health(trial.user_attrs)
    assert first_last_ratio(series) > THRESHOLDS["vanishing_ratio"].value


def test_zeros_initialization_is_symmetric(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 32, "initializer": "zeros"})
    assert diagnosis(trial) == "symmetric"
    _, series = read_health(trial.user_attrs)
    assert series.symmetric[-1][:2] == [True, True]  # both hidden layers, still at the last epoch
    assert series.symmetric[-1][-1] is False  # the output's units differ: each class has its own target
    assert series.unit_spread[-1][-1] > 0.01  # ... by a measured spread


def test_ones_initialization_keeps_the_unit_spread_at_zero(db_url: str) -> None:
    ones = read_health(run_one(db_url, {"n_layers": 2, "units": 16, "initializer": "ones"}).user_attrs)[1]
    glorot = read_health(run_one(db_url, {"n_layers": 2, "units": 16}).user_attrs)[1]
    assert len(ones.unit_spread) == ones.probes and all(t[:2] == [0, 0] for t in ones.unit_spread)  # every probe
    assert min(glorot.unit_spread[-1][:2]) > 0.01


def test_sgd_with_learning_rate_10_explodes(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 64, "optimizer": "sgd", "learning_rate": 10.0})
    assert trial.state == TrialState.FAIL  # the loss became nan: the trial fails, its health says why
    assert diagnosis(trial) == "exploding"
    assert "learning_rate" in trial.user_attrs["health_reason"]


def test_a_huge_learning_rate_kills_relu_units(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 3, "units": 64, "optimizer": "adam", "learning_rate": 0.5})
    assert diagnosis(trial) == "dead"
    _, series = read_health(trial.user_attrs)
    layer = series.layers.index(trial.user_attrs["health_layer"])
    assert series.dead[-1][layer] > THRESHOLDS["dead_share"].value


def test_large_random_weights_saturate_tanh(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 64, "activation": "tanh", "initializer": "random_normal",
                             "init_stddev": 2.0})
    assert diagnosis(trial) == "saturated"
    _, series = read_health(trial.user_attrs)
    assert max(series.saturated[-1][:2]) > THRESHOLDS["saturated_share"].value


def test_a_tiny_learning_rate_stalls(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 64, "optimizer": "sgd", "learning_rate": 1e-6})
    assert diagnosis(trial) == "stalled"
    _, series = read_health(trial.user_attrs)
    assert series.epoch_loss[-1] > (1 - THRESHOLDS["stall_decrease"].value) * series.epoch_loss[1]  # epoch 2 of 4


def test_every_figure_is_recorded_per_probe_and_layer(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 16, "batch_norm": "before", "dropout": 0.2}, epochs=3)
    _, series = read_health(trial.user_attrs)
    assert series.layers == ["dense_0", "dense_1", "output"]
    assert series.activations == ["relu", "relu", "softmax"]
    assert series.units == [16, 16, 10]
    assert series.epochs == [0, 1, 3] and series.probes == 3  # the start, epoch 1 (powers of 4), the last
    for name in ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "dead", "saturated", "symmetric"):
        rows = getattr(series, name)
        assert len(rows) == 3 and all(len(row) == 3 for row in rows), name
    assert series.update_ratio[0] == [None, None, None]  # nothing to compare the start with
    assert all(0 < r < 10 for r in series.update_ratio[-1])
    assert all(math.isfinite(g) and g > 0 for g in series.grad_norm[-1])
    assert len(series.epoch_loss) == 3 and series.epoch_loss[-1] > 0
    assert diagnosis(trial) in DIAGNOSES


def test_no_health_records_nothing(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 1, "units": 8}, epochs=2, health=False)
    assert trial.state == TrialState.COMPLETE
    assert not any(key.startswith("health") for key in trial.user_attrs)


def test_prune_unhealthy_stops_a_symmetric_trial_after_one_epoch(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 32, "initializer": "zeros"}, epochs=6, prune_unhealthy=True)
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs[PRUNED_REASON].startswith("unhealthy at epoch 1: symmetric")
    assert diagnosis(trial) == "symmetric"
    assert len(read_health(trial.user_attrs)[1].loss) == 2  # the start and epoch 1: 5 epochs saved


def test_prune_unhealthy_leaves_a_healthy_trial_alone(db_url: str) -> None:
    trial = run_one(db_url, {"n_layers": 2, "units": 32}, epochs=3, prune_unhealthy=True)
    assert trial.state == TrialState.COMPLETE
    assert diagnosis(trial) == "ok"


@pytest.mark.postgres
def test_the_figures_survive_sqlite_and_postgresql_alike(db_url: str, postgres_url: str) -> None:
    fixed = {"n_layers": 2, "units": 16, "activation": "tanh"}
    on_sqlite = run_one(db_url, fixed, epochs=2, seed=3)
    on_postgres = run_one(postgres_url, fixed, epochs=2, seed=3)  # same seed: the same training
    keys = ("health", "health_layer", "health_reason", "health_series")
    assert {k: on_sqlite.user_attrs[k] for k in keys} == {k: on_postgres.user_attrs[k] for k in keys}
    diagnosis_, series = read_health(on_postgres.user_attrs)
    assert series.probes == 3 and isinstance(series.grad_norm[-1][0], float)
    assert isinstance(series.symmetric[-1][0], bool)
