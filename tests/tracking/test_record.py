"""What a finished trial becomes for MLflow and TensorBoard, read from the study database only."""

from __future__ import annotations

import math

from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from tunekit.tracking import trial_record


def test_curves_finals_and_tags_of_a_pruned_regression_trial() -> None:
    trial = create_trial(
        state=TrialState.PRUNED, params={"units": 8}, distributions={"units": IntDistribution(4, 32)},
        intermediate_values={0: 12.5, 1: math.nan, 2: 9.0},
        user_attrs={"val_rmse": 9.0, "val_loss": 0.4, "train_loss": 0.5, "train_seconds": 1.5, "seed": 7,
                    "pruned_reason": "pruned at epoch 3 (val_rmse=9)", "health": "ok",
                    "health_series": {"epoch_loss": [0.9, 0.7, 0.5], "val_loss": [0.8, None, 0.4]}})
    record = trial_record(trial, {"metric": "val_rmse", "fixed": '{"units": 99, "n_layers": 2}'}, study="house",
                          database="postgresql+psycopg://me:pw@db/t", retried=set())
    assert record.curves == {"val_rmse": [(0, 12.5), (2, 9.0)], "loss": [(0, 0.9), (1, 0.7), (2, 0.5)],
                             "val_loss": [(0, 0.8), (2, 0.4)]}  # a NaN or missing epoch is left out
    assert record.finals == {"final/val_rmse": 9.0, "final/val_loss": 0.4, "final/train_loss": 0.5}
    assert record.numbers == {"train_seconds": 1.5}
    assert record.params == {"units": 8, "seed": 7} and record.fixed == {"n_layers": 2}  # searched wins over fixed
    assert record.state == "pruned" and record.tags["tunekit.pruned_reason"].startswith("pruned at epoch 3")
    assert record.tags["tunekit.database"] == "postgresql+psycopg://me:***@db/t"
    assert record.tags["tunekit.health"] == "ok" and "tunekit.fail_reason" not in record.tags


def test_a_lost_trial_is_told_apart_from_a_failed_one() -> None:
    lost = create_trial(state=TrialState.FAIL, value=None, user_attrs={"fail_reason": "worker lost (pid 1 on h)"})
    record = trial_record(lost, {}, study="s", database="sqlite:///x.db", retried={lost.number})
    assert record.tags["tunekit.kind"] == "lost" and record.curves == {} and record.finals == {}
