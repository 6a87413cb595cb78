"""Compare strategies on a real study: one study per strategy and seed, a table and a plot.

Every (strategy, seed) pair is an ordinary tunekit study in the same database, named
``compare/<study>/<strategy>/seed<seed>`` so the runs group together (and re-running the
comparison resumes them). The table gives, per strategy, the median over seeds of the best
value, and the median number of finished trials a seed needed to reach ``target``.

Everything is checked before the database is touched: an unknown strategy, an option that
does not apply or does not fit its declared type, a strategy that cannot run here (missing
extra), a bad count or an output folder that cannot be written is a ConfigError and nothing
is written.
"""

from __future__ import annotations

import errno
import math
import os
import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from tunekit._spec import StudySpec

#: Draws a comparison's plots: (its studies, the output folder, title=...) -> notes.
PlotRuns = Callable[..., Sequence[str]]

COLUMNS = ["strategy", "seeds", "median_best", "best", "worst", "target", "reached", "median_trials_to_target",
           "median_seconds_per_trial"]


def study_name_for(base: str, strategy: str, seed: int) -> str:
    """The name of one run of a comparison."""
    return f"compare/{base}/{strategy}/seed{seed}"


def compare(
    spec: "StudySpec",
    *,
    strategies: Sequence[str],
    n_trials: int,
    seeds: int | Sequence[int],
    storage: str | None,
    target: float | None = None,
    out_dir: str | Path = "compare",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    epochs: int | None = None,
    show_progress: bool = False,
    plot: PlotRuns | None = None,
) -> "pd.DataFrame":
    """Run every strategy for ``n_trials`` trials with each seed; return the comparison table.

    Args:
        spec: the study to tune.
        strategies: registry names, e.g. ``["random", "tpe", "skopt", "metropolis"]``.
        n_trials: finished trials per run.
        seeds: how many seeds (``spec.seed``, ``spec.seed + 1``, ...; 0 when the spec has none)
            or the seeds themselves.
        storage: database URL (every run is a study in it).
        target: the value "trials to target" counts up to; default the median of all runs'
            best values, a level about half of the runs reach.
        out_dir: folder for ``compare.csv`` (and the plots ``plot`` writes); created when missing
            and checked writable before the first trial.
        options: strategy options by strategy name.
        epochs: override the epochs of every trial.
        plot: ``tunekit.report.compare_plots`` (a layer above, so the caller passes it) draws
            ``compare.png``/``compare.html``; its notes go to ``table.attrs["notes"]``. None: no plots.

    Everything is checked before the database is touched (see the module docstring).

    Example:
        >>> table = compare(spec, strategies=["random", "tpe"], n_trials=20, seeds=3,
        ...                 storage="sqlite:///tunekit.db", out_dir="compare")  # doctest: +SKIP
    """
    strategies = [s.strip() for s in strategies if s and s.strip()]
    seed_list = _check_numbers(spec, n_trials, seeds, target)
    options = _check_strategies(spec, strategies, options)
    if plot is not None:
        _plotting_libraries()
    out = Path(out_dir)
    created = check_out_dir(out)  # before the first trial, not after the last
    base = spec.name or "tunekit"
    try:
        runs = _run_all(spec, base, strategies, seed_list, n_trials=n_trials, storage=storage, options=options,
                        epochs=epochs, show_progress=show_progress)
    except BaseException:
        _remove_empty(created)  # a run refused (or interrupted): leave no empty output folder behind
        raise
    table = summarize(runs, target=target)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "compare.csv", index=False)
    if plot is not None:
        studies = [study for group in runs.values() for study in group]
        table.attrs["notes"] = list(plot(studies, out, title=f"{base}: best so far (median over {len(seed_list)} seeds)"))
    return table


def _check_numbers(spec: "StudySpec", n_trials: int, seeds: int | Sequence[int], target: float | None) -> list[int]:
    """Refuse a bad trial count, seeds or target; the seeds to run."""
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(f"compare: n_trials must be an integer >= 1, got {n_trials!r}")
    seed_list = _seeds(seeds, spec)
    if target is not None and not (isinstance(target, (int, float)) and math.isfinite(target)):
        raise ConfigError(f"compare: target must be a finite number, got {target!r}")
    return seed_list


def _run_all(spec: "StudySpec", base: str, strategies: list[str], seed_list: list[int], *, n_trials: int,
             storage: str | None, options: dict[str, dict[str, Any]], epochs: int | None,
             show_progress: bool) -> dict[str, list["optuna.Study"]]:
    """Run (or resume) the study of every (strategy, seed): its studies by strategy."""
    from tunekit.study._run import run

    runs: dict[str, list[optuna.Study]] = {}
    for name in strategies:
        for seed in seed_list:
            study = run(spec, strategy=name, n_trials=n_trials, storage=storage, seed=seed,
                        study_name=study_name_for(base, name, seed), options=options.get(name), epochs=epochs,
                        show_progress=show_progress)
            runs.setdefault(name, []).append(study)
    return runs


def _check_strategies(spec: "StudySpec", strategies: list[str],
                      options: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The strategies' options coerced to their declared types; ConfigError for anything wrong."""
    from tunekit.strategies import check_options, make_sampler

    if not strategies:
        raise ConfigError("compare needs at least one strategy, e.g. --strategies random,tpe")
    if len(set(strategies)) != len(strategies):
        raise ConfigError(f"compare: strategies listed twice in {strategies}")
    for name in options or {}:
        if name not in strategies:
            raise ConfigError(f"compare: options given for {name!r}, which is not among the strategies {strategies}")
    checked = {name: check_options(name, (options or {}).get(name)) for name in strategies}
    for name in strategies:
        make_sampler(name, space=spec.space, seed=0, options=checked[name])  # missing extras
    return checked


def startup_note(strategies: Sequence[str], n_trials: int, options: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    """One line when the budget does not get past some strategies' random start-up trials, else None.

    Example:
        >>> startup_note(["random", "tpe"], 5, {})  # doctest: +ELLIPSIS
        'with --trials 5 every trial of tpe (n_startup_trials=10) is a random start-up trial...'
    """
    from tunekit.strategies import get_strategy

    covered = []
    for name in strategies:
        strategy = get_strategy(name)
        startup = strategy.startup_trials((options or {}).get(name))
        if strategy.startup_option and startup >= n_trials:
            covered.append((name, strategy.startup_option, startup))
    if not covered:
        return None
    listed = ", ".join(f"{name} ({key}={n})" for name, key, n in covered)
    name, key, _ = covered[0]
    return (f"with --trials {n_trials} every trial of {listed} is a random start-up trial, so here "
            f"{'it is' if len(covered) == 1 else 'they are'} random search; pass --trials above "
            f"{max(n for _, _, n in covered)} or fewer start-up trials (e.g. -O {name}.{key}={max(1, n_trials // 2)})")


def check_out_dir(out: Path) -> list[Path]:
    """Create the output folder ``out`` when missing and prove it writable with a temporary file;
    returns the folders created. ConfigError (nothing else created) when it cannot be written."""
    missing, existing = [], out
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"cannot write the comparison to '{out}': '{existing}' is a file, not a folder; "
                          "pass --out FOLDER")
    created: list[Path] = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".tunekit-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        _remove_empty(created)
        raise ConfigError(f"cannot write the comparison to '{out}': {_os_reason(exc)}; "
                          "pass --out FOLDER somewhere writable") from None
    return created


def _os_reason(exc: OSError) -> str:
    reasons = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.ENOSPC: "disk full", errno.ENOTDIR: "not a folder"}
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


def _seeds(seeds: int | Sequence[int], spec: "StudySpec") -> list[int]:
    if isinstance(seeds, bool):
        raise ConfigError(f"compare: seeds must be a count >= 1 or a list of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"compare: seeds must be >= 1, got {seeds}")
        first = spec.seed if isinstance(getattr(spec, "seed", None), int) else 0
        return [first + i for i in range(seeds)]
    seed_list = list(seeds)
    if not seed_list or not all(isinstance(s, int) and not isinstance(s, bool) for s in seed_list):
        raise ConfigError(f"compare: seeds must be a count >= 1 or a list of integers, got {seeds!r}")
    if len(set(seed_list)) != len(seed_list):
        raise ConfigError(f"compare: seeds listed twice in {seed_list}")
    return seed_list


def _plotting_libraries() -> None:
    for module in ("matplotlib", "plotly"):
        try:
            __import__(module)
        except ImportError as exc:
            raise ConfigError(
                f"compare writes its plots with {module}, which is not installed; "
                f"install it with: pip install {module}"
            ) from exc


def curve(study: "optuna.Study") -> list[float]:
    """Best value after each finished trial (complete, pruned or failed, in trial order; failed
    ones repeat the previous best), NaN before the first complete one; running trials are no
    point. The one rule of every best-so-far curve: the table here and the plots of
    ``tunekit.report`` (``compare_plots``, the comparison report)."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    better = min if study.direction == StudyDirection.MINIMIZE else max
    out: list[float] = []
    best = math.nan
    finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    for t in sorted(study.get_trials(deepcopy=False, states=finished), key=lambda t: t.number):
        if t.state == TrialState.COMPLETE and t.value is not None and not math.isnan(t.value):
            best = t.value if math.isnan(best) else better(best, t.value)
        out.append(best)
    return out


def summarize(runs: Mapping[str, Sequence["optuna.Study"]], *, target: float | None = None) -> "pd.DataFrame":
    """The comparison table from finished runs (one row per strategy)."""
    import pandas as pd
    from optuna.study import StudyDirection

    curves = {name: [curve(s) for s in studies] for name, studies in runs.items()}
    finals = [c[-1] for cs in curves.values() for c in cs if c and not math.isnan(c[-1])]
    if target is None and finals:
        target = float(statistics.median(finals))
    minimize = next(iter(runs.values()))[0].direction == StudyDirection.MINIMIZE
    rows = []
    for name, cs in curves.items():
        bests = [c[-1] for c in cs if c and not math.isnan(c[-1])]
        reached = [_trials_to(c, target, minimize) for c in cs] if target is not None else []
        hits = [r for r in reached if r is not None]
        seconds = [_seconds_per_trial(s) for s in runs[name]]
        seconds = [s for s in seconds if s is not None]
        rows.append({
            "strategy": name,
            "seeds": len(cs),
            "median_best": statistics.median(bests) if bests else math.nan,
            "best": (min(bests) if minimize else max(bests)) if bests else math.nan,
            "worst": (max(bests) if minimize else min(bests)) if bests else math.nan,
            "target": target if target is not None else math.nan,
            "reached": f"{len(hits)}/{len(cs)}",
            # a seed that never reached the target counts as infinitely many trials
            "median_trials_to_target": statistics.median([r if r is not None else math.inf for r in reached])
            if reached else math.nan,
            "median_seconds_per_trial": statistics.median(seconds) if seconds else math.nan,
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs["metric"] = next(iter(runs.values()))[0].user_attrs.get("metric", "value")
    return table


def _trials_to(c: list[float], target: float, minimize: bool) -> int | None:
    for i, best in enumerate(c, 1):
        if not math.isnan(best) and (best <= target if minimize else best >= target):
            return i
    return None


def _seconds_per_trial(study: "optuna.Study") -> float | None:
    spans = [(t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials(deepcopy=False)
             if t.datetime_start is not None and t.datetime_complete is not None]
    return statistics.median(spans) if spans else None
