"""``tunekit compare``: run several strategies on one study file and compare them."""

from __future__ import annotations

import sys
from typing import Any

import click

from pathlib import Path

from tunekit.cli._common import force_option, storage_option

#: The files ``compare`` writes into its --out folder.
OUTPUTS = ("compare.csv", "compare.png", "compare.html")


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
@force_option
def compare_command(study_file: str, strategies: str, n_trials: int, seeds: int, storage: str | None,
                    target: float | None, out_dir: str, epochs: int | None, options: tuple[str, ...],
                    force: bool) -> None:
    """Run every strategy on STUDY_FILE with several seeds and compare them.

    Each (strategy, seed) run is a study named compare/<study>/<strategy>/seed<N> in the
    same database; running the command again resumes them.

    \b
    Example:
      tunekit compare studies/digits.py --strategies random,tpe,skopt,metropolis --trials 30 --seeds 3
    """
    from tunekit.report import compare_plots
    from tunekit.study import compare, comparison_text, load_spec, quiet_optuna, startup_note

    from tunekit.study import refuse_overwrite
    refuse_overwrite([Path(out_dir) / name for name in OUTPUTS], force=force, what="the comparison")
    quiet_optuna()
    spec = load_spec(study_file)
    names, by_strategy = strategies.split(","), _strategy_options(options)
    table = compare(spec, strategies=names, n_trials=n_trials, seeds=seeds, storage=storage,
                    target=target, out_dir=out_dir, options=by_strategy, epochs=epochs,
                    show_progress=sys.stderr.isatty(), plot=compare_plots)
    for line in table.attrs.get("notes", []):
        click.echo(f"note: {line}", err=True)
    note = startup_note(list(table["strategy"]), n_trials, by_strategy)
    if note:  # after the runs, so that a refused input stays one error line
        click.echo(f"note: {note}", err=True)
    for line in comparison_text(table, target_given=target is not None):
        click.echo(line)
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


COMMANDS = [compare_command]
