"""Fused time-to-target: today's fastest tunekit setting, unfused vs ``fuse=16`` and ``fuse=32``.

Measured as ``benchmarks/pruning.py`` measures it (digits, val_accuracy ≥ 0.97, its search space
and model factory, ``--epochs`` per trial at most): wall time from the start of ``tunekit.run``
until the end of the first trial whose validation curve reached the target, whole search
included; a run not there after ``--cap`` seconds counts as not reached. Seeds interleaved,
order rotating, all in one process (``_util.interleaved``; the search code is ``pruning._tunekit``).

The baseline is today's fastest tunekit contender of the pruning benchmark (results/pruning.md,
pruning-digits-9-seeds.md): ``TPE + hyperband, defaults first`` (the space declares its
defaults, so the first trial tries them). The fused contenders are the same search with
``fuse=K``: the loop claims K trials at once from TPE (constant liar for the trials asked and
not told, tunekit/strategies/_registry.py) and trains them as fused groups (one per batch size,
split by width); the hyperband pruner acts per member. The loop reports a batch's results when
all its groups have trained; from each search's study the table also gives when the group holding
the first trial that reached the target ended, and when the last trial ended.

    python -m benchmarks.fused_target [--quick] [--seeds N] [--cap SECONDS] [--epochs N] [--fuse 16,32] [--target 0.97]
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import _util, pruning

NAME = "fused_target"
DATA = "digits"
#: today's fastest setting in benchmarks/results/pruning*.md: (pruner, defaults declared)
BEST = ("hyperband", True)
BASELINE = "tunekit TPE + hyperband, defaults first (unfused)"
GOAL = 3.0


def fused_name(k: int) -> str:
    return f"the same, fuse={k}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Fused time-to-target: today's best tunekit setting, unfused vs fused",
                            epochs={"type": int, "default": None, "help": "epoch budget per trial (15; quick 4)"},
                            cap={"type": float, "default": None, "help": "seconds before a run counts as not reached"},
                            fuse={"default": None, "help": "K values, comma-separated (16,32; quick 3)"},
                            target={"type": float, "default": None, "help": "val_accuracy to reach (0.97)"})
    _util.quiet()
    seeds = args.seeds or (1 if args.quick else 10)
    epochs = args.epochs or (4 if args.quick else 15)
    cap = args.cap or (20.0 if args.quick else 180.0)
    ks = [int(k) for k in (args.fuse or ("3" if args.quick else "16,32")).split(",")]
    metric, direction, target = pruning.TARGETS[DATA]
    target = args.target if args.target is not None else target
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-fused-target-"))
    contenders = [(BASELINE, 1), *((fused_name(k), k) for k in ks)]
    runs = {name: _contender(name, fuse, epochs, cap, target, workdir) for name, fuse in contenders}
    _util.log(f"{NAME}: {len(runs)} contenders x {seeds} seeds, {epochs} epochs, cap {cap:.0f} s")
    try:
        if not args.quick:  # TensorFlow's and the fused core's first-call costs, paid by no contender
            for fuse in (1, 2):
                pruning._tunekit(BEST[0], BEST[1], DATA, metric, direction, 0.0, 2, 60.0, 0, _folder(workdir, "warm", fuse),
                                 fuse=fuse)
        results = _util.interleaved(runs, seeds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(results, args, seeds=seeds, epochs=epochs, cap=cap, target=(metric, direction, target))


def _contender(name: str, fuse: int, epochs: int, cap: float, target: float,
               workdir: Path) -> Callable[[int], dict[str, Any]]:
    metric, direction, _ = pruning.TARGETS[DATA]

    def run(seed: int) -> dict[str, Any]:
        import gc

        gc.unfreeze()  # every run starts like a fresh process
        folder = _folder(workdir, seed, fuse)
        out = pruning._tunekit(BEST[0], BEST[1], DATA, metric, direction, target, epochs, cap, seed, folder, fuse=fuse)
        out.update(trained(folder, direction, target))
        _util.log(f"  seed {seed} {name}: {out}")
        return pruning.within_cap(out, cap)

    return run


def _folder(workdir: Path, seed: Any, fuse: int) -> Path:
    folder = workdir / f"fuse{fuse}-{seed}"
    folder.mkdir(parents=True)
    return folder


def trained(folder: Path, direction: str, target: float) -> dict[str, Any]:
    """What the search in ``folder`` trained until it stopped, from its study: {trials: finished
    trials (a fused batch's every member), epochs: epochs over all of them, groups: fused groups
    trained, group_s: seconds from the first trial's start to the end of the group holding the
    first trial that reached ``target`` (unfused: that trial; ∞ if none), batch_s: to the end of
    the last finished trial}."""
    import optuna

    study = optuna.load_study(study_name="pruning", storage=f"sqlite:///{folder / 'study.db'}")
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state.is_finished() and t.datetime_complete is not None]
    if not done:
        return {"trials": 0, "epochs": 0, "groups": 0, "group_s": math.inf, "batch_s": math.inf}
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    hits = [t for t in done if pruning._reached(
        (max if direction == "max" else min)(t.intermediate_values.values(), default=None), direction, target)]
    group = []
    if hits:
        first = min(hits, key=lambda t: t.number)
        key = first.user_attrs.get("fused_group")
        group = [t for t in done if key is not None and t.user_attrs.get("fused_group") == key] or [first]
    return {"trials": len(done), "epochs": sum(len(t.intermediate_values) for t in done),
            "groups": len({t.user_attrs["fused_group"] for t in done if "fused_group" in t.user_attrs}),
            "group_s": (max(t.datetime_complete for t in group) - start).total_seconds() if group else math.inf,
            "batch_s": (max(t.datetime_complete for t in done) - start).total_seconds()}


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Distribution-free interval for the median (order statistics, binomial): (low, high,
    coverage); the whole range, with its coverage, when there are too few values for ``level``.

    >>> median_interval([float(v) for v in range(1, 11)])
    (2.0, 9.0, 0.978515625)
    """
    xs, n = sorted(values), len(values)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    def coverage(k: int) -> float:  # of [xs[k], xs[n-1-k]]: 1 - 2 P(Binom(n, 1/2) <= k)
        return 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n

    k = 0
    while k + 1 <= (n - 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return xs[k], xs[n - 1 - k], coverage(k)


def speedup(base: float, other: float) -> float:
    """How many times faster ``other`` is than ``base`` (seconds; ∞ means not reached)."""
    if math.isinf(base) and math.isinf(other):
        return float("nan")
    if math.isinf(other):
        return 0.0
    return base / other if other > 0 else float("nan")


def ratio_text(value: float) -> str:
    """A speed-up for the table: ``2.50×``, ``∞×``, ``n/a``."""
    return "n/a" if math.isnan(value) else ("∞×" if math.isinf(value) else f"{value:.2f}×")


def report(results: dict[str, list[dict[str, Any]]], args: Any, *, seeds: int, epochs: int, cap: float,
           target: tuple[str, str, float]) -> dict[str, Any]:
    """The results table; returns {contender: {median, low, high, reached, speedup, paired, group_s, ...}}."""
    metric, direction, goal_value = target
    base_times = [r["time"] for r in results[BASELINE]]
    base = _util.median(base_times)
    summary: dict[str, Any] = {}
    rows = []
    for name, runs in results.items():
        times = [r["time"] for r in runs]
        low, high, coverage = median_interval(times)
        paired = [speedup(b, t) for b, t in zip(base_times, times)]
        s = summary[name] = {
            "median": _util.median(times), "low": low, "high": high, "coverage": coverage,
            "reached": sum(math.isfinite(t) for t in times), "runs": len(runs), "times": times,
            "speedup": speedup(base, _util.median(times)), "paired": _util.median(p for p in paired if not math.isnan(p)),
            "group_s": _util.median(r["group_s"] for r in runs), "batch_s": _util.median(r["batch_s"] for r in runs),
            "trials": _util.median(r["trials"] for r in runs),
            "groups": _util.median(r["groups"] for r in runs), "epochs": _util.median(r["epochs"] for r in runs)}
        rows.append([name, s["median"], f"{_util.fmt(low)}–{_util.fmt(high)}", f"{s['reached']}/{s['runs']}",
                     ratio_text(s["speedup"]), ratio_text(s["paired"]), s["group_s"], s["batch_s"], s["trials"], s["groups"], s["epochs"],
                     " ".join(_util.fmt(t) for t in times)])
    fused = [n for n in results if n != BASELINE]
    best = max(fused, key=lambda n: -1.0 if math.isnan(summary[n]["speedup"]) else summary[n]["speedup"])
    figure = summary[best]["speedup"]
    verdict = ("met" if figure >= GOAL else "missed") if not math.isnan(figure) else \
        "not decided (neither side reached the target in most seeds; raise --cap or --epochs)"
    coverage = summary[BASELINE]["coverage"]
    lines = _util.header(
        f"Fused time-to-target: today's best tunekit setting, unfused vs fused ({DATA})",
        _util.command(NAME, args.quick) + _util.flags(args, "seeds", "epochs", "cap", "fuse", "target"),
        [(f"Target: {metric} {'≥' if direction == 'max' else '≤'} {goal_value} on {DATA}, as benchmarks/pruning.py "
         f"measures it (same space, model factory and search code): seconds from the start of `tunekit.run` to the "
         f"end of the first trial that reached it, whole search included; {epochs} epochs per trial at most; "
         f"{seeds} seed(s), interleaved, order rotating, one process; a run not there after {cap:.0f} s counts as "
         "not reached (∞ in medians). Baseline: today's fastest tunekit contender in results/pruning*.md (TPE + "
         "hyperband, the space's defaults declared, so trial 0 tries them). Fused: the same with `fuse=K` (TPE asked "
         "K trials at once, constant liar; one fused group per batch size, split by width; hyperband per member). "
         f"Interval: distribution-free interval of the median over seeds (order statistics, coverage "
         f"{100 * coverage:.0f}% at {seeds} seeds). Speed-up: baseline median ÷ contender median; paired: median over "
         "seeds of baseline ÷ contender on the same seed. Target's group done / last trial done: seconds from the "
         "first trial's start (study timestamps) to the end of the fused group holding the first trial that reached the "
         "target (unfused: that trial) / of the last trial trained; the loop reports a batch's results when all its "
         "groups have trained, so a fused run learns it reached the target at the second; trials and epochs trained: every finished trial of the search "
         "(a fused batch finishes all its members) and their epochs. ") + ("" if args.quick else "Before the timed runs, "
         "one untimed 2-epoch search unfused and one fused (TensorFlow's and the fused core's first-call costs)."),
         (f"**Goal: ≥ {GOAL:.0f}× faster than today's best setting — {verdict}: {best} {ratio_text(figure)} "
          f"({_util.fmt(summary[best]['median'])} s vs {_util.fmt(base)} s)**")],
    )
    lines += _util.table(["contender", "median s to target", "interval", "reached", "speed-up", "paired speed-up",
                          "target's group done s (median)", "last trial done s (median)", "trials trained (median)", "fused groups (median)",
                          "epochs trained (median)", "per seed (s)"], rows)
    _util.write(args.out, NAME, args.quick, lines)
    return summary



if __name__ == "__main__":
    main()
