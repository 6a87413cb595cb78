"""Sampler cost: seconds per suggestion for every registered strategy, by study size and storage.

For each storage (SQLite; PostgreSQL when ``TUNEKIT_PG_URL`` is set) one study over the
shared space (benchmarks/_trials.py SEARCH) is filled with finished trials of a fast dummy
objective (``study.add_trials``), to 100, then 1,000, then 5,000. At each size, every
strategy in ``tunekit.strategies.STRATEGIES`` (whatever is registered) gets a fresh sampler,
one untimed warm-up suggestion, then ``--repeats`` timed ones. A *suggestion* is
``study.ask()`` plus sampling every parameter (what a worker waits for before training);
``tell`` is timed separately. Suggested trials are told FAIL so the study keeps its size and
no strategy learns from another's probes. A strategy slower than ``--slow`` seconds per
suggestion is not run at the larger sizes; one whose optional dependency is missing (gp
without torch) is skipped with the reason.

    python -m benchmarks.sampler_cost [--quick] [--sizes 100,1000,5000] [--repeats N]
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import configurations, tunekit_space

NAME = "sampler_cost"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Sampler cost: seconds per suggestion by strategy, study size and storage",
                            sizes={"default": None, "help": "comma-separated study sizes"},
                            slow={"type": float, "default": None, "help": "seconds per suggestion above which larger sizes are skipped"},
                            strategies={"default": None, "help": "comma-separated strategies (default: all registered)"})
    _util.quiet()
    from tunekit.strategies import STRATEGIES

    sizes = [int(s) for s in (args.sizes or ("100,300" if args.quick else "100,1000,5000")).split(",")]
    repeats = args.repeats or (2 if args.quick else 3)
    slow = args.slow or (5.0 if args.quick else 30.0)
    names = args.strategies.split(",") if args.strategies else list(STRATEGIES)
    storages = {"SQLite": f"sqlite:///{Path(tempfile.mkdtemp(prefix='tunekit-sampler-')) / 'cost.db'}"}
    if os.environ.get("TUNEKIT_PG_URL"):
        storages["PostgreSQL"] = os.environ["TUNEKIT_PG_URL"]
    rows: list[list[Any]] = []
    summary: dict[str, dict[str, dict[int, float]]] = {}
    for label, url in storages.items():
        rows += _measure(label, url, names, sizes, repeats, slow, summary)
    notes = [f"Shared space (7 parameters: int, categorical, log-float), dummy objective; sizes {', '.join(map(str, sizes))}; "
             f"{repeats} timed suggestions per cell after one warm-up (median); strategies slower than {slow:g} s per "
             "suggestion are not run at larger sizes."]
    if "PostgreSQL" not in storages:
        notes.append("PostgreSQL: not measured (set TUNEKIT_PG_URL to a PostgreSQL URL to include it).")
    lines = _util.header("Sampler cost: seconds per suggestion", _util.command(NAME, args.quick), notes)
    lines += _util.table(["storage", "strategy", *[f"{n:,} trials: suggest s" for n in sizes],
                          *[f"{n:,}: tell s" for n in sizes]], rows)
    _util.write(args.out, NAME, args.quick, lines)
    return summary


def _objective(cfg: dict[str, Any]) -> float:
    """A fast dummy objective with an optimum, so model-based strategies have something to fit."""
    return (-(math.log10(cfg["learning_rate"]) + 2.5) ** 2 + 0.1 * cfg["n_layers"] + cfg["units"] / 1024
            - cfg["dropout"] + (cfg["activation"] == "relu") * 0.2)


def _fill(study: Any, distributions: dict[str, Any], target: int, offset: int) -> None:
    import optuna

    have = len(study.get_trials(deepcopy=False))
    if have >= target:
        return
    configs = configurations(target - have, seed=offset + have)
    study.add_trials([optuna.trial.create_trial(params=c, distributions=distributions, value=_objective(c))
                      for c in configs])


def _measure(label: str, url: str, names: list[str], sizes: list[int], repeats: int, slow: float,
             summary: dict[str, Any]) -> list[list[Any]]:
    import optuna

    from tunekit import ConfigError, Space
    from tunekit.strategies import make_sampler

    space = Space(tunekit_space())
    distributions = space.distributions()
    base = optuna.create_study(storage=url, study_name=f"sampler-cost-{int(time.time())}", direction="maximize")
    suggest: dict[str, dict[int, Any]] = {n: {} for n in names}
    tell: dict[str, dict[int, Any]] = {n: {} for n in names}
    skipped: dict[str, str] = {}
    for size in sizes:
        start = time.perf_counter()
        _fill(base, distributions, size, offset=1)
        _util.log(f"{NAME}: {label}: {size} trials ready ({time.perf_counter() - start:.1f} s to add)")
        for name in names:
            if name in skipped:
                suggest[name][size] = skipped[name]
                tell[name][size] = ""
                continue
            try:
                sampler = make_sampler(name, space=space, seed=0)
            except ConfigError as exc:
                skipped[name] = f"skipped: {exc}"
                suggest[name][size], tell[name][size] = skipped[name], ""
                continue
            study = optuna.load_study(study_name=base.study_name, storage=url, sampler=sampler)
            times, tells = [], []
            try:
                for i in range(repeats + 1):
                    t0 = time.perf_counter()
                    trial = study.ask()
                    space.sample(trial)
                    t1 = time.perf_counter()
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    if i:  # the first one is a warm-up (imports, model caches)
                        times.append(t1 - t0)
                        tells.append(time.perf_counter() - t1)
                    if t1 - t0 > slow * 3:
                        break
            except Exception as exc:  # noqa: BLE001 - one strategy's failure is a table cell
                suggest[name][size] = f"error: {type(exc).__name__}: {str(exc)[:80]}"
                tell[name][size] = ""
                continue
            if not times:  # the warm-up alone took longer than 3 × slow
                suggest[name][size] = f"> {3 * slow:g} (warm-up suggestion; not timed further)"
                tell[name][size] = ""
                skipped[name] = f"not run (> {3 * slow:g} s per suggestion at a smaller size)"
                continue
            per = _util.median(times)
            suggest[name][size] = per
            tell[name][size] = _util.median(tells) if tells else float("nan")
            _util.log(f"  {label} {name} @ {size}: {per:.4f} s per suggestion")
            if not (per <= slow):
                skipped[name] = f"not run (> {slow:g} s per suggestion at a smaller size)"
    summary[label] = suggest
    return [[label, name, *[suggest[name].get(s, "") for s in sizes], *[tell[name].get(s, "") for s in sizes]]
            for name in names]


if __name__ == "__main__":
    main()
