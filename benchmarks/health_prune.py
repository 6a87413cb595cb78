"""Health pruning: what ``--prune-unhealthy`` saves on a space with known-bad corners (issue 13).

The space (digits, 64 units per layer, batch 32, ``--epochs`` per trial) includes sigmoid at
depth, zero initialization and learning rates up to 10:

- ``n_layers`` 1..8, ``activation`` relu / sigmoid / tanh,
- ``initializer`` he_normal / glorot_uniform / zeros,
- ``optimizer`` sgd / adam, ``learning_rate`` 1e-4..10 (log).

Contenders, the same strategy and seed per pair, a fixed budget of ``--trials`` trials each, no
metric pruner (tunekit's default), both with the health probe on:

- ``without``: ``TrialRunner(health=True)``, the default
- ``--prune-unhealthy``: ``TrialRunner(health=True, prune_unhealthy=True)``: a trial diagnosed
  exploding, dead or symmetric at the end of an epoch (from the first) is stopped, PRUNED (the
  diagnosis runs after every epoch: on the probe's figures, taken after epochs 1, 4, 16, ...
  and the last, and on every epoch's training loss)

With the default ``--strategy random`` both runs of a seed draw the same configurations in the
same order and train trial *n* with the same seed, so every pruned trial has a twin that ran
to the end in the other run: the benchmark says whether any twin would have reached the
target (a pruning that lost a good trial). With ``--strategy tpe`` the runs diverge after the
first pruned trial (TPE learns from pruned trials differently), closer to a real study.

Reported per seed and as medians over seeds: time and trials until a trial first ends at the
target (``val_accuracy ≥ --target``; the search's whole time: study, sampling, storage), the
run's wall time, epochs trained (per trial: the training losses the probe recorded, one an
epoch), trials pruned by diagnosis, failed trials (a loss that became NaN fails the trial in
both), and the best value at the end.

    python -m benchmarks.health_prune [--quick] [--seeds N] [--trials N] [--epochs N] [--target X] [--no-warm-up]

``--no-warm-up`` (for smoke tests): skip the untimed one-epoch trial before the runs.
"""

from __future__ import annotations

import inspect
import math
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util

NAME = "health_prune"
WITHOUT = "without"
PRUNE = "--prune-unhealthy"
CONTENDERS = {WITHOUT: False, PRUNE: True}
FIXED = {"units": 64, "batch_size": 32}


def space() -> dict[str, Any]:
    from tunekit import Choice, Float, Int

    return {
        "n_layers": Int(1, 8),
        "activation": Choice(["relu", "sigmoid", "tanh"]),
        "initializer": Choice(["he_normal", "glorot_uniform", "zeros"]),
        "optimizer": Choice(["sgd", "adam"]),
        "learning_rate": Float(1e-4, 10.0, log=True),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Health pruning: what --prune-unhealthy saves",
                            trials={"type": int, "default": None, "help": "trials per run (20; quick 6)"},
                            epochs={"type": int, "default": None, "help": "epochs per trial (10; quick 3)"},
                            target={"type": float, "default": None, "help": "val_accuracy target (0.95; quick 0.9)"},
                            strategy={"default": "random", "help": "random (paired trials) or tpe"},
                            via={"choices": ("run", "runner"), "default": None,
                                 "help": "tunekit.run(prune_unhealthy=...) (default when it exists) or TrialRunner"},
                            no_warm_up=_util.NO_WARM_UP)
    _util.quiet()
    import tunekit
    from tunekit import StudySpec
    from tunekit.data import load_data

    seeds = args.seeds or (2 if args.quick else 5)
    trials = args.trials or (6 if args.quick else 20)
    epochs = args.epochs or (3 if args.quick else 10)
    target = args.target or (0.9 if args.quick else 0.95)
    dataset = load_data("digits", seed=0)
    spec = StudySpec(data="digits", space=space(), fixed=dict(FIXED), epochs=epochs, name="health-prune")
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-health-prune-"))
    via = args.via or ("run" if "prune_unhealthy" in inspect.signature(tunekit.run).parameters else "runner")
    runs = {name: _contender(name, spec, dataset, args.strategy, trials, target, workdir, via) for name in CONTENDERS}
    if not args.no_warm_up:
        _warm_up(spec, dataset, workdir)
    _util.log(f"{NAME}: {len(runs)} contenders x {seeds} seeds, {trials} trials of {epochs} epochs, "
              f"strategy {args.strategy}, target val_accuracy >= {target}")
    results = _util.interleaved(runs, seeds)
    shutil.rmtree(workdir, ignore_errors=True)
    return report(results, args, seeds, trials, epochs, target, via)


def _warm_up(spec: Any, dataset: Any, workdir: Path) -> None:
    """One untimed 1-epoch trial first: imports and TensorFlow's first-time set-up would otherwise
    count against whichever contender runs first."""
    import optuna

    from tunekit._errors import TrialError
    from tunekit.execution import TrialRunner

    study = optuna.create_study(storage=f"sqlite:///{workdir / 'warm-up.db'}", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=12345), pruner=optuna.pruners.NopPruner())
    study.optimize(TrialRunner(spec=spec, dataset=dataset, metric="val_accuracy", seed=0, epochs=1, health=True),
                   n_trials=1, catch=(TrialError,))


def _contender(name: str, spec: Any, dataset: Any, strategy: str, trials: int, target: float, workdir: Path,
               via: str):
    def run(seed: int) -> dict[str, Any]:
        import gc

        import optuna

        from tunekit._errors import TrialError
        from tunekit._records import PRUNED_REASON
        from tunekit.execution import TrialRunner
        from tunekit.health._attrs import read_health
        from tunekit.strategies import make_pruner, make_sampler

        gc.unfreeze()  # every run starts like a fresh process
        url = f"sqlite:///{workdir / f'{seed}-{CONTENDERS[name]}.db'}"
        records: list[dict[str, Any]] = []
        start = time.perf_counter()

        def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            found = read_health(trial.user_attrs)
            # epochs trained: the probe records every epoch's training loss (it probes only some epochs)
            epochs = len(found[1].epoch_loss) if found else len(trial.intermediate_values)
            reason = str(trial.user_attrs.get(PRUNED_REASON, ""))
            unhealthy = re.match(r"unhealthy at epoch \d+: (\w+)", reason)
            elapsed = time.perf_counter() - start
            seconds = elapsed - (records[-1]["elapsed"] if records else 0.0)
            records.append({"number": trial.number, "elapsed": elapsed, "seconds": seconds, "state": trial.state.name,
                            "value": trial.value, "params": dict(trial.params), "epochs": epochs,
                            "health": found[0].name if found else None,
                            "pruned_by": unhealthy.group(1) if unhealthy else None})

        if via == "run":  # what `tunekit run --prune-unhealthy` does
            import tunekit

            tunekit.run(spec, strategy=strategy, n_trials=trials, storage=url, study_name="health-prune", seed=seed,
                        pruner=None, on_trial=on_trial, health=True, prune_unhealthy=CONTENDERS[name])
        else:
            study = optuna.create_study(storage=url, study_name="health-prune", direction="maximize",
                                        sampler=make_sampler(strategy, space=spec.space, seed=seed),
                                        pruner=make_pruner(None))
            runner = TrialRunner(spec=spec, dataset=dataset, metric="val_accuracy", seed=seed, health=True,
                                 prune_unhealthy=CONTENDERS[name])
            with runner.process_scope():
                study.optimize(runner, n_trials=trials, catch=(TrialError,), callbacks=[on_trial])
        wall = time.perf_counter() - start
        out = summarize(records, wall, target)
        _util.log(f"  seed {seed} {name}: {out['time']:.1f} s / {out['trials_to_target']} trials to target, "
                  f"wall {wall:.1f} s, {out['epochs']} epochs, pruned {dict(out['pruned_by'])}, best {out['best']}")
        return out

    return run


def summarize(records: list[dict[str, Any]], wall: float, target: float) -> dict[str, Any]:
    """One run's figures from its per-trial records."""
    hit = next((r for r in records if r["state"] == "COMPLETE" and r["value"] is not None and r["value"] >= target), None)
    values = [r["value"] for r in records if r["state"] == "COMPLETE" and r["value"] is not None]
    return {
        "records": records, "wall": wall,
        "time": hit["elapsed"] if hit else float("inf"),
        "trials_to_target": hit["number"] + 1 if hit else float("inf"),
        "epochs": sum(r["epochs"] for r in records),
        "pruned_by": Counter(r["pruned_by"] for r in records if r["pruned_by"]),
        "pruned": sum(r["state"] == "PRUNED" for r in records),
        "failed": sum(r["state"] == "FAIL" for r in records),
        "best": max(values) if values else float("nan"),
    }


def paired(without: dict[str, Any], prune: dict[str, Any], target: float) -> dict[str, Any]:
    """Trial by trial (same number): were the configurations the same, and did any pruned trial's
    twin in the run without pruning reach the target (or its best value)?"""
    twins = {r["number"]: r for r in without["records"]}
    same = all(twins.get(r["number"], {}).get("params") == r["params"] for r in prune["records"])
    pruned = [r for r in prune["records"] if r["pruned_by"] and r["number"] in twins]
    lost = [twins[r["number"]] for r in pruned]
    lost_values = [t["value"] for t in lost if t["state"] == "COMPLETE" and t["value"] is not None]
    pruned_s, twins_s = sum(r["seconds"] for r in pruned), sum(t["seconds"] for t in lost)
    return {"same_configs": same, "lost": len(lost), "lost_best": max(lost_values) if lost_values else None,
            "lost_at_target": sum(v >= target for v in lost_values), "pruned_s": pruned_s, "twins_s": twins_s,
            "saved_s": twins_s - pruned_s, "saved_share": (twins_s - pruned_s) / without["wall"],
            "pruned_trial_s": pruned_s / len(pruned) if pruned else float("nan"),
            "twin_trial_s": twins_s / len(lost) if lost else float("nan")}


def report(results: dict[str, list[dict[str, Any]]], args: Any, seeds: int, trials: int, epochs: int,
           target: float, via: str) -> dict[str, Any]:
    without, prune = results[WITHOUT], results[PRUNE]
    rows, pairs = [], []
    for seed, (a, b) in enumerate(zip(without, prune)):
        pair = paired(a, b, target)
        pairs.append(pair)
        for name, out in ((WITHOUT, a), (PRUNE, b)):
            pruned = ", ".join(f"{k} {v}" for k, v in sorted(out["pruned_by"].items())) or "0"
            rows.append([seed, name, out["time"], out["trials_to_target"], out["wall"], out["epochs"], pruned,
                         out["failed"], out["best"]])
    time_ratios = [b["time"] / a["time"] for a, b in zip(without, prune) if math.isfinite(a["time"]) and math.isfinite(b["time"])]
    wall_ratios = [b["wall"] / a["wall"] for a, b in zip(without, prune)]
    epoch_ratios = [b["epochs"] / a["epochs"] for a, b in zip(without, prune) if a["epochs"]]
    summary: dict[str, Any] = {"via": via, "pairs": pairs, "time_ratios": time_ratios, "wall_ratios": wall_ratios,
                               "epoch_ratios": epoch_ratios}
    medians = []
    for name, outs in results.items():
        reached = sum(math.isfinite(o["time"]) for o in outs)
        pruned = Counter()
        for o in outs:
            pruned.update(o["pruned_by"])
        s = {"time": _util.median(o["time"] for o in outs), "trials_to_target": _util.median(o["trials_to_target"] for o in outs),
             "wall": _util.median(o["wall"] for o in outs), "epochs": _util.median(o["epochs"] for o in outs),
             "best": _util.median(o["best"] for o in outs), "reached": reached, "pruned_by": dict(pruned),
             "pruned": sum(o["pruned"] for o in outs), "failed": sum(o["failed"] for o in outs),
             "per_seed": [{k: o[k] for k in ("time", "trials_to_target", "wall", "epochs", "pruned", "failed", "best")}
                          for o in outs],
             "records": [o["records"] for o in outs]}
        summary[name] = s
        medians.append([name, s["time"], f"{reached}/{len(outs)}", s["trials_to_target"], s["wall"], s["epochs"],
                        ", ".join(f"{k} {v}" for k, v in sorted(pruned.items())) or "0", s["failed"], s["best"]])
    summary["time_ratio"] = _util.median(time_ratios)
    summary["wall_ratio"] = _util.median(wall_ratios)
    summary["epoch_ratio"] = _util.median(epoch_ratios)
    lost = sum(p["lost_at_target"] for p in pairs)
    same = all(p["same_configs"] for p in pairs)
    summary["lost_at_target"], summary["same_configs"] = lost, same
    summary["saved_share"] = _util.median(p["saved_share"] for p in pairs)
    lines = _util.header(
        "Health pruning: what --prune-unhealthy saves",
        _util.command(NAME, args.quick) + _util.flags(args, "seeds", "trials", "epochs", "target", "via", "no_warm_up")
        + ("" if args.strategy == "random" else f" --strategy {args.strategy}"),
        [f"digits, 64 units per layer, batch 32, {epochs} epochs per trial; space: n_layers 1–8, activation "
         "relu/sigmoid/tanh, initializer he_normal/glorot_uniform/zeros, optimizer sgd/adam, learning_rate 1e-4–10 "
         f"(log). Strategy `{args.strategy}`, no metric pruner, {trials} trials per run, {seeds} seed(s); both runs of "
         "a seed use the same seed, the health probe on in both ("
         + ("`tunekit.run(spec, health=True, prune_unhealthy=...)`, what `tunekit run [--prune-unhealthy]` runs"
            if via == "run" else "`TrialRunner(health=True, prune_unhealthy=...)` under `study.optimize`")
         + "), "
         "seeds interleaved, order alternating. Target: a trial ending with val_accuracy ≥ "
         f"{target}; its time counts from the start of the search call (`tunekit.run` or `study.optimize`) to the end of that trial.",
         f"**--prune-unhealthy vs without: time to target {_ratio(summary['time_ratio'])} (median of per-seed ratios over "
         f"{len(time_ratios)} seed(s) where both reached it), wall time of the {trials} trials "
         f"{_ratio(summary['wall_ratio'])}, epochs trained {_ratio(summary['epoch_ratio'])}; pruned trials whose twin "
         f"reached the target without pruning: {lost if args.strategy == 'random' else 'n/a (tpe: runs diverge)'}**",
         "Paired by trial (random strategy): the pruned trials took "
         f"{_util.median(p['pruned_trial_s'] for p in pairs):.2f} s each and their twins "
         f"{_util.median(p['twin_trial_s'] for p in pairs):.2f} s (medians over seeds); the seconds so saved are "
         f"{100 * summary['saved_share']:.0f}% of the run without pruning (median over seeds). Most of a trial's "
         "time on digits is building the model and tracing its train and validation functions (in the first "
         "epoch), which a pruned trial pays too; the epochs after the first are what pruning saves."],
    )
    lines += ["## Median over seeds", ""]
    lines += _util.table(["contender", "s to target (median)", "reached", "trials to target (median)",
                          f"wall s, {trials} trials (median)", "epochs trained (median)", "pruned (all seeds)",
                          "failed (all seeds)", "best val_accuracy (median)"], medians)
    lines += ["", "## Per seed", ""]
    lines += _util.table(["seed", "contender", "s to target", "trials to target", "wall s", "epochs trained",
                          "pruned by diagnosis", "failed", "best val_accuracy"], rows)
    lines += ["", "## Pairs (same seed)", ""]
    pair_rows = []
    for seed, (a, b, p) in enumerate(zip(without, prune, pairs)):
        ratio = b["time"] / a["time"] if math.isfinite(a["time"]) and math.isfinite(b["time"]) else float("nan")
        pair_rows.append([seed, ratio, b["wall"] / a["wall"], b["epochs"] / a["epochs"] if a["epochs"] else float("nan"),
                          "yes" if p["same_configs"] else "no", p["lost"], p["pruned_s"], p["twins_s"],
                          f"{100 * p['saved_share']:.0f}%",
                          "n/a" if p["lost_best"] is None else _util.fmt(p["lost_best"]), p["lost_at_target"]])
    lines += _util.table(["seed", "time to target ratio", "wall ratio", "epochs ratio", "same configurations",
                          "pruned trials", "s in pruned trials", "s in their twins",
                          "saved, share of the run without", "their twins' best val_accuracy", "twins at target"], pair_rows)
    lines += ["", "Ratios are --prune-unhealthy over without (< 1: it saves). *twins*: the trials of the run without "
              "pruning with the numbers of the trials --prune-unhealthy stopped (the same configuration and training "
              "seed when *same configurations* is yes); *twins at target*: how many of them ended at the target, i.e. "
              "good trials lost to pruning. A trial whose loss became NaN fails in both runs (the report callback "
              "stops it at that epoch, before the pruning on diagnosis runs): it is counted under *failed*, not "
              "pruned."]
    _util.write(args.out, NAME, args.quick, lines)
    return summary


def _ratio(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.2f}×"


if __name__ == "__main__":
    main()
