"""Import a keras-tuner project folder into the study database (``tunekit import-kt``).

keras-tuner keeps a search in a folder: ``oracle.json`` (the search space as it grew) and one
``trial_*/trial.json`` per trial (hyperparameter values, metrics at the best epoch, score,
status). Each trial becomes a finished Optuna trial with the same parameter names and
distributions, so an old search shows in ``tunekit trials``, reports, exports and
optuna-dashboard next to tunekit's own studies. Everything is read and checked before the
study is created: a bad folder changes nothing in the database.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from tunekit._errors import ConfigError
from tunekit._records import FAIL_REASON, kind_counts
from tunekit.storage._storage import delete_new_study, open_storage, study_names
from tunekit.storage._url import resolve_url
from tunekit.study._resume import quietly

#: keras-tuner trial status -> Optuna state; unfinished ones (RUNNING, IDLE) are not imported.
STATES = {"COMPLETED": TrialState.COMPLETE, "FAILED": TrialState.FAIL, "INVALID": TrialState.FAIL,
          "STOPPED": TrialState.PRUNED}


@dataclass(frozen=True)
class KerasTunerImport:
    """What ``import_keras_tuner`` stored: the study, its objective and direction, trials per
    state, and the unfinished keras-tuner trials it left out."""

    study: optuna.Study
    objective: str
    direction: str
    counts: dict[str, int]
    skipped: list[str]


def find_project(folder: str | Path) -> Path:
    """The keras-tuner project in ``folder``: the folder itself when it holds ``oracle.json``,
    else its only sub-folder that does (a tuner's ``directory=`` with one ``project_name``)."""
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"'{folder}' is not a folder; pass a keras-tuner project folder (the one with oracle.json)")
    if (path / "oracle.json").is_file():
        return path
    found = sorted(p.parent for p in path.glob("*/oracle.json"))
    if len(found) == 1:
        return found[0]
    if found:
        raise ConfigError(f"'{folder}' holds {len(found)} keras-tuner projects ({', '.join(p.name for p in found)}); "
                          "pass one of them")
    raise ConfigError(f"no oracle.json in '{folder}' or its sub-folders; pass the folder keras-tuner wrote "
                      "(directory/project_name)")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read keras-tuner file '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"keras-tuner file '{path}' is not a JSON object")
    return data


def distribution(hp: dict[str, Any]) -> BaseDistribution:
    """The Optuna distribution of one keras-tuner hyperparameter (its ``get_config`` form).

    >>> distribution({"class_name": "Int", "config": {"name": "units", "min_value": 8, "max_value": 32, "step": 8,
    ...                                                "sampling": "linear"}})
    IntDistribution(high=32, log=False, low=8, step=8)
    >>> distribution({"class_name": "Float", "config": {"name": "lr", "min_value": 1e-4, "max_value": 1e-2,
    ...                                                  "step": None, "sampling": "log"}})
    FloatDistribution(high=0.01, log=True, low=0.0001, step=None)
    """
    kind, config = hp.get("class_name"), hp.get("config") or {}
    name = config.get("name", "?")
    try:
        if kind == "Int":
            log = config.get("sampling") == "log"
            step = 1 if log else int(config.get("step") or 1)
            low, high = int(config["min_value"]), int(config["max_value"])
            high = low + (high - low) // step * step  # keras-tuner's last reachable value
            return IntDistribution(low, high, log=log, step=step)
        if kind == "Float":
            log = config.get("sampling") == "log"
            step = None if log or config.get("step") is None else float(config["step"])
            low, high = float(config["min_value"]), float(config["max_value"])
            if step is not None:
                high = _last_step(low, high, step)
            return FloatDistribution(low, high, log=log, step=step)
        if kind == "Choice":
            return CategoricalDistribution(list(config["values"]))
        if kind == "Boolean":
            return CategoricalDistribution([False, True])
        if kind == "Fixed":
            return CategoricalDistribution([config["value"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"keras-tuner hyperparameter '{name}' ({kind}) cannot be read: {exc}") from None
    raise ConfigError(f"keras-tuner hyperparameter '{name}' has an unknown kind {kind!r}; "
                      "known: Int, Float, Choice, Boolean, Fixed")


def _last_step(low: float, high: float, step: float) -> float:
    """keras-tuner's last reachable value of a stepped Float, in decimal (Optuna checks the range in
    decimal: 0.8999999999999999 for Float(0, 0.9, step=0.3) would shrink it to 0.6).

    >>> _last_step(0.0, 0.9, 0.3), _last_step(0.1, 0.75, 0.2)
    (0.9, 0.7)
    """
    count = math.floor((high - low) / step + 1e-9)
    return float(Decimal(repr(low)) + count * Decimal(repr(step)))


def _space(*documents: dict[str, Any]) -> dict[str, BaseDistribution]:
    """name -> distribution over the spaces of ``documents`` (the oracle's first: it is the whole space)."""
    out: dict[str, BaseDistribution] = {}
    for doc in documents:
        for hp in (doc.get("hyperparameters") or {}).get("space") or []:
            name = (hp.get("config") or {}).get("name")
            if name and name not in out:
                out[name] = distribution(hp)
    return out


def _best_values(trial: dict[str, Any]) -> dict[str, float]:
    """metric -> its value at the trial's best step (keras-tuner keeps one observation per step)."""
    out = {}
    metrics = ((trial.get("metrics") or {}).get("metrics")) or {}
    step = trial.get("best_step")
    for name, history in metrics.items():
        observations = history.get("observations") or []
        chosen = [o for o in observations if o.get("step") == step] or observations[-1:]
        if chosen and chosen[0].get("value"):
            out[name] = float(chosen[0]["value"][0])
    return out


def _objective(trials: list[dict[str, Any]], objective: str | None) -> tuple[str, str]:
    """The objective metric and its direction: ``objective`` when given, else the metric equal to
    every completed trial's score (a ``val_`` metric first), as keras-tuner does not store it."""
    directions: dict[str, str] = {}
    for t in trials:
        for name, history in (((t.get("metrics") or {}).get("metrics")) or {}).items():
            directions.setdefault(name, history.get("direction", "max"))
    if objective is not None:
        if objective not in directions:
            raise ConfigError(f"--objective '{objective}' is not a metric of this project; metrics: "
                              f"{', '.join(sorted(directions)) or 'none'}")
        return objective, directions[objective]
    scored = [(t["score"], _best_values(t)) for t in trials if t.get("status") == "COMPLETED" and t.get("score")
              is not None]
    candidates = [m for m in directions if scored and all(math.isclose(v.get(m, math.nan), float(s), rel_tol=1e-9)
                                                          for s, v in scored)]
    candidates.sort(key=lambda m: (not m.startswith("val_"), m))
    if not candidates:
        raise ConfigError("cannot tell which metric the keras-tuner search optimised (no completed trial's score "
                          "matches one metric); pass --objective NAME")
    return candidates[0], directions[candidates[0]]


def _contains(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(type(c) is type(value) and c == value for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return dist.low <= value <= dist.high  # type: ignore[attr-defined]


def _on_step(dist: BaseDistribution | None, value: Any) -> Any:
    """A stepped Float's value on its decimal lattice: keras-tuner's ``min + k * step`` drifts
    (0.7000000000000001 for k=3 in Float(0.1, 0.75, step=0.2)) out of Optuna's range; others as given."""
    if not isinstance(dist, FloatDistribution) or dist.step is None or isinstance(value, bool) \
            or not isinstance(value, (int, float)):
        return value
    k = (value - dist.low) / dist.step
    if abs(k - round(k)) > 1e-8:
        return value
    return float(Decimal(repr(dist.low)) + round(k) * Decimal(repr(dist.step)))


def _trial(t: dict[str, Any], space: dict[str, BaseDistribution], objective: str, source: Path) -> FrozenTrial:
    values = ((t.get("hyperparameters") or {}).get("values")) or {}
    params, distributions, extra = {}, {}, {}
    for name, value in values.items():
        dist = space.get(name)
        value = _on_step(dist, value)
        if dist is not None and _contains(dist, value):
            params[name], distributions[name] = value, dist
        else:  # keras-tuner's own bookkeeping (Hyperband's tuner/epochs ...) or a value outside the space
            extra[f"kt:{name}"] = value
    metrics = _best_values(t)
    attrs: dict[str, Any] = {"kt_trial_id": str(t.get("trial_id")), "source": f"keras-tuner: {source}",
                             **{k: v for k, v in metrics.items()}, **extra}
    if isinstance(values.get("tuner/epochs"), int):  # Hyperband: the epochs this round trained in all (its fidelity)
        attrs["epochs_run"] = values["tuner/epochs"]
    state = STATES[t["status"]]
    value = None
    if state == TrialState.COMPLETE:
        value = metrics.get(objective, t.get("score"))
        if value is None or not math.isfinite(float(value)):
            state = TrialState.FAIL
            attrs[FAIL_REASON] = f"keras-tuner recorded no finite {objective} for this trial"
            value = None
    if state == TrialState.FAIL and FAIL_REASON not in attrs:
        message = (t.get("message") or "keras-tuner marked the trial failed").strip().splitlines()
        attrs[FAIL_REASON] = (message[-1] if message else "failed")[:1000]
    history = (((t.get("metrics") or {}).get("metrics") or {}).get(objective) or {}).get("observations") or []
    intermediate = {int(o["step"]): float(o["value"][0]) for o in history
                    if o.get("value") and math.isfinite(float(o["value"][0]))}
    return create_trial(state=state, value=None if value is None else float(value), params=params,
                        distributions=distributions, user_attrs=attrs, intermediate_values=intermediate)


@quietly
def import_keras_tuner(folder: str | Path, *, study_name: str, storage: str | None = None,
                       objective: str | None = None) -> KerasTunerImport:
    """Store the finished trials of the keras-tuner project in ``folder`` as a new study.

    ``objective`` names the metric keras-tuner optimised when it cannot be told from the
    scores. Unfinished keras-tuner trials are left out (listed in the result).

    Example:
        >>> from tunekit.study import import_keras_tuner
        >>> result = import_keras_tuner("my_dir/my_project", study_name="old-search")  # doctest: +SKIP
        >>> result.counts  # doctest: +SKIP
        {'complete': 10, 'failed': 0, 'pruned': 0}
    """
    from tunekit.study._checks import check_study_name

    check_study_name(study_name)
    project = find_project(folder)
    oracle = _read(project / "oracle.json")
    paths = sorted(project.glob("trial_*/trial.json"), key=_order)
    documents = [_read(p) for p in paths]
    if not documents:
        raise ConfigError(f"keras-tuner project '{project}' has no trial_*/trial.json; nothing to import")
    for doc, path in zip(documents, paths):
        if "status" not in doc or "trial_id" not in doc:
            raise ConfigError(f"'{path}' is not a keras-tuner trial (no status or trial_id)")
    name, direction = _objective(documents, objective)
    space = _space(oracle, *documents)
    finished = [d for d in documents if d["status"] in STATES]
    skipped = [str(d["trial_id"]) for d in documents if d["status"] not in STATES]
    trials = [_trial(d, space, name, project) for d in finished]
    url = resolve_url(storage)
    rdb = open_storage(url, create=True)
    if study_name in study_names(rdb):
        raise ConfigError(f"a study named '{study_name}' already exists in '{url}'; pass another --study-name")
    study = optuna.create_study(study_name=study_name, storage=rdb,
                                direction="maximize" if direction == "max" else "minimize")
    try:
        with warnings.catch_warnings():  # experimental in Optuna; stable enough for a label
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([name])
        for key, value in {"metric": name, "direction": study.direction.name.lower(), "source": "keras-tuner",
                           "data": f"as in the keras-tuner project '{project.name}' (not recorded by keras-tuner)",
                           "imported_from": str(project.resolve()), "kt_skipped": skipped}.items():
            study.set_user_attr(key, value)
        study.add_trials(trials)
    except BaseException:
        delete_new_study(rdb, study_name)
        raise
    kinds = kind_counts(trials)
    counts = {k: kinds[k] for k in ("complete", "failed", "pruned")}
    return KerasTunerImport(study=study, objective=name, direction=study.direction.name.lower(), counts=counts,
                            skipped=skipped)


def _order(path: Path) -> tuple[int, str]:
    """trial_2 before trial_10 (keras-tuner pads ids in some versions and not in others)."""
    suffix = path.parent.name.removeprefix("trial_")
    return (int(suffix), "") if suffix.isdigit() else (10**9, suffix)
