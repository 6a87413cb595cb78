"""Helpers shared by the benchmarks: argument parsing, machine facts, interleaving, tables.

Absolute times on a shared machine are noisy, so every benchmark measures *ratios* inside
one process, running the contenders in interleaved rounds (A B C, A B C, ...) and reporting
medians. Every results file starts with the machine's cores and the library versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: Sequence[str] | None, description: str, **extra: Any) -> argparse.Namespace:
    """``--quick`` (a few minutes), ``--out DIR`` (results folder), ``--repeats N``, ``--seeds N``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small budget (smoke / CI)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the markdown results")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default by mode)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default by mode)")
    for flag, kwargs in extra.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", **kwargs)
    return parser.parse_args(list(argv) if argv is not None else None)


def quiet() -> None:
    """Silence TensorFlow's C++ log, Python warnings from Keras, and Optuna's per-trial lines."""
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").propagate = False
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def versions() -> dict[str, str]:
    """Versions of the libraries a result depends on (absent ones are left out)."""
    from importlib import metadata

    found = {}
    for name in ("tunekit", "tensorflow-cpu", "tensorflow", "keras", "optuna", "keras-tuner",
                 "scikit-learn", "numpy", "SQLAlchemy", "psycopg", "scikit-optimize", "torch"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def machine() -> str:
    """One line: logical cores usable by this process, CPU model, GPUs, OS, Python."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cores} logical cores ({cpu}); {gpus()}; load average {load:.2f} at start; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}")


def gpus() -> str:
    """``GPU: <names>`` as ``nvidia-smi`` lists them (what TensorFlow would use), else ``no GPU``."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return "no GPU"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return "no GPU"
    names = [line.strip() for line in out.splitlines() if line.strip()]
    return f"GPU: {', '.join(names)}" if names else "no GPU"


def header(title: str, command: str, notes: Iterable[str] = ()) -> list[str]:
    """The first lines of every results file: title, command, machine, versions."""
    lines = [f"# {title}", "", f"Command: `{command}`  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
             f"Machine: {machine()}  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()), ""]
    lines += [*notes, ""] if notes else []
    return lines


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    for row in rows:
        out.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return out


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if value == float("inf"):
            return "not reached"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def write(out: Path, name: str, quick: bool, lines: list[str]) -> Path:
    """Write ``<name>.md`` (or ``<name>-quick.md``) under ``out``, print it, return the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}{'-quick' if quick else ''}.md"
    text = "\n".join(lines).rstrip() + "\n"
    path.write_text(text)
    print(text)
    print(f"[written to {path}]", flush=True)
    return path


def interleaved(contenders: dict[str, Callable[[int], Any]], rounds: int) -> dict[str, list[Any]]:
    """Run every contender once per round, in a rotating order; return each one's results."""
    names = list(contenders)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            results[name].append(contenders[name](r))
    return results


def median(values: Iterable[float]) -> float:
    values = [v for v in values]
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min–max`` of a few values, for the table."""
    return f"{fmt(min(values))}–{fmt(max(values))}" if values else "n/a"


def signed(fraction: float) -> str:
    """A fraction as a signed percentage: 0.034 -> ``+3.4%``."""
    return f"{100 * fraction:+.1f}%"


def signed_range(fractions: Sequence[float], sep: str = "–") -> str:
    """``min–max`` of a few fractions as signed percentages."""
    return f"{signed(min(fractions))}{sep}{signed(max(fractions))}" if fractions else "n/a"


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # Linux fallback
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def command(name: str, quick: bool) -> str:
    return f"python -m benchmarks.{name}{' --quick' if quick else ''}"


#: ``--no-warm-up`` (``parse_args(..., no_warm_up=NO_WARM_UP)``), for a benchmark with an untimed warm-up:
#: its smoke test skips it (the figures then include the first-time costs the warm-up keeps out of them).
NO_WARM_UP = {"action": "store_true", "help": "skip the untimed warm-up (smoke tests; the first contender then also "
              "pays the imports and TensorFlow's first-time set-up)"}


def flags(args: Any, *names: str) -> str:
    """The options ``names`` as this run set them, for the results file's command line: `` --name value``
    for each one given (`` --name`` for a switch that is on), in the order of ``names``; ``""`` for none.

    Example: ``command(NAME, args.quick) + flags(args, "epochs", "repeats", "no_warm_up")``
    gives ``python -m benchmarks.trial_speed --quick --epochs 2 --no-warm-up`` for such a run.
    """
    parts = []
    for name in names:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        option = "--" + name.replace("_", "-")
        parts.append(option if value is True else f"{option} {value}")
    return "".join(" " + part for part in parts)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def names(text: str | None, allowed: Sequence[str], default: Sequence[str], what: str) -> list[str]:
    """A comma-separated ``--only``/``--datasets`` value as a list; ``default`` when not given;
    an unknown name stops the benchmark with the names to choose from.

    Example:
        >>> names("tpe, random", ("random", "tpe"), ("tpe",), "contender")
        ['tpe', 'random']
    """
    chosen = [n.strip() for n in text.split(",")] if text else list(default)
    unknown = [n for n in chosen if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}(s) {unknown}; choose from {list(allowed)}")
    return chosen


def process_pool(processes: int) -> Any:
    """A ``ProcessPoolExecutor`` whose workers start fresh (``spawn``): a process forked after
    TensorFlow was loaded (a test session, a benchmark that imported it) can abort in abseil's
    mutex code."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))


def run_jobs(fn: Callable[[Any], tuple[Any, Any]], jobs: Sequence[Any], processes: int,
             every: int = 50) -> dict[Any, Any]:
    """``dict(map(fn, jobs))`` in ``processes`` worker processes (``fn`` returns ``(key, result)``),
    logging progress every ``every`` jobs."""
    t0 = time.perf_counter()
    results: dict[Any, Any] = {}
    if processes <= 1:
        outputs: Iterable[tuple[Any, Any]] = map(fn, jobs)
        pool = None
    else:
        pool = process_pool(processes)
        outputs = pool.map(fn, jobs)
    try:
        for i, (key, out) in enumerate(outputs, 1):
            results[key] = out
            if i % every == 0 or i == len(jobs):
                log(f"  {i}/{len(jobs)} ({(time.perf_counter() - t0) / 60:.1f} min)")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results
