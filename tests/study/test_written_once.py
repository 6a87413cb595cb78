"""Issue 12, defect 2: what was written more than once is written once.

The worker set-up (sampler + storage + runner + loop), Optuna's retry of a lost trial, the
"no study named" message, the tasks and their metrics, and trial counts by state.
"""

from __future__ import annotations

import ast
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from tunekit._errors import ConfigError
from tunekit._records import FAIL_REASON, INTERRUPTED, trial_counts

PACKAGE = Path(__file__).resolve().parents[2] / "tunekit"


def _imported(path: Path) -> set[str]:
    """Names ``path`` imports (``from m import name``, at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}


def test_worker_set_up_is_written_once() -> None:
    """run, join and the worker processes build a worker only through the bootstrap."""
    set_up = {"TrialRunner", "make_sampler", "join_study", "work"}
    callers = [PACKAGE / "study" / "_run.py", PACKAGE / "execution" / "_processes.py"]
    written = {p.name: sorted(set_up & _imported(p)) for p in callers}
    assert written == {"_run.py": [], "_processes.py": []}
    assert set_up <= _imported(PACKAGE / "execution" / "_bootstrap.py")


def test_lost_trials_are_retried_by_optunas_callback(db_url: str) -> None:
    from tunekit._records import kind_counts
    from tunekit.execution import _lost, retry_lost_trial

    callback = _lost._RETRY
    assert type(callback).__module__.startswith("optuna.storages")
    assert callback._max_retry == _lost.MAX_RETRIES == 3
    study = optuna.create_study(storage=db_url, study_name="s")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.5}, distributions=dist,
                                 user_attrs={FAIL_REASON: "worker lost (pid 1 on host h)", "seed": 7}))
    for _ in range(6):  # lost again and again: retried MAX_RETRIES times, then counted as one failure
        lost = study.trials[-1]
        retry_lost_trial(study, lost)
        if study.trials[-1].number == lost.number:
            break
        waiting = study.trials[-1]
        assert waiting.state == TrialState.WAITING and waiting.params == {"x": 0.5}
        assert waiting.user_attrs == {"seed": 7}  # no fail_reason carried to the retry
        study._storage.set_trial_state_values(waiting._trial_id, TrialState.RUNNING)
        study._storage.set_trial_user_attr(waiting._trial_id, FAIL_REASON, "worker lost")
        study._storage.set_trial_state_values(waiting._trial_id, TrialState.FAIL)
    assert len(study.trials) == 1 + 3
    assert study.trials[-1].system_attrs["retry_history"] == [0, 1, 2]
    assert kind_counts(study.trials)["lost"] == 3 and kind_counts(study.trials)["failed"] == 1


def test_no_study_message_is_one(db_url: str, tiny_study_file: Path) -> None:
    from tunekit._spec import load_spec
    from tunekit.storage._storage import load_study
    from tunekit.execution import join_study
    from tunekit.study import join

    optuna.create_study(storage=db_url, study_name="alpha")
    messages = []
    for attempt in (
        lambda: load_study("tiny", db_url),
        lambda: join_study(db_url, "tiny", sampler=optuna.samplers.RandomSampler(), pruner=None),
        lambda: join(load_spec(str(tiny_study_file)), storage=db_url),
    ):
        with pytest.raises(ConfigError) as info:
            attempt()
        messages.append(str(info.value))
    # one wording of what is wrong; only the commands that take --study-name suggest it (issue 27, item 21)
    assert len({m.split("; start it")[0] for m in messages}) == 1, messages
    assert all("no study named 'tiny'" in m and "studies there: alpha" in m for m in messages)
    assert "--study-name" not in messages[0] and "--study-name" in messages[1] and "--study-name" in messages[2]


def test_tasks_and_metrics_are_one_vocabulary() -> None:
    import tunekit.data
    import tunekit.factory
    from tunekit._records import METRICS_BY_TASK, TASKS
    from tunekit.factory._catalog import default_metric

    assert tunekit.data.TASKS is TASKS and tunekit.factory.TASKS is TASKS
    assert set(METRICS_BY_TASK) == set(TASKS)
    assert all(default_metric(task)[0] == METRICS_BY_TASK[task][0] for task in TASKS)
    sources = [p for p in PACKAGE.rglob("*.py") if p.name != "_records.py"]
    assert [p.name for p in sources if '"binary", "multiclass", "regression"' in p.read_text(encoding="utf-8")] == []


def _counting_by_state(path: Path) -> list[int]:
    """Lines of ``path`` that count trials by state by hand (``counts[t.state.name] = ...``)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign):  # each subscripted target (`a = counts[...] = ...` has two targets)
            if any("state.name" in ast.unparse(t.slice) for t in node.targets if isinstance(t, ast.Subscript)):
                lines.append(node.lineno)
    return lines


def test_trial_counts_have_one_implementation(db_url: str) -> None:
    by_hand = {str(p.relative_to(PACKAGE)): _counting_by_state(p) for p in PACKAGE.rglob("*.py") if p.name != "_records.py"}
    assert {k: v for k, v in by_hand.items() if v} == {}
    from tunekit.study import studies_frame

    study = optuna.create_study(storage=db_url, study_name="s")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for state, attrs in ((TrialState.COMPLETE, {}), (TrialState.PRUNED, {}), (TrialState.FAIL, {FAIL_REASON: "nan loss"}),
                         (TrialState.FAIL, {FAIL_REASON: INTERRUPTED})):
        study.add_trial(create_trial(state=state, value=0.5 if state == TrialState.COMPLETE else None, params={"x": 0.1},
                                     distributions=dist, user_attrs=attrs))
    assert trial_counts(study) == ({"complete": 1, "pruned": 1, "failed": 1}, {"interrupted": 1})
    row = studies_frame(db_url).iloc[0]
    assert (row["complete"], row["pruned"], row["failed"], row["running"]) == (1, 1, 2, 0)
