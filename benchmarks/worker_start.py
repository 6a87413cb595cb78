"""Worker start-up: ``tunekit run --workers N`` with its workers forked from one server that imported
TensorFlow once (the default) against each worker a fresh interpreter (``TUNEKIT_WORKER_START=spawn``).

    python -m benchmarks.worker_start            # digits, 4 trials x 2 epochs, --workers 2 and 4, 3 rounds
    python -m benchmarks.worker_start --quick    # --workers 2, 1 round
    python -m benchmarks.worker_start --dask     # the same with --dask local:N: a local Dask cluster's workers

Each run is a real ``tunekit run`` command in its own process, the two start methods interleaved.
Measured per run: the wall time of the command, the CPU time of its whole process tree (this
benchmark makes itself the "child subreaper", so the fork server and its workers are reaped and
counted here even after the command's own process exits; Linux only), and the workers' memory taken
together at its peak (the sum of their proportional set sizes, ``Pss``, sampled every 0.2 s: pages
shared by several workers count once in all), and how long the command's stderr stays open after
it exits (held by a process it left behind).
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks._util import command, flags, header, interleaved, log, median, parse_args, spread, table, write

ROOT = Path(__file__).resolve().parents[1]
TUNEKIT = [str(Path(sys.executable).parent / "tunekit")]  # the console script, as a user runs it
METHODS = {"forked (default)": {}, "spawned (TUNEKIT_WORKER_START=spawn)": {"TUNEKIT_WORKER_START": "spawn"}}


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        kids = []
        try:  # every thread's children: a local Dask cluster starts its workers from its event loop's thread
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    kids += [int(k) for k in handle.read().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def _one(env: dict[str, str], workers: int, trials: int, epochs: int, folder: Path, tag: str,
         dask: bool = False) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    how = ["--dask", f"local:{workers}"] if dask else ["--workers", str(workers)]
    proc = subprocess.Popen([*TUNEKIT, "run", str(ROOT / "studies" / "digits.py"), "--trials", str(trials),
                             "--epochs", str(epochs), *how, "--strategy", "random", "--seed", "0",
                             "-q", "--storage", f"sqlite:///{folder / f'{tag}.db'}"],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        # the command's own process is not a worker: only what it started (server and workers, or workers)
        peak = max(peak, _pss_mb(_descendants(proc.pid)))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else ""  # to its end: a process the command left may hold it open
    held = time.perf_counter() - started - wall
    if proc.returncode != 0:
        raise RuntimeError(f"tunekit run exited {proc.returncode}: {err[-2000:]}")
    while True:  # the fork server outlives the command by a moment: reap it (and anything left) here
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    log(f"{tag}: {wall:.1f} s, {cpu:.1f} CPU s, workers' peak {peak:.0f} MB, output open {held:.2f} s after the exit")
    return {"wall": wall, "cpu": cpu, "pss": peak, "held": held}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv, __doc__.splitlines()[0], dask={
        "action": "store_true", "help": "the workers of a local Dask cluster (--dask local:N), not --workers N"})
    if not sys.platform.startswith("linux"):
        raise SystemExit("benchmarks.worker_start measures through /proc and prctl: Linux only")
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    rounds = args.repeats or (1 if args.quick else 3)
    sizes = [2] if args.quick else [2, 4]
    trials, epochs = 4, 2
    results: dict[int, dict[str, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="tunekit-worker-start-") as tmp:
        for workers in sizes:
            results[workers] = interleaved(
                {name: (lambda r, env=env, name=name, workers=workers: _one(
                    env, workers, trials, epochs, Path(tmp), f"{name.split()[0]}-{workers}-{r}", args.dask))
                 for name, env in METHODS.items()}, rounds)
    rows = []
    for workers, by_method in results.items():
        base = {k: median(r[k] for r in by_method["spawned (TUNEKIT_WORKER_START=spawn)"]) for k in ("wall", "cpu", "pss")}
        for name, runs in by_method.items():
            cpu = [r["cpu"] for r in runs]
            rows.append([workers, name, median(r["wall"] for r in runs), f"{median(cpu):.1f} ({spread(cpu)})",
                         f"{median(cpu) / base['cpu']:.2f}×", f"{median(r['pss'] for r in runs):.0f}",
                         f"{median(r['pss'] for r in runs) / base['pss']:.2f}×", f"{median(r['held'] for r in runs):.2f}"])
    how = "--dask local:N" if args.dask else "--workers N"
    lines = header("Worker start-up: forked from a server that imported TensorFlow once, or spawned",
                   command("worker_start", args.quick) + flags(args, "dask"),
                   [f"`tunekit run studies/digits.py --trials {trials} --epochs {epochs} {how} --strategy random`, "
                    f"{rounds} interleaved round(s), medians (range). CPU: the command's whole process tree. "
                    "Memory: the workers (and the fork server) together at their peak, proportional set size. "
                    "Output open: seconds from the command's exit to the end of its stderr (a process it left, "
                    "such as the fork server, holding it open: what `tunekit run ... | tee log` waits for)."])
    lines += table(["workers", "start", "wall s", "CPU s (range)", "CPU vs spawned", "peak MB (Pss)",
                    "memory vs spawned", "output open s"], rows)
    write(args.out, "worker_start-dask" if args.dask else "worker_start", args.quick, lines)
    return {"results": results}


if __name__ == "__main__":
    main()
