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
* **warm-start** (``WARM_START``): a finished trial copied from another study
  (``run --warm-start NAME``, e.g. an imported keras-tuner search) to seed the strategy; it
  was not run by this study, so it does not count.
* **confirmation** (``CONFIRMS``): a finished trial that trains one of the best configurations
  again with a new seed after the search (``run --confirm K``); counted apart, not toward
  ``--trials``. An interrupted or lost one is told apart as below, and queued again.
* **repeat** (``REPEATS``): a search trial that trains a configuration again with a new seed
  (the strategy option ``intensify``); it counts like any search trial.
* **stopped** (``STOPPED_RUN``): the run stopped during the trial, on a configuration or
  strategy error (exit 2) or a heartbeat that could not be recorded (exit 1); its
  ``fail_reason`` says why. It does not count, so the corrected command runs the whole budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError

#: Trial user attr: the number of the search trial whose configuration a confirmation trial trains
#: again with a new seed (``run --confirm K``, ``tunekit._confirm``).
CONFIRMS = "confirms"
#: Trial user attr: the number of the trial whose configuration a noise-aware search trains again
#: with a new seed (strategy option ``intensify``, ``tunekit.strategies._intensify``); it counts.
REPEATS = "repeats"
#: Trial user attr: the study a warm-start trial was copied from (``run --warm-start NAME``).
WARM_START = "warm_start"
#: Trial user attr: why a FAILED trial failed (one line).
FAIL_REASON = "fail_reason"
#: The ``fail_reason`` of a trial stopped by Ctrl-C or SIGTERM (it does not count).
INTERRUPTED = "interrupted"
#: Trial user attr: ``host:pid`` of the worker that ran it.
WORKER_ATTR = "worker"
#: Trial user attr, True on a trial failed because the run stopped during it (a configuration
#: or strategy error, a heartbeat that could not be recorded): it does not count.
STOPPED_RUN = "stopped_run"
#: Trial user attr: why a PRUNED trial was stopped (the pruner's rule, or ``--prune-unhealthy``'s diagnosis).
PRUNED_REASON = "pruned_reason"
#: Trial system attrs of a retried trial, the names Optuna's retry callback uses.
RETRY_HISTORY = "retry_history"
FAILED_TRIAL = "failed_trial"
#: Trial system attr: the grid point (its index) a grid trial evaluates; a retry keeps it.
GRID_POINT = "tunekit:grid_id"
#: Study user attr: how the study was started (strategy, budget, ...), read by workers.
RUN_ATTR = "run"
#: The states of a finished trial.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: The learning tasks, and the validation metrics a study of each task records (the first is
#: the default objective; regression's all but ``val_loss`` in the target's units).
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "binary": ("val_accuracy", "val_loss"),
    "multiclass": ("val_accuracy", "val_loss"),
    "regression": ("val_rmse", "val_mae", "val_mse", "val_loss"),
}
#: What a trial is to the budget (``trial_kind``), in the order the counts are shown.
KINDS = ("complete", "pruned", "failed", "interrupted", "lost", "stopped", "confirmation", "warm-start", "running",
         "waiting")
#: The kinds that count toward ``--trials``.
COUNTED = ("complete", "pruned", "failed")


@dataclass(frozen=True)
class Budget:
    """Trials of a study as the budget sees them."""

    counted: int
    running: int
    waiting: int


def retried_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of the trials lost with their worker and retried (their copies' ``retry_history``)."""
    return {n for t in trials for n in t.system_attrs.get(RETRY_HISTORY, ())}


def trial_kind(trial: FrozenTrial, retried: set[int]) -> str:
    """One of ``KINDS``: the trial's state, with a FAIL told apart as ``failed`` (counts),
    ``interrupted`` or ``lost`` (do not count), a finished ``confirmation`` and a copied
    ``warm-start`` trial (do not count);
    ``retried`` from ``retried_numbers``."""
    if trial.user_attrs.get(WARM_START):
        return "warm-start"
    if trial.state == TrialState.FAIL:
        if trial.user_attrs.get(FAIL_REASON) == INTERRUPTED:
            return "interrupted"
        if trial.user_attrs.get(STOPPED_RUN):
            return "stopped"
        if trial.number in retried:
            return "lost"
    if CONFIRMS in trial.user_attrs and trial.state in FINISHED:
        return "confirmation"
    return "failed" if trial.state == TrialState.FAIL else trial.state.name.lower()


def kind_counts(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    """Trials by ``trial_kind``, every kind of ``KINDS`` present (zero when none): the one
    counter of trials by state that the budget, the summaries and the tables use.

    Example:
        >>> kind_counts([])["complete"]
        0
    """
    retried = retried_numbers(trials)
    counts = dict.fromkeys(KINDS, 0)
    for t in trials:
        kind = trial_kind(t, retried)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def budget(trials: Sequence[FrozenTrial], ignore_running: Iterable[int] = ()) -> Budget:
    """Count ``trials`` by the rules in the module docstring (the sums of ``split_counts``);
    RUNNING trials whose id is in ``ignore_running`` (orphans nobody waits for) are left out.

    Example:
        >>> from optuna.trial import TrialState, create_trial
        >>> done = create_trial(value=0.9)
        >>> stopped = create_trial(state=TrialState.FAIL, user_attrs={FAIL_REASON: INTERRUPTED})
        >>> broken = create_trial(state=TrialState.FAIL, user_attrs={FAIL_REASON: "loss is NaN"})
        >>> budget([done, stopped, broken])  # the interrupted trial does not count
        Budget(counted=2, running=0, waiting=0)
    """
    ignore = set(ignore_running)
    counted, other = split_counts([t for t in trials if t._trial_id not in ignore or t.state != TrialState.RUNNING])
    return Budget(sum(counted.values()), other.get("running", 0), other.get("waiting", 0))


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward the study's ``--trials`` budget."""
    return budget(study.get_trials(deepcopy=False)).counted


def split_counts(trials: Sequence[FrozenTrial]) -> tuple[dict[str, int], dict[str, int]]:
    """``trials`` as the ``--trials`` budget sees them (rules in the module docstring), the one
    place ``COUNTED`` is applied: ``({"complete", "pruned", "failed": n}, {"interrupted",
    "lost", "stopped", "running", "waiting": n})``, counted and not counted, zero counts left out."""
    counts = kind_counts(trials)
    counted = {k: n for k, n in counts.items() if n and k in COUNTED}
    return counted, {k: n for k, n in counts.items() if n and k not in COUNTED}


def trial_counts(study: optuna.Study) -> tuple[dict[str, int], dict[str, int]]:
    """The study's trials, counted and not counted (``split_counts``); ``budget`` is their sums."""
    return split_counts(study.get_trials(deepcopy=False))


def fail_reason(trial: FrozenTrial) -> str | None:
    """Why a FAILED trial failed, as stored by the runner."""
    return trial.user_attrs.get(FAIL_REASON)


def require_complete_trial(study: optuna.Study, trials: list[FrozenTrial] | None = None) -> dict[str, int]:
    """Trials by kind (``kind_counts``); ConfigError saying so when no trial completed
    (nothing to report or retrain)."""
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    counts = kind_counts(trials)
    if counts["complete"]:
        return counts
    if not trials:
        raise ConfigError(f"study {study.study_name!r} has no trials yet; run `tunekit run STUDY_FILE` first")
    failed = counts["failed"] + counts["interrupted"] + counts["lost"] + counts["stopped"]
    detail = f"{failed} failed, {counts['pruned']} pruned, {counts['running'] + counts['waiting']} running"
    raise ConfigError(
        f"study {study.study_name!r} has no finished trial ({detail}); see why with `tunekit trials {study.study_name}`"
    )
