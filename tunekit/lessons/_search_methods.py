"""Lesson: search methods (note 000): grid vs random vs Bayesian search on the same space and budget.

Measured: one study per (strategy, seed) on the same space, data and trial budget; each study's
best-so-far curve (the best validation accuracy after each finished trial) follows the one rule
of tunekit's comparisons (``tunekit.study._compare.curve``), and the strategies are compared by
the best value at the budget (and at half of it), paired over seeds: the same seed gives every
strategy the same data split.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.lessons._common import COLORS, figure, mean, outcome, paired, save
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict

if TYPE_CHECKING:
    import pandas as pd

STRATEGIES = ("grid", "random", "tpe", "gp", "metropolis")
BAYESIAN = ("tpe", "gp")
TRIALS = 12
STARTUP = 4
SEEDS = 8
#: (claimed better, other): the comparisons the verdict judges at the budget.
PAIRS = (("tpe", "grid"), ("tpe", "random"), ("gp", "grid"), ("gp", "random"), ("random", "grid"),
         ("metropolis", "random"))


def studies(quick: bool) -> list[LessonStudy]:
    from tunekit._spec import StudySpec
    from tunekit.space import Choice, Float, Int

    spec = StudySpec(
        name="lesson-search-methods",
        data="digits",
        max_rows=600,
        space={"learning_rate": Float(1e-4, 0.3, log=True), "n_layers": Int(1, 3),
               "units": Choice([8, 32, 128]), "activation": Choice(["relu", "tanh", "sigmoid"])},
        fixed={"optimizer": "adam", "batch_size": 32},
        epochs=2 if quick else 3,
    )
    trials, startup = (2, 1) if quick else (TRIALS, STARTUP)
    return [LessonStudy(key=f"{name}/seed{s}", spec=replace(spec, seed=s), n_trials=trials, strategy=name, seed=s,
                        options={"n_startup_trials": startup} if name in BAYESIAN else {})
            for s in range(1 if quick else SEEDS) for name in STRATEGIES]


def best_so_far(rows: "pd.DataFrame", direction: str = "maximize") -> list[float]:
    """One study's best-so-far curve from its rows of the frame, by tunekit's one rule
    (``tunekit.study._compare.curve``: a point per finished trial, NaN before the first complete one).

    >>> import pandas as pd
    >>> best_so_far(pd.DataFrame({"number": [0, 1, 2, 3], "state": ["FAIL", "COMPLETE", "COMPLETE", "PRUNED"],
    ...                           "value": [None, 0.5, 0.4, None]}))
    [nan, 0.5, 0.5, 0.5]
    """
    from tunekit.study._resume import quietly

    return quietly(_curve)(rows, direction)


def _curve(rows: "pd.DataFrame", direction: str) -> list[float]:
    import optuna
    from optuna.trial import TrialState, create_trial

    from tunekit.study._compare import curve

    study = optuna.create_study(direction=direction)
    for _, r in rows.sort_values("number").iterrows():
        state = TrialState[str(r["state"])]
        if state == TrialState.COMPLETE:
            study.add_trial(create_trial(state=state, value=float(r["value"])))
        elif state in (TrialState.FAIL, TrialState.PRUNED):
            study.add_trial(create_trial(state=state))
    return curve(study)


def curves(frame: "pd.DataFrame") -> dict[str, dict[int, list[float]]]:
    """strategy -> seed -> best-so-far curve."""
    out: dict[str, dict[int, list[float]]] = {}
    for (strategy, seed), rows in frame.groupby(["strategy", "seed"], sort=False):
        out.setdefault(str(strategy), {})[int(seed)] = best_so_far(rows)
    return out


def at(curve: list[float], trial: int) -> float:
    """The best value after ``trial`` finished trials (the last point when the curve is shorter)."""
    return curve[min(trial, len(curve)) - 1] if curve else math.nan


def _compare(by: dict[str, dict[int, list[float]]], better: str, worse: str, trial: int) -> tuple[str, dict[str, Any]]:
    """Whether ``better``'s best after ``trial`` trials beats ``worse``'s: holds / no clear difference /
    contradicted (the paired difference over seeds against two standard errors)."""
    a = {s: at(c, trial) for s, c in by.get(better, {}).items()}
    b = {s: at(c, trial) for s, c in by.get(worse, {}).items()}
    status, d, se, n = paired(a, b)
    return status, {"claim": f"{better} finds better configurations than {worse}", "after trials": float(trial),
                    "claimed side": mean(a.values()), "other side": mean(b.values()), "difference": d,
                    "interval low (difference - 2 SE)": d - 2 * se, "interval high (difference + 2 SE)": d + 2 * se,
                    "seeds": n, "status": status}


def verdict(frame: "pd.DataFrame") -> Verdict:
    by = curves(frame[frame["state"].isin(["COMPLETE", "FAIL", "PRUNED"])])
    budget = max((len(c) for cs in by.values() for c in cs.values()), default=0)
    half = max(1, budget // 2)
    results = [_compare(by, better, worse, budget) for better, worse in PAIRS]
    results += [_compare(by, better, "random", half) for better in BAYESIAN]
    statuses = [s for s, _ in results]
    result = outcome(statuses)
    means = {name: mean(at(c, budget) for c in cs.values()) for name, cs in by.items()}
    listed = ", ".join(f"{name} {means[name]:.3f}" for name in STRATEGIES if name in means)
    named = [(f"{better} vs {worse} at {trial} trials", status, row) for (status, row), (better, worse, trial) in
             zip(results, [(b, w, budget) for b, w in PAIRS] + [(b, "random", half) for b in BAYESIAN])]
    held = [f"{name}: {row['difference']:+.3f}" for name, status, row in named if status == "holds"]
    against = [f"{name}: {row['difference']:+.3f}" for name, status, row in named if status == "contradicted"]
    seeds = max((row["seeds"] for _, row in results), default=0)
    summary = (f"Best val_accuracy after {budget} trials (mean over {seeds} seeds): {listed}. Paired over seeds, a "
               f"clear difference in the claimed direction in {len(held)} of the {len(results)} comparisons"
               f"{' (' + ', '.join(held) + ')' if held else ''}, the opposite in {len(against)}"
               f"{' (' + ', '.join(against) + ')' if against else ''}; in the other "
               f"{len(results) - len(held) - len(against)} the interval (difference ± 2 standard errors) includes 0: "
               f"no clear difference with {seeds} seeds.")
    return Verdict(outcome=result, summary=summary, evidence=[row for _, row in results],
                   notes=["A comparison 'holds' when the paired difference of the best validation accuracy over "
                          "seeds (same seed: same data split) exceeds two standard errors, 'contradicted' when it "
                          "is below minus two (the interval excludes 0).",
                          "Outcome: every comparison holds -> reproduced; some hold and none is contradicted -> "
                          "partly; otherwise not reproduced.",
                          f"TPE and GP start with {STARTUP} random trials (n_startup_trials) before their model "
                          "guides the search; at half the budget they have made few guided choices.",
                          f"{len(results)} comparisons, each at two standard errors: one of them passing by chance "
                          "is not unlikely, so a single 'holds' is weak evidence."])


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def figures(frame: "pd.DataFrame", folder: Path) -> list[Path]:
    from tunekit.report._comparison import Run, group_medians

    by = curves(frame[frame["state"].isin(["COMPLETE", "FAIL", "PRUNED"])])
    names = [n for n in STRATEGIES if n in by] + [n for n in by if n not in STRATEGIES]
    colors = {n: COLORS[i % len(COLORS)] for i, n in enumerate(names)}
    runs = [Run(name=f"{n}/seed{s}", group=n, seed=s, counts={}, best_so_far=[None if math.isnan(v) else v for v in c])
            for n in names for s, c in by[n].items()]
    medians = group_medians(runs)
    fig, (ax, ax_final) = figure(2, width=6.0, height=4.4)
    for n in names:
        length = max(len(c) for c in by[n].values())
        xs, lows, highs = [], [], []
        for i in range(length):
            values = [c[i] for c in by[n].values() if i < len(c) and not math.isnan(c[i])]
            if values:
                q1, _, q3 = _quartiles(values)
                xs.append(i + 1)
                lows.append(q1)
                highs.append(q3)
        ax.fill_between(xs, lows, highs, color=colors[n], alpha=0.15, linewidth=0)
        med = [math.nan if v is None else v for v in medians.get(n, [])]
        ax.plot(range(1, len(med) + 1), med, color=colors[n], linewidth=2.2, marker="o", markersize=3,
                label=f"{n} (median of {len(by[n])})")
    ax.set(title="Best so far: median, band = interquartile range over seeds", xlabel="finished trials",
           ylabel="best val_accuracy so far")
    ax.legend(title="strategy", loc="lower right")
    budget = max(len(c) for n in names for c in by[n].values())
    seeds = sorted({s for n in names for s in by[n]})
    for s in seeds:
        ys = [at(by[n][s], budget) if s in by[n] else math.nan for n in names]
        ax_final.plot(range(len(names)), ys, color="grey", alpha=0.35, linewidth=0.8)
    for k, n in enumerate(names):
        ys = [at(c, budget) for c in by[n].values()]
        ax_final.scatter([k] * len(ys), ys, color=colors[n], zorder=3, s=22)
        ax_final.hlines(statistics.median(ys), k - 0.25, k + 0.25, color=colors[n], linewidth=2.5, zorder=4)
    ax_final.set_xticks(range(len(names)), names)
    ax_final.set(title=f"Best after {budget} trials (grey lines join a seed; bar: median)", xlabel="strategy",
                 ylabel="best val_accuracy")
    return [save(fig, folder, "search_methods.png")]


LESSON = Lesson(
    name="search_methods",
    title="Search methods: grid, random, Bayesian and Metropolis search on one budget",
    sources=("000_bd75aff12f2e7b15.txt",),
    claim=("Random Search: A more efficient approach that randomly samples hyperparameter values, often finding "
           "good solutions faster.\n\n"
           "Bayesian Optimization: A more advanced approach that uses a probabilistic model to guide the search, "
           "finding optimal solutions more effectively.\n\n"
           "Bayesian optimization is a more efficient method that uses a probabilistic model to guide the search.\n\n"
           "Metropolis algorithm for finding the optimal solution."),
    method=(f"Digits (scikit-learn's 8x8 images, 10 classes; 600 rows, 480 to train, 120 to validate), Dense "
            f"network trained 3 epochs with Adam, batch 32. Space: learning rate 1e-4 to 0.3 (log), 1 to 3 hidden "
            f"layers, 8 / 32 / 128 units, ReLU / tanh / sigmoid. Strategies: grid (resolution 5: 135 points, taken "
            f"in a seeded random order, so a budget of {TRIALS} covers {TRIALS} of them), random, TPE and Gaussian "
            f"process (each Bayesian one with {STARTUP} random start-up trials) and Metropolis-Hastings (a chain of "
            f"random-walk proposals in the unit box, tunekit's own strategy), {TRIALS} trials each, {SEEDS} "
            f"seeds; the seed sets the data split (the same for every strategy) and the strategy's random "
            f"numbers (random, TPE and GP draw the same {STARTUP} first trials for a seed and train them alike, so "
            f"their differences come from the later trials). Metric: validation accuracy after the last epoch; "
            f"compared: the best after {TRIALS} and after {TRIALS // 2} trials."),
    studies=studies,
    verdict=verdict,
    figures=figures,
)
