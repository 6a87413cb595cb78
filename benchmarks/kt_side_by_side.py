"""keras-tuner side by side: one keras-tuner ``build(hp)``, searched by keras-tuner and by tunekit.

The same function (``build`` below, keras-tuner's getting-started example on digits: 1-3 dense
layers of 16-128 units, relu/tanh, optional dropout, Adam's learning rate 1e-4..1e-1 log) is
searched, with the same budget (``--trials`` trials of at most ``--epochs`` epochs, batch 32)
and the same seeds, on the same train / validation rows (``tunekit.data.load_data("digits",
seed=0)``: keras-tuner gets these arrays, tunekit loads them itself with ``StudySpec(seed=0)``),
by:

- keras-tuner ``RandomSearch``, ``BayesianOptimization`` (``max_trials=--trials``) and
  ``Hyperband`` (``max_epochs=--epochs``, factor 3; stopped after ``--trials`` trials, each
  bracket round counted as a trial the way keras-tuner counts them);
- tunekit ``run(StudySpec(build=build), strategy=random | tpe | gp)``, each without a pruner
  and with the median pruner (``pruner="median"``: Optuna's MedianPruner, 5 startup trials,
  1 warm-up epoch), SQLite storage.

Every contender runs once per seed (``--seeds``), all of them in one run of the benchmark; each
seed runs them one after the other in an order rotated by a third (a ninth, ...) of the list
from seed to seed, so each one meets the shared machine's load early, midway and late. Every
search runs in a fresh Python process, as a user's would, with both tools (and torch) imported
before its clock starts: in one long process keras-tuner's cost per trial grew with the
process's age (about 1 s per trial in the first searches, 3.5 s after some 400 trials;
``results/kt_side_by_side-one-process.md``, ``--in-process`` to see it again), which would
charge each contender for the searches that happened to run before it.

Measured per run, the same way for both tools: ``build`` is wrapped (identically for both) so
that the model's ``fit`` is timed, with one callback put first that times each epoch and keeps
its ``val_accuracy``; a tool's own hook at the end of every trial (tunekit's ``on_trial``,
keras-tuner's ``Tuner.on_trial_end``) stamps the time. A trial's value is the val_accuracy of
its last epoch (a pruned trial: the epoch it was stopped after; keras-tuner's own score is its
best epoch's, so it can only be higher).

- time to target: from the start (before ``StudySpec(...)`` / loading the data and creating the
  tuner) until the end of the first trial whose value is ≥ the target (``--target``, several
  allowed: 0.95 is the headline, 0.97 asks more of the search); a run that never gets there
  counts with its full wall time (and is marked);
- suggestion cost per trial: (run wall time − the time inside ``model.fit``) / trials. What is
  left is each tool's own: sampling, storage, ``build(hp)`` and ``compile``, checkpoints saved
  outside ``fit``, tunekit's final ``evaluate``. A second figure subtracts only the epochs
  (train steps and validation, as the first callback sees them), so it also counts what the
  tools do inside ``fit`` between epochs: keras-tuner's per-epoch checkpoint (``SaveBestEpoch``),
  tunekit's report to the study and its health probe;
- the best value at the end, epochs trained, trials complete / pruned / failed.

Ratios are against keras-tuner's best contender: the one with the lowest median time to target,
and for the suggestion cost the one with the lowest median cost.

    python -m benchmarks.kt_side_by_side [--quick] [--seeds N] [--trials N] [--epochs N] [--target X[,Y]]
                                         [--only kt-random,tpe+median,...] [--in-process [--no-warm-up]]

``--no-warm-up`` (with ``--in-process``, for smoke tests): skip the untimed warm-up, so the first
search also pays the imports and TensorFlow's start-up (the results file says so).
"""

from __future__ import annotations

import functools
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from benchmarks import _util

NAME = "kt_side_by_side"
DATA = "digits"
METRIC = "val_accuracy"
BATCH_SIZE = 32
#: name -> (tool, tuner or strategy, pruner, short name for --only)
CONTENDERS: dict[str, tuple[str, str, str | None, str]] = {
    "keras-tuner RandomSearch": ("keras-tuner", "RandomSearch", None, "kt-random"),
    "tunekit random": ("tunekit", "random", None, "random"),
    "tunekit random + median": ("tunekit", "random", "median", "random+median"),
    "keras-tuner BayesianOptimization": ("keras-tuner", "BayesianOptimization", None, "kt-bayesian"),
    "tunekit tpe": ("tunekit", "tpe", None, "tpe"),
    "tunekit tpe + median": ("tunekit", "tpe", "median", "tpe+median"),
    "keras-tuner Hyperband": ("keras-tuner", "Hyperband", None, "kt-hyperband"),
    "tunekit gp": ("tunekit", "gp", None, "gp"),
    "tunekit gp + median": ("tunekit", "gp", "median", "gp+median"),
}


def build(hp):
    """keras-tuner's getting-started model, on digits' 64 features and 10 classes."""
    import keras

    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 128, step=16),
                                     activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def timed(build_fn: Callable[[Any], Any], fits: list[dict[str, Any]]) -> Callable[[Any], Any]:
    """``build_fn`` whose models time their ``fit`` (appending to ``fits``): the whole call, and
    each epoch with its val_accuracy, seen by a callback put before the tool's own."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds, self.values, self._start = 0.0, [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds += time.perf_counter() - self._start
            value = (logs or {}).get(METRIC)
            self.values.append(None if value is None else float(value))

    @functools.wraps(build_fn)  # tunekit's messages name it build(hp), as for the bare function
    def timed_build(hp):
        model = build_fn(hp)
        fit = model.fit

        def timed_fit(*args, **kwargs):
            clock = EpochClock()
            kwargs["callbacks"] = [clock, *(kwargs.get("callbacks") or [])]
            start = time.perf_counter()
            try:
                return fit(*args, **kwargs)
            finally:
                fits.append({"start": start, "fit_s": time.perf_counter() - start, "epoch_s": clock.seconds,
                             "values": clock.values})

        model.fit = timed_fit
        return model

    return timed_build


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "keras-tuner side by side: one build(hp) under keras-tuner and tunekit",
                            trials={"type": int, "default": None, "help": "trials per run (20; quick 6)"},
                            epochs={"type": int, "default": None, "help": "epochs per trial (5; quick 3)"},
                            target={"default": None, "help": "val_accuracy target(s), comma-separated; the "
                                    "first is the headline (0.95,0.97)"},
                            only={"default": None, "help": "comma-separated contenders by short name: "
                                  + ",".join(c[3] for c in CONTENDERS.values())},
                            in_process={"action": "store_true", "help": "run every search in this process (after "
                                        "a warm-up) instead of each in a fresh one; later searches then run in an "
                                        "older process (see the results file)"},
                            no_warm_up=dict(_util.NO_WARM_UP, help="with --in-process: " + _util.NO_WARM_UP["help"]))
    _util.quiet()
    from benchmarks._kt import ensure_tensorboard_importable

    tb = ensure_tensorboard_importable()
    seeds = args.seeds or (2 if args.quick else 3)
    trials = args.trials or (6 if args.quick else 20)
    epochs = args.epochs or (3 if args.quick else 5)
    targets = [float(t) for t in (args.target or "0.95,0.97").split(",")]
    names = _selected(args.only)
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-kt-side-"))
    _util.log(f"{NAME}: {len(names)} contenders x {seeds} seeds, {trials} trials of {epochs} epochs, targets {targets}")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    orders = []
    start = time.perf_counter()
    try:
        if args.in_process and not args.no_warm_up:
            warm_up(workdir)
        for seed, order in enumerate(rotations(names, seeds)):
            orders.append(order)
            for name in order:
                if args.in_process:
                    out = _run(name, seed, trials, epochs, targets, workdir)
                else:
                    out = _in_child(name, seed, trials, epochs, targets, workdir)
                _util.log(f"  seed {seed} {name}: to {targets[0]} {_util.fmt(out['at'][targets[0]]['time'])} s, "
                          f"wall {out['wall']:.1f} s, cost {out['cost_fit']:.3f} s/trial, best {_util.fmt(out['best'])}")
                results[name].append(out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - start
    return report(results, orders, args, seeds=seeds, trials=trials, epochs=epochs, targets=targets, tb=tb, total=total)


def warm_up(workdir: Path) -> None:
    """``--in-process``: one untimed trial of one epoch through each tool (keras-tuner, tunekit gp:
    torch too), so the first measured run does not pay the imports and TensorFlow's start-up."""
    for name in ("keras-tuner RandomSearch", "tunekit gp"):
        _run(name, -1, 1, 1, [1.0], workdir)
    _util.log(f"{NAME}: warmed up")


def _in_child(name: str, seed: int, trials: int, epochs: int, targets: Sequence[float], workdir: Path) -> dict[str, Any]:
    """``_run`` in a fresh Python process (what a user's search gets); its figures back as JSON."""
    import json
    import subprocess
    import sys

    result = workdir / f"{CONTENDERS[name][3].replace('+', '_')}-{seed}.json"
    code = "import sys; from benchmarks.kt_side_by_side import child; child(sys.argv[1:])"
    job = json.dumps({"name": name, "seed": seed, "trials": trials, "epochs": epochs, "targets": list(targets),
                      "workdir": str(workdir), "result": str(result)})
    done = subprocess.run([sys.executable, "-c", code, job], cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0 or not result.is_file():
        raise RuntimeError(f"{name}, seed {seed}: the child process failed (exit {done.returncode})")
    out = json.loads(result.read_text())
    out["at"] = {float(t): v for t, v in out["at"].items()}
    return out


def child(argv: Sequence[str]) -> None:
    """The child process of ``_in_child``: import both tools (and the gp strategy's torch) before
    the clock starts, run one search, write its figures."""
    import json

    job = json.loads(argv[0])
    _util.quiet()
    from benchmarks._kt import ensure_tensorboard_importable

    ensure_tensorboard_importable()
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401
    import optuna  # noqa: F401

    import tunekit  # noqa: F401
    from tunekit.data import load_data  # noqa: F401

    try:
        import tunekit.strategies._gp  # noqa: F401  (torch)
    except ImportError:
        pass
    out = _run(job["name"], job["seed"], job["trials"], job["epochs"], job["targets"], Path(job["workdir"]))
    Path(job["result"]).write_text(json.dumps(out))


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(CONTENDERS)
    by_short = {c[3]: name for name, c in CONTENDERS.items()}
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in by_short and w not in CONTENDERS]
    if unknown:
        raise SystemExit(f"unknown contender(s) {', '.join(unknown)}; use: {', '.join(by_short)}")
    chosen = {by_short.get(w, w) for w in wanted}
    return [name for name in CONTENDERS if name in chosen]


def rotations(names: Sequence[str], rounds: int) -> list[list[str]]:
    """One order per round: the list rotated by ``round * len / rounds`` (rounded down), so with
    9 contenders and 3 seeds each one runs once in the first, the middle and the last third."""
    n = len(names)
    out = []
    for r in range(rounds):
        shift = (r * n // rounds) % n if rounds else 0
        out.append(list(names[shift:]) + list(names[:shift]))
    return out


def _run(name: str, seed: int, trials: int, epochs: int, targets: Sequence[float], workdir: Path) -> dict[str, Any]:
    import gc

    gc.unfreeze()  # every run starts like a fresh process (tunekit freezes the collector while it runs)
    gc.collect()
    tool, kind, pruner, short = CONTENDERS[name]
    folder = workdir / f"{short.replace('+', '_')}-{seed if seed >= 0 else 'warm-up'}"
    folder.mkdir(parents=True)
    fits: list[dict[str, Any]] = []
    ends: list[dict[str, Any]] = []
    start = time.perf_counter()

    def trial_ended(state: str) -> None:
        """At a trial's end: the time, and the fit(s) it ran since the previous trial's end."""
        done = sum(len(e["fits"]) for e in ends)
        ends.append({"t": time.perf_counter() - start, "state": state, "fits": fits[done:]})

    seed = max(seed, 0)
    if tool == "tunekit":
        _tunekit(kind, pruner, seed, trials, epochs, folder, timed(build, fits), trial_ended)
    else:
        _keras_tuner(kind, seed, trials, epochs, folder, timed(build, fits), trial_ended)
    wall = time.perf_counter() - start
    out = summarize(ends, fits, wall, targets)
    # start-up: data, study / tuner creation (tunekit: recording the space), the first suggestion and build
    out["first_fit"] = fits[0]["start"] - start if fits else float("nan")
    return out


def summarize(ends: list[dict[str, Any]], fits: list[dict[str, Any]], wall: float,
              targets: Sequence[float]) -> dict[str, Any]:
    """One run's figures from its trial ends and timed fits; ``at[target]``: see ``at_target``."""
    best = float("nan")
    for end in ends:
        values = [v for f in end["fits"] for v in f["values"][-1:] if v is not None and math.isfinite(v)]
        end["value"] = values[-1] if values else None
        if end["value"] is not None:
            best = end["value"] if math.isnan(best) else max(best, end["value"])
    n = max(1, len(ends))
    fit_s = sum(f["fit_s"] for f in fits)
    epoch_s = sum(f["epoch_s"] for f in fits)
    states = [e["state"] for e in ends]
    return {
        "at": {t: at_target(ends, wall, t) for t in targets},
        "wall": wall, "trials": len(ends), "fit_s": fit_s, "epoch_s": epoch_s,
        "cost_fit": (wall - fit_s) / n, "cost_epochs": (wall - epoch_s) / n,
        "epochs": sum(len(f["values"]) for f in fits), "best": best,
        "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"),
        "failed": len(states) - states.count("COMPLETE") - states.count("PRUNED"),
    }


def at_target(ends: list[dict[str, Any]], wall: float, target: float) -> dict[str, Any]:
    """When the run first ended a trial at ``target``: ``time`` (inf: never), ``reached``,
    ``time_or_wall`` (its wall time when never), ``trials`` (how many trials it took; None)."""
    first = next((i for i, e in enumerate(ends) if e["value"] is not None and e["value"] >= target), None)
    time_to = float("inf") if first is None else ends[first]["t"]
    return {"time": time_to, "reached": first is not None, "time_or_wall": wall if first is None else time_to,
            "trials": None if first is None else first + 1}


def _tunekit(strategy: str, pruner: str | None, seed: int, trials: int, epochs: int, folder: Path,
             build_fn: Callable[[Any], Any], trial_ended: Callable[[str], None]) -> None:
    import tunekit
    from tunekit import StudySpec

    # seed=0 in the spec is the data split's (the rows keras-tuner gets); the search's seed is run(seed=)
    spec = StudySpec(data=DATA, build=build_fn, epochs=epochs, seed=0, fixed={"batch_size": BATCH_SIZE}, name=NAME)
    tunekit.run(spec, strategy=strategy, n_trials=trials, storage=f"sqlite:///{folder / 'study.db'}",
                study_name=f"{NAME}-{strategy}-{pruner}-{seed}", seed=seed, pruner=pruner,
                on_trial=lambda study, trial: trial_ended(trial.state.name))


class _Budget(Exception):
    """Raised from ``on_trial_end`` to end keras-tuner's Hyperband after the trial budget."""


def _keras_tuner(kind: str, seed: int, trials: int, epochs: int, folder: Path, build_fn: Callable[[Any], Any],
                 trial_ended: Callable[[str], None]) -> None:
    import keras
    import keras_tuner as kt

    from benchmarks._kt import stopping
    from tunekit.data import load_data

    count = [0]

    def check(trial) -> None:
        status = str(trial.status)
        trial_ended({"COMPLETED": "COMPLETE", "INVALID": "FAIL", "FAILED": "FAIL"}.get(status, status))
        count[0] += 1
        if count[0] >= trials:
            raise _Budget

    keras.utils.set_random_seed(seed)
    ds = load_data(DATA, seed=0)
    common = dict(hypermodel=build_fn, objective=kt.Objective(METRIC, "max"), seed=seed, directory=str(folder),
                  project_name="kt", overwrite=True)
    fit = dict(validation_data=(ds.x_val, ds.y_val), verbose=0)
    if kind == "Hyperband":
        tuner = stopping(kt.Hyperband, check)(max_epochs=epochs, factor=3, hyperband_iterations=1000, **common)
    else:
        tuner = stopping(getattr(kt, kind), check)(max_trials=trials, **common)
        fit["epochs"] = epochs
    try:
        tuner.search(ds.x_train, ds.y_train, **fit)
    except _Budget:
        pass


def _median_of(runs: list[dict[str, Any]], target: float) -> tuple[float, bool]:
    """The median time to ``target`` (a run that never got there counted with its wall time) and
    whether it rests on such a run (then it is a lower bound)."""
    pairs = sorted((r["at"][target]["time_or_wall"], r["at"][target]["reached"]) for r in runs)
    n = len(pairs)
    middle = pairs[(n - 1) // 2: n // 2 + 1]
    return sum(p[0] for p in middle) / len(middle), not all(p[1] for p in middle)


def _seconds(value: float, censored: bool) -> str:
    return f"≥{_util.fmt(value)}" if censored else _util.fmt(value)


def ratio_cell(value: float, censored: bool, base: float, base_censored: bool) -> str:
    """``value / base`` with ×; ``≥`` when only the value is a lower bound, ``≤`` when only the
    base is; n/a when both are."""
    if censored and base_censored:  # both medians rest on a run that did not reach the target
        return "n/a (both are bounds)"
    prefix = "≥" if censored else "≤" if base_censored else ""
    return f"{prefix}{value / base:.2f}×"


def _fastest(names: list[str], medians: dict[str, tuple[float, bool]]) -> str | None:
    """The contender with the lowest median time to target; one whose median reached the target
    before one whose lower figure is only a bound."""
    return min(names, key=lambda n: (medians[n][1], medians[n][0])) if names else None


def report(results: dict[str, list[dict[str, Any]]], orders: list[list[str]], args: Any, *, seeds: int, trials: int,
           epochs: int, targets: Sequence[float], tb: str, total: float) -> dict[str, Any]:
    short = {name: CONTENDERS[name][3] for name in results}
    names = list(results)
    kt_names = [n for n in names if CONTENDERS[n][0] == "keras-tuner"]
    tk_names = [n for n in names if CONTENDERS[n][0] == "tunekit"]
    lines = _util.header(
        "keras-tuner side by side: one build(hp), keras-tuner vs tunekit",
        _util.command(NAME, args.quick)
        + _util.flags(args, "seeds", "trials", "epochs", "target", "only", "in_process", "no_warm_up")
        + ("" if args.out == _util.RESULTS else f" --out {args.out}"),
        [f"Budget: {trials} trials per run, at most {epochs} epochs each (batch {BATCH_SIZE}), {seeds} seed(s) "
         f"(0..{seeds - 1}: keras-tuner `seed=` and `keras.utils.set_random_seed`; tunekit `run(seed=)`), "
         f"{len(names)} contenders, all in one run: {total / 60:.1f} min in all. Data: digits through "
         "`tunekit.data.load_data(\"digits\", seed=0)` for both (1437 train / 360 validation rows). A trial's "
         "value: the val_accuracy of its last epoch (a pruned trial's: the epoch it stopped after). Targets: "
         + ", ".join(f"val_accuracy ≥ {t}" for t in targets) + " (the first is the headline).",
         "The model: keras-tuner's getting-started `build(hp)` (1-3 Dense layers of 16-128 units step 16, "
         "relu/tanh, optional Dropout 0.25, Adam lr 1e-4..1e-1 log), the same function for both tools, wrapped "
         "identically to time `model.fit` and each epoch. keras-tuner: RandomSearch and BayesianOptimization with "
         f"`max_trials={trials}`, Hyperband with `max_epochs={epochs}, factor=3`, stopped after {trials} trials "
         "(its bracket rounds count as trials, as keras-tuner counts them). tunekit: `run(StudySpec(build=build, "
         f"epochs={epochs}, fixed={{'batch_size': {BATCH_SIZE}}}), strategy=..., n_trials={trials}, pruner=None or "
         "\"median\")`, SQLite. tunekit records the space by calling `build(hp)` with keras-tuner's defaults (one "
         "layer), so `units_1` and `units_2` join the space in the first trial that asks for them (tpe and random "
         "learn them as they go, gp draws them at random). At this budget the model-based methods are still "
         "mostly random: tunekit's tpe and gp draw their first 10 trials at random (the random strategy's draws, "
         "same seed), keras-tuner's BayesianOptimization its first 3 × (hyperparameters) = 15-21. So the time to "
         "target compares each tool's random draws (one sequence per seed) and its time per trial; the \"trials to "
         "target\" column separates the two.",
         "Order per seed (rotated so each contender runs early, midway and late while the load drifts): "
         + "; ".join(f"seed {i}: " + " ".join(short[n] for n in order) for i, order in enumerate(orders)) + ". "
         + ("All searches in this one process; "
            + ("no warm-up before the first (`--no-warm-up`): it pays the imports and TensorFlow's start-up. "
               if args.no_warm_up else
               "before the first, one untimed trial of one epoch through each tool (keras-tuner, tunekit with gp) "
               "pays the imports and TensorFlow's start-up. ")
            + "Later searches run in an older process, which slows keras-tuner's trials down as the run goes on."
            if args.in_process else
            "Every search in a fresh Python process, both tools (and torch) imported before its clock starts; "
            "TensorFlow's own start-up inside the first trial is every search's alike.")
         + f" TensorBoard for keras-tuner: {tb}."],
    )
    costs = {n: _util.median(r["cost_fit"] for r in results[n]) for n in names}
    kt_cheapest = min(kt_names, key=lambda n: costs[n]) if kt_names else None
    summary: dict[str, Any] = {"targets": {}, "contenders": {}, "kt_cheapest": kt_cheapest}
    for t in targets:
        medians = {n: _median_of(results[n], t) for n in names}
        kt_best, tk_best = _fastest(kt_names, medians), _fastest(tk_names, medians)
        entry: dict[str, Any] = {"kt_best": kt_best, "tunekit_best": tk_best, "contenders": {}}
        for n in names:
            value, censored = medians[n]
            entry["contenders"][n] = {
                "time_to_target": value, "censored": censored,
                "reached": sum(r["at"][t]["reached"] for r in results[n]), "runs": len(results[n]),
                "times": [r["at"][t]["time_or_wall"] for r in results[n]],
                "ratio": ratio_cell(value, censored, *medians[kt_best]) if kt_best else "n/a",
            }
        summary["targets"][t] = entry
    for n in names:
        runs = results[n]
        summary["contenders"][n] = {
            "cost_fit": costs[n], "cost_epochs": _util.median(r["cost_epochs"] for r in runs),
            "cost_ratio": costs[n] / costs[kt_cheapest] if kt_cheapest else float("nan"),
            "best": _util.median(r["best"] for r in runs), "bests": [r["best"] for r in runs],
        }
    s = summary["contenders"]
    for t in targets:
        e = summary["targets"][t]
        kt_best, tk_best = e["kt_best"], e["tunekit_best"]
        if kt_best and tk_best:
            c = e["contenders"]
            lines += [f"**Time to val_accuracy ≥ {t}: tunekit's fastest, {tk_best}, "
                      f"{_seconds(c[tk_best]['time_to_target'], c[tk_best]['censored'])} s vs keras-tuner's fastest, "
                      f"{kt_best}, {_seconds(c[kt_best]['time_to_target'], c[kt_best]['censored'])} s (medians over "
                      f"{seeds} seed(s)) = {c[tk_best]['ratio']}**", ""]
    if kt_cheapest and tk_names:
        cheapest = min(tk_names, key=lambda n: costs[n])
        dearest = max(tk_names, key=lambda n: costs[n])
        tk = (f"{costs[cheapest]:.3f} s ({cheapest})" if cheapest == dearest else
              f"{costs[cheapest]:.3f} s ({cheapest}) to {costs[dearest]:.3f} s ({dearest})")
        ratios = (f"{s[cheapest]['cost_ratio']:.2f}×" if cheapest == dearest else
                  f"{s[cheapest]['cost_ratio']:.2f}× to {s[dearest]['cost_ratio']:.2f}×")
        lines += [f"**Suggestion cost (outside fit, per trial): tunekit {tk} vs keras-tuner's cheapest, {kt_cheapest}, "
                  f"{costs[kt_cheapest]:.3f} s = {ratios}**", ""]
    for i, t in enumerate(targets):
        e = summary["targets"][t]
        lines += [f"## ({'a' if i == 0 else 'a' + str(i + 1)}) Time to val_accuracy ≥ {t}", "",
                  f"Seconds from the start until a trial first ends with val_accuracy ≥ {t}; a run that never got "
                  "there counts with its whole wall time, marked `*` per seed (seed 0 first), and a median resting on "
                  "such a run is a lower bound (`≥`). Ratio: median / the median of keras-tuner's fastest contender "
                  f"({e['kt_best']})." + (" Best: the highest trial value of the run." if i == 0 else ""), ""]
        rows = []
        for n in names:
            runs, c = results[n], e["contenders"][n]
            per_seed = " ".join(_util.fmt(r["at"][t]["time_or_wall"]) + ("" if r["at"][t]["reached"] else "*")
                                for r in runs)
            trials_to = [r["at"][t]["trials"] for r in runs if r["at"][t]["reached"]]
            row = [n, _seconds(c["time_to_target"], c["censored"]), per_seed, f"{c['reached']}/{c['runs']}",
                   c["ratio"], _util.median(trials_to) if trials_to else "n/a"]
            if i == 0:
                row += [f"{s[n]['best']:.4f} ({_util.spread(s[n]['bests'])})", _util.median(r["wall"] for r in runs)]
            rows.append(row)
        columns = ["contender", "median s to target", "per seed (s)", "reached", "ratio to kt's fastest",
                   "trials to target (median of reached)"]
        if i == 0:
            columns += ["best val_accuracy, median (range)", "wall s (median)"]
        lines += _util.table(columns, rows)
        lines.append("")
    lines += ["## (b) Suggestion cost", "",
              "Per trial: (run wall time − time inside `model.fit`) / trials, i.e. what the tool spends around "
              "training (sampling, storage, build + compile, checkpoints, tunekit's final evaluate). The next "
              "column subtracts only the epochs' own time, so it adds what runs inside `fit` between epochs "
              "(keras-tuner's per-epoch checkpoint, tunekit's per-epoch report and health probe, fit's setup). "
              f"Ratio: against keras-tuner's cheapest ({kt_cheapest}). Then the time inside `fit` per trial "
              "(training: both tools' own ways of calling it). First, apart: seconds from the start until the "
              "first trial's `fit` begins (loading the data, creating the study or tuner, tunekit recording the "
              "space by calling `build`, the first suggestion and build): the start-up every search pays once, "
              "included in the per-trial figures.", ""]
    rows = []
    for n in names:
        runs = results[n]
        rows.append([n, _util.median(r["first_fit"] for r in runs),
                     f"{s[n]['cost_fit']:.3f} ({_util.spread([r['cost_fit'] for r in runs])})",
                     f"{s[n]['cost_ratio']:.2f}×",
                     f"{s[n]['cost_epochs']:.3f} ({_util.spread([r['cost_epochs'] for r in runs])})",
                     _util.median(r["fit_s"] / max(1, r["trials"]) for r in runs),
                     _util.median(r["trials"] for r in runs),
                     "/".join(_util.fmt(_util.median(r[k] for r in runs)) for k in ("complete", "pruned", "failed")),
                     _util.median(r["epochs"] for r in runs)])
    lines += _util.table(["contender", "s to first fit (median)", "s/trial outside fit, median (range)", "ratio to kt's cheapest",
                          "s/trial outside epochs, median (range)", "s/trial in fit (median)", "trials (median)",
                          "complete/pruned/failed (median)", "epochs trained (median)"], rows)
    lines.append("")
    _util.write(args.out, NAME, args.quick, lines)
    return summary



if __name__ == "__main__":
    main()
