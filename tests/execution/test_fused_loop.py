"""Fused execution (``run --fuse K``): each member of a fused group is a whole trial.

Real Keras training on iris (120 training rows), real SQLite study databases, a real SIGINT (the
rerun after it is the CLI in-process) and a real SIGKILL.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import tunekit
from tests.conftest import ctrl_c_when, invoke, trials_reader
from tunekit import Choice, Float, Int, StudySpec
from tunekit._records import FAIL_REASON, INTERRUPTED, PRUNED_REASON
from tunekit.data import load_data
from tunekit.execution import TrialRunner, trial_seed
from tunekit.health import DIAGNOSES
from tunekit.execution._fused import FUSED_GROUP, FUSED_MEMBER, FUSED_SIZE, fused_summary, work_fused

pytestmark = pytest.mark.slow

IRIS = load_data("iris", seed=0)
SPACE = {"learning_rate": Float(1e-3, 1e-1, log=True), "units": Int(4, 16)}
FIXED = {"n_layers": 1, "batch_size": 16}


def _spec(epochs: int = 2, space=None, fixed=None) -> StudySpec:
    return StudySpec(data="iris", space=space or SPACE, fixed=fixed or FIXED, epochs=epochs, name="fused")


def test_every_member_of_a_fused_run_is_a_whole_trial(db_url: str) -> None:
    study = tunekit.run(_spec(), strategy="random", n_trials=8, storage=db_url, fuse=4, seed=3)
    trials = optuna.load_study(study_name="fused", storage=db_url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert len({(t.params["learning_rate"], t.params["units"]) for t in trials}) == 8  # each its own parameters
    groups: dict[int, list[int]] = {}
    for t in trials:
        attrs = t.user_attrs
        groups.setdefault(attrs[FUSED_GROUP], []).append(attrs[FUSED_MEMBER])
        assert attrs[FUSED_SIZE] == 4
        assert attrs["seed"] == trial_seed(3, t.number)
        assert sorted(t.intermediate_values) == [0, 1] and attrs["epochs_run"] == 2
        assert attrs["train_seconds"] > 0
        assert attrs["param_count"] == 4 * t.params["units"] + t.params["units"] + t.params["units"] * 3 + 3
        assert {"val_accuracy", "val_loss", "train_accuracy", "train_loss", "strategy", "worker"} <= set(attrs)
        assert t.value == pytest.approx(attrs["val_accuracy"])
        assert t.intermediate_values[1] == pytest.approx(attrs["val_accuracy"])  # last epoch's = final evaluation
        assert attrs["health"] in DIAGNOSES and attrs["health_series"]["epochs"] == [0, 1, 2]  # probed in the group
    assert sorted(map(sorted, groups.values())) == [[0, 1, 2, 3], [0, 1, 2, 3]]
    assert fused_summary(study) == "fused: 8 of 8 trials trained in 2 fused groups"


def test_a_fused_batch_never_claims_past_the_budget_and_a_rerun_resumes(db_url: str) -> None:
    tunekit.run(_spec(), strategy="random", n_trials=3, storage=db_url, fuse=4)
    first = optuna.load_study(study_name="fused", storage=db_url).trials
    assert len(first) == 3 and {t.user_attrs[FUSED_SIZE] for t in first} == {3}
    tunekit.run(_spec(), strategy="random", n_trials=5, storage=db_url, fuse=4)
    trials = optuna.load_study(study_name="fused", storage=db_url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    assert [t.user_attrs[FUSED_SIZE] for t in trials[3:]] == [2, 2]  # only what the budget left


def test_confirmation_runs_are_fused_too_and_never_pruned(db_url: str) -> None:
    from tunekit._records import CONFIRMS

    tunekit.run(_spec(), strategy="random", n_trials=4, storage=db_url, fuse=4, confirm=1, repeats=2)
    trials = optuna.load_study(study_name="fused", storage=db_url).trials
    confirming = [t for t in trials if CONFIRMS in t.user_attrs]
    assert len(trials) == 6 and len(confirming) == 2
    assert [t.state for t in confirming] == [TrialState.COMPLETE] * 2
    assert {t.user_attrs[FUSED_SIZE] for t in confirming} == {2}  # the two repeats, one group of their own
    assert len({t.user_attrs[FUSED_GROUP] for t in confirming}) == 1
    assert len({t.user_attrs["seed"] for t in trials}) == 6  # new seeds for the repeats


def test_a_grid_batch_stops_at_the_grid_s_points(db_url: str) -> None:
    space = {"learning_rate": Choice([0.01, 0.02, 0.05])}
    tunekit.run(_spec(epochs=1, space=space), strategy="grid", n_trials=10, storage=db_url, fuse=4)
    trials = optuna.load_study(study_name="fused", storage=db_url).trials
    assert sorted(t.params["learning_rate"] for t in trials) == [0.01, 0.02, 0.05]  # each point once, no more
    assert [t.user_attrs[FUSED_SIZE] for t in trials] == [3, 3, 3]


def test_prune_unhealthy_prunes_one_member_and_its_group_goes_on(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    space = {"initializer": Choice(["zeros", "glorot_uniform"])}
    tunekit.run(_spec(epochs=3, space=space), strategy="grid", n_trials=2, storage=db_url, fuse=2, prune_unhealthy=True)
    assert "note:" not in capsys.readouterr().err  # fused, not sent back to one trial at a time
    trials = {t.params["initializer"]: t for t in optuna.load_study(study_name="fused", storage=db_url).trials}
    assert {t.user_attrs[FUSED_SIZE] for t in trials.values()} == {2}
    zeros, glorot = trials["zeros"], trials["glorot_uniform"]
    assert zeros.state == TrialState.PRUNED and zeros.user_attrs["health"] == "symmetric"
    assert zeros.user_attrs[PRUNED_REASON].startswith("unhealthy at epoch 1: symmetric: ")
    assert sorted(zeros.intermediate_values) == [0]  # stopped after its first epoch
    assert glorot.state == TrialState.COMPLETE and glorot.user_attrs["epochs_run"] == 3


def _work(db_url: str, spec: StudySpec, enqueued: list[dict], *, fuse: int, pruner=None) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.RDBStorage(db_url)
    study = optuna.create_study(storage=storage, direction="maximize", pruner=pruner, study_name="fused",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    for params in enqueued:
        study.enqueue_trial(params)
    runner = TrialRunner(spec=spec, dataset=IRIS, metric="val_accuracy", seed=0, health=False)
    assert work_fused(study, storage, runner, fuse=fuse, target=len(enqueued), heartbeat=None) == "done"
    return optuna.load_study(study_name="fused", storage=db_url).trials


def test_a_diverging_member_fails_alone_and_its_group_goes_on(db_url: str) -> None:
    spec = _spec(epochs=2, space={"learning_rate": Choice([1e12, 1e-2, 2e-2, 5e-2])},
                 fixed={"n_layers": 2, "units": 16, "optimizer": "sgd", "batch_size": 16})
    trials = _work(db_url, spec, [{"learning_rate": lr} for lr in (1e-2, 1e12, 2e-2, 5e-2)], fuse=4)
    assert len({t.user_attrs[FUSED_GROUP] for t in trials}) == 1
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    reason = trials[1].user_attrs[FAIL_REASON]
    assert "learning_rate" in reason or "diverged" in reason, reason
    assert all(t.value is not None and t.value > 0 for t in trials if t.state == TrialState.COMPLETE)


def test_the_pruner_stops_one_member_and_keeps_its_curve(db_url: str) -> None:
    spec = _spec(epochs=6, space={"learning_rate": Choice([0.05, 1e-7]), "optimizer": Choice(["adam", "sgd"])},
                 fixed={"n_layers": 1, "units": 32, "batch_size": 16})
    good, bad = {"learning_rate": 0.05, "optimizer": "adam"}, {"learning_rate": 1e-7, "optimizer": "sgd"}
    pruner = optuna.pruners.ThresholdPruner(lower=0.6, n_warmup_steps=1)  # chance is 1/3: the bad member stays there
    trials = _work(db_url, spec, [good, bad, good, good], fuse=4, pruner=pruner)
    assert len({t.user_attrs[FUSED_GROUP] for t in trials}) == 1
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.COMPLETE, TrialState.COMPLETE]
    pruned = trials[1]
    assert pruned.user_attrs[PRUNED_REASON].startswith("pruned at epoch 2")
    assert sorted(pruned.intermediate_values) == [0, 1] and pruned.user_attrs["epochs_run"] == 2
    assert sorted(trials[3].intermediate_values) == list(range(6))  # its neighbour trained on


def test_best_save_model_of_a_fused_study_reproduces_its_trial(db_url: str, tmp_path: Path) -> None:
    import keras

    from tunekit.predict import raw_split
    from tunekit.study import save_best_model

    study = tunekit.run(_spec(epochs=3), strategy="random", n_trials=4, storage=db_url, fuse=4, seed=1)
    info = save_best_model(study, tmp_path / "best.keras")
    assert info["reproduced"], info["notes"]
    model = keras.models.load_model(tmp_path / "best.keras")
    raw = raw_split("iris", seed=0)  # the saved model takes raw columns by name and returns probabilities
    val = raw.features.iloc[raw.val]
    accuracy = float((model.predict({c: val[c].to_numpy() for c in val}, verbose=0).argmax(axis=1) == IRIS.y_val).mean())
    assert accuracy == pytest.approx(study.best_value, abs=1e-6)


STUDY_FILE = """
from tunekit import Float, Int, StudySpec
spec = StudySpec(data="iris", space={"learning_rate": Float(1e-3, 1e-1, log=True), "units": Int(4, 16)},
                 fixed={"n_layers": 1, "batch_size": 8}, epochs=EPOCHS)
"""


def test_ctrl_c_marks_every_running_member_interrupted_and_a_rerun_resumes(tmp_path: Path) -> None:
    study_file = tmp_path / "iris_fused.py"
    study_file.write_text(STUDY_FILE.replace("EPOCHS", "60"))
    url = f"sqlite:///{tmp_path / 'ctrl_c.db'}"
    args = ["run", str(study_file), "--trials", "4", "--fuse", "4", "--storage", url, "--no-health"]

    trials = trials_reader(url, "iris_fused")

    def four_training() -> bool:
        found = [t for t in trials() if t.state == TrialState.RUNNING and FUSED_GROUP in t.user_attrs]
        return len(found) == 4 and all(t.intermediate_values for t in found)

    with ctrl_c_when(four_training):  # a real SIGINT, to this process, once the four members train
        interrupted = invoke(*args)
    assert interrupted.exit_code == 130, interrupted.output
    stopped = trials()
    assert [(t.state, t.user_attrs.get(FAIL_REASON)) for t in stopped] == [(TrialState.FAIL, INTERRUPTED)] * 4
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert "fused: 4 of 4 trials trained in 1 fused group" in again.output  # the interrupted ones do not count
    assert [t.state for t in trials()][4:] == [TrialState.COMPLETE] * 4


def test_after_a_write_cut_short_every_member_is_still_failed_interrupted(db_url: str) -> None:
    """A Ctrl-C inside a member's storage write (a report) leaves the session's connection gone
    mid-transaction; the next write fails once, rolling it back. Every member not told is still
    failed ``interrupted`` (CI once saw the first member left RUNNING by the Ctrl-C test above)."""
    import sqlalchemy

    from tunekit.execution._fused import _Batch
    from tunekit.execution._signals import Interrupts
    from tunekit.storage._storage import open_storage

    storage = open_storage(db_url, create=True)
    study = optuna.create_study(storage=storage, study_name="cut")
    trials = [study.ask() for _ in range(3)]
    session = storage.scoped_session()
    session.execute(sqlalchemy.text("SELECT 1"))
    session.connection().invalidate()  # what a write interrupted between its statements leaves
    _Batch(study, storage, None, trials, (), None, Interrupts(), 0.0)._fail_rest(INTERRUPTED)
    stopped = optuna.load_study(study_name="cut", storage=db_url).trials
    assert [(t.state, t.user_attrs.get(FAIL_REASON)) for t in stopped] == [(TrialState.FAIL, INTERRUPTED)] * 3


def test_a_killed_fused_worker_s_members_are_all_retried(tmp_path: Path) -> None:
    import os

    sys.path.insert(0, str(Path(__file__).parent / "workers"))
    from workers_helpers import TUNEKIT, start, trials, wait_for

    study_file = tmp_path / "iris_fused.py"
    study_file.write_text(STUDY_FILE.replace("EPOCHS", "60"))
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    args = [*TUNEKIT, "run", str(study_file), "--trials", "4", "--fuse", "4", "--storage", url, "--no-health",
            "--heartbeat", "1", "--grace-period", "3"]
    proc = start(args)
    wait_for("four fused members training", lambda: len([
        t for t in trials(url, "iris_fused") if t.state == TrialState.RUNNING and t.intermediate_values]) == 4,
        timeout=120, procs=(proc,))
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    again = invoke(*args[len(TUNEKIT):])  # the rerun in-process: the killed process is what is tested
    assert again.exit_code == 0, again.output
    out = again.output
    everything = trials(url, "iris_fused")
    lost = [t for t in everything if t.state == TrialState.FAIL]
    assert len(lost) == 4 and all(t.user_attrs[FAIL_REASON].startswith("worker lost") for t in lost)
    retried = [t for t in everything if t.state == TrialState.COMPLETE]
    assert sorted(t.params["units"] for t in retried) == sorted(t.params["units"] for t in lost)  # the same members
    assert len({t.user_attrs[FUSED_GROUP] for t in retried}) == 1
    assert "fused: 4 of 4 trials trained in 1 fused group" in out


def test_each_group_s_trials_are_reported_when_their_group_ends(db_url: str) -> None:
    space = {"batch_size": Choice([16, 32]), "learning_rate": Float(1e-3, 1e-1, log=True)}
    seen: list[tuple[int, int]] = []  # (trial told, trials of the batch still running then)

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        seen.append((trial.number, len(running)))

    tunekit.run(_spec(epochs=1, space=space, fixed={"n_layers": 1}), strategy="grid", n_trials=4, storage=db_url,
                fuse=4, on_trial=on_trial)
    assert sorted(n for n, _ in seen) == [0, 1, 2, 3]
    assert [r for _, r in seen[:2]] == [2, 2]  # the first group's two, told while the other group waits
    assert [r for _, r in seen[2:]] == [0, 0]


def test_an_on_trial_that_stops_the_run_mid_batch_leaves_the_rest_interrupted(db_url: str) -> None:
    space = {"batch_size": Choice([16, 32]), "learning_rate": Float(1e-3, 1e-1, log=True)}

    class Enough(Exception):
        pass

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        raise Enough

    with pytest.raises(Enough):
        tunekit.run(_spec(epochs=1, space=space, fixed={"n_layers": 1}), strategy="grid", n_trials=4,
                    storage=db_url, fuse=4, on_trial=on_trial)
    trials = optuna.load_study(study_name="fused", storage=db_url).trials
    states = sorted((t.state, t.user_attrs.get(FAIL_REASON)) for t in trials)
    assert [s for s in states if s[0] == TrialState.COMPLETE] != []
    assert not any(t.state == TrialState.RUNNING for t in trials)  # none left for a heartbeat to find lost
    assert sum(t.user_attrs.get(FAIL_REASON) == INTERRUPTED for t in trials) == 2  # the group not trained yet
