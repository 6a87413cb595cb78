"""Run every benchmark: ``python -m benchmarks [--quick] [--only a,b] [--out DIR] [--list]``.

Each benchmark module has ``main(argv)`` and accepts ``--quick`` and ``--out``; each runs in
its own Python process (a clean TensorFlow and a clean memory baseline), one after the
other so they do not compete for the cores. Results are written as markdown under
``benchmarks/results/`` (``<name>-quick.md`` in quick mode) and printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

#: In run order; modules written by others are included when present.
MODULES = ("trial_speed", "overhead", "pruning", "memory", "sampler_cost", "fcnet", "workers", "health_cost",
           "health_prune", "fcnet_confirm", "fcnet_intensify", "kt_side_by_side",
           "dask_cluster", "fcnet_batch", "fused", "fused_core", "fused_target", "fused_scaling", "onednn", "worker_start")


def available() -> list[str]:
    """The benchmark modules present in this checkout."""
    return [name for name in MODULES if importlib.util.find_spec(f"benchmarks.{name}") is not None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets: a few minutes in all")
    parser.add_argument("--only", default=None, help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    parser.add_argument("--list", action="store_true", help="print the benchmark names and exit")
    args = parser.parse_args(list(argv) if argv is not None else None)
    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    forwarded = (["--quick"] if args.quick else []) + (["--out", str(args.out)] if args.out else [])
    root = Path(__file__).resolve().parent.parent
    failed: list[str] = []
    for name in names:
        print(f"\n=== benchmarks.{name} {' '.join(forwarded)}", flush=True)
        start = time.perf_counter()
        code = (f"import sys; from benchmarks.{name} import main; "
                "r = main(sys.argv[1:]); sys.exit(r if isinstance(r, int) else 0)")
        result = subprocess.run([sys.executable, "-c", code, *forwarded], cwd=root)
        print(f"=== benchmarks.{name}: exit {result.returncode} in {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
