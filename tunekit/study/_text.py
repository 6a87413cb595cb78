"""What the commands print, as text: a finished trial's line, the closing summary of a run,
the best trial, the trials and the comparison tables (pandas does the aligning).

The CLI echoes these lines; a notebook or a script can print them the same way.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Iterator, Mapping

import optuna
import pandas as pd

from tunekit._errors import TunekitError
from tunekit._records import CONFIRMS, FINISHED, REPEATS, WARM_START, fail_reason, trial_counts
from tunekit.storage._storage import mask, resolve_url
from tunekit.storage._url import ENV_VAR
from tunekit._units import units_table, with_unit
from tunekit.study._confirmed import best_view, confirmed_attr, lucky_line
from tunekit.study._frames import best_summary, trials_frame


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, elapsed: float) -> str:
    """One finished trial: its metric (regression: in the target's units, the standardised loss
    labelled so) or why it failed, its seconds, the best so far, the run's elapsed seconds."""
    attrs = study.user_attrs
    metric = attrs.get("metric", "value")
    state = trial.state.name
    if state == "COMPLETE":
        shown = [metric] + [m for m in ("val_rmse", "val_loss") if m != metric and attrs.get("task") == "regression"]
        values = {**trial.user_attrs, metric: trial.value}
        detail = ", ".join(f"{m}={with_unit(values[m], m, attrs)}" for m in shown if isinstance(values.get(m), (int, float)))
    elif state == "FAIL":
        detail = f"failed: {fail_reason(trial) or 'unknown reason'}"
    else:
        detail = state.lower()
    try:
        top = study.best_trial
        copied = f" (trial {top.number}, warm start)" if top.user_attrs.get(WARM_START) else ""
        best = f"best {with_unit(top.value, metric, attrs)}{copied}"
    except ValueError:
        best = "no best yet"
    secs = trial.user_attrs.get("train_seconds")
    took = f" {secs:.1f}s" if isinstance(secs, (int, float)) else ""
    of = "".join(f" ({word} trial {trial.user_attrs[attr]})" for attr, word in ((CONFIRMS, "confirms"), (REPEATS, "repeats"))
                 if attr in trial.user_attrs)
    return f"trial {trial.number:>3} {detail}{took}{of} ({best}; {elapsed:.0f}s elapsed)"


def run_summary(study: optuna.Study, storage: str | None = None) -> Iterator[str]:
    """The closing lines of ``run`` and ``worker``, one by one: the trials that count toward
    ``--trials``, the best trial and its parameters, how to look further. When no trial
    completed, TunekitError after the first line (a script must be able to tell that the
    study produced nothing)."""
    url = mask(resolve_url(storage))
    counted, other = trial_counts(study)
    detail = ", ".join(f"{n} {kind}" for kind, n in counted.items())
    if other:
        words = {"lost": ("lost with its worker", "lost with their workers"),
                 "confirmation": ("confirmation run (--confirm)", "confirmation runs (--confirm)")}
        left_out = ", ".join(f"{n} {words.get(kind, (kind, kind))[n != 1]}" for kind, n in other.items())
        detail = f"{detail}; not counted: {left_out}" if detail else f"not counted: {left_out}"
    total = sum(counted.values())
    yield (f"study {study.study_name!r} in {url}: {total} finished {'trial counts' if total == 1 else 'trials count'} "
           "toward --trials"
           + (f" ({detail})" if detail else ""))
    metric = study.user_attrs.get("metric", "value")
    try:
        view = best_view(study)
    except ValueError:
        where = _storage_arg(storage, url)
        yield from _health_line(study, where)  # every trial failed: their health says why (NaN: exploding)
        raise TunekitError(f"no trial completed; see the failure reasons with: tunekit trials {study.study_name}{where}") from None
    best = view.trial
    summary = {"metric": metric, "value": best.value, "trial": best.number, "confirmed": confirmed_attr(view)}
    yield f"best {metric} = {_best_value(summary, study.user_attrs)}{_warm_mark(best.user_attrs)}"
    if best.user_attrs.get(WARM_START):
        yield _trained_line(trained_best(study), metric, study.user_attrs)
    lucky = lucky_line(view, lambda v: f"{v:.4g}")
    if lucky:
        yield f"note: {lucky}"
    yield from (f"  {key}: {_short(value)}" for key, value in best.params.items())
    where = _storage_arg(storage, url)
    yield from _health_line(study, where)
    from_env = where == "" and bool(os.environ.get(ENV_VAR))
    plain = f'"${ENV_VAR}"' if from_env else ("URL" if "***" in url else url)
    yield f"open the dashboard: tunekit dashboard{where}   (or: optuna-dashboard {plain})"


def _storage_arg(storage: str | None, url: str) -> str:
    """`` --storage URL`` for the commands a summary suggests, or nothing when they find the same
    database without it (the default, or ``$TUNEKIT_STORAGE``); ``URL`` stands for a URL whose
    password is masked, so that no line holds a URL that cannot be pasted."""
    if storage is None or storage == os.environ.get(ENV_VAR):
        return ""
    return " --storage URL" if "***" in url else f" --storage {url}"


def _health_line(study: optuna.Study, where: str) -> Iterator[str]:
    """``training health: 7 ok, 2 vanishing; why: tunekit health NAME`` when any trial was probed."""
    from tunekit.study._health import NOT_PROBED, health_counts

    counts = health_counts(study.get_trials(deepcopy=False, states=FINISHED))
    counts.pop(NOT_PROBED, None)
    if counts:
        text = ", ".join(f"{n} {name}" for name, n in counts.items())
        unhealthy = any(name != "ok" for name in counts)
        hint = f"; why: tunekit health {study.study_name}{where}" if unhealthy else ""
        yield f"training health: {text}{hint}"


def best_report(study: optuna.Study, save_model: str | None = None,
                echo: Callable[[str], None] | None = None, fmt: str = "keras", force: bool = False) -> dict[str, Any]:
    """``best_summary`` with, for regression, which numbers are in the target's units
    (``units``) and, with ``save_model``, the retrained model saved there in ``fmt`` (``saved_model``)."""
    summary = best_summary(study)
    units = units_table({summary["metric"]: summary["value"], **summary["metrics"]}, study.user_attrs)
    if units:
        summary["units"] = units
    if summary["metrics"].get(WARM_START):  # a copied trial: which best this study trained itself
        summary["trained_best"] = trained_best(study)
    if save_model is not None:
        from tunekit.study._best import save_best_model

        summary["saved_model"] = save_best_model(study, save_model, echo=echo, fmt=fmt, force=force)
    return summary


def best_lines(report: Mapping[str, Any], attrs: Mapping[str, Any]) -> list[str]:
    """``best_report`` as text: the best value, the data, parameters, scores, trial facts and
    the saved model; ``attrs`` are the study's user attributes (for the units)."""
    metrics = report["metrics"]
    lines = [f"study {report['study']!r}: best {report['metric']} = {_best_value(report, attrs)}"
             + _warm_mark(metrics)]
    if "trained_best" in report:
        lines.append(_trained_line(report["trained_best"], report["metric"], attrs))
    if report.get("lucky"):
        lines.append(f"note: {report['lucky']}")
    if report.get("data"):
        lines.append(f"data: {report['data']}")
    lines.append("params:")
    lines += [f"  {key}: {_short(value)}" for key, value in report["params"].items()]
    lines += [f"  {key}: {_short(value)} (fixed)" for key, value in report["fixed"].items()]
    scores = {k: v for k, v in metrics.items() if k.startswith(("val_", "train_")) and k != "train_seconds"}
    lines.append("metrics:")
    lines += [f"  {key}: {with_unit(value, key, attrs)}" if isinstance(value, float) else f"  {key}: {value}"
              for key, value in sorted(scores.items())]
    lines.append("trial:")
    lines += [f"  {key}: {_short(value)}" if key != "health_series" else  # the per-probe figures: `tunekit health`
              f"  {key}: (per layer and probe: tunekit health {report['study']} --trial {report['trial']})"
              for key, value in sorted(metrics.items()) if key not in scores]
    saved = report.get("saved_model")
    if saved is not None:
        metric, value = saved["metric"], saved["model_metrics"].get(saved["metric"])
        shown = with_unit(value, metric, attrs) if isinstance(value, float) else "?"
        same = "reproduces the trial" if saved["reproduced"] else f"the trial had {saved['trial_value']:.4f}"
        lines.append(f"saved the retrained model to {saved['path']} ({metric} {shown}; {same})")
        lines.append(f"wrote {saved['json']} (the model card: inputs, classes, metric, versions)")
        if saved.get("inputs"):
            lines.append(f"the model takes raw rows ({len(saved['inputs'])} columns, by name) and returns "
                         f"{saved['returns']}; predict: tunekit predict --model {saved['path']} ROWS.csv -o predictions.csv")
    return lines


def _warm_mark(attrs: Mapping[str, Any]) -> str:
    """`` [warm start: copied from study 'old', ...]`` for a trial (its user attributes) that
    ``run --warm-start`` copied, else ''."""
    source = attrs.get(WARM_START)
    if not source:
        return ""
    how = "trained and scored by keras-tuner on its own split" if "kt_trial_id" in attrs else "trained in that study"
    return f" [warm start: copied from study {source!r}, {how}]"


def trained_best(study: optuna.Study) -> dict[str, Any] | None:
    """The best complete trial this study trained itself (not one ``run --warm-start`` copied):
    its number and value; None when there is none yet."""
    own = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
           if t.value is not None and not t.user_attrs.get(WARM_START)]
    if not own:
        return None
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1
    best = min(own, key=lambda t: (sign * t.value, t.number))
    return {"trial": best.number, "value": best.value}


def _trained_line(trained: Mapping[str, Any] | None, metric: str, attrs: Mapping[str, Any]) -> str:
    if trained is None:
        return "best trained in this study: none yet (every complete trial was copied)"
    return f"best trained in this study: {with_unit(trained['value'], metric, attrs)} (trial {trained['trial']})"


def _best_value(report: Mapping[str, Any], attrs: Mapping[str, Any]) -> str:
    """``0.9617 (trial 12)``, or after ``--confirm``: ``0.9617 +/- 0.0041 (mean +/- sd over 3 runs of
    trial 12's configuration, confirmed; noise level 0.0058)``."""
    metric, confirmed = report["metric"], report.get("confirmed")
    if not confirmed:
        return f"{with_unit(report['value'], metric, attrs)} (trial {report['trial']})"
    noise = confirmed.get("noise_sd")
    level = "" if noise is None else f"; noise level {noise:.4g} (pooled sd of repeats)"
    return (f"{with_unit(confirmed['mean'], metric, attrs)} +/- {confirmed['sd']:.4g} (mean +/- sd over "
            f"{confirmed['n']} runs of trial {report['trial']}'s configuration, confirmed{level})")


def _short(value: object) -> object:
    """A float to 4 significant digits for reading (``--json`` keeps every digit)."""
    return f"{value:.4g}" if isinstance(value, float) else value


def trials_text(study: optuna.Study, state: str | None = None) -> str:
    """The study's trials (only those in ``state`` when given) as an aligned table: number,
    state, value, seconds, parameters, epochs run, parameter count, training health (``-`` when
    not probed) and failure reason."""
    df = trials_frame(study)
    if df.empty:
        return f"study {study.study_name!r} has no trials yet"
    if state:
        df = df[df["state"].str.lower() == state.lower()]
    keep = ["number", "state", "value", "duration_s"]
    keep += [c for c in df.columns if c.startswith("params_")]
    keep += [c for c in ("user_attrs_epochs_run", "user_attrs_param_count", "health", "user_attrs_fail_reason")
             if c in df.columns]
    table = df[keep].rename(columns=lambda c: c.removeprefix("params_").removeprefix("user_attrs_"))
    for col in table.columns:  # nullable Int64 / boolean columns print <NA>, object ones None: na_rep replaces neither
        if str(table[col].dtype) in ("Int64", "boolean", "object"):
            table[col] = table[col].astype(object).where(table[col].notna(), "-")
    return table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}")


def comparison_text(table: pd.DataFrame, *, target_given: bool) -> list[str]:
    """The table of ``compare`` as aligned text (pandas), then one line explaining its columns."""
    target = _num(table["target"].iloc[0] if len(table) else math.nan)
    reach = f"trials to {target} (reached)"
    shown = pd.DataFrame({
        "strategy": table["strategy"].astype(str), "seeds": table["seeds"].astype(str),
        "median best": table["median_best"].map(_num), "best": table["best"].map(_num), "worst": table["worst"].map(_num),
        reach: [f"{_count(n)} ({r})" for n, r in zip(table["median_trials_to_target"], table["reached"])],
        "s/trial": table["median_seconds_per_trial"].map(_num),
    })
    # Left-aligned columns two spaces apart (pandas adds one): each value padded to its column's width + 1.
    left = {c: f"{{:<{max([len(c), *shown[c].map(len)]) + 1}}}".format for c in shown.columns}
    text = shown.to_string(index=False, justify="left", formatters=left)
    metric = table.attrs.get("metric", "value")
    source = "--target" if target_given else "the median of all runs' best values"
    explained = (f"columns: median best, best, worst: each seed's best {metric}, over the seeds; trials to {target} "
                 f"({source}): finished trials a seed needed to reach it, median over seeds, 'not reached' when half "
                 "the seeds or more never did; (reached): seeds that reached it; s/trial: median seconds per trial")
    return [line.rstrip() for line in text.splitlines()] + [explained]


def _num(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _count(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    return "not reached" if math.isinf(x) else f"{x:g}"
