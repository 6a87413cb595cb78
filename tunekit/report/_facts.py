"""What a report shows, read once from the study: summary, trials, curves, importances."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._records import require_complete_trial  # noqa: F401  (re-exported for the report)
from tunekit.data import data_summary
from tunekit.study._confirmed import best_view, lucky_line
from tunekit._units import unit_label, with_unit

#: Parameter importances need at least this many complete trials.
MIN_TRIALS_FOR_IMPORTANCE = 2


@dataclass(frozen=True)
class StudyFacts:
    """A study read for reporting; every plot and table is drawn from these fields."""

    study: optuna.Study
    name: str
    metric: str
    direction: str
    attrs: dict[str, Any]
    trials: list[FrozenTrial]
    complete: list[FrozenTrial]
    counts: dict[str, int]
    importances: dict[str, float] | None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    @property
    def best(self) -> FrozenTrial:
        """The best trial: after ``run --confirm``, the confirmed configuration's search trial."""
        return best_view(self.study, self.trials).trial

    @property
    def param_names(self) -> list[str]:
        """Parameters in the order they were first sampled, the most important first when known."""
        names: list[str] = []
        for t in self.complete:
            names += [n for n in t.params if n not in names]
        if self.importances:
            names.sort(key=lambda n: -self.importances.get(n, -1.0))
        return names

    def ranked(self, limit: int | None = None) -> list[FrozenTrial]:
        """Complete trials, best first."""
        ordered = sorted(self.complete, key=lambda t: t.value, reverse=self.maximize)
        return ordered if limit is None else ordered[:limit]

    def curves(self) -> list[tuple[FrozenTrial, list[int], list[float]]]:
        """Every trial's per-epoch metric: (trial, epochs from 1, values); trials without any left out."""
        out = []
        for t in self.trials:
            if t.intermediate_values:
                steps = sorted(t.intermediate_values)
                out.append((t, [s + 1 for s in steps], [t.intermediate_values[s] for s in steps]))
        return out

    def summary(self) -> list[tuple[str, str]]:
        """(label, text) rows describing the study."""
        a = self.attrs
        states = ", ".join(f"{n} {s.lower()}" for s, n in self.counts.items() if n)
        view = best_view(self.study, self.trials)
        best, c = view.trial, view.confirmed
        unit = unit_label(self.metric, a)  # regression: the target's units, or "standardised" (the loss)
        shown = (f"{with_unit(best.value, self.metric, a, '.6g')} (trial {best.number})" if c is None else
                 f"{with_unit(c.mean, self.metric, a, '.6g')} +/- {c.sd:.4g} (mean +/- sd over {c.n} runs of trial "
                 f"{best.number}'s configuration, confirmed)")
        lucky = lucky_line(view, lambda v: f"{v:.4g}")
        rows = [
            ("study", self.name),
            ("metric", f"{self.metric} ({self.direction}{'; ' + unit if unit else ''})"),
            ("best", shown),
            *([] if view.noise is None else [("noise level", f"{view.noise:.4g} (pooled sd of repeated configurations)")]),
            *([] if lucky is None else [("single-run best", lucky)]),
            ("trials", states or "none"),
            ("data", data_summary(_json(a.get("dataset"), {}), str(a.get("data", "?")))),
            ("task", str(a.get("task", "?"))),
            ("strategy", " then ".join(a.get("strategies", [])) or str(a.get("strategy", "?"))),
            ("seed", str(a.get("seed", "?"))),
            ("epochs", str(a.get("epochs", "?"))),
            ("fixed", ", ".join(f"{k}={v}" for k, v in _json(a.get("fixed"), {}).items()) or "-"),
            ("tunekit", str(a.get("tunekit_version", "?"))),
        ]
        return rows


def _json(text: Any, default: Any) -> Any:
    if not isinstance(text, str):
        return default if text is None else text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def _importances(study: optuna.Study, complete: list[FrozenTrial]) -> tuple[dict[str, float] | None, str | None]:
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return None, (
            f"parameter importances need at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; "
            f"this study has {len(complete)}"
        )
    try:
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances

        values = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    except (ValueError, RuntimeError) as exc:
        return None, f"parameter importances could not be computed: {exc}"
    if not values:
        return None, "parameter importances could not be computed: no parameter is shared by all complete trials"
    return {k: float(v) for k, v in values.items()}, None


def read_study(study: optuna.Study) -> StudyFacts:
    """Read ``study`` for a report; ConfigError when it has no complete trial.

    Example:
        >>> facts = read_study(tunekit.load_study("digits"))  # doctest: +SKIP
    """
    trials = study.get_trials(deepcopy=False)
    counts = require_complete_trial(study, trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    attrs = dict(study.user_attrs)
    importances, note = _importances(study, complete)
    notes = {"importances": note} if note else {}
    return StudyFacts(
        study=study,
        name=study.study_name,
        metric=str(attrs.get("metric", "value")),
        direction=study.direction.name.lower(),
        attrs=attrs,
        trials=trials,
        complete=complete,
        counts=counts,
        importances=importances,
        notes=notes,
    )
