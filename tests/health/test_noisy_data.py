"""Issue 27: the rules on noisy tabular data, where a model's loss flattens at the data's floor
(not near 0): real Keras training on generated 1,200-row binary problems, a few epochs each."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import FrozenTrial

from tunekit import Choice, StudySpec, TrialError
from tunekit.data import Dataset, load_data
from tunekit.execution import TrialRunner
from tunekit.health import THRESHOLDS
from tunekit.health._attrs import read_health
from tunekit.health._baseline import constant_loss

pytestmark = pytest.mark.slow

EPOCHS = 10
#: A configuration that reaches the data's floor within EPOCHS (Adam, 0.01) and flattens there.
CONVERGES = {"n_layers": 2, "units": 32, "learning_rate": 0.01}


def placement(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A 'placement'-like table: 4 features, a logistic signal (its log-loss, the floor, is about
    0.47); and the true probability of each row."""
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 4))
    p = 1 / (1 + np.exp(-(1.6 * x[:, 0] + 0.9 * x[:, 1] - 0.6 * x[:, 2] + 0.8)))
    df = pd.DataFrame(x, columns=["gpa", "test", "age", "noise"])
    df["placed"] = (r.random(n) < p).astype(int)
    return df, p


def flipped(n: int = 1200, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """A separable rule with 20% of its labels flipped: the floor is the entropy of 0.2 (0.50)."""
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 3))
    clean = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["y"] = np.where(r.random(n) < 0.2, 1 - clean, clean)
    return df, np.where(clean == 1, 0.8, 0.2)


def noise(df: pd.DataFrame, target: str, p: np.ndarray, ds: Dataset) -> float:
    """Two standard errors of a validation log-loss on this data (the true model's per-row losses)."""
    y = df[target].to_numpy()
    rows = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return 2 * float(rows.std()) / math.sqrt(len(ds.y_val))


def run(url: str, ds: Dataset, fixed: dict) -> FrozenTrial:
    spec = StudySpec(data="digits", space={"batch_size": Choice([32])}, fixed=fixed, epochs=EPOCHS)
    study = optuna.create_study(storage=url, direction="maximize")
    study.optimize(TrialRunner(spec=spec, dataset=ds, metric="val_accuracy", seed=0), n_trials=1, catch=(TrialError,))
    return optuna.load_study(study_name=study.study_name, storage=url).trials[0]


def flat(trial: FrozenTrial) -> bool:
    """Whether the training loss fell less than the stall rule's 5% over the second half."""
    loss = read_health(trial.user_attrs)[1].epoch_loss
    return loss[-1] > (1 - THRESHOLDS["stall_decrease"].value) * loss[(len(loss) - 1) // 2]


@pytest.mark.parametrize("make,target", [(placement, "placed"), (flipped, "y")])
def test_trials_at_the_datas_floor_are_not_stalled_and_a_tiny_learning_rate_is(db_url: str, make, target) -> None:
    df, p = make()
    ds = load_data(df, target=target, task="binary", seed=0)
    trials = [run(db_url, ds, fixed) for fixed in (CONVERGES, {"n_layers": 1, "units": 16, "learning_rate": 0.02})]
    best = min(t.user_attrs["val_loss"] for t in trials)
    near = [t for t in trials if t.user_attrs["val_loss"] <= best + noise(df, target, p, ds)]
    assert near and any(flat(t) for t in near)  # flat curves: the case the old "half its start" rule called stalled
    assert [t.user_attrs["health"] for t in near if t.user_attrs["health"] == "stalled"] == []
    _, series = read_health(trials[0].user_attrs)
    assert series.baseline == pytest.approx(constant_loss("binary_crossentropy", ds.y_train), rel=1e-3)
    assert series.epoch_loss[-1] < THRESHOLDS["stall_prior"].value * series.baseline  # well under knowing nothing
    tiny = run(db_url, ds, {"n_layers": 2, "units": 16, "optimizer": "sgd", "learning_rate": 1e-6})
    assert flat(tiny) and tiny.user_attrs["health"] == "stalled"
    assert "constant predictor" in tiny.user_attrs["health_reason"]


def test_a_deep_sigmoid_net_is_still_caught_on_noisy_data(db_url: str) -> None:
    df, _ = flipped()
    trial = run(db_url, load_data(df, target="y", task="binary", seed=0),
                {"n_layers": 8, "units": 32, "activation": "sigmoid"})
    assert trial.user_attrs["health"] in ("vanishing", "stalled")
    assert "glorot" not in trial.user_attrs["health_reason"]  # it uses glorot_uniform already


def test_an_exploded_network_whose_loss_falls_slowly_is_exploding(db_url: str) -> None:
    df, _ = placement()
    trial = run(db_url, load_data(df, target="placed", task="binary", seed=0),
                {"n_layers": 6, "units": 32, "initializer": "random_normal", "init_stddev": 3.0, "optimizer": "sgd",
                 "learning_rate": 0.01, "clipnorm": 1.0})
    _, series = read_health(trial.user_attrs)
    assert series.epoch_loss[-1] < series.epoch_loss[0]  # falling: no growth, no NaN
    assert series.epoch_loss[-1] > THRESHOLDS["exploding_loss"].value * series.baseline
    reason = trial.user_attrs["health_reason"]
    assert trial.user_attrs["health"] == "exploding" and "constant predictor" in reason
    assert "init_stddev" in reason and "clipnorm" not in reason  # the initial weights; it clips already
