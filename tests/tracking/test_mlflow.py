"""Trials logged to a real MLflow server (SQLite back end) and read back with MlflowClient."""

from __future__ import annotations

import importlib.util
import os

import optuna
import pytest
from optuna.trial import TrialState

import tunekit
from tests.conftest import TINY_SPEC, invoke, stored_study
from tunekit import StudySpec

# the MLflow server takes seconds to start; mlflow itself is imported where used (importing it
# costs about 1 s, at collection, in each test worker)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("mlflow") is None,
                                                   reason="the mlflow extra is not installed (make install installs it)")]

SPACE = tunekit.Space(TINY_SPEC["space"])
PARAMS = {"units": 8, "learning_rate": 0.01, "activation": "relu"}


def _client(url: str):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url)


def _runs(url: str, study: str) -> tuple[list, list]:
    """(parent runs, trial runs) of the experiment named ``study``, trial runs by trial number."""
    client = _client(url)
    experiment = client.get_experiment_by_name(study)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    trials = sorted((r for r in runs if "tunekit.trial_number" in r.data.tags),
                    key=lambda r: int(r.data.tags["tunekit.trial_number"]))
    return [r for r in runs if "tunekit.trial_number" not in r.data.tags], trials


def test_run_logs_each_trial_as_a_nested_run(mlflow_server: str, db_url: str, tmp_path) -> None:
    """Trial 0 trained in this process, trial 1 (the same study resumed with ``workers=2``, one trial
    left: one worker process) in a worker process: both logged by the process that called ``run``,
    each under the parent run of the run that trained it, trial 0 not sent twice."""
    spec, tb = StudySpec(**TINY_SPEC, name="live"), str(tmp_path / "tb")
    tunekit.run(spec, strategy="random", n_trials=1, storage=db_url, seed=3, mlflow=mlflow_server, tensorboard=tb)
    study = tunekit.run(spec, strategy="random", n_trials=2, storage=db_url, seed=3, workers=2, mlflow=mlflow_server,
                        tensorboard=tb)
    parents, runs = _runs(mlflow_server, "live")
    parents.sort(key=lambda r: r.info.start_time)
    assert len(parents) == 2 and all(p.info.status == "FINISHED" for p in parents)  # one parent run per run
    assert all(p.data.tags["tunekit.role"] == "run" and p.data.tags["tunekit.database"] == db_url for p in parents)
    assert [r.data.tags["tunekit.trial_number"] for r in runs] == ["0", "1"]
    here = [r.data.tags["tunekit.worker"].rpartition(":")[2] == str(os.getpid()) for r in runs]
    assert here == [True, False]  # trial 1 trained in a worker process, logged from this one
    client = _client(mlflow_server)
    for run, trial in zip(runs, study.trials):
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        assert tags["mlflow.parentRunId"] == parents[trial.number].info.run_id and run.info.status == "FINISHED"
        assert tags["tunekit.study"] == "live" and tags["tunekit.state"] == "complete" and tags["tunekit.health"]
        assert {k: params[k] for k in trial.params} == {k: str(v) for k, v in trial.params.items()}
        assert params["n_layers"] == "1" and params["batch_size"] == "32"  # the fixed values too
        curve = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in curve] == sorted(trial.intermediate_values) == [0, 1]
        assert [m.value for m in curve] == pytest.approx([trial.intermediate_values[s] for s in (0, 1)])
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1]
        assert metrics["final/val_accuracy"] == pytest.approx(trial.value)
        assert metrics["train_seconds"] == pytest.approx(trial.user_attrs["train_seconds"])
        assert run.info.start_time == int(trial.datetime_start.timestamp() * 1000)
    best = [r.data.tags.get("tunekit.best") for r in runs]
    assert best[study.best_trial.number] == "true" and best.count("true") == 1
    assert parents[-1].data.tags["tunekit.best_trial"] == str(study.best_trial.number)
    link = optuna.load_study(study_name="live", storage=db_url).user_attrs["mlflow"]
    assert link["uri"] == mlflow_server and link["experiment_id"] == runs[0].info.experiment_id
    assert sorted(p.name for p in (tmp_path / "tb").iterdir() if p.is_dir()) == ["trial-0000", "trial-0001"]


def _stored(db_url: str, name: str) -> optuna.Study:
    """Three finished trials, no training: complete, pruned (with its reason), failed (with its reason)."""
    return stored_study(db_url, name, SPACE, [
        dict(params=PARAMS, value=0.9, intermediate_values={0: 0.8, 1: 0.9},
             user_attrs={"val_accuracy": 0.9, "val_loss": 0.3, "health": "ok"}),
        dict(params={**PARAMS, "units": 4}, state=TrialState.PRUNED, intermediate_values={0: 0.2},
             user_attrs={"pruned_reason": "pruned at epoch 1 (val_accuracy=0.2)"}),
        dict(params={**PARAMS, "units": 16}, state=TrialState.FAIL, value=None,
             user_attrs={"fail_reason": "loss became nan at epoch 1"}),
    ], fixed='{"n_layers": 1}')


def test_export_sends_each_trial_once(mlflow_server: str, db_url: str) -> None:
    study = _stored(db_url, "later")
    result = invoke("export", "later", "--storage", db_url, "--to", "mlflow", mlflow_server)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent 3 trials to MLflow at ") and "0 were there already" in result.output
    _, runs = _runs(mlflow_server, "later")
    assert [r.info.status for r in runs] == ["FINISHED", "KILLED", "FAILED"]
    assert runs[1].data.tags["tunekit.pruned_reason"].startswith("pruned at epoch 1")
    assert runs[2].data.tags["tunekit.fail_reason"] == "loss became nan at epoch 1"
    assert runs[0].data.tags["tunekit.best"] == "true" and runs[0].data.params["n_layers"] == "1"
    study.add_trial(optuna.trial.create_trial(params=PARAMS, distributions=SPACE.distributions(), value=0.95))
    again = invoke("export", "later", "--storage", db_url, "--to", "mlflow", mlflow_server)
    assert again.exit_code == 0 and "sent 1 trials" in again.output and "3 were there already" in again.output
    parents, runs = _runs(mlflow_server, "later")
    assert len(runs) == 4 and len(parents) == 2  # one parent run per export that sent something
    assert [r.data.tags.get("tunekit.best") for r in runs] == ["false", None, None, "true"]


def test_the_database_tag_never_holds_a_password(mlflow_server: str, db_url: str) -> None:
    from tunekit.tracking import export_study

    secret = "postgresql+psycopg://tunekit:s3cret@db-host/tunekit"
    export_study(_stored(db_url, "masked"), to="mlflow", where=mlflow_server, storage=secret)
    parents, runs = _runs(mlflow_server, "masked")
    for run in parents + runs:
        assert "s3cret" not in str(run.data.tags) and run.data.tags["tunekit.database"].endswith(":***@db-host/tunekit")


def test_an_unreachable_server_never_fails_a_trial_and_export_catches_up(mlflow_server: str, closed_port_url: str, db_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    study = tunekit.run(StudySpec(**TINY_SPEC, name="offline"), strategy="random", n_trials=2, storage=db_url,
                        mlflow=closed_port_url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("warning: MLflow at ")]
    assert len(warnings) == 1 and "retried" in warnings[0]
    assert "2 trials not logged to MLflow: " in err[-1] and f"--to mlflow {closed_port_url}" in err[-1]
    result = invoke("export", "offline", "--storage", db_url, "--to", "mlflow", mlflow_server)
    assert result.exit_code == 0 and result.output.startswith("sent 2 trials"), result.output
    saved = invoke("best", "offline", "--storage", db_url, "--save-model", "best.keras", "--mlflow", mlflow_server)
    assert saved.exit_code == 0, saved.output
    _, runs = _runs(mlflow_server, "offline")
    best = runs[study.best_trial.number]
    artifacts = _client(mlflow_server).list_artifacts(best.info.run_id, "model")
    assert sorted(a.path for a in artifacts) == ["model/best.json", "model/best.keras"]
    assert best.data.tags["tunekit.best"] == "true"
