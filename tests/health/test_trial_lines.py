"""Issue 27 (items 5, 6, 21, 25): how health figures are counted and shown, on hand-made trials in a
real SQLite study: the output layer apart from the rules' columns, a trial that died in its first
epoch, a running trial, a lost and retried trial counted once, a run whose every trial went NaN."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from tests.conftest import invoke, one_error_line
from tunekit._errors import TunekitError
from tunekit._records import RETRY_HISTORY
from tunekit.health import HealthSeries, diagnose
from tunekit.health._attrs import health_attrs, health_columns
from tunekit.study._health import health_summary, trial_health, trial_health_lines
from tunekit.study._text import run_summary

DIST = {"units": CategoricalDistribution([8])}


def binary_series(epochs: int = 3, loss: float = 0.45) -> HealthSeries:
    """A healthy binary trial: one hidden ReLU layer, a 1-unit sigmoid output, confident (saturated)."""
    s = HealthSeries(layers=["dense_0", "output"], activations=["relu", "sigmoid"], units=[8, 1])
    s.baseline = 0.65
    for e in range(epochs + 1):
        if e:
            s.epoch_loss.append(loss)
        s.add(epoch=e, loss=0.7 if e == 0 else loss, grad_norm=[0.3, 0.2], weight_norm=[2.0, 1.5],
              act_mean=[0.4, 0.6], act_std=[0.5, 0.45], dead=[0.125, None], saturated=[None, 1.0],
              symmetric=[False, None])
    return s


def attrs(s: HealthSeries) -> dict:
    return health_attrs(s, diagnose(s))


def study_with(url: str, *trials: optuna.trial.FrozenTrial, name: str = "s") -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=url, direction="minimize")
    study.set_user_attr("metric", "val_loss")
    for t in trials:
        study.add_trial(t)
    return study


def test_the_output_layer_is_left_out_of_the_rules_columns() -> None:
    columns = health_columns(attrs(binary_series()))
    assert columns["health"] == "ok"
    assert columns["health_saturated"] is None  # the confident sigmoid output is not a saturated hidden layer
    assert columns["health_dead"] == 0.125


def test_one_trials_lines_show_the_output_layer_as_such(db_url: str) -> None:
    study = study_with(db_url, create_trial(params={"units": 8}, distributions=DIST, value=0.45,
                                            user_attrs=attrs(binary_series())))
    report = trial_health(study, 0)
    assert [r["role"] for r in report["layers"]] == ["hidden", "output"]
    lines = trial_health_lines(report)
    output = next(line.split() for line in lines if line.split()[:1] == ["output"])
    assert output[-3:] == ["-", "-", "-"]  # dead, saturated, symmetric: not judged on the output layer
    assert "100%" not in " ".join(lines) and " yes" not in " ".join(lines)
    assert any("output layer" in line and "not judged" in line for line in lines)


def test_a_trial_that_died_in_its_first_epoch_names_that_epoch_once(db_url: str) -> None:
    s = HealthSeries(layers=["dense_0", "output"], activations=["relu", "sigmoid"], units=[8, 1])
    s.add(epoch=0, loss=0.7, grad_norm=[0.3, 0.2], weight_norm=[2.0, 1.5], act_mean=[0.4, 0.6], act_std=[0.5, 0.4],
          dead=[0.0, None], saturated=[None, 0.0], symmetric=[False, None])
    s.epoch_loss.append(math.nan)
    s.add(epoch=1, loss=math.nan, grad_norm=[math.nan, math.nan], weight_norm=[math.nan, math.nan],
          act_mean=[math.nan, math.nan], act_std=[math.nan, math.nan], dead=[0.0, None], saturated=[None, 0.0],
          symmetric=[False, None])
    study = study_with(db_url, create_trial(params={"units": 8}, distributions=DIST, state=TrialState.FAIL,
                                            user_attrs=attrs(s)))
    line = next(line for line in trial_health_lines(trial_health(study, 0)) if line.startswith("probe batch loss"))
    assert line.count("in epoch 1") == 1 and line.endswith("; training loss nan in epoch 1")


def test_a_running_trial_says_it_is_still_running(db_url: str) -> None:
    study = study_with(db_url, create_trial(params={"units": 8}, distributions=DIST, value=0.45,
                                            user_attrs=attrs(binary_series())))
    study.ask()  # trial 1: RUNNING, no figures yet
    line = one_error_line(invoke("health", "s", "--storage", db_url, "--trial", "1"))
    assert "trial 1" in line and "still running" in line and "--no-health" not in line


def test_a_lost_and_retried_trial_is_counted_once(db_url: str) -> None:
    done = [create_trial(params={"units": 8}, distributions=DIST, value=0.45, user_attrs=attrs(binary_series()))
            for _ in range(2)]
    lost = create_trial(params={"units": 8}, distributions=DIST, state=TrialState.FAIL,
                        user_attrs={**attrs(binary_series()), "fail_reason": "worker lost (pid 1 on host h)"})
    retried = create_trial(params={"units": 8}, distributions=DIST, value=0.46, user_attrs=attrs(binary_series()),
                           system_attrs={RETRY_HISTORY: [2], "failed_trial": 2})
    study = study_with(db_url, *done, lost, retried)
    assert health_summary(study)["counts"] == {"ok": 3}
    lines = list(run_summary(study, db_url))
    assert "training health: 3 ok" in lines
    from tunekit.report import read_study
    from tunekit.report._health import probed

    assert [t.number for t, _, _ in probed(read_study(study))] == [0, 1, 3]  # the report's "3 of 3 probed"


def test_a_run_whose_every_trial_went_nan_still_prints_its_health_line(db_url: str) -> None:
    nan = [math.nan] * 2
    s = binary_series()
    s.epoch_loss[1:] = nan
    study = study_with(db_url, *(create_trial(params={"units": 8}, distributions=DIST, state=TrialState.FAIL,
                                              user_attrs=attrs(s)) for _ in range(2)))
    lines = []
    with pytest.raises(TunekitError, match="no trial completed"):
        for line in run_summary(study, db_url):
            lines.append(line)
    assert any(line.startswith("training health: 2 exploding") for line in lines), lines
