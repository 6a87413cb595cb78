"""``join``: one more worker on an existing study (``tunekit worker``), with the settings the
study was started with (``run``)."""

from __future__ import annotations

import sys
from typing import Any, Callable

import optuna

from tunekit._errors import ConfigError
from tunekit._quiet_tf import tf_environment_defaults
from tunekit._records import RUN_ATTR, counted_trials
from tunekit._spec import StudySpec
from tunekit.storage._storage import no_study, open_storage, resolve_url
from tunekit.execution import DEFAULT_HEARTBEAT, WorkerPlan, db_retry_seconds, limit_tf_threads, worker_seed
from tunekit.strategies import make_pruner
from tunekit.study._checks import check_compatible, check_data_file, check_fixed, check_join_numbers, check_study_name, stored_metric
from tunekit.study._confirmed import record_confirmed
from tunekit.study._resume import check_epochs, quietly
from tunekit.study._run import _loop, _resolve


def _stored_attrs(url: str, name: str) -> dict[str, Any]:
    """The user attributes of the existing study ``name``; ConfigError naming the studies that
    exist when it does not."""
    probe = open_storage(url, create=False)
    summaries = {s.study_name: s for s in probe.get_all_studies()}
    probe.engine.dispose()
    if name not in summaries:
        raise no_study(name, url, list(summaries))
    return summaries[name].user_attrs


@quietly
def join(
    spec: StudySpec,
    *,
    storage: str,
    study_name: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    show_progress: bool = False,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
    db_retry: float | None = None,
    threads: int | None = None,
) -> optuna.Study:
    """Work on an existing study as one more worker (another machine, another process).

    The strategy, its options, the seed, epochs, pruner, heartbeat and the trial budget are
    the ones the study was started with (``tunekit run``); ``n_trials`` overrides the budget.
    ``threads`` caps TensorFlow's threads in this process (default: all cores; with K
    workers on one machine use cores / K); it takes effect when TensorFlow is not loaded yet.

    Example:
        >>> study = join(spec, storage="postgresql+psycopg://tunekit:***@db-host/tunekit")  # doctest: +SKIP
    """
    import os
    import socket

    tf_environment_defaults(spec)  # before TensorFlow loads: oneDNN off for the factory's networks
    check_join_numbers(n_trials, threads, timeout)
    check_study_name(study_name)
    if threads is not None:
        limit_tf_threads(threads)
    db_retry = db_retry_seconds(db_retry)
    dataset, metric, direction, data_desc = _resolve(spec)
    name = study_name or spec.name or "tunekit"
    url = resolve_url(storage)
    user_attrs = _stored_attrs(url, name)
    metric, direction = stored_metric(user_attrs, spec, metric, direction)
    check_compatible(user_attrs, spec, data_desc, metric, direction, name)
    config = dict(user_attrs.get(RUN_ATTR) or {})
    strategy = config.get("strategy") or user_attrs.get("strategy") or "tpe"
    target = n_trials or config.get("n_trials")
    if target is None:
        raise ConfigError(f"study {name!r} records no trial budget; pass --trials N")
    seed = int(config.get("seed", user_attrs.get("seed", spec.seed)))
    epochs = config.get("epochs")
    check_epochs(user_attrs, spec, name, epochs)
    heartbeat = int(config.get("heartbeat") or DEFAULT_HEARTBEAT)
    grace_period = config.get("grace_period") or 3 * heartbeat
    plan = WorkerPlan(
        spec=spec, dataset=dataset, metric=metric, strategy=strategy, options=dict(config.get("options") or {}),
        seed=seed, epochs=epochs, pruner=make_pruner(config.get("pruner"), max_epochs=epochs or spec.epochs), url=url,
        study_name=name, target=int(target), timeout=timeout, heartbeat=heartbeat, grace_period=grace_period,
        db_retry=db_retry, health=bool(config.get("health", True)),
        prune_unhealthy=bool(config.get("prune_unhealthy", False)), confirm=int(config.get("confirm") or 0),
        repeats=int(config.get("repeats") or 2), fuse=int(config.get("fuse") or 1),
    )
    salt = (os.getpid(), socket.gethostname())
    study, rdb = plan.open(worker_seed(strategy, seed, *salt))
    check_fixed(study.user_attrs, spec, name, trained=counted_trials(study) > 0)
    data_note = check_data_file(study.user_attrs, dataset.describe(), name, trained=counted_trials(study) > 0)
    if data_note is not None:
        print(f"note: {data_note}", file=sys.stderr, flush=True)
    _loop(study, rdb, plan, show_progress=show_progress, on_trial=on_trial)
    record_confirmed(study)
    return study
