"""Lesson: weight initialization (notes 002, 003): the symmetry problem, He for ReLU, Glorot for tanh.

Measured: a grid of initializer x activation on an 8-layer network, once per seed. The unit
spread (``health_unit_spread``: the largest difference between two units' weights on one input,
relative to the largest weight, per layer) shows whether the units of a layer stay identical;
the validation accuracy after a short training shows which initialization suits which activation.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.lessons._common import COLORS, complete, figure, mean, paired, save
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict, seeded_grids

if TYPE_CHECKING:
    import pandas as pd

CONSTANT = ("zeros", "ones")
INITIALIZERS = ("zeros", "ones", "random_normal", "glorot_uniform", "he_normal", "lecun_normal")
#: A layer whose units differ by less than this (relative to its largest weight) has identical units.
IDENTICAL = 1e-6


def studies(quick: bool) -> list[LessonStudy]:
    from tunekit._spec import StudySpec
    from tunekit.space import Choice

    inits = ("ones", "he_normal") if quick else INITIALIZERS
    spec = StudySpec(
        name="lesson-initialization",
        data="digits",
        space={"activation": Choice(["relu", "tanh"]), "initializer": Choice(list(inits))},
        fixed={"n_layers": 3 if quick else 8, "units": 16 if quick else 64, "optimizer": "sgd",
               "learning_rate": 0.02, "batch_size": 32, "init_stddev": 0.01},
        epochs=2 if quick else 8,
    )
    return seeded_grids(spec, 1 if quick else 10)


def hidden_spread(row: Any) -> float:
    """The largest unit spread over the hidden layers at the trial's last probe (0: every hidden
    layer's units identical; an all-zero layer counts as identical); NaN when not probed."""
    spreads, symmetric = row.get("health_unit_spread"), row.get("health_symmetric")
    if not isinstance(spreads, list) or not spreads:
        return math.nan
    last, same = spreads[-1][:-1], (symmetric[-1][:-1] if isinstance(symmetric, list) and symmetric else [])
    values = [0.0 if (v is None and i < len(same) and same[i]) else v for i, v in enumerate(last)]
    values = [float(v) for v in values if v is not None]
    return max(values) if values else math.nan


def _row(claim: str, measure: str, claimed: float, other: float, difference: float, noise: float, seeds: int,
         status: str) -> dict[str, Any]:
    """One row of the evidence table (the same columns for every claim)."""
    return {"claim": claim, "measure": measure, "claimed side": claimed, "other side": other,
            "difference": difference, "noise (2 x standard error)": noise, "seeds": seeds, "status": status}


def _compare(trials: "pd.DataFrame", activation: str, better: str, worse: str) -> tuple[str, dict[str, Any]]:
    """Whether ``better`` beats ``worse`` for ``activation``: holds / no clear difference /
    contradicted (a paired difference over seeds of more than two standard errors)."""
    def acc(init: str) -> dict[int, float]:
        rows = trials[(trials["params_activation"] == activation) & (trials["params_initializer"] == init)]
        return {int(s): float(v) for s, v in zip(rows["seed"], rows["value"])}

    a, b = acc(better), acc(worse)
    status, d, se, n = paired(a, b)
    return status, _row(f"{better} suits {activation} better than {worse}",
                        f"val_accuracy, {better} vs {worse} (mean over seeds)",
                        mean(a.values()), mean(b.values()), d, 2 * se, n, status)


def verdict(frame: "pd.DataFrame") -> Verdict:
    trials = complete(frame)
    spread = {init: [hidden_spread(r) for _, r in trials[trials["params_initializer"] == init].iterrows()]
              for init in trials["params_initializer"].unique()}
    constant = [v for init in CONSTANT for v in spread.get(init, [])]
    others = [v for init, vs in spread.items() if init not in CONSTANT for v in vs]
    symmetric = bool(constant) and all(v <= IDENTICAL for v in constant) and all(v > IDENTICAL for v in others)
    largest, smallest = max(constant, default=math.nan), min(others, default=math.nan)
    sym_status = "holds" if symmetric else "contradicted" if constant else "not measured"
    sym_row = _row("a constant initialization keeps all units of a layer identical",
                   "relative unit spread of the hidden layers at the last probe: largest under zeros/ones vs "
                   "smallest under a random initialization", largest, smallest, smallest - largest, IDENTICAL,
                   int(trials["seed"].nunique()), sym_status)
    he, he_row = _compare(trials, "relu", "he_normal", "glorot_uniform")
    glorot, glorot_row = _compare(trials, "tanh", "glorot_uniform", "he_normal")
    statuses = [sym_status, he, glorot]
    if all(s == "holds" for s in statuses):
        outcome = "reproduced"
    elif sym_status == "holds" and "contradicted" not in statuses:
        outcome = "partly"
    else:
        outcome = "not reproduced"
    summary = (f"Constant initializations ({', '.join(CONSTANT)}) {'kept' if symmetric else 'did not keep'} every hidden "
               f"layer's units identical through training (largest relative spread {largest:.2g}); "
               f"He vs Glorot with ReLU: {he}; Glorot vs He with tanh: {glorot} "
               f"(validation accuracy, mean over seeds).")
    return Verdict(outcome=outcome, summary=summary, evidence=[sym_row, he_row, glorot_row],
                   notes=["A claim 'holds' when the paired difference over seeds exceeds two standard errors "
                          "(for the symmetry claim: when every constant-initialized layer's spread is at most "
                          f"{IDENTICAL:g} and every randomly initialized one's is above it)."])


def figures(frame: "pd.DataFrame", folder: Path) -> list[Path]:
    trials = complete(frame)
    inits = [i for i in INITIALIZERS if i in set(trials["params_initializer"])]
    fig, (ax_acc, ax_spread) = figure(2)
    width = 0.38
    for k, activation in enumerate(("relu", "tanh")):
        rows = trials[trials["params_activation"] == activation]
        values = [rows[rows["params_initializer"] == i]["value"].astype(float) for i in inits]
        ax_acc.bar([j + (k - 0.5) * width for j in range(len(inits))], [v.mean() for v in values], width,
                   yerr=[v.std() if len(v) > 1 else 0 for v in values], color=COLORS[k], label=activation, capsize=3)
    ax_acc.set_xticks(range(len(inits)), inits, rotation=30, ha="right")
    ax_acc.set(title="Validation accuracy after training (mean ± sd over seeds)", ylabel="val_accuracy", ylim=(0, 1))
    ax_acc.legend(title="activation")
    markers = "osD^vx"
    for k, init in enumerate(inits):
        rows = trials[(trials["params_initializer"] == init) & (trials["params_activation"] == "relu")]
        curves = [(r["health_epochs"], [max((v for v in layers[:-1] if v is not None), default=0.0)
                                        for layers in r["health_unit_spread"]])
                  for _, r in rows.iterrows() if isinstance(r.get("health_unit_spread"), list) and r["health_unit_spread"]]
        if not curves:
            continue
        epochs = curves[0][0]
        ys = [statistics.median(c[1][t] for c in curves if t < len(c[1])) for t in range(len(epochs))]
        ax_spread.plot(epochs, ys, color=COLORS[k % len(COLORS)], marker=markers[k % len(markers)], label=init,
                       linestyle="--" if init in CONSTANT else "-", alpha=0.8)
    ax_spread.set_yscale("symlog", linthresh=IDENTICAL)
    ax_spread.set(title="ReLU: spread between a layer's units (median over seeds)", xlabel="epoch",
                  ylabel="largest relative unit spread (0: identical)")
    ax_spread.legend(title="initializer", fontsize=8)
    return [save(fig, folder, "initialization.png")]


LESSON = Lesson(
    name="initialization",
    title="Weight initialization: symmetry, He for ReLU, Glorot for tanh",
    sources=("002_ef9226f29cb9aaad.txt", "003_17a1e1f78f0d5140.txt"),
    claim=("Initializing all weights and biases to 1.0 is generally not a good idea- Symmetry Problem, Vanishing "
           "Gradients, Limited Expressiveness. To fix-use specialized weight init techniques:Xavier or He init, "
           "which consider arch, Act Fn, & no. of i/p o/p units to set suitable initial W & B\n\n"
           "Symmetry breaking problem: When neurons in the same layer learn the same features due to identical "
           "initialization.\n\n"
           "Hyperbolic Tangent (tanh) Activations with Xavier (Glorot) Initialization - Both sigmoid and tanh "
           "activations have a similar S-shaped curve, though tanh is zero-centered. The Xavier initialization takes "
           "into account the size of the previous layer, ensuring the variance remains the same across layers."),
    method=("Digits (scikit-learn's 8x8 images, 10 classes), 8 hidden Dense layers of 64 units, no batch "
            "normalization or dropout, plain SGD at 0.02, batch 32, 8 epochs. Grid: initializer (zeros, ones, "
            "random normal with standard deviation 0.01, Glorot uniform, He normal, LeCun normal) x activation "
            "(ReLU, tanh), 10 seeds. The training-health probe records each layer's unit spread."),
    studies=studies,
    verdict=verdict,
    figures=figures,
)
