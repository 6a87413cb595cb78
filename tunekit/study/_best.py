"""Retrain a study's best configuration with its stored seed and save the Keras model.

Everything comes from the study database: its user attributes hold the data set, the
fixed parameters, the epochs, the seed and the task; the best trial holds the sampled
parameters and its training seed. The study file is not needed.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from tunekit._errors import ConfigError, TunekitError
from tunekit._output import write_text
from tunekit._records import require_complete_trial
from tunekit._units import units_table
from tunekit.study._frames import best_summary

#: The retrained model counts as a reproduction of the trial when its metric is this close.
REPRODUCE_TOLERANCE = 1e-6
_REQUIRED_ATTRS = ("data", "space", "task", "metric", "seed", "epochs")
_DATASET_KEYS = ("rows", "train_rows", "val_rows", "features", "n_classes", "classes")


@dataclass(frozen=True)
class _RetrainStudy:
    """The study as the retraining runner sees it: its direction (``RunnerTrial.study``)."""

    direction: optuna.study.StudyDirection


class _RetrainTrial:
    """The trial while the runner retrains (a ``tunekit.execution.RunnerTrial``): records
    attributes and the per-epoch curve, never prunes. ``number`` is the best trial's, so the
    runner derives the same training seed from it."""

    def __init__(self, number: int, direction: optuna.study.StudyDirection) -> None:
        self.number = number
        self.study = _RetrainStudy(direction)
        self.user_attrs: dict[str, Any] = {}
        self.curve: dict[int, float] = {}

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def report(self, value: float, step: int) -> None:
        self.curve[step] = value

    def should_prune(self) -> bool:
        return False


def _attrs(study: optuna.Study) -> dict[str, Any]:
    attrs = dict(study.user_attrs)
    missing = [k for k in _REQUIRED_ATTRS if k not in attrs]
    if missing:
        raise ConfigError(
            f"study {study.study_name!r} lacks the user attribute(s) {', '.join(missing)} that tunekit stores; "
            "only studies created by `tunekit run` can be retrained"
        )
    return attrs


def rebuild_dataset(study: optuna.Study) -> Any:
    """The study's train/validation split, loaded again from its stored description.

    Raises ConfigError when the data cannot be loaded or no longer matches what the study
    recorded (rows, features, classes).
    """
    return _rebuild(study)[0]


def _rebuild(study: optuna.Study) -> tuple[Any, dict[str, Any]]:
    """``(dataset, the load_data keyword arguments that gave it, with source and max_rows)``."""
    from tunekit.data import load_data

    attrs = _attrs(study)
    stored = json.loads(attrs.get("dataset") or "{}")
    data_seed = int(attrs.get("data_seed", attrs["seed"]))
    rows, val_rows = stored.get("rows"), stored.get("val_rows")
    if "val_fraction" in attrs:
        val_fraction = float(attrs["val_fraction"])
    elif rows and val_rows:
        val_fraction = (val_rows - 0.5) / rows  # ceil(fraction * rows) == val_rows, as the split computes it
    else:
        val_fraction = 0.2
    kwargs = dict(target=stored.get("target"), task=attrs["task"], val_fraction=val_fraction, seed=data_seed,
                  base_dir=attrs.get("base_dir"))
    source = Path(str(attrs["data"]))
    if source.suffix.lower() in (".csv", ".parquet") and not source.is_absolute() and kwargs["base_dir"] is None \
            and not source.is_file():
        raise ConfigError(
            f"study {study.study_name!r} was trained on '{source}', a path relative to its study file's folder; "
            f"run this command from that folder (no '{source}' under '{Path.cwd()}')"
        )
    max_rows = attrs.get("max_rows")
    ds = load_data(attrs["data"], max_rows=max_rows, **kwargs)
    if max_rows is None and rows and ds.n_train + ds.n_val > rows:  # the study subsampled (max_rows)
        max_rows = int(rows)
        ds = load_data(attrs["data"], max_rows=max_rows, **kwargs)
    now = ds.describe()
    changed = [f"{k}: {stored[k]!r} then, {now.get(k)!r} now" for k in _DATASET_KEYS if k in stored and stored[k] != now.get(k)]
    if changed:
        raise ConfigError(
            f"the data of study {study.study_name!r} ({attrs['data']}) differs from what the study ran on "
            f"({'; '.join(changed)}); restore the data to retrain"
        )
    return ds, {"source": attrs["data"], "max_rows": max_rows, **kwargs}


def _own_model(name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """``build=`` / ``hypermodel=`` of a study of the user's own model, read again from its study file."""
    if not attrs.get("model"):
        return {}
    from tunekit._spec import load_spec

    source = attrs.get("study_file")
    if not source or not Path(source).is_file():
        raise ConfigError(f"study {name!r} trained your own model ({attrs['model']} in {source}), and that file "
                          "is gone; restore it to retrain the best trial")
    own = load_spec(source)
    return {"build": own.build, "hypermodel": own.hypermodel}


def _runner(study: optuna.Study, best: optuna.trial.FrozenTrial, dataset: Any, keep: list[Any]) -> Any:
    """The study's own TrialRunner, rebuilt from its attributes; the model it trains goes to ``keep``."""
    from tunekit._spec import StudySpec
    from tunekit.space import Space

    attrs = _attrs(study)
    epochs = int(attrs["epochs"])
    spec = StudySpec(
        data=attrs["data"], space=Space.from_json(attrs["space"]), metric=attrs["metric"],
        direction=study.direction.name.lower(), epochs=epochs, fixed=json.loads(attrs.get("fixed") or "{}"),
        task=attrs["task"], seed=int(attrs.get("data_seed", attrs["seed"])), name=study.study_name,
        **_own_model(study.study_name, attrs),
    )
    # `run --epochs N` overrides a searched `epochs`; the trial then ran exactly N epochs.
    override = "epochs" in best.params and best.params["epochs"] != epochs and best.user_attrs.get("epochs_run") == epochs
    from tunekit.execution import TrialRunner

    return TrialRunner(spec=spec, dataset=dataset, metric=attrs["metric"], seed=int(attrs["seed"]),
                       epochs=epochs if override else None, on_model=keep.append)


def _retrain(runner: Any, best: optuna.trial.FrozenTrial, params: dict[str, Any], direction: Any,
             keep: list[Any]) -> tuple[Any, _RetrainTrial]:
    """Train ``params`` through the runner's own training path, exactly as trial ``best`` was trained."""
    stand_in = _RetrainTrial(best.number, direction)
    with runner.process_scope():  # the gc freeze lasts this retraining only
        runner.train(stand_in, params)  # the trial's code path: data pipeline, seed, callbacks, final evaluation
    if not keep:
        raise TunekitError("the trial runner did not hand over its model (on_model); `best --save-model` needs updating")
    return keep[-1], stand_in


def _seed_notes(best: optuna.trial.FrozenTrial, seed: int) -> list[str]:
    """A note when trial ``best`` was trained with another seed than the one it is retrained with."""
    stored_seed = best.user_attrs.get("seed")
    if stored_seed is None or int(stored_seed) == seed:
        return []
    return [f"trial {best.number} was trained with seed {stored_seed} (a resumed run with another --seed); "
            f"retrained with seed {seed}, so the metrics may differ"]


def _differs_note(metric: str, value: float | None, trial_value: float) -> str | None:
    """A note when the retrained model's ``metric`` is not the trial's (None when it is, or unknown)."""
    if value is None or abs(value - trial_value) <= REPRODUCE_TOLERANCE:
        return None
    return (
        f"the retrained model's {metric} {value:.6g} differs from the trial's {trial_value:.6g}: other hardware or "
        "library versions, or the study ran with a --seed other than its study file's seed (that seed also "
        "chose the train/validation split)"
    )


def _info(
    study: optuna.Study, best: optuna.trial.FrozenTrial, summary: dict[str, Any], attrs: dict[str, Any], *,
    out: Path, params: dict[str, Any], seed: int, record: _RetrainTrial, model_metrics: dict[str, float],
    notes: list[str],
) -> dict[str, Any]:
    """The model's JSON: the trial, its parameters, the retrained model's metrics and the notes."""
    metric = attrs["metric"]
    value = model_metrics.get(metric)
    return {
        "study": study.study_name,
        "trial": best.number,
        "model": out.name,
        "metric": metric,
        "direction": summary["direction"],
        "params": summary["params"],
        "fixed": summary["fixed"],
        "training_params": params,
        "seed": seed,
        "epochs_run": record.user_attrs.get("epochs_run"),
        "train_seconds": record.user_attrs.get("train_seconds"),
        "model_metrics": model_metrics,
        "units": units_table(model_metrics, attrs),  # regression: target units; val_loss is standardised
        "validation_accuracy": model_metrics.get("val_accuracy"),
        "trial_value": best.value,
        "trial_metrics": dict(best.user_attrs),
        "reproduced": value is not None and abs(value - best.value) <= REPRODUCE_TOLERANCE,
        "curve": [record.curve[k] for k in sorted(record.curve)],
        "data": json.loads(attrs.get("dataset") or "{}") or {"name": attrs["data"]},
        "notes": notes,
        "tunekit_version": attrs.get("tunekit_version"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _raw_rows_model(model: Any, dataset: Any, load_args: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``model`` behind raw, named column inputs with tunekit's encoding inside: ``(wrapped, encoding,
    raw split)``. TunekitError when that encoding does not give the study's own validation matrix."""
    import numpy as np

    from tunekit.predict import encode_rows, fit_encoding, raw_split, wrap_model

    args = dict(load_args)
    raw = raw_split(args.pop("source"), **args)
    encoding = fit_encoding(raw.features, raw.train)
    if not np.allclose(encode_rows(raw.features.iloc[raw.val], encoding), dataset.x_val, atol=1e-5):
        raise TunekitError("the raw-row encoding differs from tunekit.data's; tunekit.predict needs updating")
    return wrap_model(model, encoding, task=dataset.task, target_scale=dataset.target_scale), encoding, raw


def raw_input_columns(study: optuna.Study) -> list[str]:
    """The data's own columns the best model of ``study`` takes (read from its data, no training),
    so that ``tunekit predict STUDY`` checks a CSV before retraining."""
    from tunekit.predict import raw_split

    args = dict(_rebuild(study)[1])
    return list(raw_split(args.pop("source"), **args).features.columns)


def retrain_best(study: optuna.Study, *, echo: Any = None, fmt: str = "keras") -> tuple[Any, dict[str, Any]]:
    """Retrain the best trial of ``study`` with its seed: ``(model, its JSON and model card)``.

    The model takes raw rows (one input per data column, by name, tunekit's encoding inside); a
    study of the user's own ``build(hp)`` gives the model as built.
    """
    from tunekit._quiet_tf import tf_environment_defaults
    from tunekit.execution import import_keras_quietly, trial_seed
    from tunekit.predict._card import OWN_MODEL_NOTE, model_card

    require_complete_trial(study)
    summary = best_summary(study)
    best = study.trials[summary["trial"]] if summary.get("confirmed") else study.best_trial  # the confirmed one
    attrs = _attrs(study)
    dataset, load_args = _rebuild(study)
    keep: list[Any] = []
    runner = _runner(study, best, dataset, keep)
    params = runner.params_for(dict(best.params))
    seed = trial_seed(runner.seed, best.number)  # what the runner derives for this trial number
    notes = _seed_notes(best, seed)
    tf_environment_defaults(runner.spec)  # as the trial's own process had it
    import_keras_quietly()  # TensorFlow's C++ start-up lines are not tunekit's to print
    if echo:
        echo(f"retraining trial {best.number} (seed {seed}, {params['epochs']} epochs) on {dataset.n_train} training rows ...")
        for note in notes:
            echo(f"note: {note}")
    if "fused_group" in best.user_attrs:  # trained in a fused group (run --fuse K): the group is retrained
        from tunekit.execution._fused import retrain_member

        model, record = retrain_member(runner, study, best, lambda number: _RetrainTrial(number, study.direction))
    else:
        model, record = _retrain(runner, best, params, study.direction, keep)
    model_metrics = {k: float(v) for k, v in record.user_attrs.items() if k.startswith("val_")}
    differs = _differs_note(attrs["metric"], model_metrics.get(attrs["metric"]), best.value)
    if differs is not None:
        notes.append(differs)
        if echo:
            echo(f"note: {differs}")
    encoding, sha256 = None, None
    if attrs.get("model"):  # the user's own build(hp): its inputs are what the user made them
        notes.append(OWN_MODEL_NOTE)
        if echo:
            echo(f"note: {OWN_MODEL_NOTE}")
    else:
        model, encoding, raw = _raw_rows_model(model, dataset, load_args)
        sha256 = raw.sha256
    info = _info(study, best, summary, attrs, out=Path("model"), params=params, seed=seed, record=record,
                 model_metrics=model_metrics, notes=notes)
    info.update(model_card(summary=summary, task=dataset.task, target=dataset.target, encoding=encoding,
                           classes=dataset.classes, sha256=sha256, fmt=fmt))
    return model, info


def save_best_model(study: optuna.Study, path: str | os.PathLike[str], *, echo: Any = None, fmt: str = "keras",
                    force: bool = False) -> dict[str, Any]:
    """Retrain the best trial of ``study`` with its seed, save the model to ``path`` (``fmt``: keras,
    a ``.keras`` file; savedmodel, a folder for TensorFlow Serving) and its JSON model card beside it
    (same name, ``.json``); returns that JSON.

    The model takes raw rows: one input per data column, by name, with tunekit's encoding inside;
    it returns class probabilities (in the order of the card's ``classes``) or the target in its
    units. It is trained on the study's training rows through the study's own TrialRunner, so on
    CPU it reproduces the trial's metrics.

    Example:
        >>> info = save_best_model(tunekit.load_study("digits"), "best.keras")  # doctest: +SKIP
        >>> info["model_metrics"]["val_accuracy"], info["classes"]  # doctest: +SKIP
    """
    from tunekit.predict._save import check_model_path

    out, meta_path = check_model_path(path, fmt, force=force)
    model, info = retrain_best(study, echo=echo, fmt=fmt)
    return write_model(model, info, out, meta_path, fmt)


def write_model(model: Any, info: dict[str, Any], out: Path, meta_path: Path, fmt: str = "keras") -> dict[str, Any]:
    """Save ``model`` (``retrain_best``) to ``out`` and its JSON to ``meta_path``; the JSON with both paths."""
    from tunekit.predict._save import save_model

    save_model(model, out, fmt, inputs=info.get("inputs"))
    info["model"] = out.name
    write_text(meta_path, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n", what="the model's JSON")
    info["json"] = str(meta_path)
    info["path"] = str(out)
    return info
