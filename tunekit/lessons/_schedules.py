"""Lesson: learning rate and its schedules (note 002): too large overshoots, too small converges slowly.

Measured: a fixed small MLP trained with plain SGD, in two grid studies per seed: one over the
constant learning rate (``rates/seedN``) and one over the schedule at one base rate
(``schedules/seedN``, constant included, so every schedule is paired with a constant-rate trial
trained on the same split from the same initial weights). Convergence is the training loss per
epoch (``health_epoch_loss``, Keras' mean over the epoch); the schedules are judged on the final
validation accuracy.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit.lessons._common import COLORS, complete, figure, mean, paired, save
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict, grid_study

if TYPE_CHECKING:
    import pandas as pd

RATES = (0.001, 0.01, 0.1, 1.0)
BASE = 0.1
SCHEDULES = ("constant", "step", "exponential", "cosine", "time", "plateau", "warmup")
SEEDS = 6
EPOCHS = 10
#: A training loss that is not finite (the run diverged) counts as this: the cross-entropy of a uniform guess
#: over the 10 digits (a diverged network does no better).
DIVERGED = math.log(10)
#: The constant rate is "still falling" at the end when its last epoch lowered the training loss by more than this.
STILL_FALLING = 0.05


def studies(quick: bool) -> list[LessonStudy]:
    from tunekit._spec import StudySpec
    from tunekit.space import Choice

    rates = (0.001, 0.1, 1.0) if quick else RATES
    schedules = ("constant", "step", "warmup") if quick else SCHEDULES
    fixed = {"n_layers": 2, "units": 16 if quick else 64, "activation": "relu", "initializer": "glorot_uniform",
             "optimizer": "sgd", "momentum": 0.0, "batch_size": 32, "decay_epochs": 3, "warmup_epochs": 2,
             "plateau_patience": 2}
    epochs = 2 if quick else EPOCHS
    items = []
    for seed in range(1 if quick else SEEDS):
        spec = StudySpec(name="lesson-schedules-rates", data="digits", space={"learning_rate": Choice(list(rates))},
                         fixed={**fixed, "schedule": "constant"}, epochs=epochs)
        items.append(grid_study(spec, key=f"rates/seed{seed}", seed=seed))
        spec = StudySpec(name="lesson-schedules-schedules", data="digits",
                         space={"schedule": Choice(list(schedules))}, fixed={**fixed, "learning_rate": BASE},
                         epochs=epochs)
        items.append(grid_study(spec, key=f"schedules/seed{seed}", seed=seed))
    return items


def final_loss(row: Any) -> float:
    """The training loss of a trial's last epoch (``health_epoch_loss[-1]``); ``DIVERGED`` when it is
    not finite (NaN or infinite: the run blew up); NaN when it was not recorded.

    >>> final_loss({"health_epoch_loss": [2.0, 0.5]}), round(final_loss({"health_epoch_loss": [2.0, math.nan]}), 3)
    (0.5, 2.303)
    >>> math.isnan(final_loss({"health_epoch_loss": None}))
    True
    """
    losses = row.get("health_epoch_loss")
    if not isinstance(losses, list) or not losses:
        return math.nan
    value = losses[-1]
    try:
        value = float(value)
    except (TypeError, ValueError):
        return DIVERGED
    return value if math.isfinite(value) else DIVERGED


def _per_seed(trials: "pd.DataFrame", kind: str, param: str, value: Any, measure: str) -> dict[int, float]:
    """seed -> the ``measure`` (``"loss"``: the final training loss, ``"value"``: the final
    val_accuracy) of the trial of the ``kind`` studies (``rates``/``schedules``) with ``param == value``."""
    column = f"params_{param}"
    if column not in trials:
        return {}
    rows = trials[trials["study"].astype(str).str.startswith(f"{kind}/") & (trials[column] == value)]
    return {int(r["seed"]): final_loss(r) if measure == "loss" else float(r["value"]) for _, r in rows.iterrows()}


def _row(claim: str, measure: str, reference: str, setting: str, a: dict[int, float],
         b: dict[int, float]) -> dict[str, Any]:
    """One evidence row: ``setting`` (per-seed ``a``) against ``reference`` (``b``); the claim is that
    ``a - b`` is positive by more than two standard errors (``_common.paired``)."""
    status, d, se, n = paired(a, b)
    noise = 2 * se
    return {"claim": claim, "measure": measure, "reference": reference, "setting": setting,
            "reference value": mean(b.values()), "setting value": mean(a.values()),
            "difference (setting - reference)": d, "noise (2 x standard error)": noise, "seeds": n, "status": status}


def _rates(trials: "pd.DataFrame") -> list[float]:
    rows = trials[trials["study"].str.startswith("rates/")]
    return sorted(float(r) for r in rows["params_learning_rate"].unique()) if "params_learning_rate" in rows else []


def reference_rate(trials: "pd.DataFrame") -> float:
    """The middle rate (neither the smallest nor the largest) with the lowest mean final training loss."""
    rates = _rates(trials)
    middle = rates[1:-1] or rates
    return min(middle, key=lambda r: (mean(_per_seed(trials, "rates", "learning_rate", r, "loss").values()), r))


def verdict(frame: "pd.DataFrame") -> Verdict:
    trials = complete(frame)
    rates = _rates(trials)
    ref = reference_rate(trials)
    loss = {r: _per_seed(trials, "rates", "learning_rate", r, "loss") for r in rates}
    measure = "training loss after the last epoch"
    slow = _row("too small a rate converges slowly", measure, f"lr {ref:g}", f"lr {rates[0]:g}", loss[rates[0]],
                loss[ref])
    over = _row("too large a rate overshoots", measure, f"lr {ref:g}", f"lr {rates[-1]:g}", loss[rates[-1]],
                loss[ref])
    present = [s for s in SCHEDULES if s != "constant" and s in set(trials.get("params_schedule", []))]
    const = _per_seed(trials, "schedules", "schedule", "constant", "value")
    scheds = [_row(f"{s} schedule beats a constant rate", "val_accuracy", f"constant lr {BASE:g}",
                   f"{s} from lr {BASE:g}", _per_seed(trials, "schedules", "schedule", s, "value"), const)
              for s in present]
    evidence = [slow, over] + scheds
    main = [slow["status"], over["status"]]
    sched_status = [r["status"] for r in scheds]
    if main == ["holds", "holds"] and "holds" in sched_status and "contradicted" not in sched_status:
        outcome = "reproduced"
    elif main == ["holds", "holds"] or ("holds" in main + sched_status and "contradicted" not in main + sched_status):
        outcome = "partly"
    else:
        outcome = "not reproduced"

    def said(r: dict[str, Any]) -> str:
        return f"claim {r['status']}" if r["status"] in ("holds", "contradicted") else r["status"]

    diverged = sum(1 for _, r in trials[trials["study"].str.startswith("rates/")].iterrows()
                   if float(r["params_learning_rate"]) == rates[-1] and final_loss(r) == DIVERGED)
    by_status = {s: [r["setting"].split()[0] for r in scheds if r["status"] == s]
                 for s in ("holds", "no clear difference", "contradicted", "not measured")}
    epochs = max((len(c) for c in trials.get("health_epoch_loss", []) if isinstance(c, list)), default=0)
    summary = (f"Training loss after {epochs} epochs of SGD: "
               f"{slow['setting value']:.3f} at lr {rates[0]:g} and {over['setting value']:.3f} at lr {rates[-1]:g} "
               f"against {slow['reference value']:.3f} at lr {ref:g} (too small: {said(slow)}; too large: {said(over)}"
               f"{f', {diverged} run(s) diverged' if diverged else ''}). "
               f"At lr {BASE:g}, the constant rate ends at val_accuracy {mean(const.values()):.3f}; "
               f"schedules that beat it clearly: {', '.join(by_status['holds']) or 'none'}; no clear difference: "
               f"{', '.join(by_status['no clear difference']) or 'none'}; clearly worse: "
               f"{', '.join(by_status['contradicted']) or 'none'}; means over {int(trials['seed'].nunique())} seeds.")
    notes = [
        "Every comparison is paired over seeds (same seed: same data split and initial weights): a row 'holds' when "
        "the difference is on the claim's side by more than two standard errors, is 'contradicted' when it is on the "
        "other side by more than two standard errors, and shows 'no clear difference' otherwise.",
        "Rates: the training loss after the last epoch (Keras' mean over that epoch) at the smallest and at the "
        "largest rate is compared with the reference rate: the middle rate (neither the smallest nor the largest) "
        f"with the lowest mean final training loss (here lr {ref:g}). A loss that is NaN or infinite (the run "
        f"diverged) counts as ln 10 = {DIVERGED:.3f}, the loss of a uniform guess.",
        f"Schedules: each schedule starts from lr {BASE:g} and is compared with the constant rate {BASE:g} of the "
        "same study on the final val_accuracy. The notes list the schedules as ways to improve training "
        "(time-based decay: 'Stability', 'Fine-Tuning'), so their claim counts as 'a schedule beats a constant "
        "rate'. Outcome: both rate claims hold and some schedule beats the constant rate with none clearly worse "
        "-> reproduced; both rate claims hold (whatever the schedules do), or some row holds and none is "
        "contradicted -> partly; otherwise not reproduced.",
        "tunekit's 'time' schedule is lr / (1 + 0.5 x epoch) (Keras InverseTimeDecay), not the notes' linear "
        "lr x (1 - epoch / total epochs); its 'step' halves the rate every 3 epochs (the notes' example: every 10, "
        "longer than this run). Not measured: the notes' gradient-based dynamic learning rate (no such knob).",
    ]
    return Verdict(outcome=outcome, summary=summary, evidence=evidence, notes=notes + [_late_stage(trials, present)])


def _late_stage(trials: "pd.DataFrame", present: list[str]) -> str:
    """Whether the constant base rate was still descending at the end (the notes place a schedule's
    benefit late in training), and which schedules ended with a clearly higher training loss."""
    const = _curve(trials, "schedules", "schedule", "constant")
    loss = {s: _per_seed(trials, "schedules", "schedule", s, "loss") for s in ["constant"] + present}
    higher = [s for s in present if paired(loss[s], loss["constant"])[0] == "holds"]
    if len(const) < 2:
        return "Late stage: not measured (fewer than 2 epochs)."
    drop = 1 - const[-1] / const[-2] if const[-2] else math.nan
    state = ("still falling, so the run ended before the late stage where the notes place a schedule's benefit, "
             "'Stability', 'Fine-Tuning'") if drop > STILL_FALLING else "levelled off"
    return (f"Late stage: at constant lr {BASE:g} the training loss went {const[-2]:.3g} -> {const[-1]:.3g} over the "
            f"last epoch ({drop:.0%} lower: {state}; 'still falling' means more than {STILL_FALLING:.0%}). Schedules "
            "ending with a clearly higher training loss than the constant rate, i.e. a slower descent (paired over "
            f"seeds, beyond two standard errors): {', '.join(higher) or 'none'}.")


def _curve(trials: "pd.DataFrame", kind: str, column: str, value: Any) -> list[float]:
    rows = trials[trials["study"].str.startswith(f"{kind}/") & (trials[f"params_{column}"] == value)]
    curves = [c for c in rows["health_epoch_loss"] if isinstance(c, list) and c]
    if not curves:
        return []
    n = min(len(c) for c in curves)
    return [mean(c[i] for c in curves) for i in range(n)]


def figures(frame: "pd.DataFrame", folder: Path) -> list[Path]:
    trials = complete(frame)
    fig, (ax_rates, ax_sched, ax_acc) = figure(3, width=5.2, height=4.4)
    for k, rate in enumerate(_rates(trials)):
        ys = _curve(trials, "rates", "learning_rate", rate)
        ax_rates.plot(range(1, len(ys) + 1), ys, marker="o", color=COLORS[k % len(COLORS)], label=f"lr {rate:g}")
    ax_rates.set_yscale("log")
    ax_rates.set(title="Constant learning rates: training loss per epoch\n(mean over seeds; NaN not drawn)",
                 xlabel="epoch", ylabel="training loss (log scale)")
    ax_rates.legend(title="plain SGD", fontsize=8)
    present = [s for s in SCHEDULES if s in set(trials.get("params_schedule", []))]
    for k, sched in enumerate(present):
        ys = _curve(trials, "schedules", "schedule", sched)
        style = {"color": "black", "linewidth": 2.5} if sched == "constant" else {"color": COLORS[k % len(COLORS)]}
        ax_sched.plot(range(1, len(ys) + 1), ys, marker=".", label=sched, **style)
    ax_sched.set_yscale("log")
    ax_sched.set(title=f"Schedules from lr {BASE:g}: training loss per epoch\n(mean over seeds)", xlabel="epoch",
                 ylabel="training loss (log scale)")
    ax_sched.legend(title="schedule", fontsize=8)
    others = [s for s in present if s != "constant"]
    const = _per_seed(trials, "schedules", "schedule", "constant", "value")
    diffs = [paired(_per_seed(trials, "schedules", "schedule", s, "value"), const)[1:3] for s in others]
    ax_acc.bar(range(len(others)), [d for d, _ in diffs], yerr=[2 * e if math.isfinite(e) else 0 for _, e in diffs],
               color=[COLORS[(k + 1) % len(COLORS)] for k in range(len(others))], capsize=3)
    ax_acc.axhline(0, color="black", linewidth=0.8)
    ax_acc.set_xticks(range(len(others)), others, rotation=30, ha="right")
    ax_acc.set(title=f"Final val_accuracy minus constant lr {BASE:g}'s ({mean(const.values()):.3f})\n"
               "(paired mean ± 2 SE over seeds)", ylabel="change in val_accuracy")
    return [save(fig, folder, "schedules.png")]


LESSON = Lesson(
    name="schedules",
    title="Learning rate and schedules: too large overshoots, too small converges slowly",
    sources=("002_ef9226f29cb9aaad.txt",),
    claim=("Step size impact training- Too large can overshoot minima. Too small can slow down convergence.\n\n"
           "If learning rate is too small (GDS)- Slow Convergence (long optimization time)\n\n"
           "Reduce the learning rate-cause network take smaller steps in the direction of "
           "the gradient, prevent it from overshooting the min of loss Fn during training.\n\n"
           "scheduling - Change the values of the LR during training Learning rate decay: reducing learning rate "
           "over time- Approach 1 - reduce the LR by some constant systematically eg - reduce 50% every 10 epochs. "
           "Approach 2 - gradually reduce the learning rate over time, eg - Exponential decay, cosine decay. "
           "Approach 3 - reduce learning rate by a constant whenever validation loss stops improving. Warm up: "
           "gradually increase the learning rate initially and then cool down until the training.\n\n"
           "Benefits- 1- Stability: Gradual reduction in the learning rate enhances the stability of the "
           "optimization process, especially during the later stages of training. 2- Fine-Tuning: Smaller learning "
           "rates in the later epochs allow the optimization algorithm to make finer adjustments to the model "
           "parameters."),
    method=("Digits (scikit-learn's 8x8 images, 10 classes), 2 hidden Dense layers of 64 ReLU units (Glorot "
            f"uniform), plain SGD (no momentum), batch 32, {EPOCHS} epochs. Two grid studies per seed: constant "
            f"learning rate {', '.join(f'{r:g}' for r in RATES)}; and, at lr {BASE:g}, the schedules constant, step "
            "(x0.5 every 3 epochs), exponential (x0.9 per epoch), cosine (to 0 at the end), time (lr / (1 + 0.5 x "
            "epoch)), plateau (x0.5 after 2 epochs without a better val_accuracy) and warmup (linear from 0 over 2 "
            f"epochs, then cosine to 0); {SEEDS} seeds ({len(RATES) + len(SCHEDULES)} trials each). Measures: the "
            "training loss per epoch and the final validation accuracy."),
    studies=studies,
    verdict=verdict,
    figures=figures,
)
