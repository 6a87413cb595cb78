"""``run``: create or resume a study in the database and run trials until the target count.

``n_trials`` is the total for the study over all its workers (see ``tunekit._records`` for
what counts: interrupted trials and trials lost with a dead worker do not). ``workers=N``
runs N worker processes on this machine; more workers elsewhere join with ``tunekit worker``
(``join``). Running trials record a heartbeat every ``heartbeat`` seconds; one silent for
``grace_period`` seconds (default 3 x heartbeat) is failed and retried. Ctrl-C marks the
running trials FAIL ``interrupted`` and raises KeyboardInterrupt. ``health`` probes every
trial and stores its diagnosis (``tunekit.health``; ``--no-health`` turns it off);
``prune_unhealthy`` stops a trial diagnosed exploding, dead or symmetric after its first epoch
(``--prune-unhealthy``); both are recorded for ``join``.

Everything that can be wrong with the input is checked before the database is touched: a
ConfigError then leaves an existing database exactly as it was.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import optuna

from tunekit._errors import ConfigError
from tunekit._quiet_tf import tf_environment_defaults
from tunekit._records import METRICS_BY_TASK, counted_trials
from tunekit._spec import StudySpec
from tunekit.storage._storage import open_storage, resolve_url, settle
from tunekit.execution import (
    DEFAULT_HEARTBEAT,
    Interrupts,
    WorkerPlan,
    dask_spawns_here,
    db_retry_seconds,
    retry_lost_trial,
    run_processes,
    start_worker_server,
)
from tunekit.strategies import check_options, get_strategy, make_pruner
from tunekit.study._confirmed import check_confirm, confirmations_missing, record_confirmed
from tunekit.study._checks import check_main_guard, check_run_numbers, check_study_name, input_notes
from tunekit.study._open import open_study, resume_plan, run_config
from tunekit.study._resume import quietly
from tunekit.study._warm import add_warm_start, plan_warm_start
from tunekit.tracking import Tracking, track_run


def finished_count(study: optuna.Study) -> int:
    """Trials that count toward ``--trials``: complete, pruned or failed, except trials that
    were interrupted or lost with a dead worker (see ``tunekit._records``)."""
    return counted_trials(study)


def _check_fuse(fuse: Any, spec: StudySpec) -> int:
    """``fuse`` checked (an integer >= 1), or 1 with a note when this run cannot fuse."""
    from tunekit.execution._fused import unfused_reason

    if isinstance(fuse, bool) or not isinstance(fuse, int) or fuse < 1:
        raise ConfigError(f"fuse must be an integer >= 1 (1 trains one trial at a time), got {fuse!r}")
    why = None if fuse == 1 else unfused_reason(own_model=spec.model is not None)
    if why is not None:
        print(f"note: {why}", file=sys.stderr, flush=True)
        return 1
    return fuse


def _resolve(spec: StudySpec) -> tuple[Any, str, str, str]:
    """Load the data and check the spec against it: (dataset, metric, direction, data description)."""
    from tunekit.data import load_data

    dataset = load_data(
        spec.data, target=spec.target, task=spec.task, val_fraction=spec.val_fraction,
        seed=spec.seed, max_rows=spec.max_rows, base_dir=spec.base_dir,
    )
    spec.check_catalog(task=dataset.task)
    metric, direction = spec.resolved_metric(dataset.task)
    if metric not in METRICS_BY_TASK[dataset.task]:
        raise ConfigError(
            f"metric {metric!r} is not computed for a {dataset.task} task; use one of: {', '.join(METRICS_BY_TASK[dataset.task])}"
        )
    if spec.model is not None:  # your own build(hp): checked against the data before the database is touched
        from tunekit.execution._own_model import check_first_model

        check_first_model(spec, dataset, metric)
    return dataset, metric, direction, spec.describe_data()


class _ProgressBar:
    """A tqdm bar over the study's counted trials with the best value so far."""

    def __init__(self, total: int, study: optuna.Study) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=min(total, counted_trials(study)), unit="trial", dynamic_ncols=True)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self._bar.n = min(self._bar.total, counted_trials(study))
        try:
            self._bar.set_postfix_str(f"best {study.best_value:.4g}", refresh=False)
        except ValueError:
            pass
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def _loop(
    study: optuna.Study, rdb: Any, plan: WorkerPlan, *, show_progress: bool,
    on_trial: Callable[..., None] | None, workers: int | None = 1, dask: tuple[Any, Any] | None = None,
) -> None:
    """Run ``plan``'s trials in this process (workers=1), in ``workers`` processes, or as Dask tasks
    on the cluster of the ``dask`` session (at most ``workers`` at a time), with a progress bar."""
    bar = _ProgressBar(plan.target, study) if show_progress else None

    def report(st: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if bar is not None:
            bar(st, trial)
        if on_trial is not None:
            on_trial(st, trial)

    try:
        if dask is not None:
            _on_dask(study, rdb, plan, dask, workers, report)
        elif workers > 1:
            run_processes(plan, workers, study, on_trial=report)
        else:
            runner = plan.runner()
            with Interrupts() as interrupts, runner.process_scope():  # the gc freeze lasts this run only
                plan.work(study, rdb, runner, interrupts=interrupts, on_trial=report)
    finally:
        if bar is not None:
            bar.close()
        settle(rdb)
    _note_exhausted(study, plan)


def _note_exhausted(study: optuna.Study, plan: WorkerPlan) -> None:
    """Say so when the strategy ran out of points (a grid) below the trial budget."""
    from tunekit.strategies import points_left

    sampler = plan.sampler()
    counted = counted_trials(study)
    if counted < plan.target and points_left(sampler, study) == 0:
        size = getattr(sampler, "size", counted)
        print(f"note: the grid is exhausted: all {size} points tried, {counted} of --trials {plan.target} "
              "(the study is complete)", file=sys.stderr, flush=True)


def _on_dask(study: optuna.Study, rdb: Any, plan: WorkerPlan, session: tuple[Any, Any], workers: int | None,
             report: Callable[..., None]) -> None:
    """``run --dask``: say where the cluster's dashboard is and how many trials run at once (``workers``,
    else one per Dask worker), run the trials as its tasks."""
    from tunekit.execution import run_on_dask
    from tunekit.execution._dask import announce

    client = session[0]
    run_on_dask(study, rdb, plan, client, announce(client, workers), on_trial=report)


@contextlib.contextmanager
def _dask_session(address: str | None, workers: int | None) -> Iterator[tuple[Any, Any] | None]:
    """The Dask client (and local cluster) of ``run --dask``, connected before the database is
    touched (an unreachable scheduler changes nothing), closed after the run; Dask's log lines
    silenced meanwhile (tunekit says what went wrong in one line)."""
    if address is None:
        yield None
        return
    from tunekit.execution import dask_connect
    from tunekit.execution._dask import quiet_dask

    restore = quiet_dask()
    try:
        client, cluster = dask_connect(address, workers)
        try:
            yield client, cluster
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    finally:
        restore()


def _pruner(pruner: optuna.pruners.BasePruner | str | None, max_epochs: int) -> tuple[optuna.pruners.BasePruner, str | None]:
    """The pruner to use and its name (None for a pruner object given by the caller)."""
    if pruner is None or isinstance(pruner, str):
        return make_pruner(pruner, max_epochs=max_epochs), pruner
    return pruner, None


@quietly
def run(
    spec: StudySpec,
    *,
    strategy: str = "tpe",
    n_trials: int = 20,
    timeout: float | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    options: Mapping[str, Any] | None = None,
    pruner: optuna.pruners.BasePruner | str | None = None,
    show_progress: bool = False,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
    workers: int | None = None,
    heartbeat: int = DEFAULT_HEARTBEAT,
    grace_period: int | None = None,
    db_retry: float | None = None,
    health: bool = True,
    prune_unhealthy: bool = False,
    warm_start: str | None = None,
    confirm: int = 0,
    repeats: int = 2,
    dask: str | None = None,
    fuse: int = 1,
    mlflow: str | None = None,
    tensorboard: str | None = None,
) -> optuna.Study:
    """Run (or resume) a study until it has ``n_trials`` counted trials, and return it.

    ``fuse=K`` (K > 1) trains up to K trials at once as one network of stacked members, each
    still a whole trial (``tunekit.execution._fused``; on ``dask`` one task per batch); a study
    with its own build(hp) trains unfused, with a note saying why.

    ``dask="tcp://host:8786"`` (or ``"local"``, ``"local:N"``) runs the trials as Dask tasks on
    that cluster, at most ``workers`` at a time (default: one per Dask worker); this process alone
    writes the study database.

    ``mlflow=URI`` / ``tensorboard=DIR``: this process sends every finished trial there from the
    study database, after each trial and at the end (``tunekit.tracking``); logging never fails a trial.

    ``confirm=K`` then trains the K best distinct configurations ``repeats`` more times each with
    new seeds (trials marked ``confirms``, not counted toward ``n_trials``) and the study's best
    becomes the confirmed configuration with the best mean (``tunekit._confirm``).
    ``warm_start=NAME`` first copies the complete trials of study NAME (same database, e.g. an
    imported keras-tuner search) that fit the space, to seed the strategy (``study/_warm.py``).


    ``workers=N`` runs N worker processes on this machine; ``on_trial`` is called for every
    finished trial (with workers, in this process). The module docstring tells what counts,
    how lost trials are retried and what is checked before the database is touched.

    Example:
        >>> import tunekit
        >>> spec = tunekit.load_spec("studies/digits.py")  # doctest: +SKIP
        >>> study = tunekit.run(spec, strategy="tpe", n_trials=20, storage="sqlite:///tunekit.db", workers=2)  # doctest: +SKIP
        >>> study.best_params  # doctest: +SKIP
    """
    tf_environment_defaults(spec)  # before TensorFlow loads: oneDNN off for the factory's networks
    local_workers = 1 if workers is None else workers  # with dask, None: one trial per Dask worker
    grace_period = check_run_numbers(n_trials, local_workers, heartbeat, grace_period, timeout, epochs)
    check_confirm(confirm, repeats, n_trials)
    check_study_name(study_name)
    fuse = _check_fuse(fuse, spec)
    db_retry = db_retry_seconds(db_retry)  # a database server unreachable this long stops the workers
    get_strategy(strategy)
    options = check_options(strategy, options)  # coerced to the declared types ("False" -> False)
    pruner, pruner_name = _pruner(pruner, epochs or spec.epochs)
    if dask is None and local_workers > 1:
        check_main_guard(f"workers={local_workers}")
        start_worker_server()  # the workers' fork server imports TensorFlow while this process does the rest
    elif dask is not None and dask_spawns_here(dask):
        check_main_guard(f"dask={dask!r}")
    dataset, metric, direction, data_desc = _resolve(spec)
    url = resolve_url(storage)
    plan = WorkerPlan(
        spec=spec, dataset=dataset, metric=metric, strategy=strategy, options=dict(options or {}),
        seed=spec.seed if seed is None else seed, epochs=epochs, pruner=pruner, url=url,
        study_name=study_name or spec.name or "tunekit", target=n_trials, timeout=timeout,
        heartbeat=heartbeat, grace_period=grace_period, db_retry=db_retry, health=health,
        prune_unhealthy=prune_unhealthy, confirm=confirm, repeats=repeats, fuse=fuse,
    )
    plan.sampler()  # a strategy that refuses this space says so before the database is touched
    tracking = Tracking.open(mlflow=mlflow, tensorboard=tensorboard, study=plan.study_name, database=url)
    for line in input_notes(spec, strategy, dataset.n_train):
        print(f"note: {line}", file=sys.stderr, flush=True)
    with _dask_session(dask, workers) as session:
        return _run_plan(plan, _Request(
            given_seed=seed, data_desc=data_desc, direction=direction, pruner_name=pruner_name, warm_start=warm_start,
            show_progress=show_progress, on_trial=on_trial, workers=local_workers if session is None else workers,
            session=session, tracking=tracking))


@dataclass(frozen=True, kw_only=True)
class _Request:
    """What ``run`` hands ``_run_plan`` besides the checked plan: how the run was asked for
    (the seed as given, to note a changed one on resume), what the data and metric resolved to,
    and how to show and spread the work."""

    given_seed: int | None
    data_desc: str
    direction: str
    pruner_name: str | None
    warm_start: str | None
    show_progress: bool
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None
    workers: int | None
    session: tuple[Any, Any] | None
    tracking: Tracking | None = None


def _run_plan(plan: WorkerPlan, req: _Request) -> optuna.Study:
    """``run`` once the plan is checked: open or resume the study, run it, record the confirmed best."""
    url, heartbeat, grace_period = plan.url, plan.heartbeat, plan.grace_period
    rdb = open_storage(url, create=True, heartbeat_interval=heartbeat, grace_period=grace_period, on_lost_trial=retry_lost_trial)
    plan, direction, seed_given, note = resume_plan(rdb, plan, req.direction, req.data_desc, req.pruner_name,
                                                given_seed=req.given_seed)
    warm = None if req.warm_start is None else plan_warm_start(
        rdb, req.warm_start, study_name=plan.study_name, space=plan.spec.space, metric=plan.metric, direction=direction,
        strategy=plan.strategy)
    study = open_study(rdb, plan, direction, req.data_desc, run_config(plan, req.pruner_name, seed_given))
    for line in (note, None if warm is None else add_warm_start(study, warm)):
        if line is not None:
            print(f"note: {line}", file=sys.stderr, flush=True)
    with track_run(req.tracking, study, req.on_trial) as on_trial:  # MLflow / TensorBoard, from the database
        if counted_trials(study) >= plan.target and not confirmations_missing(study, plan.confirm, plan.repeats):
            settle(rdb)
        else:
            _loop(study, rdb, plan, show_progress=req.show_progress, on_trial=on_trial, workers=req.workers,
                  dask=req.session)
        record_confirmed(study)
    return study
