"""What counts toward ``--trials`` (tunekit._records.budget), on hand-made trials."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState, create_trial

from tunekit._records import budget
from tunekit.execution import retry_lost_trial


def _trial(number: int, state: TrialState, **attrs: object) -> optuna.trial.FrozenTrial:
    t = create_trial(state=state, value=1.0 if state == TrialState.COMPLETE else None,
                     user_attrs=dict(attrs.get("user", {})), system_attrs=dict(attrs.get("system", {})))
    t.number = number
    t._trial_id = number
    return t


def test_counting_rules() -> None:
    trials = [
        _trial(0, TrialState.COMPLETE),
        _trial(1, TrialState.PRUNED),
        _trial(2, TrialState.FAIL, user={"fail_reason": "loss became nan at epoch 3"}),  # its own fault: counts
        _trial(3, TrialState.FAIL, user={"fail_reason": "interrupted"}),  # Ctrl-C: does not count
        _trial(4, TrialState.FAIL),  # lost with its worker ...
        _trial(5, TrialState.COMPLETE, system={"failed_trial": 4, "retry_history": [4]}),  # ... and retried: counts once
        _trial(6, TrialState.FAIL),  # lost, its retry still waiting
        _trial(7, TrialState.WAITING, system={"failed_trial": 6, "retry_history": [6]}),
        _trial(8, TrialState.RUNNING),
    ]
    assert budget(trials) == budget(trials[::-1])
    counts = budget(trials)
    assert (counts.counted, counts.running, counts.waiting) == (4, 1, 1)
    assert budget(trials, ignore_running=[8]).running == 0


def test_retry_keeps_params_and_drops_the_old_reason() -> None:
    study = optuna.create_study()
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.5},
                                 distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                                 user_attrs={"fail_reason": "interrupted", "seed": 3}, system_attrs={"tunekit:grid_id": 7}))
    lost = study.trials[0]
    retry_lost_trial(study, lost)
    retry = study.trials[1]
    assert retry.state == TrialState.WAITING and retry.params == {"x": 0.5}
    assert retry.system_attrs["retry_history"] == [0] and retry.system_attrs["tunekit:grid_id"] == 7
    assert "fail_reason" not in retry.user_attrs and retry.user_attrs["seed"] == 3
    for _ in range(5):  # a trial lost again and again is retried at most MAX_RETRIES times
        retry_lost_trial(study, study.trials[-1])
    assert len(study.trials) == 4
