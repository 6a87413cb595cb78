"""Dask: trials per hour with 1 vs 2 Dask workers, and the Dask path against local ``--workers``.

    python -m benchmarks.dask_cluster            # 16 digits trials x 10 epochs per setting, 2 rounds
    python -m benchmarks.dask_cluster --quick    # smoke run: 4 trials x 2 epochs, 1 round

Three settings run the same trials (random strategy, seeded per trial number: trial i has the
same parameters and training seed in every setting) on the digits study, in interleaved rounds:
``dask=local:1``, ``dask=local:2`` (a ``LocalCluster`` of 1 or 2 worker processes, one thread
each) and local ``workers=2`` (tunekit's own worker processes). Throughput is reported end to end
(the wall time of ``tunekit.run``, cluster start-up included) and in steady state (finished
trials after the first over the time from the first finished trial to the last), and the Dask
path's time per trial against local ``--workers 2`` on identical trials.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks._util import RESULTS, command, header, interleaved, log, median, parse_args, quiet, spread, table, write

ROOT = Path(__file__).resolve().parents[1]
SPEEDUP_TARGET = 1.6
OVERHEAD_TARGET = 1.1
SETTINGS = {"dask local:1": ("local:1", 1), "dask local:2": ("local:2", 2), "local --workers 2": (None, 2)}


def _run(setting: str, n_trials: int, epochs: int, folder: Path, round_: int) -> dict[str, float]:
    import tunekit

    dask, workers = SETTINGS[setting]
    spec = tunekit.load_spec(ROOT / "studies" / "digits.py")
    finished: list[float] = []
    started = time.perf_counter()
    db = folder / f"{setting.replace(' ', '_')}-{round_}.db"
    study = tunekit.run(spec, strategy="random", n_trials=n_trials, epochs=epochs, seed=0, workers=workers,
                        dask=dask, storage=f"sqlite:///{db}",
                        on_trial=lambda s, t: finished.append(time.perf_counter()))
    total = time.perf_counter() - started
    done = len(study.trials)
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) * 3600 if len(finished) > 1 else float("nan")
    log(f"{setting} round {round_}: {done} trials in {total:.1f} s")
    return {"trials": done, "seconds": total, "per_hour": done / total * 3600, "steady_per_hour": steady}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(
        argv, __doc__.splitlines()[0],
        trials=dict(type=int, default=None, help="digits trials per setting [16; quick 4]"),
        epochs=dict(type=int, default=None, help="epochs per trial [10; quick 2]"),
    )
    quiet()
    n_trials = args.trials or (4 if args.quick else 16)
    epochs = args.epochs or (2 if args.quick else 10)
    rounds = args.repeats or (1 if args.quick else 2)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs = interleaved({s: (lambda r, s=s: _run(s, n_trials, epochs, Path(tmp), r)) for s in SETTINGS}, rounds)
    per_hour = {s: median(r["per_hour"] for r in runs[s]) for s in runs}
    steady = {s: median(r["steady_per_hour"] for r in runs[s]) for s in runs}
    speedup = steady["dask local:2"] / steady["dask local:1"]
    overhead = steady["local --workers 2"] / steady["dask local:2"]  # time per trial, Dask over local
    lines = header(
        "Dask: trials per hour with 1 vs 2 Dask workers, and the Dask path against local --workers",
        command("dask_cluster", args.quick),
        [f"Load average before start {load:.2f}: two processes also win a larger share of a shared machine's "
         "cores than one, which flatters the 2-vs-1 ratio; quote a figure from an idle machine."],
    )
    lines += [f"## digits, random strategy, {n_trials} trials x {epochs} epochs, SQLite, {rounds} round(s)", ""]
    lines += table(
        ["setting", "trials", "wall s (median, range)", "trials/hour end to end", "trials/hour steady state"],
        [(s, runs[s][0]["trials"], f"{median(r['seconds'] for r in runs[s]):.1f} ({spread([r['seconds'] for r in runs[s]])})",
          per_hour[s], steady[s]) for s in SETTINGS],
    )
    lines += ["", f"- 2 vs 1 Dask workers, steady state: **{speedup:.2f}x** (goal >= {SPEEDUP_TARGET}x).",
              f"- time per trial, Dask (local:2) over local --workers 2, steady state: **{overhead:.2f}x** "
              f"(goal <= {OVERHEAD_TARGET}x).", ""]
    write(args.out or RESULTS, "dask_cluster", args.quick, lines)
    return {"per_hour": per_hour, "steady_per_hour": steady, "speedup": speedup, "overhead": overhead}


if __name__ == "__main__":
    main()
