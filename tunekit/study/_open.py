"""Opening a study for ``run``: check an existing one against the plan and take its settings
(``resume_plan``), create or load it, write its attributes and this run's settings, and queue a
new study's defaults trial (``open_study``).

A failed write of a new study's attributes (a full disk, a lost server) deletes that study, so
no study is left without them.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from typing import Any, Mapping

import optuna

from tunekit._errors import ConfigError
from tunekit._records import RUN_ATTR, counted_trials
from tunekit._spec import StudySpec
from tunekit._version import __version__
from tunekit.execution import WorkerPlan
from tunekit.storage._storage import delete_new_study, disk_full, study_names
from tunekit.strategies import get_strategy, make_pruner
from tunekit.study._checks import check_compatible, check_data_file, check_fixed, data_file_changed, stored_metric
from tunekit.study._resume import resumed


def _enqueue_defaults(study: optuna.Study, spec: StudySpec, strategy: str) -> None:
    """A new study's first trial tries the space's declared ``default=`` values (what a
    keras-tuner user expects of ``default=``; keras-tuner 1.4.8 itself starts from a random
    point); the strategy samples every parameter without one. A strategy that decides every
    point itself (``Strategy.tries_defaults`` False: grid) starts with its own."""
    defaults = spec.space.defaults()
    if defaults and get_strategy(strategy).tries_defaults and not study.get_trials(deepcopy=False):
        study.enqueue_trial(defaults, user_attrs={"start": "defaults"}, skip_if_exists=True)


def _write_attrs(study: optuna.Study, rdb: Any, attrs: Mapping[str, Any], metric: str, *, new: bool, url: str) -> None:
    """Write the study's metric name and missing attributes. When a write fails (a full disk,
    a lost server) a study created by this run is deleted, so no study is left without its
    attributes (if even the delete fails, the next ``run`` completes them)."""
    try:
        if study.metric_names is None:
            with warnings.catch_warnings():  # experimental in Optuna; stable enough for a label
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([metric])  # the dashboard then says val_accuracy, not "Objective 0"
        for key, value in attrs.items():
            if key not in study.user_attrs or (key in ("tunekit_version", "fixed") and study.user_attrs[key] != value) \
                    or (key == "dataset" and data_file_changed(study.user_attrs[key], value)):  # taken before any trial
                study.set_user_attr(key, value)
    except Exception as exc:
        if new:
            delete_new_study(rdb, study.study_name)
        full = disk_full(exc, url)
        if full is not None:
            raise full from exc
        raise


def _study_attrs(plan: WorkerPlan, direction: str, data_desc: str) -> dict[str, Any]:
    """The study's user attributes: what the reports, ``join`` and a resumed run read."""
    spec, dataset = plan.spec, plan.dataset
    return {
        "space": spec.space.to_json(),
        "data": data_desc,
        "dataset": json.dumps(dataset.describe(), sort_keys=True, default=str),
        "task": dataset.task,
        "metric": plan.metric,
        "direction": direction,
        "seed": plan.seed,
        "epochs": plan.epochs or spec.epochs,
        "fixed": json.dumps(spec.fixed, sort_keys=True, default=str),
        "data_seed": spec.seed,
        "val_fraction": spec.val_fraction,
        "max_rows": spec.max_rows,
        "base_dir": spec.base_dir,
        "tunekit_version": __version__,
        **({} if spec.model is None else {"model": spec.model.label, "study_file": spec.source}),  # your own build(hp)
    }


def _record_run(study: optuna.Study, run_config: dict[str, Any]) -> None:
    """Record how this run goes on: the strategies used in turn, the strategy and seed now in
    force (each trial records its own training seed), and the run's settings for ``join``."""
    strategy, seed = run_config["strategy"], run_config["seed"]
    strategies = list(study.user_attrs.get("strategies", []))
    if not strategies or strategies[-1] != strategy:
        study.set_user_attr("strategies", strategies + [strategy])
    study.set_user_attr("strategy", strategy)
    if study.user_attrs.get("seed") != seed:
        study.set_user_attr("seed", seed)
    if study.user_attrs.get(RUN_ATTR) != run_config:
        study.set_user_attr(RUN_ATTR, run_config)


def run_config(plan: WorkerPlan, pruner_name: str | None, seed_given: bool) -> dict[str, Any]:
    """This run's settings as recorded for ``join`` (``RUN_ATTR``)."""
    return {
        "strategy": plan.strategy, "options": dict(plan.options), "seed": plan.seed, "seed_given": seed_given,
        "epochs": plan.epochs, "pruner": pruner_name, "n_trials": plan.target, "heartbeat": plan.heartbeat,
        "grace_period": plan.grace_period, "health": plan.health, "prune_unhealthy": plan.prune_unhealthy,
        **({"confirm": plan.confirm, "repeats": plan.repeats} if plan.confirm else {}),
        **({"fuse": plan.fuse} if plan.fuse > 1 else {}),
    }


def resume_plan(
    rdb: Any, plan: WorkerPlan, direction: str, data_desc: str, pruner_name: str | None, *, given_seed: int | None,
) -> tuple[WorkerPlan, str, bool, str | None]:
    """Check an existing study against the plan and take its settings (metric, seed, epochs):
    (plan, direction, whether the seed was given, a note for the user). A new study keeps the plan."""
    spec, name, metric = plan.spec, plan.study_name, plan.metric
    if name not in study_names(rdb):
        return plan, direction, given_seed is not None, None
    existing = optuna.load_study(study_name=name, storage=rdb)
    metric, direction = stored_metric(existing.user_attrs, spec, metric, direction)
    check_compatible(existing.user_attrs, spec, data_desc, metric, direction, name)
    check_fixed(existing.user_attrs, spec, name, trained=counted_trials(existing) > 0)
    data_note = check_data_file(existing.user_attrs, plan.dataset.describe(), name, trained=counted_trials(existing) > 0)
    if existing.direction.name.lower() != direction:
        raise ConfigError(f"study {name!r} exists with direction {existing.direction.name.lower()}; pass --study-name NEW")
    epochs, seed, seed_given, note = resumed(existing.user_attrs, existing.user_attrs.get(RUN_ATTR) or {}, spec, name,
                                            strategy=plan.strategy, seed=given_seed, epochs=plan.epochs)
    pruner = plan.pruner
    if pruner_name is not None:
        pruner = make_pruner(pruner_name, max_epochs=epochs or spec.epochs)
    note = "; ".join(line for line in (note, data_note) if line) or None
    return replace(plan, metric=metric, seed=seed, epochs=epochs, pruner=pruner), direction, seed_given, note


def open_study(rdb: Any, plan: WorkerPlan, direction: str, data_desc: str, run_config: dict[str, Any]) -> optuna.Study:
    """Create or load the study, write its attributes and this run's settings, and queue the
    defaults trial of a new study."""
    new_study = plan.study_name not in study_names(rdb)
    study = optuna.create_study(
        storage=rdb, sampler=plan.sampler(), pruner=plan.pruner, study_name=plan.study_name, direction=direction,
        load_if_exists=True,
    )
    _write_attrs(study, rdb, _study_attrs(plan, direction, data_desc), plan.metric, new=new_study, url=plan.url)
    _record_run(study, run_config)
    _enqueue_defaults(study, plan.spec, plan.strategy)
    return study
