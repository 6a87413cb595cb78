"""``run``: create or resume a study in the database and run trials until the target count."""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping

import optuna
from optuna.trial import TrialState

from tunekit import __version__
from tunekit._errors import ConfigError, TrialError
from tunekit._runner import FAIL_REASON, TrialRunner
from tunekit._spec import StudySpec
from tunekit._tf import import_keras_quietly
from tunekit._storage import mask, open_storage, resolve_url, study_names
from tunekit.strategies import check_options, get_strategy, make_sampler

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_METRICS = {
    "binary": ("val_accuracy", "val_loss"),
    "multiclass": ("val_accuracy", "val_loss"),
    "regression": ("val_loss", "val_mae", "val_mse"),
}


def finished_count(study: optuna.Study) -> int:
    """Trials that ran to an end: complete, pruned or failed."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _check_compatible(summary_attrs: Mapping[str, Any], spec: StudySpec, data_desc: str, metric: str, direction: str, name: str) -> None:
    """Refuse to resume a study whose space, data or metric differ from the spec's."""
    stored_space = summary_attrs.get("space")
    if stored_space is not None:
        from tunekit.space import Space

        differences = Space.from_json(stored_space).diff(spec.space)
        if differences:
            raise ConfigError(
                f"study {name!r} exists with another search space ({'; '.join(differences)}); "
                "pass --study-name NEW to start a new study, or restore the old space to resume"
            )
    for key, now in (("data", data_desc), ("metric", metric), ("direction", direction)):
        before = summary_attrs.get(key)
        if before is not None and before != now:
            raise ConfigError(
                f"study {name!r} exists with {key} {before!r}, the study file now says {now!r}; "
                "pass --study-name NEW to start a new study"
            )


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
    pruner: optuna.pruners.BasePruner | None = None,
    show_progress: bool = False,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> optuna.Study:
    """Run (or resume) a study until it has ``n_trials`` finished trials, and return it.

    Everything that can be wrong with the input is checked before the database is touched:
    a ConfigError then leaves an existing database exactly as it was.

    Example:
        >>> import tunekit
        >>> spec = tunekit.load_spec("studies/digits.py")  # doctest: +SKIP
        >>> study = tunekit.run(spec, strategy="tpe", n_trials=20, storage="sqlite:///tunekit.db")  # doctest: +SKIP
        >>> study.best_params  # doctest: +SKIP
    """
    from tunekit.data import load_data

    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
    get_strategy(strategy)
    check_options(strategy, options)
    dataset = load_data(
        spec.data, target=spec.target, task=spec.task, val_fraction=spec.val_fraction,
        seed=spec.seed, max_rows=spec.max_rows, base_dir=spec.base_dir,
    )
    spec.check_catalog(task=dataset.task)
    metric, direction = spec.resolved_metric(dataset.task)
    if metric not in _METRICS[dataset.task]:
        raise ConfigError(
            f"metric {metric!r} is not computed for a {dataset.task} task; use one of: {', '.join(_METRICS[dataset.task])}"
        )
    seed = spec.seed if seed is None else seed
    sampler = make_sampler(strategy, space=spec.space, seed=seed, options=options)
    name = study_name or spec.name or "tunekit"
    data_desc = spec.describe_data()

    url = resolve_url(storage)
    rdb = open_storage(url, create=True)
    if name in study_names(rdb):
        existing = optuna.load_study(study_name=name, storage=rdb)
        _check_compatible(existing.user_attrs, spec, data_desc, metric, direction, name)
        if existing.direction.name.lower() != direction:
            raise ConfigError(f"study {name!r} exists with direction {existing.direction.name.lower()}; pass --study-name NEW")
    study = optuna.create_study(
        storage=rdb, sampler=sampler, pruner=pruner, study_name=name, direction=direction, load_if_exists=True
    )
    attrs = {
        "space": spec.space.to_json(),
        "data": data_desc,
        "dataset": json.dumps(dataset.describe(), sort_keys=True, default=str),
        "task": dataset.task,
        "metric": metric,
        "direction": direction,
        "seed": seed,
        "epochs": epochs or spec.epochs,
        "fixed": json.dumps(spec.fixed, sort_keys=True, default=str),
        "tunekit_version": __version__,
    }
    for key, value in attrs.items():
        if key not in study.user_attrs or (key == "tunekit_version" and study.user_attrs[key] != value):
            study.set_user_attr(key, value)
    strategies = list(study.user_attrs.get("strategies", []))
    if not strategies or strategies[-1] != strategy:
        study.set_user_attr("strategies", strategies + [strategy])
    study.set_user_attr("strategy", strategy)

    remaining = n_trials - finished_count(study)
    grid_left = getattr(sampler, "remaining", None)
    if grid_left is not None:
        remaining = min(remaining, grid_left(study))
    if remaining <= 0:
        return study

    import_keras_quietly()
    runner = TrialRunner(spec=spec, dataset=dataset, metric=metric, seed=seed, epochs=epochs)
    callbacks = [on_trial] if on_trial else []
    study.optimize(
        runner,
        n_trials=remaining,
        timeout=timeout,
        catch=(TrialError,),
        callbacks=callbacks,
        show_progress_bar=show_progress,
    )
    return study


def fail_reason(trial: optuna.trial.FrozenTrial) -> str | None:
    """Why a FAILED trial failed, as stored by the runner."""
    return trial.user_attrs.get(FAIL_REASON)


def quiet_optuna() -> None:
    """Silence Optuna's per-trial log lines and tracebacks (the CLI prints its own)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").propagate = False
