"""A finished trial as MLflow and TensorBoard see it, read from the study database only.

``trial_record`` turns an Optuna ``FrozenTrial`` and its study's attributes into what every
tracking sink logs: the parameters (searched and fixed), the per-epoch curves (the study metric
from the trial's intermediate values, in the user's units; ``loss`` and ``val_loss`` from the
health probe), the final metrics (``final/val_accuracy`` ..., regression in the target's units),
the numbers (``train_seconds``, ``param_count``, ``epochs_run``) and the tags (state, why it
failed or was pruned, the health diagnosis, the study, trial number and database, password
masked).

Example:
    >>> from optuna.trial import create_trial
    >>> t = create_trial(value=0.9, intermediate_values={0: 0.8, 1: 0.9}, user_attrs={"val_accuracy": 0.9})
    >>> r = trial_record(t, {"metric": "val_accuracy"}, study="s", database="sqlite:///x.db", retried=set())
    >>> r.curves["val_accuracy"], r.finals, r.tags["tunekit.state"]
    ([(0, 0.8), (1, 0.9)], {'final/val_accuracy': 0.9}, 'complete')
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from optuna.trial import FrozenTrial

from tunekit._records import CONFIRMS, FAIL_REASON, PRUNED_REASON, WARM_START, WORKER_ATTR, trial_kind
from tunekit.storage._url import mask

#: Tag keys shared by the sinks: how a trial's run is found again (``tunekit.study`` +
#: ``tunekit.database`` + ``tunekit.trial_number``) and how the best one is marked.
STUDY_TAG = "tunekit.study"
DATABASE_TAG = "tunekit.database"
NUMBER_TAG = "tunekit.trial_number"
BEST_TAG = "tunekit.best"
#: User attrs logged as tags (``tunekit.<name>``) when present.
_TAG_ATTRS = (FAIL_REASON, PRUNED_REASON, "health", "health_layer", "health_reason", WORKER_ATTR, "strategy",
              CONFIRMS, WARM_START, "start")
#: User attrs logged as plain numbers.
NUMBERS = ("train_seconds", "param_count", "epochs_run")


@dataclass(frozen=True, kw_only=True)
class TrialRecord:
    """What is logged of one finished trial (see the module docstring)."""

    number: int
    state: str
    params: dict[str, Any]
    fixed: dict[str, Any]
    curves: dict[str, list[tuple[int, float]]]
    finals: dict[str, float]
    numbers: dict[str, float]
    tags: dict[str, str]
    start_ms: int | None
    end_ms: int | None


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, else None (bools and text are not metrics)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ms(when: Any) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def _curves(trial: FrozenTrial, metric: str) -> dict[str, list[tuple[int, float]]]:
    """The per-epoch curves: ``metric`` (intermediate values), then ``loss`` and ``val_loss``
    of every epoch as the health probe stored them."""
    curves = {metric: [(int(step), v) for step, value in sorted(trial.intermediate_values.items())
                       if (v := _finite(value)) is not None]}
    series = trial.user_attrs.get("health_series")
    if isinstance(series, Mapping):
        for name, key in (("loss", "epoch_loss"), ("val_loss", "val_loss")):
            points = [(step, v) for step, value in enumerate(series.get(key) or []) if (v := _finite(value)) is not None]
            if points and name not in curves:
                curves[name] = points
    return {name: points for name, points in curves.items() if points}


def trial_record(trial: FrozenTrial, study_attrs: Mapping[str, Any], *, study: str, database: str,
                 retried: set[int]) -> TrialRecord:
    """The ``TrialRecord`` of a finished ``trial``; ``study_attrs`` are its study's user attrs,
    ``database`` the storage URL (masked here), ``retried`` from ``tunekit._records.retried_numbers``."""
    attrs = trial.user_attrs
    metric = str(study_attrs.get("metric") or "value")
    finals = {f"final/{key}": v for key, value in attrs.items()
              if key.startswith(("val_", "train_")) and key != "train_seconds" and (v := _finite(value)) is not None}
    if trial.value is not None and f"final/{metric}" not in finals and _finite(trial.value) is not None:
        finals[f"final/{metric}"] = float(trial.value)
    tags = {STUDY_TAG: study, DATABASE_TAG: mask(database), NUMBER_TAG: str(trial.number),
            "tunekit.state": trial.state.name.lower(), "tunekit.kind": trial_kind(trial, retried),
            "tunekit.metric": metric}
    tags.update({f"tunekit.{key}": str(attrs[key]) for key in _TAG_ATTRS if attrs.get(key) is not None})
    params = dict(trial.params)
    if attrs.get("seed") is not None:
        params.setdefault("seed", attrs["seed"])
    try:
        fixed = json.loads(study_attrs.get("fixed") or "{}")
    except (TypeError, ValueError):
        fixed = {}
    return TrialRecord(
        number=trial.number, state=trial.state.name.lower(), params=params,
        fixed={k: v for k, v in fixed.items() if k not in params}, curves=_curves(trial, metric), finals=finals,
        numbers={key: v for key in NUMBERS if (v := _finite(attrs.get(key))) is not None}, tags=tags,
        start_ms=_ms(trial.datetime_start), end_ms=_ms(trial.datetime_complete),
    )
