"""Many workers: trials per hour with ``workers=2`` against ``workers=1`` on the digits study,
and 4 processes x 100 fast trials on one database (exact count, no lock errors).

    python -m benchmarks.workers            # 24 digits trials x 15 epochs per setting, 2 rounds
    python -m benchmarks.workers --quick    # smoke run: 6 trials x 2 epochs, 4 x 20 fast trials

Both settings run the same trials (random strategy, seeded per trial number, so trial i has
the same parameters and training seed whatever the number of workers), in interleaved
rounds (1 2, 2 1, ...). Throughput is reported end to end (wall time of the whole
``tunekit.run``, worker start-up included) and in steady state (trials after the first,
over the time from the first finished trial to the last). The fast-trial part runs on
SQLite and, when ``TUNEKIT_PG_URL`` is set, on PostgreSQL (the database must be empty).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks._util import RESULTS, command, header, interleaved, log, median, parse_args, quiet, spread, table, write

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.6


def _digits_run(workers: int, n_trials: int, epochs: int, folder: Path, round_: int) -> dict[str, float]:
    import tunekit

    spec = tunekit.load_spec(ROOT / "studies" / "digits.py")
    finished: list[float] = []
    started = time.perf_counter()
    study = tunekit.run(
        spec, strategy="random", n_trials=n_trials, epochs=epochs, seed=0, workers=workers,
        storage=f"sqlite:///{folder / f'digits-{workers}-{round_}.db'}",
        on_trial=lambda s, t: finished.append(time.perf_counter()),
    )
    total = time.perf_counter() - started
    done = len(study.trials)
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) * 3600 if len(finished) > 1 else float("nan")
    log(f"workers={workers} round {round_}: {done} trials in {total:.1f} s")
    return {"trials": done, "seconds": total, "per_hour": done / total * 3600, "steady_per_hour": steady}


def _cheap_worker(url: str, name: str, target: int) -> None:
    import optuna

    from tunekit.execution import Interrupts, join_study, work

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study, storage = join_study(url, name, sampler=optuna.samplers.RandomSampler(), pruner=None)
    with Interrupts() as interrupts:
        work(study, storage, lambda trial: trial.suggest_float("x", -1, 1) ** 2, target=target, interrupts=interrupts)


def _fast_trials(url: str, processes: int, per_process: int) -> dict[str, Any]:
    import optuna

    from tunekit.storage._storage import open_storage

    optuna.create_study(storage=open_storage(url, create=True), study_name="fast")
    ctx = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    procs = [ctx.Process(target=_cheap_worker, args=(url, "fast", processes * per_process)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - started
    states = collections.Counter(t.state.name for t in optuna.load_study(study_name="fast", storage=url).trials)
    return {"states": dict(states), "exit_codes": [p.exitcode for p in procs], "seconds": seconds}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(
        argv, __doc__.splitlines()[0],
        trials=dict(type=int, default=None, help="digits trials per setting [24; quick 6]"),
        epochs=dict(type=int, default=None, help="epochs per digits trial [15, the study's own; quick 2]"),
        per_process=dict(type=int, default=None, help="fast trials per process [100; quick 20]"),
    )
    quiet()
    n_trials = args.trials or (6 if args.quick else 24)
    epochs = args.epochs or (2 if args.quick else 15)
    rounds = args.repeats or (1 if args.quick else 2)
    per_process = args.per_process or (20 if args.quick else 100)
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = interleaved({w: (lambda r, w=w: _digits_run(w, n_trials, epochs, folder, r)) for w in (1, 2)}, rounds)
        fast = {"SQLite (WAL, BEGIN IMMEDIATE)": _fast_trials(f"sqlite:///{folder / 'fast.db'}", 4, per_process)}
        if os.environ.get("TUNEKIT_PG_URL"):
            fast["PostgreSQL"] = _fast_trials(os.environ["TUNEKIT_PG_URL"], 4, per_process)

    per_hour = {w: median(r["per_hour"] for r in runs[w]) for w in runs}
    steady = {w: median(r["steady_per_hour"] for r in runs[w]) for w in runs}
    speedup, steady_speedup = per_hour[2] / per_hour[1], steady[2] / steady[1]
    lines = header(
        "Workers: trials per hour with --workers 2 vs 1, and 4 x fast trials on one database",
        command("workers", args.quick),
        [f"Load average before start {load:.2f}: on a shared machine two processes also win a larger share "
         "of the cores than one, which flatters the ratio; quote a figure from an idle machine."],
    )
    lines += [f"## digits, random strategy, {n_trials} trials x {epochs} epochs, SQLite, {rounds} round(s)", ""]
    lines += table(
        ["workers", "trials", "wall s (median, range)", "trials/hour end to end", "trials/hour steady state"],
        [(w, runs[w][0]["trials"], f"{median(r['seconds'] for r in runs[w]):.1f} ({spread([r['seconds'] for r in runs[w]])})",
          per_hour[w], steady[w]) for w in (1, 2)],
    )
    lines += ["", f"Target: --workers 2 ≥ {TARGET}× the trials/hour of --workers 1. Measured: **{speedup:.2f}×** end to end, "
              f"**{steady_speedup:.2f}×** steady state.", ""]
    lines += [f"## 4 processes x {per_process} fast trials (a cheap objective through tunekit's worker loop)", ""]
    lines += table(["storage", "finished", "exit codes", "seconds"],
                   [(name, r["states"], r["exit_codes"], r["seconds"]) for name, r in fast.items()])
    write(args.out or RESULTS, "workers", args.quick, lines)
    return {"per_hour": per_hour, "steady_per_hour": steady, "speedup": speedup,
            "steady_speedup": steady_speedup, "fast": fast}


if __name__ == "__main__":
    main()
