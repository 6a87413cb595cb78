"""Training health as users see it: the diagnoses of a study's trials, counted and shared out
by parameter values, and one trial's layers at its last probe (``tunekit health``).

A trial probed by ``tunekit.health`` stores its diagnosis in user attributes; trials of a study
run with ``--no-health`` (or older than the probe) have none and count as ``not probed``.

Example:
    >>> import tunekit
    >>> summary = health_summary(tunekit.load_study("digits"))  # doctest: +SKIP
    >>> summary["counts"]  # doctest: +SKIP
    {'ok': 14, 'vanishing': 4, 'symmetric': 2}
    >>> print("\\n".join(trial_health_lines(trial_health(tunekit.load_study("digits"), 3))))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError
from tunekit._records import PRUNED_REASON, require_complete_trial, retried_numbers, trial_kind
from tunekit.storage._storage import mask
from tunekit.health import DIAGNOSES
from tunekit.health._attrs import read_health

#: The count of trials without health figures (``--no-health``, older studies, not trained yet).
NOT_PROBED = "not probed"
#: Why a trial or a study has no health figures (the end of the error messages).
WHY_NONE = ("the study ran with --no-health or before tunekit recorded health, or the trial never trained; "
            "run the study again without --no-health to see its health")
#: The rule columns the output layer is not judged by (``trial_health_lines`` shows them as ``-``).
OUTPUT_NOTE = ("the output layer is not judged by the dead, saturated and symmetric rules, hence its '-' (a "
               "confident sigmoid sits at its bound; a single unit has nothing to be identical to)")
#: The diagnoses in the order tables show them: ``ok`` first, then the rules' order.
ORDER = ("ok", *(d for d in DIAGNOSES if d != "ok"))
#: Unhealthy trials listed by ``health_summary_lines`` (``--json`` lists them all).
MAX_LISTED = 20


def diagnosis_of(trial: FrozenTrial) -> str | None:
    """The diagnosis stored on ``trial`` (one of ``DIAGNOSES``), None when it was not probed."""
    found = read_health(trial.user_attrs)
    return found[0].name if found is not None else None


def counted(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """``trials`` less those lost with their worker and retried: the retried copy counts, once."""
    trials = list(trials)
    retried = retried_numbers(trials)
    return [t for t in trials if trial_kind(t, retried) != "lost"]


def health_counts(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    """Trials per diagnosis: ``ok``, the others in the rules' order (``DIAGNOSES``), then ``not
    probed``; only the ones that occur. A trial lost with its worker and retried counts once
    (its retried copy)."""
    names = [diagnosis_of(t) or NOT_PROBED for t in counted(trials)]
    order = [*ORDER, *sorted({n for n in names if n not in ORDER and n != NOT_PROBED}), NOT_PROBED]
    return {name: names.count(name) for name in order if name in names}


def health_by_param(trials: Iterable[FrozenTrial], params: Sequence[str]) -> pd.DataFrame:
    """The share of probed trials per diagnosis for each combination of ``params``' values: one row
    per combination (``params`` columns, ``trials``), one column per diagnosis (0.0 to 1.0).

    Example:
        >>> health_by_param(study.trials, ["activation", "n_layers"])  # doctest: +SKIP
          activation  n_layers  trials   ok  vanishing
        0       relu         8       2  1.0        0.0
        1    sigmoid         8       2  0.0        1.0
    """
    rows = [{**{p: t.params.get(p) for p in params}, "diagnosis": d}
            for t in trials if (d := diagnosis_of(t)) is not None and all(p in t.params for p in params)]
    if not rows:
        return pd.DataFrame(columns=[*params, "trials"])
    df = pd.DataFrame(rows)
    shares = pd.crosstab([df[p] for p in params], df["diagnosis"], normalize="index")
    order = [d for d in ORDER if d in shares.columns] + [d for d in shares.columns if d not in ORDER]
    counts = df.groupby(list(params)).size().rename("trials")
    out = pd.concat([counts, shares[order]], axis=1).reset_index()
    out.columns.name = None
    return out


def health_summary(study: optuna.Study) -> dict[str, Any]:
    """The study's trials per diagnosis (``counts``, ``shares``), the unhealthy ones (number,
    state, diagnosis, layer, reason) and the best trial's diagnosis; JSON-ready. ConfigError when
    the study has trials but none with health figures."""
    trials = counted(study.get_trials(deepcopy=False))
    counts = health_counts(trials)
    probed = len(trials) - counts.get(NOT_PROBED, 0)
    if trials and not probed:
        raise ConfigError(f"no trial of study {study.study_name!r} has health figures: {WHY_NONE}")
    unhealthy = []
    for t in trials:
        found = read_health(t.user_attrs)
        if found is not None and found[0].name != "ok":
            unhealthy.append({"trial": t.number, "state": t.state.name.lower(), "diagnosis": found[0].name,
                              "layer": found[0].layer, "reason": found[0].reason})
    try:
        best: dict[str, Any] | None = {"trial": study.best_trial.number, "diagnosis": diagnosis_of(study.best_trial)}
    except ValueError:  # no complete trial
        best = None
    return {"study": study.study_name, "trials": len(trials), "probed": probed, "counts": counts,
            "shares": {k: n / len(trials) for k, n in counts.items()}, "unhealthy": unhealthy, "best": best}


def health_summary_lines(summary: Mapping[str, Any], storage: str | None = None) -> list[str]:
    """``health_summary`` as text: the table of diagnoses, the unhealthy trials, how to see one
    trial's layers (``storage``: the ``--storage`` the hint repeats)."""
    name = summary["study"]
    if not summary["trials"]:
        return [f"study {name!r} has no trials yet"]
    lines = [f"study {name!r}: {summary['probed']} of {summary['trials']} trials probed for training health"]
    counts = pd.DataFrame({"diagnosis": list(summary["counts"]), "trials": list(summary["counts"].values()),
                           "share": [f"{s:.0%}" for s in summary["shares"].values()]})
    lines += ["  " + line for line in _aligned(counts, right=("trials", "share"))]
    shown = summary["unhealthy"][:MAX_LISTED]
    if shown:
        lines.append(f"unhealthy trials ({len(summary['unhealthy'])}):")
        table = pd.DataFrame(shown)
        lines += ["  " + line for line in _aligned(table, right=("trial",))]
        if len(summary["unhealthy"]) > len(shown):
            lines.append(f"  ... and {len(summary['unhealthy']) - len(shown)} more (--json lists them all)")
    else:
        lines.append("no unhealthy trial")
    if summary["best"] is not None:
        lines.append(f"best trial {summary['best']['trial']}: {summary['best']['diagnosis'] or NOT_PROBED}")
    where = f" --storage {mask(storage)}" if storage else ""  # a password shown as ***
    lines.append(f"see one trial's layers: tunekit health {name}{where} --trial N   (or --trial best)")
    return lines


def _pick(study: optuna.Study, trial: int | str | None) -> FrozenTrial:
    """The trial numbered ``trial``, or the best trial for None or ``"best"``; ConfigError otherwise."""
    if trial is None or trial == "best":
        require_complete_trial(study)
        return study.best_trial
    try:
        number = int(trial)
    except (TypeError, ValueError):
        raise ConfigError(f"--trial must be a trial number or 'best', got {trial!r}") from None
    trials = study.get_trials(deepcopy=False)
    found = [t for t in trials if t.number == number]
    if not found:
        span = f"trial numbers are 0 to {len(trials) - 1}" if trials else "it has no trials yet"
        raise ConfigError(f"study {study.study_name!r} has no trial {number}: {span}")
    return found[0]


def _at(rows: list[list[Any]], t: int, i: int) -> Any:
    return rows[t][i] if t < len(rows) and i < len(rows[t]) else None


def trial_health(study: optuna.Study, trial: int | str | None = None) -> dict[str, Any]:
    """One trial's health (``trial``: its number, or None/``"best"`` for the best trial): the
    diagnosis, layer and reason, ``pruned_reason`` when ``--prune-unhealthy`` stopped it, the
    loss per probe and each layer's figures at the last probe (``layers``); JSON-ready.
    ConfigError for an unknown trial or one without health figures."""
    t = _pick(study, trial)
    if t.state in (TrialState.RUNNING, TrialState.WAITING):
        raise ConfigError(f"trial {t.number} of study {study.study_name!r} is still "
                          f"{'running' if t.state == TrialState.RUNNING else 'waiting to run'}: its health is recorded "
                          f"when it finishes; run `tunekit health {study.study_name} --trial {t.number}` again then")
    found = read_health(t.user_attrs)
    if found is None or found[1].probes == 0:
        raise ConfigError(f"trial {t.number} of study {study.study_name!r} ({t.state.name.lower()}) has no "
                          f"health figures: {WHY_NONE}")
    diagnosis, s = found
    last = s.probes - 1
    layers = [{"layer": name, "role": "output" if i == len(s.layers) - 1 else "hidden",
               "activation": _at([s.activations], 0, i), "units": _at([s.units], 0, i),
               **{k: _at(getattr(s, k), last, i) for k in ("grad_norm", "weight_norm", "update_ratio", "dead",
                                                            "saturated", "symmetric")}}
              for i, name in enumerate(s.layers)]
    return {"study": study.study_name, "trial": t.number, "state": t.state.name.lower(), "value": t.value,
            "metric": study.user_attrs.get("metric", "value"), "diagnosis": diagnosis.name, "layer": diagnosis.layer,
            "reason": diagnosis.reason, "pruned_reason": t.user_attrs.get(PRUNED_REASON), "epoch": s.epoch(last),
            "epochs": list(s.epochs), "loss": list(s.loss), "epoch_loss": list(s.epoch_loss), "layers": layers}


def _aligned(table: pd.DataFrame, right: Sequence[str] = ()) -> list[str]:
    """``table`` as text lines, columns two spaces apart: left-aligned, those in ``right`` right-aligned."""
    table = table.astype(object).map(lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    widths = {c: max([len(c), *table[c].map(len)]) for c in table.columns}
    rows = [list(table.columns), *table.itertuples(index=False)]
    cell = {c: (f"{{:>{w}}}" if c in right else f"{{:<{w}}}").format for c, w in widths.items()}
    return ["  ".join(cell[c](v) for c, v in zip(table.columns, row)).rstrip() for row in rows]


def _num(value: Any) -> str:
    """A figure as text: ``-`` when it does not apply, ``nan``/``inf`` as they were measured (a diverged model)."""
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def trial_health_lines(report: Mapping[str, Any]) -> list[str]:
    """``trial_health`` as text: a title line, the layer table at the last probe, the loss, the
    diagnosis and its reason."""
    value = "" if report["value"] is None else f", {report['metric']} {report['value']:.4g}"
    lines = [f"study {report['study']!r}, trial {report['trial']} ({report['state']}{value}): "
             f"layers at epoch {report['epoch']} (the last probe; 0 is the start of training)"]
    hidden = [r.get("role", "hidden") == "hidden" for r in report["layers"]]
    table = pd.DataFrame([{
        "layer": r["layer"], "activation": r["activation"] or "-", "units": _num(r["units"]),
        "grad norm": _num(r["grad_norm"]), "weight norm": _num(r["weight_norm"]),
        "update ratio": _num(r["update_ratio"]), "dead": _pct(r["dead"] if judged else None),
        "saturated": _pct(r["saturated"] if judged else None),
        "symmetric": "-" if r["symmetric"] is None or not judged else ("yes" if r["symmetric"] else "no"),
    } for r, judged in zip(report["layers"], hidden)])
    right = ("units", "grad norm", "weight norm", "update ratio", "dead", "saturated")
    lines += ["  " + line for line in _aligned(table, right=right)]
    loss, trained = report["loss"], report["epoch_loss"]
    if loss:
        epochs = (f"{_num(trained[0])} in epoch 1, {_num(trained[-1])} in epoch {len(trained)}" if len(trained) > 1
                  else f"{_num(trained[0])} in epoch 1" if trained else "")
        lines.append(f"probe batch loss: {_num(loss[0])} at the start, {_num(loss[-1])} at epoch {report['epoch']}"
                     + (f"; training loss {epochs}" if epochs else ""))
    where = f" ({report['layer']})" if report["layer"] else ""
    lines.append(f"diagnosis: {report['diagnosis']}{where}: {report['reason']}")
    if not all(hidden):
        lines.append(f"note: {OUTPUT_NOTE}")
    if report["pruned_reason"]:
        lines.append(f"pruned: {report['pruned_reason']}")
    return lines
