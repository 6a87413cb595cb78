"""Pruning: wall time until a search first reaches a target, tunekit vs keras-tuner.

Contenders (same space, benchmarks/_trials.py SEARCH; same model factory; same epoch budget
per trial, ``--epochs``):

- ``tunekit TPE + hyperband``: ``tunekit.run(strategy="tpe", pruner=hyperband)``
- ``tunekit TPE + median``: ``tunekit.run(strategy="tpe", pruner=median)``
- ``tunekit TPE + hyperband, defaults first``: the same, with the space's ``default=`` values
  declared (benchmarks/_trials.py DEFAULTS), so the first trial tries them
- ``keras-tuner Hyperband``: ``kt.Hyperband(max_epochs=epochs, factor=3)``
- ``keras-tuner BayesianOptimization``: ``kt.BayesianOptimization``, every trial ``epochs`` long

keras-tuner's hyperparameters declare the same DEFAULTS as their ``default=``; keras-tuner
1.4.8 starts from a random point all the same.

Time-to-target: from the start of the search call until the end of the first trial whose
validation curve reached the target (digits: val_accuracy ≥ target; diabetes: val_loss ≤
target), whole search included (data preparation, study creation, sampling, storage). A run
that has not reached the target after ``--cap`` seconds counts as not reached. Every seed
runs every contender, seeds interleaved, order rotating.

    python -m benchmarks.pruning [--quick] [--seeds N] [--cap SECONDS]
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import tunekit_space

NAME = "pruning"
#: data set -> (metric, direction, target)
TARGETS = {
    "digits": ("val_accuracy", "max", 0.97),
    "diabetes": ("val_loss", "min", 0.55),
}
#: name -> (tool, pruner or tuner, defaults declared)
CONTENDERS = {
    "tunekit TPE + hyperband": ("tunekit", "hyperband", False),
    "tunekit TPE + median": ("tunekit", "median", False),
    "tunekit TPE + hyperband, defaults first": ("tunekit", "hyperband", True),
    "keras-tuner Hyperband": ("keras-tuner", "Hyperband", False),
    "keras-tuner BayesianOptimization": ("keras-tuner", "BayesianOptimization", False),
}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Pruning: time-to-target, tunekit vs keras-tuner",
                            epochs={"type": int, "default": None, "help": "epoch budget per trial"},
                            cap={"type": float, "default": None, "help": "seconds before a run counts as not reached"},
                            data={"default": None, "help": "comma-separated data sets (digits,diabetes)"})
    _util.quiet()
    from benchmarks._kt import ensure_tensorboard_importable

    tb = ensure_tensorboard_importable()
    seeds = args.seeds or (1 if args.quick else 5)
    epochs = args.epochs or (6 if args.quick else 15)
    cap = args.cap or (15.0 if args.quick else 90.0)
    datasets = (args.data or "digits,diabetes").split(",")
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-pruning-"))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for data in datasets:
        metric, direction, target = TARGETS[data]
        runs = {name: _contender(name, data, metric, direction, target, epochs, cap, workdir) for name in CONTENDERS}
        _util.log(f"{NAME}: {data}: {len(runs)} contenders x {seeds} seeds, {epochs} epochs, cap {cap:.0f} s")
        results[data] = _util.interleaved(runs, seeds)
    shutil.rmtree(workdir, ignore_errors=True)
    return report(results, args, seeds, epochs, cap, tb)


def within_cap(out: dict[str, Any], cap: float) -> dict[str, Any]:
    """A target reached by a trial that ended after the cap counts as not reached (both tools
    check only when a trial ends, so a trial may run past the cap)."""
    return dict(out, time=out["time"] if out["time"] <= cap else float("inf"), raw_time=out["time"])


def _reached(value: float | None, direction: str, target: float) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return value >= target if direction == "max" else value <= target


def _contender(name: str, data: str, metric: str, direction: str, target: float, epochs: int, cap: float,
               workdir: Path):
    def run(seed: int) -> dict[str, Any]:
        import gc

        gc.unfreeze()  # every run starts like a fresh process
        folder = workdir / f"{data}-{name.replace(' ', '_').replace('+', '').replace(',', '')}-{seed}"
        folder.mkdir(parents=True)
        tool, kind, defaults = CONTENDERS[name]
        if tool == "tunekit":
            out = _tunekit(kind, defaults, data, metric, direction, target, epochs, cap, seed, folder)
        else:
            out = _keras_tuner(kind, data, metric, direction, target, epochs, cap, seed, folder)
        _util.log(f"  {data} seed {seed} {name}: {out}")
        return within_cap(out, cap)

    return run


def _tunekit(pruner: str, defaults: bool, data: str, metric: str, direction: str, target: float, epochs: int, cap: float,
             seed: int, folder: Path, fuse: int = 1) -> dict[str, Any]:
    """One tunekit search until the target (``fuse``: trials trained at once, ``benchmarks/fused_target.py``);
    {time, trials, epochs}."""
    import tunekit
    from benchmarks._kt import TargetReached
    from tunekit import StudySpec
    from tunekit.strategies import make_pruner

    state = {"time": float("inf"), "trials": 0, "epochs": 0}
    start = time.perf_counter()

    def on_trial(study, trial) -> None:
        state["trials"] += 1
        curve = list(trial.intermediate_values.values())
        state["epochs"] += len(curve)
        best = (max if direction == "max" else min)(curve) if curve else None
        if _reached(best, direction, target):
            state["time"] = time.perf_counter() - start
            raise TargetReached
        if time.perf_counter() - start > cap:
            raise TargetReached

    spec = StudySpec(data=data, space=tunekit_space(defaults=defaults), epochs=epochs, metric=metric, name="pruning")
    try:
        tunekit.run(spec, strategy="tpe", n_trials=100_000, timeout=cap, storage=f"sqlite:///{folder / 'study.db'}",
                    seed=seed, pruner=make_pruner(pruner, max_epochs=epochs), on_trial=on_trial, fuse=fuse)
    except TargetReached:
        pass
    return state


def _keras_tuner(kind: str, data: str, metric: str, direction: str, target: float, epochs: int, cap: float,
                 seed: int, folder: Path) -> dict[str, Any]:
    import keras
    import keras_tuner as kt

    from benchmarks._kt import TargetReached, hypermodel, stopping
    from tunekit.data import load_data

    state = {"time": float("inf"), "trials": 0, "epochs": 0}
    start = time.perf_counter()

    def check(trial) -> None:
        state["trials"] += 1
        values = trial.hyperparameters.values
        state["epochs"] += int(values.get("tuner/epochs", epochs)) - int(values.get("tuner/initial_epoch", 0))
        best = trial.metrics.get_best_value(metric) if trial.metrics.exists(metric) else None
        if _reached(best, direction, target):
            state["time"] = time.perf_counter() - start
            raise TargetReached
        if time.perf_counter() - start > cap:
            raise TargetReached

    keras.utils.set_random_seed(seed)
    dataset = load_data(data, seed=0)
    common = dict(hypermodel=hypermodel(dataset, epochs), objective=kt.Objective(metric, direction), seed=seed,
                  directory=str(folder), project_name="kt", overwrite=True)
    fit = dict(validation_data=(dataset.x_val, dataset.y_val), verbose=0)
    if kind == "Hyperband":
        tuner = stopping(kt.Hyperband, check)(max_epochs=epochs, factor=3, hyperband_iterations=1000, **common)
    else:
        tuner = stopping(kt.BayesianOptimization, check)(max_trials=100_000, **common)
        fit["epochs"] = epochs
    try:
        tuner.search(dataset.x_train, dataset.y_train, **fit)
    except TargetReached:
        pass
    return state


def report(results: dict[str, dict[str, list[dict[str, Any]]]], args: Any, seeds: int, epochs: int, cap: float,
           tb: str) -> dict[str, Any]:
    lines = _util.header(
        "Pruning: time-to-target, tunekit vs keras-tuner",
        _util.command(NAME, args.quick),
        [f"Same search space and model factory for all; {epochs} epochs per trial at most; {seeds} seed(s); "
         f"a run not at the target after {cap:.0f} s counts as not reached (median over seeds treats it as ∞). "
         f"TensorBoard for keras-tuner: {tb} (keras-tuner imports it in every trial; it is never used here).",
         "Starting points: tunekit's TPE and both keras-tuner tuners start from random configurations. The space "
         "declares a starting point (benchmarks/_trials.py DEFAULTS: 2 × 128 relu, BatchNormalization after, "
         "dropout 0.2, learning rate 1e-3, batch 32) as keras-tuner's `default=` for every contender; only the "
         "\"defaults first\" contender declares it to tunekit too, whose first trial then tries it (keras-tuner "
         "1.4.8 does not). Both tools check the target when a trial ends; a trial that ends after the cap counts "
         "as not reached for either."],
    )
    summary: dict[str, Any] = {}
    for data, by_name in results.items():
        metric, direction, target = TARGETS[data]
        medians = {name: _util.median(r["time"] for r in runs) for name, runs in by_name.items()}
        kt_best = min(v for k, v in medians.items() if CONTENDERS[k][0] == "keras-tuner")
        lines += [f"## {data}: {metric} {'≥' if direction == 'max' else '≤'} {target}", ""]
        summary[data] = {"medians": medians}
        for label, with_defaults in (("with declared defaults", True), ("from a random start", False)):
            pool = [k for k in medians if CONTENDERS[k][0] == "tunekit" and CONTENDERS[k][2] == with_defaults]
            best = min(pool, key=lambda k: medians[k])
            verdict, ratio = _verdict(medians[best], kt_best, cap)
            summary[data]["ratio" if with_defaults else "ratio_random_start"] = ratio
            summary[data]["best_tunekit" if with_defaults else "best_tunekit_random_start"] = best
            lines += [f"**Target, {label}: tunekit's median ≤ 0.5× keras-tuner's best — {verdict}: {best} "
                      f"{_versus(medians[best], kt_best, ratio, cap)}**", ""]
        rows = []
        for name, runs in by_name.items():
            times = [r["time"] for r in runs]
            reached = sum(math.isfinite(t) for t in times)
            rows.append([name, medians[name], " ".join(_util.fmt(t) for t in times), f"{reached}/{len(runs)}",
                         _util.median(r["trials"] for r in runs), _util.median(r["epochs"] for r in runs)])
        lines += _util.table(["contender", "median s to target", "per seed (s)", "reached",
                              "trials (median)", "epochs trained (median)"], rows)
        lines.append("")
    _util.write(args.out, NAME, args.quick, lines)
    return summary


def _verdict(tunekit: float, kt_best: float, cap: float) -> tuple[str, float]:
    if not math.isfinite(tunekit) and not math.isfinite(kt_best):
        return "not decided (no contender reached the target in most seeds; raise --cap or --epochs)", float("nan")
    ratio = tunekit / kt_best if math.isfinite(kt_best) else (0.0 if math.isfinite(tunekit) else float("inf"))
    return ("met" if ratio <= 0.5 else "missed"), ratio


def _versus(tunekit: float, kt_best: float, ratio: float, cap: float) -> str:
    if not math.isfinite(tunekit) and not math.isfinite(kt_best):
        return ""
    if math.isfinite(kt_best):
        return f"{_util.fmt(tunekit)} s vs {_util.fmt(kt_best)} s = {ratio:.2f}×"
    return (f"{_util.fmt(tunekit)} s; neither keras-tuner tuner reached the target within {cap:.0f} s in most "
            "seeds (median not reached)")


if __name__ == "__main__":
    main()
