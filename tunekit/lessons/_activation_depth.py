"""Lesson: activation x depth (notes 000, 001, 004): saturating activations stop learning at depth.

Measured: a grid of activation (sigmoid, tanh, ReLU, Leaky ReLU, ELU, SELU) x number of hidden
layers (2 to 10) trained with plain SGD, once per seed. Two measures per trial: the validation
accuracy, and the training-health probe's ``health_grad_ratio`` (the first hidden layer's gradient
norm over the output layer's, median over the probes): a vanishing gradient shows as a ratio that
falls by orders of magnitude as layers are added. The verdict compares the shallowest and the
deepest network of each activation, paired over seeds.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from tunekit.lessons._common import COLORS, complete, figure, mean, outcome, save
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict, seeded_grids

if TYPE_CHECKING:
    import pandas as pd

SATURATING = ("sigmoid", "tanh")
RELU_FAMILY = ("relu", "leaky_relu", "elu", "selu")
ACTIVATIONS = SATURATING + RELU_FAMILY
DEPTHS = (2, 4, 6, 8, 10)
SEEDS = 5
#: Validation accuracy of a guess (digits: 10 balanced classes).
CHANCE = 0.1
#: An activation "stops learning" at depth when it loses more than this share of its shallow accuracy gain over chance.
STOP_SHARE = 0.5
#: A gradient "vanishes" when the first/output gradient ratio falls by more than this many decades (powers of ten).
VANISH_DECADES = 1.0
#: Below this gain over chance at the shallow depth, the share lost is not defined (nothing was learned to lose).
MIN_GAIN = 0.05


def studies(quick: bool) -> list[LessonStudy]:
    from tunekit._spec import StudySpec
    from tunekit.space import Choice

    spec = StudySpec(
        name="lesson-activation-depth",
        data="digits",
        space={"activation": Choice(list(("sigmoid", "relu") if quick else ACTIVATIONS)),
               "n_layers": Choice(list((2, 6) if quick else DEPTHS))},
        fixed={"units": 16 if quick else 64, "optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32,
               "initializer": "glorot_uniform", "batch_norm": "none", "dropout": 0.0},
        epochs=2 if quick else 8,
    )
    return seeded_grids(spec, 1 if quick else SEEDS)


def lost_share(shallow: float, deep: float, chance: float = CHANCE) -> float:
    """The share of the shallow network's accuracy gain over chance that the deep one lost: 0 when
    it is as accurate, 1 when it is at chance; NaN when the shallow one learned (almost) nothing.

    >>> lost_share(0.7, 0.1), lost_share(0.9, 0.9), round(lost_share(0.9, 0.5), 3)
    (1.0, 0.0, 0.5)
    >>> math.isnan(lost_share(0.12, 0.1))
    True
    """
    gain = shallow - chance
    return (shallow - deep) / gain if gain >= MIN_GAIN else math.nan


def decades(shallow: float, deep: float) -> float:
    """How many powers of ten a positive quantity fell from ``shallow`` to ``deep`` (NaN if not positive).

    >>> decades(0.3, 0.0003)
    3.0
    """
    if not (shallow > 0 and deep > 0 and math.isfinite(shallow) and math.isfinite(deep)):
        return math.nan
    return round(math.log10(shallow) - math.log10(deep), 12)


def _per_seed(trials: "pd.DataFrame", activation: str, depth: int, column: str) -> dict[int, float]:
    rows = trials[(trials["params_activation"] == activation) & (trials["params_n_layers"] == depth)]
    return {int(s): float(v) if v is not None else math.nan for s, v in zip(rows["seed"], rows[column])}


def _geomean(values: Iterable[float]) -> float:
    logs = [math.log(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    return math.exp(statistics.fmean(logs)) if logs else math.nan


def _judge(changes: list[float], threshold: float, claim_above: bool) -> tuple[str, float, float]:
    """(status, mean, 2 standard errors) of paired per-seed changes against ``threshold``: the claim
    holds when the mean is clearly (two standard errors) on its side, is contradicted when clearly
    on the other side, and is a "no clear difference" otherwise."""
    changes = [c for c in changes if math.isfinite(c)]
    if not changes:
        return "not measured", math.nan, math.nan
    m = statistics.fmean(changes)
    noise = 2 * statistics.stdev(changes) / math.sqrt(len(changes)) if len(changes) > 1 else math.inf
    above, below = m - noise > threshold, m + noise < threshold
    if (above and claim_above) or (below and not claim_above):
        return "holds", m, noise
    return ("contradicted" if above or below else "no clear difference"), m, noise


def _rows(trials: "pd.DataFrame", activation: str, shallow: int, deep: int) -> list[dict[str, Any]]:
    """The accuracy row and the gradient row of one activation."""
    saturating = activation in SATURATING
    out = []
    for column, label in (("value", "accuracy"), ("health_grad_ratio", "gradient")):
        a, b = _per_seed(trials, activation, shallow, column), _per_seed(trials, activation, deep, column)
        seeds = sorted(set(a) & set(b))
        if label == "accuracy":
            changes = [lost_share(a[s], b[s]) for s in seeds]
            status, m, noise = _judge(changes, STOP_SHARE, claim_above=saturating)
            claim = f"{activation} {'stops' if saturating else 'keeps'} learning at depth"
            measure = f"val_accuracy (mean); change: share of the gain over chance ({CHANCE:g}) lost"
            at_a, at_b, threshold = mean(a.values()), mean(b.values()), STOP_SHARE
        else:
            changes = [decades(a[s], b[s]) for s in seeds]
            status, m, noise = _judge(changes, VANISH_DECADES, claim_above=saturating)
            claim = f"{activation}'s first-layer gradient {'vanishes' if saturating else 'does not vanish'} at depth"
            measure = "first/output layer gradient norm ratio (geometric mean); change: decades lost"
            at_a, at_b, threshold = _geomean(a.values()), _geomean(b.values()), VANISH_DECADES
        out.append({"claim": claim, "measure": measure, f"{shallow} layers": at_a, f"{deep} layers": at_b,
                    "change (paired mean)": m, "noise (2 x standard error)": noise, "threshold": threshold,
                    "seeds": len([c for c in changes if math.isfinite(c)]), "status": status})
    return out


def verdict(frame: "pd.DataFrame") -> Verdict:
    trials = complete(frame)
    depths = sorted(int(d) for d in trials["params_n_layers"].unique())
    shallow, deep = depths[0], depths[-1]
    present = [a for a in ACTIVATIONS if a in set(trials["params_activation"])]
    rows = {a: _rows(trials, a, shallow, deep) for a in present}
    evidence = [r for a in present for r in rows[a]]
    statuses = [r["status"] for r in evidence]
    family = [rows[a][0] for a in present if a in RELU_FAMILY]
    main = "sigmoid" in rows and rows["sigmoid"][0]["status"] == "holds" and bool(family) and all(
        r["status"] != "contradicted" for r in family)
    result = outcome(statuses, main=main)

    def said(a: str) -> str:
        acc, grad = rows[a]
        learning = {"holds": "stopped learning", "contradicted": "kept learning"}.get(acc["status"], "showed no clear "
                                                                                        "stop or continuation")
        return (f"{a} {learning} (val_accuracy {acc[f'{shallow} layers']:.2f} at {shallow} hidden layers, "
                f"{acc[f'{deep} layers']:.2f} at {deep}; first/output gradient ratio {grad[f'{shallow} layers']:.2g} "
                f"-> {grad[f'{deep} layers']:.2g}, {grad['change (paired mean)']:.1f} decades lost)")

    deep_family = [rows[a][0][f"{deep} layers"] for a in present if a in RELU_FAMILY]
    kept = sum(rows[a][0]["status"] == "holds" for a in present if a in RELU_FAMILY)
    summary = ("; ".join(said(a) for a in present if a in SATURATING)
               + (f". {kept} of the {len(deep_family)} ReLU-family activations clearly kept learning "
                  f"(val_accuracy {min(deep_family):.2f} to {max(deep_family):.2f} at {deep} layers)" if deep_family
                  else "") + f"; means over {int(trials['seed'].nunique())} seeds.")
    summary = summary[:1].upper() + summary[1:]
    return Verdict(outcome=result, summary=summary, evidence=evidence, notes=[
        f"Each activation is compared between {shallow} and {deep} hidden layers, paired over seeds (same seed: same "
        "data split). Accuracy: per seed, the share of the shallow network's validation-accuracy gain over chance "
        f"({CHANCE:g}) that the deep one lost (0: as accurate, 1: at chance); an activation 'stops learning' when the "
        f"mean share exceeds {STOP_SHARE:g} by more than two standard errors and 'keeps learning' when it is below "
        f"{STOP_SHARE:g} by more than two standard errors. Gradient: per seed, the decades (powers of ten) that "
        "health_grad_ratio (first hidden layer's gradient norm over the output layer's, median over the probes) lost; "
        f"it 'vanishes' when the mean exceeds {VANISH_DECADES:g} decade by more than two standard errors.",
        "A row 'holds' when the measurement is clearly on the claim's side of the threshold, is 'contradicted' when "
        "clearly on the other side, and shows 'no clear difference' otherwise. Outcome: every row holds -> "
        "reproduced; sigmoid stops learning while no ReLU-family activation is contradicted (the main contrast), or "
        "some rows hold and none is contradicted -> partly; otherwise not reproduced.",
    ])


def figures(frame: "pd.DataFrame", folder: Path) -> list[Path]:
    trials = complete(frame)
    depths = sorted(int(d) for d in trials["params_n_layers"].unique())
    present = [a for a in ACTIVATIONS if a in set(trials["params_activation"])]
    fig, (ax_acc, ax_grad) = figure(2)
    for k, activation in enumerate(present):
        style = {"color": COLORS[k % len(COLORS)], "marker": "osD^vx"[k % 6], "label": activation, "alpha": 0.85,
                 "linestyle": "--" if activation in SATURATING else "-"}
        acc = [trials[(trials["params_activation"] == activation) & (trials["params_n_layers"] == d)]["value"]
               .astype(float) for d in depths]
        ax_acc.errorbar(depths, [v.mean() for v in acc], yerr=[v.std() if len(v) > 1 else 0 for v in acc],
                        capsize=3, **style)
        grads = [_geomean(_per_seed(trials, activation, d, "health_grad_ratio").values()) for d in depths]
        ax_grad.plot(depths, grads, **style)
    ax_acc.axhline(CHANCE, color="grey", linewidth=1, linestyle=":", label="chance")
    ax_acc.set(title="Validation accuracy after training\n(mean ± sd over seeds)", xlabel="hidden layers",
               ylabel="val_accuracy", ylim=(0, 1), xticks=depths)
    ax_acc.legend(title="activation", fontsize=8)
    ax_grad.set_yscale("log")
    ax_grad.set(title="First hidden layer's gradient norm over the output layer's\n(median over probes, geometric "
                "mean over seeds)", xlabel="hidden layers", ylabel="gradient norm ratio, first / output layer",
                xticks=depths)
    ax_grad.legend(title="activation", fontsize=8)
    return [save(fig, folder, "activation_depth.png")]


LESSON = Lesson(
    name="activation_depth",
    title="Activation x depth: saturating activations and vanishing gradients",
    sources=("000_bd75aff12f2e7b15.txt", "001_3130d11437b28426.txt", "004_c18786054935cd7f.txt"),
    claim=("Vanishing Gradients: Gradients become too small in deeper layers, slowing or halting learning.\n\n"
           "**Vanishing Gradients**: Often seen in sigmoid or tanh functions, where gradients diminish in deeper "
           "layers.\n\n"
           "Due to the vanishing gradient problem, sigmoid functions and similar activation functions are not ideal "
           "for deep networks.\n\n"
           "**ReLU (Rectified Linear Unit):** A simple function that outputs the input if it's positive, otherwise it "
           "outputs zero. It's widely used due to its efficiency and ability to prevent vanishing gradients.\n\n"
           "**ReLU Function**: Preferred activation function in hidden layers of deep networks due to its "
           "effectiveness and ability to mitigate vanishing gradients."),
    method=("Digits (scikit-learn's 8x8 images, 10 classes), hidden Dense layers of 64 units, Glorot uniform "
            "initialization for every activation, no batch normalization or dropout, plain SGD at 0.05 (no "
            "momentum), batch 32, 8 epochs. Grid: activation (sigmoid, tanh, ReLU, Leaky ReLU with slope 0.2, ELU, "
            f"SELU) x hidden layers (2, 4, 6, 8, 10), {SEEDS} seeds. Measures: the validation accuracy after the "
            "last epoch and the training-health probe's gradient norm of the first hidden layer relative to the "
            "output layer's (median over the probes at epochs 0, 1, 4 and 8); the verdict compares 2 with 10 "
            "layers."),
    studies=studies,
    verdict=verdict,
    figures=figures,
)
