"""Lesson: network size (notes 003, 000): too small a network underfits, too big a one overfits.

Measured: a grid of units per layer x hidden layers on the diabetes regression (442 rows), trained
100 epochs with Adam, once per seed. The final training loss shows underfitting (a network that
cannot fit even its training data); the validation loss per epoch (the study's curve) against the
training loss per epoch (``health_epoch_loss``) shows overfitting (the validation loss climbing
back from its minimum while the training loss keeps falling).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tunekit.lessons._common import COLORS, complete, figure, mean, outcome, paired, save
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict, seeded_grids

if TYPE_CHECKING:
    import pandas as pd

UNITS = (1, 50, 257, 1025)
LAYERS = (1, 2, 3, 4)
EPOCHS = 100
SEEDS = 3


def studies(quick: bool) -> list[LessonStudy]:
    from tunekit._spec import StudySpec
    from tunekit.space import Choice

    spec = StudySpec(
        name="lesson-network-size",
        data="diabetes",
        metric="val_loss",
        space={"units": Choice(list(UNITS[:2] if quick else UNITS)),
               "n_layers": Choice(list(LAYERS[:2] if quick else LAYERS))},
        fixed={"activation": "relu", "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32},
        epochs=3 if quick else EPOCHS,
    )
    return seeded_grids(spec, 1 if quick else SEEDS)


def train_loss(row: Any) -> float:
    """The training loss of a trial's last epoch (NaN when absent)."""
    value = row.get("user_attrs_train_loss")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        losses = row.get("health_epoch_loss")
        value = losses[-1] if isinstance(losses, list) and losses else None
    return float(value) if value is not None else math.nan


def val_rise(row: Any) -> float:
    """How far the validation loss ended above its lowest epoch (0: it ended at its minimum).

    >>> val_rise({"curve": [0.9, 0.5, 0.7]})
    0.2
    >>> val_rise({"curve": None}) != val_rise({"curve": None})  # NaN
    True
    """
    values = row.get("curve")
    curve = [float(v) for v in values if v is not None and math.isfinite(float(v))] if isinstance(values, list) else []
    return round(curve[-1] - min(curve), 12) if curve else math.nan


def gap(row: Any) -> float:
    """Validation loss minus training loss at the last epoch."""
    return float(row.get("value")) - train_loss(row)


def _per_seed(trials: "pd.DataFrame", units: int, layers: int | None,
              measure: Callable[[Any], float]) -> dict[int, float]:
    """seed -> ``measure`` of the trial(s) with ``units`` (and ``layers``; None: mean over every depth)."""
    rows = trials[trials["params_units"] == units]
    if layers is not None:
        rows = rows[rows["params_n_layers"] == layers]
    found: dict[int, list[float]] = {}
    for _, r in rows.iterrows():
        found.setdefault(int(r["seed"]), []).append(measure(r))
    return {s: mean(v) for s, v in found.items()}


def _compare(claim: str, measure: str, a: dict[int, float], b: dict[int, float]) -> tuple[str, dict[str, Any]]:
    """Whether ``a`` exceeds ``b``: holds / no clear difference / contradicted (the paired difference
    over seeds against two standard errors)."""
    status, d, se, n = paired(a, b)
    return status, {"claim": claim, "measure": measure, "claimed side": mean(a.values()),
                    "other side": mean(b.values()), "difference": d, "noise (2 x standard error)": 2 * se,
                    "seeds": n, "status": status}


def _sizes(trials: "pd.DataFrame") -> tuple[list[int], list[int]]:
    units = sorted(int(u) for u in trials["params_units"].unique())
    return units, sorted(int(n) for n in trials["params_n_layers"].unique())


def verdict(frame: "pd.DataFrame") -> Verdict:
    trials = complete(frame)
    units, layers = _sizes(trials)
    small, big, deep = units[0], units[-1], layers[-1]
    mid = units[1] if len(units) > 2 else small
    under, under_row = _compare(
        f"{small}-unit networks underfit: a higher training loss than {big}-unit ones",
        f"training loss at the last epoch (MSE, standardised target), mean over {layers[0]}-{deep} layers",
        _per_seed(trials, small, None, train_loss), _per_seed(trials, big, None, train_loss))
    over, over_row = _compare(
        f"the {big} x {deep} network overfits: its validation loss climbs back from its minimum",
        f"validation loss at the last epoch minus its lowest epoch: {big} x {deep} vs {small} x {layers[0]}",
        _per_seed(trials, big, deep, val_rise), _per_seed(trials, small, layers[0], val_rise))
    grows, gap_row = _compare(
        f"the gap between validation and training loss grows with size ({big} vs {mid} units)",
        f"validation minus training loss at the last epoch, mean over {layers[0]}-{deep} layers",
        _per_seed(trials, big, None, gap), _per_seed(trials, mid, None, gap))
    statuses = [under, over, grows]
    result = outcome(statuses, main=under == over == "holds")
    by_size = trials.groupby(["params_units", "params_n_layers"])["value"].mean()
    best_u, best_n = by_size.idxmin() if len(by_size) else (math.nan, math.nan)
    best = (f" The lowest final validation loss: {best_u} units x {best_n} layer(s) ({by_size.min():.3g})."
            if len(by_size) else "")
    summary = (f"Underfitting: {under} ({small}-unit networks ended at a training loss of "
               f"{under_row['claimed side']:.3g} vs {under_row['other side']:.3g} for {big}-unit ones). "
               f"Overfitting: {over} (the {big} x {deep} network's validation loss ended "
               f"{over_row['claimed side']:.3g} above its lowest, the {small} x {layers[0]} one's "
               f"{over_row['other side']:.3g}). Gap grows from {mid} to {big} units: {grows} "
               f"({gap_row['other side']:.3g} -> {gap_row['claimed side']:.3g}); losses are MSE on the standardised "
               f"target, means over seeds.{best}")
    return Verdict(outcome=result, summary=summary, evidence=[under_row, over_row, gap_row],
                   notes=["A claim 'holds' when the paired difference over seeds (same seed: same split and "
                          "initialization) exceeds two standard errors, 'contradicted' when it is below minus two.",
                          "Outcome: all three hold -> reproduced; underfitting and overfitting both hold, or some "
                          "claim holds and none is contradicted -> partly; otherwise not reproduced.",
                          "A loss of 1.0 is what predicting the mean of the standardised target scores."])


def _curves(rows: "pd.DataFrame", column: str) -> list[list[float]]:
    return [[float(v) for v in c] for c in rows[column] if isinstance(c, list) and c and None not in c]


def _median_curve(curves: list[list[float]]) -> list[float]:
    n = min(len(c) for c in curves)
    return [statistics.median(c[i] for c in curves) for i in range(n)]


def figures(frame: "pd.DataFrame", folder: Path) -> list[Path]:
    trials = complete(frame)
    units, layers = _sizes(trials)
    fig, axes = figure(3, width=4.6, height=4.0)
    panels = ((train_loss, "training loss at the last epoch"),
              (lambda r: float(r["value"]), "validation loss at the last epoch"), (gap, "validation − training loss"))
    for ax, (measure, label) in zip(axes, panels):
        for k, n in enumerate(layers):
            ys = [mean(measure(r) for _, r in trials[(trials["params_units"] == u) & (trials["params_n_layers"] == n)]
                       .iterrows()) for u in units]
            ax.plot(units, ys, marker="o", color=COLORS[k % len(COLORS)], label=f"{n} layer{'s' if n > 1 else ''}")
        ax.set_xscale("log")
        ax.set_xticks(units, [str(u) for u in units])
        ax.minorticks_off()
        ax.set(xlabel="units per hidden layer", ylabel=f"{label} (MSE)", title=label.capitalize())
    axes[0].set_yscale("log")
    for ax in axes[:2]:
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1, label="predicting the mean")
    axes[0].legend(title="hidden layers", fontsize=8)
    fig.suptitle("Diabetes, Adam, 100 epochs: final losses vs network size (mean over seeds)")
    paths = [save(fig, folder, "network_size.png")]

    shown = [(units[0], layers[0])] + [(u, layers[-1]) for u in units[1:]]
    fig, axes = figure(len(shown), width=3.6, height=3.6)
    for ax, (u, n) in zip(axes, shown):
        rows = trials[(trials["params_units"] == u) & (trials["params_n_layers"] == n)]
        for column, color, label in (("health_epoch_loss", COLORS[0], "training"), ("curve", COLORS[1], "validation")):
            curves = _curves(rows, column)
            if not curves:
                continue
            for c in curves:
                ax.plot(range(1, len(c) + 1), c, color=color, alpha=0.25, linewidth=0.8)
            med = _median_curve(curves)
            ax.plot(range(1, len(med) + 1), med, color=color, linewidth=2, label=f"{label} (median over seeds)")
        ax.set_yscale("log")
        ax.set(title=f"{u} unit{'s' if u > 1 else ''} x {n} layer{'s' if n > 1 else ''}", xlabel="epoch",
               ylabel="loss (MSE, standardised target)")
    low, high = min(ax.get_ylim()[0] for ax in axes), max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:
        ax.set_ylim(low, high)  # one scale: the panels compare
    axes[0].legend(fontsize=8)
    fig.suptitle("Training vs validation loss per epoch (thin lines: single seeds)")
    paths.append(save(fig, folder, "network_size_curves.png"))
    return paths


LESSON = Lesson(
    name="network_size",
    title="Network size: underfitting and overfitting",
    sources=("003_17a1e1f78f0d5140.txt", "000_bd75aff12f2e7b15.txt"),
    claim=("1 neuron/1 layer/100 epochs\n\n"
           "50 neuron/4 layer/100 epochs\n\n"
           "257 neuron/4 layer/100 epochs\n\n"
           "1025 neuron/4 layer/100 epochs\n\n"
           "The depth of the neural network, impacting its capacity to learn complex patterns."),
    method=("Note 003 keeps only the captions of its four network-size experiments (the plots are lost), so this "
            "lesson tests the usual reading of them: too small a network underfits (it cannot fit even the "
            "training data), too big a one overfits (training loss near zero, validation loss climbing back). "
            "Diabetes (scikit-learn, 442 rows, 10 features, regression; 80/20 train/validation split; target "
            "standardised, so the loss is MSE in units of the target's variance), Dense ReLU layers, Adam at "
            "0.001, batch 32, 100 epochs, no regularization. Grid: units per hidden layer (1, 50, 257, 1025) x "
            "hidden layers (1, 2, 3, 4), 3 seeds (the 1025 x 4 network, 3.2 million weights, trains in ~13 s on an "
            "idle machine and one seed's grid in ~1 minute, so 3 seeds fit the time budget). Training loss per "
            "epoch from the training-health probe, validation loss per epoch from the study's curve."),
    studies=studies,
    verdict=verdict,
    figures=figures,
)
