"""``tunekit studies | trials | best | export | strategies``: read a study database."""

from __future__ import annotations

import json

import click

from tunekit.cli._common import force_option, storage_option


@click.command("studies")
@storage_option
def studies_command(storage: str | None) -> None:
    """List the studies in the database with their trials by state and best value."""
    from tunekit.study import studies_frame

    df = studies_frame(storage)
    if df.empty:
        click.echo("no studies yet; start one with: tunekit run STUDY_FILE")
        return
    click.echo(df.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4f}"))


@click.command("trials")
@click.argument("study")
@storage_option
@click.option("--state", type=click.Choice(["complete", "pruned", "fail", "running"], case_sensitive=False), default=None,
              help="Only trials in this state.")
def trials_command(study: str, storage: str | None, state: str | None) -> None:
    """Show the trials of STUDY as a table."""
    from tunekit.study import load_study, trials_text

    click.echo(trials_text(load_study(study, storage), state))


@click.command("best")
@click.argument("study")
@storage_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--save-model", "save_model", default=None, type=click.Path(), metavar="PATH.keras",
              help="Retrain the best configuration with its seed and save the Keras model (and PATH.json beside it).")
@force_option
def best_command(study: str, storage: str | None, as_json: bool, save_model: str | None, force: bool) -> None:
    """Show the best trial of STUDY: its parameters and metrics.

    \b
    Example:
      tunekit best digits --save-model best.keras
    """
    from pathlib import Path

    from tunekit.study import best_lines, best_report, load_study

    if save_model is not None:
        model = Path(save_model)
        from tunekit.study import refuse_overwrite
        refuse_overwrite([model, model.with_suffix(".json")], force=force, what="the model")
    loaded = load_study(study, storage)
    report = best_report(loaded, save_model, echo=lambda text: click.echo(text, err=True))
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
        return
    for line in best_lines(report, loaded.user_attrs):
        click.echo(line)


@click.command("export")
@click.argument("study")
@storage_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="out.csv, out.parquet or out.json")
@force_option
def export_command(study: str, storage: str | None, output: str, force: bool) -> None:
    """Write the trials of STUDY (flattened params and attributes) to a file."""
    from tunekit.study import export_trials, load_study

    from tunekit.study import refuse_overwrite
    refuse_overwrite([output], force=force, what="the export")
    path = export_trials(load_study(study, storage), output)
    click.echo(f"wrote {path}")


@click.command("strategies")
def strategies_command() -> None:
    """List the search strategies and their options."""
    from tunekit.strategies import STRATEGIES

    for s in STRATEGIES.values():
        extra = f" [needs tunekit[{s.extra}]]" if s.extra else ""
        click.echo(f"{s.name}: {s.description}{extra}")
        for key, option in s.options.items():
            click.echo(f"    -O {key}=...  {option.help} ({option.describe()})")


COMMANDS = [studies_command, trials_command, best_command, export_command, strategies_command]
