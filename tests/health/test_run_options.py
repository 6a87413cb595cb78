"""``--no-health`` and ``--prune-unhealthy`` from the CLI and from Python, and ``worker`` following the study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line

pytestmark = pytest.mark.slow


def _trials(url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).trials


def test_run_probes_every_trial_by_default(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--trials", "2", "--storage", db_url, "--strategy", "random")
    assert result.exit_code == 0, result.output
    trials = _trials(db_url)
    assert len(trials) == 2
    for trial in trials:
        assert trial.user_attrs["health"] in ("ok", "vanishing", "dead", "saturated", "stalled", "symmetric", "exploding")
        assert trial.user_attrs["health_series"]["layers"] == ["dense_0", "output"]
    study = optuna.load_study(study_name="tiny", storage=db_url)
    assert study.user_attrs["run"]["health"] is True and study.user_attrs["run"]["prune_unhealthy"] is False


def test_no_health_records_no_figures_and_a_worker_follows(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--trials", "1", "--storage", db_url, "--no-health")
    assert result.exit_code == 0, result.output
    result = invoke("worker", str(tiny_study_file), "--storage", db_url, "--trials", "2")
    assert result.exit_code == 0, result.output
    trials = _trials(db_url)
    assert len(trials) == 2
    assert not any(key.startswith("health") for t in trials for key in t.user_attrs)


def test_prune_unhealthy_without_health_is_refused_and_writes_nothing(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--no-health", "--prune-unhealthy")
    assert "--prune-unhealthy" in one_error_line(result)
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


def test_prune_unhealthy_from_python_prunes_a_constant_initialization(db_url: str) -> None:
    import tunekit
    from tunekit import Choice, StudySpec

    spec = StudySpec(data="iris", space={"initializer": Choice(["zeros", "he_normal"])},
                     fixed={"n_layers": 2, "units": 16}, epochs=4)
    study = tunekit.run(spec, strategy="grid", n_trials=2, storage=db_url, study_name="p", prune_unhealthy=True)
    by_init = {t.params["initializer"]: t for t in study.trials}
    zeros, he = by_init["zeros"], by_init["he_normal"]
    assert zeros.state == optuna.trial.TrialState.PRUNED
    assert zeros.user_attrs["pruned_reason"].startswith("unhealthy at epoch 1: symmetric")
    assert len(zeros.intermediate_values) == 1  # one epoch of four
    assert he.state == optuna.trial.TrialState.COMPLETE and len(he.intermediate_values) == 4
    assert study.user_attrs["run"]["prune_unhealthy"] is True
