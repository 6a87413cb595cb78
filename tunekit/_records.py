"""What tunekit records on trials and studies, and how trials count: a leaf module.

The attribute names below are the study database's vocabulary: the runner and the workers
write them, the budget, the reports, the CLI and the strategies read them. Nothing here
imports another tunekit module but ``tunekit._errors``.

What counts toward ``--trials N`` (the study's budget, summed over every worker): a trial
counts when it is COMPLETE, PRUNED or FAIL, except a FAIL lost to the infrastructure rather
than to its own parameters:

* **interrupted** (Ctrl-C or SIGTERM): marked FAIL with ``fail_reason`` ``interrupted``;
  it does not count, so running the same command again runs one more trial instead.
* **lost with its worker** (killed, machine gone): its heartbeat stops, and the next worker
  that looks, after the grace period, marks it FAIL (``fail_reason`` ``worker lost (pid P
  on host H)``, see ``tunekit.execution._lost``) and queues a retry, a WAITING copy with
  the same parameters. The lost trial does not count; the retry counts when it finishes. A
  trial lost more than ``MAX_RETRIES`` times (``tunekit.execution._lost``) is not retried
  again and counts as one failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError

#: Trial user attr: why a FAILED trial failed (one line).
FAIL_REASON = "fail_reason"
#: The ``fail_reason`` of a trial stopped by Ctrl-C or SIGTERM (it does not count).
INTERRUPTED = "interrupted"
#: Trial user attr: ``host:pid`` of the worker that ran it.
WORKER_ATTR = "worker"
#: Trial system attrs of a retried trial, the names Optuna's retry callback uses.
RETRY_HISTORY = "retry_history"
FAILED_TRIAL = "failed_trial"
#: Study user attr: how the study was started (strategy, budget, ...), read by workers.
RUN_ATTR = "run"
#: The states of a finished trial.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class Budget:
    """Trials of a study as the budget sees them."""

    counted: int
    running: int
    waiting: int


def budget(trials: Sequence[FrozenTrial], ignore_running: Iterable[int] = ()) -> Budget:
    """Count ``trials`` by the rules in the module docstring.

    Example:
        >>> budget(study.get_trials(deepcopy=False)).counted  # doctest: +SKIP
        12
    """
    retried: set[int] = set()
    for t in trials:
        retried.update(t.system_attrs.get(RETRY_HISTORY, ()))
    ignore = set(ignore_running)
    counted = running = waiting = 0
    for t in trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            counted += 1
        elif t.state == TrialState.FAIL:
            counted += int(t.user_attrs.get(FAIL_REASON) != INTERRUPTED and t.number not in retried)
        elif t.state == TrialState.RUNNING:
            running += int(t._trial_id not in ignore)
        elif t.state == TrialState.WAITING:
            waiting += 1
    return Budget(counted, running, waiting)


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward the study's ``--trials`` budget."""
    return budget(study.get_trials(deepcopy=False)).counted


def trial_counts(study: optuna.Study) -> tuple[dict[str, int], dict[str, int]]:
    """The study's trials as the ``--trials`` budget sees them (rules in the module docstring):
    ``({"complete", "pruned", "failed": n}, {"interrupted", "lost", "running", "waiting": n})``,
    counted and not counted, zero counts left out."""
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get(RETRY_HISTORY, ())}
    counted: dict[str, int] = {}
    other: dict[str, int] = {}
    for t in trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            key, into = t.state.name.lower(), counted
        elif t.state == TrialState.FAIL and t.user_attrs.get(FAIL_REASON) == INTERRUPTED:
            key, into = "interrupted", other
        elif t.state == TrialState.FAIL and t.number in retried:
            key, into = "lost", other
        elif t.state == TrialState.FAIL:
            key, into = "failed", counted
        else:
            key, into = t.state.name.lower(), other
        into[key] = into.get(key, 0) + 1
    order = ("complete", "pruned", "failed", "interrupted", "lost", "running", "waiting")
    return ({k: counted[k] for k in order if k in counted}, {k: other[k] for k in order if k in other})


def fail_reason(trial: FrozenTrial) -> str | None:
    """Why a FAILED trial failed, as stored by the runner."""
    return trial.user_attrs.get(FAIL_REASON)


def require_complete_trial(study: optuna.Study, trials: list[FrozenTrial] | None = None) -> dict[str, int]:
    """Trials by state; ConfigError saying so when no trial completed (nothing to report or retrain)."""
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    counts = {s: 0 for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    if counts["COMPLETE"]:
        return counts
    if not trials:
        raise ConfigError(f"study {study.study_name!r} has no trials yet; run `tunekit run STUDY_FILE` first")
    failed = f"{counts['FAIL']} failed, {counts['PRUNED']} pruned, {counts['RUNNING'] + counts['WAITING']} running"
    raise ConfigError(
        f"study {study.study_name!r} has no finished trial ({failed}); see why with `tunekit trials {study.study_name}`"
    )
