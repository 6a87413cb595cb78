"""``tunekit studies | trials | best | export | strategies``: read a study database."""

from __future__ import annotations

import json

import click

from tunekit.cli._common import force_option, storage_option
from tunekit.cli._tracking import check_model_mlflow, export_to, log_saved_model, model_mlflow_option, to_option


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
              help="Retrain the best configuration with its seed and save a Keras model that takes raw rows "
                   "(and its model card PATH.json beside it).")
@click.option("--format", "fmt", type=click.Choice(["keras", "savedmodel", "onnx"]), default="keras", show_default=True,
              help="With --save-model: a .keras file, or a SavedModel folder for TensorFlow Serving (onnx: refused).")
@model_mlflow_option
@force_option
def best_command(study: str, storage: str | None, as_json: bool, save_model: str | None, fmt: str, mlflow: str | None,
                 force: bool) -> None:
    """Show the best trial of STUDY: its parameters and metrics.

    \b
    Example:
      tunekit best digits --save-model best.keras
    """
    from pathlib import Path

    from tunekit.study import best_lines, best_report, load_study

    if save_model is not None:
        from tunekit.predict import check_model_path, model_card_path
        from tunekit.study import refuse_overwrite
        refuse_overwrite([Path(save_model), model_card_path(save_model)], force=force, what="the model")
        check_model_path(save_model, fmt, force=force)
    check_model_mlflow(mlflow, save_model)
    loaded = load_study(study, storage)
    report = best_report(loaded, save_model, echo=lambda text: click.echo(text, err=True), fmt=fmt, force=force)
    log_saved_model(loaded, storage, mlflow, save_model)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
        return
    for line in best_lines(report, loaded.user_attrs):
        click.echo(line)


@click.command("export")
@click.argument("study")
@storage_option
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="out.csv, out.parquet or out.json")
@to_option
@force_option
def export_command(study: str, storage: str | None, output: str | None, to: tuple[str, str] | None, force: bool) -> None:
    """Write the trials of STUDY (flattened params and attributes) to a file, or send them to
    MLflow or TensorBoard (--to mlflow URI, --to tensorboard DIR)."""
    from tunekit.study import export_trials, load_study

    if (output is None) == (to is None):
        raise click.UsageError("give one of -o FILE (a file) or --to mlflow URI / --to tensorboard DIR")
    if to is not None:
        return export_to(study, storage, to)

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
