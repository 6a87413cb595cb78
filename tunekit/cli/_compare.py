"""``tunekit compare``: run several strategies on one study file and compare them."""

from __future__ import annotations

import math
import sys
from typing import Any

import click

from tunekit.cli._common import storage_option


@click.command("compare")
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option("--strategies", default="random,tpe", show_default=True,
              help="Comma-separated strategies to compare (see `tunekit strategies`).")
@click.option("--trials", "n_trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished trials per strategy and seed.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per strategy, seeded spec.seed, spec.seed + 1, ...")
@storage_option
@click.option("--target", type=float, default=None,
              help="Value for 'trials to target' [default: the median of all runs' best values].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="compare", show_default=True,
              help="Folder for compare.csv, compare.png and compare.html.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the number of epochs of every trial.")
@click.option("--option", "-O", "options", multiple=True, metavar="STRATEGY.KEY=VALUE",
              help="Option of one strategy, repeatable, e.g. -O skopt.base_estimator=RF.")
def compare_command(study_file: str, strategies: str, n_trials: int, seeds: int, storage: str | None,
                    target: float | None, out_dir: str, epochs: int | None, options: tuple[str, ...]) -> None:
    """Run every strategy on STUDY_FILE with several seeds and compare them.

    Each (strategy, seed) run is a study named compare/<study>/<strategy>/seed<N> in the
    same database; running the command again resumes them.

    \b
    Example:
      tunekit compare studies/digits.py --strategies random,tpe,skopt,metropolis --trials 30 --seeds 3
    """
    from tunekit.study import compare, quiet_optuna, startup_note
    from tunekit._spec import load_spec

    quiet_optuna()
    spec = load_spec(study_file)
    names, by_strategy = strategies.split(","), _strategy_options(options)
    table = compare(spec, strategies=names, n_trials=n_trials, seeds=seeds, storage=storage,
                    target=target, out_dir=out_dir, options=by_strategy, epochs=epochs,
                    show_progress=sys.stderr.isatty())
    note = startup_note(list(table["strategy"]), n_trials, by_strategy)
    if note:  # after the runs, so that a refused input stays one error line
        click.echo(f"note: {note}", err=True)
    click.echo(render(table))
    click.echo(explain(table, target_given=target is not None))
    click.echo(f"best-so-far plot: {out_dir}/compare.png, {out_dir}/compare.html; table: {out_dir}/compare.csv")


def _strategy_options(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    from tunekit._errors import ConfigError
    from tunekit.cli._run import parse_options

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        name, dot, rest = pair.partition(".")
        if not dot or not name or "=" not in rest:
            raise ConfigError(f"option {pair!r} is not STRATEGY.KEY=VALUE (for example -O skopt.acq_func=LCB)")
        out.setdefault(name, {}).update(parse_options((rest,)))
    return out


def render(table: Any) -> str:
    """The comparison table as aligned text."""
    target = table["target"].iloc[0] if len(table) else math.nan
    header = ["strategy", "seeds", "median best", "best", "worst", f"trials to {_num(target)} (reached)", "s/trial"]
    rows = [[r.strategy, str(r.seeds), _num(r.median_best), _num(r.best), _num(r.worst),
             f"{_count(r.median_trials_to_target)} ({r.reached})", _num(r.median_seconds_per_trial)]
            for r in table.itertuples()]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def explain(table: Any, *, target_given: bool) -> str:
    """One line under the table: what its columns mean."""
    metric = table.attrs.get("metric", "value")
    target = _num(table["target"].iloc[0] if len(table) else math.nan)
    source = "--target" if target_given else "the median of all runs' best values"
    return (f"columns: median best, best, worst: each seed's best {metric}, over the seeds; trials to {target} "
            f"({source}): finished trials a seed needed to reach it, median over seeds, 'not reached' when half "
            "the seeds or more never did; (reached): seeds that reached it; s/trial: median seconds per trial")


def _num(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _count(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    return "not reached" if math.isinf(x) else f"{x:g}"


COMMANDS = [compare_command]
