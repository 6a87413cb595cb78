"""Studies and trials as pandas DataFrames and plain dicts (used by the CLI and notebooks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from tunekit._confirm import config_key, confirmed
from tunekit._errors import ConfigError
from tunekit._records import kind_counts, require_complete_trial
from tunekit.data import data_summary
from tunekit.storage._storage import open_storage
from tunekit.health._attrs import HEALTH, HEALTH_LAYER, HEALTH_REASON, HEALTH_SERIES, health_columns
from tunekit.study._confirmed import best_view, confirmed_attr, lucky_line

#: Health columns of ``trials_frame`` holding one value per trial, with their dtype (None: pandas'
#: text dtype, as the other text columns); missing where a trial was not probed.
HEALTH_SCALARS = {HEALTH: None, HEALTH_LAYER: None, HEALTH_REASON: None,
                  "health_grad_ratio": "float64", "health_dead": "float64", "health_saturated": "float64"}


def studies_frame(storage: str | None = None) -> pd.DataFrame:
    """One row per study: name, strategy, trials by state, direction, and the best value as
    ``tunekit best`` shows it (the confirmed configuration's mean over ``best_runs`` runs when the
    study ran ``--confirm``, else the best single trial, ``best_runs`` 1).

    Example:
        >>> studies_frame("sqlite:///tunekit.db")  # doctest: +SKIP
    """
    st = open_storage(storage, create=False)
    rows = []
    for s in st.get_all_studies():
        study = optuna.load_study(study_name=s.study_name, storage=st)
        trials = study.get_trials(deepcopy=False)
        counts = kind_counts(trials)
        best, runs = None, None
        if counts["complete"]:  # as `tunekit best` shows it: the confirmed mean when confirmations ran
            view = best_view(study, trials)
            best, runs = (view.confirmed.mean, view.confirmed.n) if view.confirmed else (view.trial.value, 1)
        rows.append(
            {
                "study": s.study_name,
                "strategy": study.user_attrs.get("strategy", "?"),
                "metric": study.user_attrs.get("metric", "value"),
                "direction": study.direction.name.lower(),
                "complete": counts["complete"],
                "pruned": counts["pruned"],
                "failed": counts["failed"] + counts["interrupted"] + counts["lost"],
                "running": counts["running"] + counts["waiting"],
                "best": best,
                "best_runs": runs,
            }
        )
    columns = ["study", "strategy", "metric", "direction", "complete", "pruned", "failed", "running", "best", "best_runs"]
    return pd.DataFrame(rows, columns=columns).astype({"best_runs": "Int64"})


def trials_frame(study: optuna.Study, *, curves: bool = False) -> pd.DataFrame:
    """The study's trials with flattened ``params_*`` and ``user_attrs_*`` columns.

    Parameters take their type from the study's stored space: integers (and Choices of
    integers) are pandas' nullable ``Int64`` (``<NA>`` where a conditional parameter is
    absent), booleans ``boolean``, reals ``float64``. With ``curves=True`` a ``curve``
    column holds each trial's per-epoch metric as a list of floats.

    Training health (``tunekit.health``) replaces the raw ``user_attrs_health*`` columns: always
    ``health``, ``health_layer``, ``health_reason`` (text) and ``health_grad_ratio``,
    ``health_dead``, ``health_saturated`` (floats), None / NaN for a trial that was not probed;
    with ``curves=True`` also the per-probe series as lists, like ``curve``: ``health_layers``,
    ``health_loss`` and ``health_<figure>`` (a list over probes of a list over layers).

    Example:
        >>> df = trials_frame(tunekit.load_study("digits"))  # doctest: +SKIP
    """
    df = study.trials_dataframe(
        attrs=("number", "value", "state", "datetime_start", "datetime_complete", "duration", "params", "user_attrs")
    )
    if df.empty:
        return df
    # With the metric named (the dashboard's label), Optuna calls the column value_<metric>.
    df = df.rename(columns={f"value_{name}": "value" for name in study.metric_names or []})
    if "duration" in df:
        df["duration_s"] = df.pop("duration").dt.total_seconds()
    _apply_dtypes(df, study)
    if curves:
        by_number = {t.number: t.intermediate_values for t in study.get_trials(deepcopy=False)}
        df["curve"] = [[float(by_number[n][k]) for k in sorted(by_number[n])] for n in df["number"]]
    _add_health(df, study, lists=curves)
    _add_confirmed(df, study)
    return df


def _add_confirmed(df: pd.DataFrame, study: optuna.Study) -> None:
    """After ``run --confirm``: ``config_mean``, ``config_sd`` and ``config_n`` on every trial of a
    confirmed configuration (its runs: search and confirmation), missing elsewhere (in place)."""
    trials = study.get_trials(deepcopy=False)
    runs = {config_key(c.trial.params): c for c in confirmed(trials)}
    if not runs:
        return
    params = {t.number: t.params for t in trials}
    rows = [runs.get(config_key(params[n])) for n in df["number"]]
    df["config_mean"] = pd.array([None if c is None else c.mean for c in rows], dtype="Float64")
    df["config_sd"] = pd.array([None if c is None else c.sd for c in rows], dtype="Float64")
    df["config_n"] = pd.array([None if c is None else c.n for c in rows], dtype="Int64")


def _add_health(df: pd.DataFrame, study: optuna.Study, *, lists: bool) -> None:
    """Replace the raw health attributes with ``health_columns`` (in place): the scalars always,
    the per-probe lists when ``lists``."""
    df.drop(columns=[f"user_attrs_{k}" for k in (HEALTH, HEALTH_LAYER, HEALTH_REASON, HEALTH_SERIES)
                     if f"user_attrs_{k}" in df.columns], inplace=True)
    by_number = {t.number: health_columns(t.user_attrs) for t in study.get_trials(deepcopy=False)}
    rows = [by_number.get(n, {}) for n in df["number"]]
    for name, dtype in HEALTH_SCALARS.items():
        df[name] = pd.Series([r.get(name) for r in rows], index=df.index, dtype=dtype)
    if lists:
        names = list(dict.fromkeys(k for r in rows for k in r if k not in HEALTH_SCALARS))
        for name in names:
            df[name] = pd.Series([r.get(name) for r in rows], index=df.index, dtype=object)


def _space_dtypes(space_json: Any) -> dict[str, str]:
    """``params_<name>`` -> pandas dtype, from the study's stored space (JSON); {} when unreadable."""
    try:
        dims = json.loads(space_json) if isinstance(space_json, str) else {}
    except ValueError:
        return {}
    out = {}
    for name, d in dims.items() if isinstance(dims, dict) else ():
        kind = d.get("type") if isinstance(d, dict) else None
        values = list(d.get("values") or []) if kind == "choice" else [d.get("value")] if kind == "fixed" else []
        if kind == "int" or (values and all(_is_int(v) for v in values)):
            out[f"params_{name}"] = "Int64"
        elif kind == "bool" or (values and all(isinstance(v, bool) for v in values)):
            out[f"params_{name}"] = "boolean"
        elif kind == "float" or (values and all(_is_int(v) or isinstance(v, float) for v in values)):
            out[f"params_{name}"] = "float64"
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _apply_dtypes(df: pd.DataFrame, study: optuna.Study) -> None:
    """Give parameters their space's dtype, and user attributes that are always integers ``Int64`` (in place)."""
    dtypes = {c: t for c, t in _space_dtypes(study.user_attrs.get("space")).items() if c in df.columns}
    seen: dict[str, bool] = {}
    for t in study.get_trials(deepcopy=False):
        for key, value in t.user_attrs.items():
            seen[key] = seen.get(key, True) and _is_int(value)
    dtypes.update({f"user_attrs_{k}": "Int64" for k, ints in seen.items() if ints and f"user_attrs_{k}" in df.columns})
    for col, dtype in dtypes.items():
        try:
            df[col] = df[col].astype(dtype)
        except (TypeError, ValueError):  # a value outside the stored space (an older study): keep as read
            pass


def best_summary(study: optuna.Study) -> dict[str, Any]:
    """The best trial's number, value, parameters and recorded metrics; ConfigError when no
    trial completed (``require_complete_trial``). After ``run --confirm`` the best is the confirmed
    configuration with the best mean (``confirmed``: mean, sd, n, noise_sd; ``lucky``: the line
    saying the single-run best was a lucky draw, or None)."""
    require_complete_trial(study)
    view = best_view(study)
    best = view.trial
    return {
        "study": study.study_name,
        "metric": study.user_attrs.get("metric", "value"),
        "direction": study.direction.name.lower(),
        "trial": best.number,
        "value": best.value,
        "confirmed": confirmed_attr(view),  # mean, sd, n of the trusted configuration; noise_sd (run --confirm)
        "lucky": lucky_line(view, lambda v: f"{v:.4g}"),
        "params": dict(best.params),
        "fixed": json.loads(study.user_attrs.get("fixed", "{}")),
        "data": data_summary(json.loads(study.user_attrs.get("dataset") or "{}"), str(study.user_attrs.get("data", "?"))),
        "metrics": {k: v for k, v in best.user_attrs.items()},
    }


def _list_columns(df: pd.DataFrame) -> list[str]:
    """The columns of ``trials_frame(..., curves=True)`` that hold lists: ``curve`` and the health series."""
    return [c for c in df.columns if c == "curve" or (c.startswith("health_") and c not in HEALTH_SCALARS)]


def export_trials(study: optuna.Study, path: str | Path) -> Path:
    """Write the trials DataFrame to .csv, .parquet or .json (by the file's suffix)."""
    out = Path(path)
    writers = {".csv": "to_csv", ".parquet": "to_parquet", ".json": "to_json"}
    if out.suffix not in writers:
        raise ConfigError(f"cannot export to '{out}': use a file ending .csv, .parquet or .json")
    if not out.parent.exists():
        raise ConfigError(f"cannot write '{out}': folder '{out.parent}' does not exist")
    df = trials_frame(study, curves=True)
    if "state" in df:  # a study without trials has no columns
        df["state"] = df["state"].astype(str)
    try:
        if out.suffix == ".csv":
            for col in _list_columns(df):  # CSV has no lists: one JSON string per cell (empty when absent)
                df[col] = [None if c is None else json.dumps(c) for c in df[col]]
            df.to_csv(out, index=False)
        elif out.suffix == ".parquet":
            df.to_parquet(out, index=False)
        else:
            df.to_json(out, orient="records", indent=1, date_format="iso", date_unit="us", double_precision=15)
    except OSError as exc:
        raise ConfigError(f"cannot write '{out}': {exc.strerror or exc}") from None
    return out
