"""Fused execution (``run --fuse K``): one worker claims up to K trials and trains them as one network.

The loop is ``tunekit.execution._loop.work``'s, with a batch claimed under the study lock: up to
K trials, never more than the budget leaves (``--trials``, a grid's points, the confirmation
trials still queued), each asked from the study's strategy in turn. Every trial's parameters
are sampled and resolved; members the factory's core cannot fuse (``unfusable_reason``) train
alone through the ordinary ``TrialRunner``; the others are grouped (``fused_groups``: at least
the same batch size) and each group trains with ``fit_fused``.

Each member stays a whole trial: its own parameters and training seed (``trial_seed``, as the
runner derives it), a report of the study metric after every epoch (regression metrics in the
target's units), pruning (the member stops, its group goes on), its final metrics and share of
the training time, FAIL with the core's reason when its loss diverged, heartbeats while the
group trains, and ``fused_group`` (the number of the group's first trial), ``fused_member``
(its index), ``fused_size`` and ``fused_shuffle_seed`` (the batch order the group shared), so
``best --save-model`` retrains the group and saves this member. Ctrl-C marks every running
member FAIL ``interrupted``; a configuration error stops the run after failing every member.

Health: every member is probed as an unfused trial is (``tunekit.execution._fused_health``:
one pass of the whole group per probe) and stores its figures and diagnosis; with
``--prune-unhealthy`` a member diagnosed exploding, dead or symmetric is pruned with the
diagnosis as its reason while its group goes on.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError, TrialError
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, PRUNED_REASON, REPEATS, WORKER_ATTR
from tunekit.storage._storage import study_lock
from tunekit.execution._loop import DEFAULT_HEARTBEAT, OnTrial, _ask, _decide, _Heartbeat, _run_one, drive
from tunekit.execution._signals import Interrupts, WorkerStopped
from tunekit.execution._trial import one_line, out_of_memory, record_threads, stop_run

if TYPE_CHECKING:
    from tunekit.execution._runner import TrialRunner

#: Trial user attrs of a fused member: its group (the number of the group's first trial), its
#: index in the group, the group's size and the seed of the batch order the group shared.
FUSED_GROUP, FUSED_MEMBER, FUSED_SIZE, FUSED_SHUFFLE = "fused_group", "fused_member", "fused_size", "fused_shuffle_seed"


def core() -> Any:
    """The factory's fused core: ``fit_fused``, ``fused_groups``, ``unfusable_reason``."""
    from tunekit.factory import _fused

    return _fused


def unfused_reason(*, own_model: bool) -> str | None:
    """Why a run asked to fuse trains unfused (a note for the user), None when it can fuse."""
    if own_model:
        return "--fuse needs the model factory; a study with its own build(hp) or HyperModel trains unfused"
    return None


def work_fused(
    study: optuna.Study, storage: Any, runner: "TrialRunner", *, fuse: int, target: int, timeout: float | None = None,
    catch: tuple[type[Exception], ...] = (TrialError,), on_trial: OnTrial | None = None,
    heartbeat: int | None = DEFAULT_HEARTBEAT, grace_period: int | None = None, interrupts: Interrupts | None = None,
    keep_going: Callable[[], bool] | None = None, poll: float = 1.0, db_retry: float | None = None,
    confirm: tuple[int, int] | None = None,
) -> str:
    """``tunekit.execution.work`` with up to ``fuse`` trials claimed and trained at once (module
    docstring); returns why it stopped: ``done``, ``exhausted``, ``timeout`` or ``stopped``."""
    def claim(retry: Any, grace: float) -> tuple[str, list[optuna.Trial]]:
        found: dict[str, Any] = {}
        retry.call(claim_batch, found, study, storage, target, grace, heartbeat, confirm, fuse)
        return found["decision"], found["trials"]

    def run(trials: list[optuna.Trial], interrupts: Interrupts, grace: float) -> Iterator[FrozenTrial]:
        return _Batch(study, storage, runner, trials, catch, heartbeat, interrupts, grace).run()

    return drive(study, storage, claim, run, timeout=timeout, on_trial=on_trial, heartbeat=heartbeat,
                 grace_period=grace_period, interrupts=interrupts, keep_going=keep_going, poll=poll, db_retry=db_retry)


def claim_batch(claim: dict[str, Any], study: optuna.Study, storage: Any, target: int, grace: float,
                heartbeat: int | None, confirm: tuple[int, int] | None, size: int) -> None:
    """Under the study lock, ask for up to ``size`` trials while the budget says ``run`` (the
    decision is taken again after each, so the budget, a grid's points and the confirmation
    queue bound the batch). Results go into ``claim`` as they come: a retry after a lost
    connection goes on with the batch instead of asking for it twice."""
    trials = claim.setdefault("trials", [])
    if claim.get("complete"):
        return
    with study_lock(storage, study._study_id):
        while len(trials) < size:
            claim["decision"] = _decide(study, storage, target, grace, confirm)
            if claim["decision"] != "run":
                break
            with warnings.catch_warnings():  # this loop runs the heartbeats itself
                warnings.simplefilter("ignore", UserWarning)
                trial = _ask(study)
            trials.append(trial)
            if heartbeat:
                storage.record_heartbeat(trial._trial_id)
    claim["complete"] = True


class _Batch:
    """The claimed trials of one batch: sample, group, train, tell."""

    def __init__(self, study: optuna.Study, storage: Any, runner: "TrialRunner", trials: list[optuna.Trial],
                 catch: tuple[type[Exception], ...], heartbeat: int | None, interrupts: Interrupts, grace: float) -> None:
        self.study, self.storage, self.runner, self.trials = study, storage, runner, trials
        self.catch, self.heartbeat, self.interrupts, self.grace = catch, heartbeat, interrupts, grace
        self.told: set[int] = set()

    def run(self) -> Iterator[FrozenTrial]:
        """Train the batch, yielding each finished trial as soon as it is told (a group's members
        when their group ends), so that ``on_trial`` (progress, a callback) need not wait for the
        whole batch. KeyboardInterrupt, ConfigError and WorkerStopped are raised after every member
        not told yet is failed with its reason; a caller that stops early (its ``on_trial``
        raised) leaves the members not trained yet FAIL ``interrupted``, as a Ctrl-C would."""
        with contextlib.ExitStack() as beats:
            for trial in self.trials:  # every claimed trial beats until it is told
                beats.enter_context(_Heartbeat(self.storage, trial, self.heartbeat, self.grace, self.interrupts))
            try:
                alone, groups = self._prepare()
                for group in groups:
                    yield from self._train(group)
                for trial in alone:  # the ordinary path: its own heartbeat, interrupts and tell
                    frozen = _run_one(self.study, self.storage, trial, self.runner, self.catch, self.heartbeat,
                                      self.interrupts, self.grace)
                    self.told.add(trial._trial_id)
                    if frozen is not None:
                        yield frozen
            except GeneratorExit:
                self._fail_rest(INTERRUPTED)
                raise
            except KeyboardInterrupt:
                if self.interrupts.stop_reason is not None:  # a heartbeat that could not be recorded
                    self._fail_rest(self.interrupts.stop_reason, stop=True)
                    raise WorkerStopped(self.interrupts.stop_reason) from None
                self._fail_rest(INTERRUPTED)
                raise
            except ConfigError as exc:
                self._fail_rest(str(exc), stop=True)
                numbers = ", ".join(str(t.number) for t in self.trials)
                raise ConfigError(f"{exc} (trials {numbers} stopped the run; they do not count toward --trials)") from exc

    def _prepare(self) -> tuple[list[optuna.Trial], list[list[tuple[optuna.Trial, dict[str, Any], Any]]]]:
        """Sample and resolve every trial: (trials that train alone, fused groups of (trial, params, resolved))."""
        from tunekit.factory import resolve_params

        runner, fused = self.runner, core()
        members: list[tuple[optuna.Trial, dict[str, Any], Any]] = []
        alone: list[optuna.Trial] = []
        self.interrupts.enter_trial()
        try:
            self.interrupts.check()
            for trial in self.trials:
                if runner.strategy is not None:
                    trial.set_user_attr("strategy", runner.strategy)
                trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
                record_threads(trial)
                params = runner.params_for(runner._sample(trial))
                resolved = resolve_params(params, task=runner.dataset.task)
                if fused.unfusable_reason(resolved) is None:
                    members.append((trial, params, resolved))
                else:
                    alone.append(trial)
        finally:
            self.interrupts.leave_trial()
        ds = runner.dataset
        n_out = int(ds.n_classes) if ds.task == "multiclass" else 1
        sizes = {"n_in": int(np.prod(ds.input_shape)), "n_out": n_out, "n_train": ds.n_train}
        groups = fused.fused_groups([m[2] for m in members], **sizes) if members else []
        return alone, [[members[i] for i in group] for group in groups]

    def _train(self, group: list[tuple[optuna.Trial, dict[str, Any], Any]]) -> list[FrozenTrial]:
        """Train one group and tell its members; an error of the whole group fails each member."""
        trials = [m[0] for m in group]
        self.interrupts.enter_trial()
        try:
            self.interrupts.check()
            fit, pruned = train_group(self.runner, trials, [m[2] for m in group])
        except (KeyboardInterrupt, ConfigError):
            raise
        except Exception as exc:  # the whole group failed: each member with the reason
            reason = self.runner._out_of_memory_reason(dict(group[0][1])) if out_of_memory(exc) else one_line(exc)
            return [f for f in (self._tell(t, None, TrialState.FAIL, reason) for t in trials) if f is not None]
        finally:
            self.interrupts.leave_trial()
        return [f for f in (self._finish(t, k, fit, pruned) for k, t in enumerate(trials)) if f is not None]

    def _finish(self, trial: optuna.Trial, k: int, fit: Any, pruned: dict[int, str]) -> FrozenTrial | None:
        """Record member ``k``'s results on ``trial`` (as ``TrialRunner.finish`` does) and tell it."""
        result = fit.members[k]
        trial.set_user_attr("train_seconds", round(float(result.train_seconds), 3))
        trial.set_user_attr("epochs_run", int(result.epochs_run))
        if result.status == "diverged":
            return self._tell(trial, None, TrialState.FAIL, result.reason or "the loss diverged")
        if k in pruned:
            return self._tell(trial, None, TrialState.PRUNED)
        value = record_final(self.runner, trial, result.final, result.history)
        if value is None:
            return self._tell(trial, None, TrialState.FAIL, f"final {self.runner.metric} is not finite; the model diverged")
        if self.runner.on_model is not None:
            self.runner.on_model(fit.member_model(k))
        return self._tell(trial, value, None)

    def _tell(self, trial: optuna.Trial, value: float | None, state: TrialState | None,
              reason: str | None = None) -> FrozenTrial | None:
        """Tell ``trial`` once; None when another worker declared it lost meanwhile."""
        self.told.add(trial._trial_id)
        try:
            if reason is not None:
                trial.set_user_attr(FAIL_REASON, reason[:1000])
            return self.study.tell(trial, value, state=state, skip_if_finished=True)
        except optuna.exceptions.UpdateFinishedTrialError:
            return None

    def _fail_rest(self, reason: str, *, stop: bool = False) -> None:
        """Fail every trial not told yet with ``reason`` (``stop``: the run stops, not counted).
        Each is tried twice: a Ctrl-C that lands inside a member's storage write (a report) leaves
        the session to fail the next write once, which rolls it back (seen in CI: the first member
        stayed RUNNING). The database may also be what stopped the run: then the trial stays RUNNING
        and is retried as lost."""
        for trial in self.trials:
            if trial._trial_id in self.told:
                continue
            for _ in range(2):
                try:
                    if stop:
                        stop_run(trial, reason)
                        self._tell(trial, None, TrialState.FAIL)
                    else:
                        self._tell(trial, None, TrialState.FAIL, reason)
                    break
                except Exception:
                    continue


def record_final(runner: "TrialRunner", trial: Any, final: dict[str, float], history: dict[str, list[float]]) -> float | None:
    """The final validation metrics (target units for regression) and last training metrics as
    user attrs, as ``TrialRunner.finish`` records them; the study metric's value (None if not finite)."""
    from tunekit._units import to_target_units

    ds = runner.dataset
    if ds.target_scale is not None:
        final = to_target_units(final, ds.target_scale[1])
        last = to_target_units({k: v[-1] for k, v in history.items() if v}, ds.target_scale[1])
        history = {k: [v] for k, v in last.items()}
        trial.set_user_attr("target", ds.target)
    for name, value in final.items():
        trial.set_user_attr(f"val_{name}", float(value))
    for name, values in history.items():
        if not name.startswith("val_") and name != "learning_rate" and values:
            trial.set_user_attr(f"train_{name}", float(values[-1]))
    key = runner.metric[4:] if runner.metric.startswith("val_") else runner.metric
    value = final.get(key)
    return float(value) if value is not None and math.isfinite(float(value)) else None


def train_group(runner: "TrialRunner", trials: Sequence[Any], resolved: Sequence[Any], *,
                shuffle_seed: int | None = None, stop_at: dict[int, int] | None = None) -> tuple[Any, dict[int, str]]:
    """Train ``resolved`` (one group) for ``trials`` with ``fit_fused``, reporting each member's
    study metric per epoch and asking its pruner: (the FusedFit, {member: pruned reason}).
    ``stop_at`` {member: epochs} stops members after so many epochs instead (a retrain)."""
    import keras

    from tunekit._units import to_target_units
    from tunekit.execution._fused_health import FusedHealth
    from tunekit.execution._health import PRUNE_AFTER_EPOCHS, record_health
    from tunekit.execution._runner import trial_seed
    from tunekit.health import PRUNABLE
    from tunekit.execution._tf import released_custom_gradients, trial_process_state
    from tunekit.factory import count_params

    ds, metric = runner.dataset, runner.metric
    seeds = [trial_seed(runner.seed, t.number) for t in trials]
    shuffle = seeds[0] if shuffle_seed is None else int(shuffle_seed)
    shape = {"input_shape": ds.input_shape, "task": ds.task, "n_classes": ds.n_classes}
    for k, (trial, params) in enumerate(zip(trials, resolved)):
        for key, value in (("seed", seeds[k]), (FUSED_GROUP, trials[0].number), (FUSED_MEMBER, k),
                           (FUSED_SIZE, len(trials)), (FUSED_SHUFFLE, shuffle),
                           ("param_count", count_params(params, **shape))):
            trial.set_user_attr(key, value)
    health = FusedHealth(resolved, x_train=ds.x_train, y_train=ds.y_train) if runner.health else None
    maximize = trials[0].study.direction == optuna.study.StudyDirection.MAXIMIZE
    mode = "max" if maximize else "min"  # early stopping and the plateau schedule watch the study metric
    never_prune = [CONFIRMS in t.user_attrs or REPEATS in t.user_attrs for t in trials]
    pruned: dict[int, str] = {}

    def on_epoch(epoch: int, logs: list[dict[str, float] | None]) -> list[int]:
        stop = []
        for k, log in enumerate(logs):
            if log is None or k in pruned:
                continue
            if ds.target_scale is not None:
                log = to_target_units(log, ds.target_scale[1])
            value = log.get(metric)
            if value is None:
                raise ConfigError(f"metric {metric!r} is not computed for this model (available: {', '.join(sorted(log))}); "
                                  "set metric= in the StudySpec to one of them")
            if stop_at is not None:  # a retrain: members stop where they stopped
                trials[k].report(float(value), step=epoch)
                if stop_at.get(k) == epoch + 1:
                    stop.append(k)
            elif math.isfinite(float(value)):
                trials[k].report(float(value), step=epoch)
                if not never_prune[k] and trials[k].should_prune():
                    pruned[k] = f"pruned at epoch {epoch + 1} ({metric}={float(value):.4g})"
                    trials[k].set_user_attr(PRUNED_REASON, pruned[k])
                    stop.append(k)
            if k not in pruned and k not in stop and runner.prune_unhealthy and health is not None:
                diagnosis = health.diagnosis(k)
                if diagnosis is not None and epoch + 1 >= PRUNE_AFTER_EPOCHS and diagnosis.name in PRUNABLE:
                    pruned[k] = f"unhealthy at epoch {epoch + 1}: {diagnosis.name}: {diagnosis.reason}"[:1000]
                    trials[k].set_user_attr(PRUNED_REASON, pruned[k])
                    stop.append(k)
        return stop

    if runner.speedups.freeze_gc:
        runner._freeze_gc()
    keras.backend.clear_session()
    with released_custom_gradients(), trial_process_state():
        fit = core().fit_fused(list(resolved), seeds=seeds, shuffle_seed=shuffle, x_train=ds.x_train,
                               y_train=ds.y_train, x_val=ds.x_val, y_val=ds.y_val, on_epoch=on_epoch,
                               monitor=metric, mode=mode, watcher=health, **shape)
    if health is not None:
        for trial, probe in zip(trials, health.members):
            record_health(trial, probe)
    return fit, pruned


def fused_summary(study: optuna.Study) -> str:
    """``fused: 56 of 64 trials trained in 8 fused groups``: the run summary's line, over the
    trials that count toward ``--trials`` (``tunekit._records``)."""
    from tunekit._records import retried_numbers, trial_kind

    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    counted = [t for t in trials if trial_kind(t, retried) in ("complete", "pruned", "failed")]
    fused = [t for t in counted if FUSED_GROUP in t.user_attrs]
    groups = {t.user_attrs[FUSED_GROUP] for t in fused}
    return (f"fused: {len(fused)} of {len(counted)} trials trained in {len(groups)} fused "
            f"group{'s' if len(groups) != 1 else ''}")


def retrain_member(runner: "TrialRunner", study: optuna.Study, trial: FrozenTrial,
                   record: Callable[[int], Any]) -> tuple[Any, Any]:
    """Train the fused group of ``trial`` again as it trained (same members, seeds, batch order;
    pruned members stopped at the epoch they were pruned at) and return member ``trial``'s model
    and what it recorded (``record(number)`` makes each member's ``RunnerTrial``); ``best
    --save-model`` uses it. A group no longer whole in the database retrains the trial alone."""
    from tunekit.factory import resolve_params

    group_id = trial.user_attrs[FUSED_GROUP]
    group = sorted((t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(FUSED_GROUP) == group_id
                    and t.user_attrs.get(FAIL_REASON) != INTERRUPTED), key=lambda t: t.user_attrs.get(FUSED_MEMBER, 0))
    if [t.user_attrs.get(FUSED_MEMBER) for t in group] != list(range(int(trial.user_attrs.get(FUSED_SIZE, 0)))):
        group = [trial]
    records = [record(t.number) for t in group]
    resolved = [resolve_params(runner.params_for(dict(t.params)), task=runner.dataset.task) for t in group]
    stop_at = {k: int(t.user_attrs.get("epochs_run", 0)) for k, t in enumerate(group) if t.state == TrialState.PRUNED}
    with runner.process_scope():
        fit, _ = train_group(runner, records, resolved, shuffle_seed=trial.user_attrs.get(FUSED_SHUFFLE), stop_at=stop_at)
    k = [t.number for t in group].index(trial.number)
    result, mine = fit.members[k], records[k]
    mine.set_user_attr("train_seconds", round(float(result.train_seconds), 3))
    mine.set_user_attr("epochs_run", int(result.epochs_run))
    record_final(runner, mine, result.final, result.history)
    return fit.member_model(k), mine
