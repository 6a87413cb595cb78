"""``tunekit studies | trials | best | export | strategies``: read a study database."""

from __future__ import annotations

import json

import click

from tunekit.cli._common import storage_option


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
    from tunekit.study import trials_frame
    from tunekit._storage import load_study

    df = trials_frame(load_study(study, storage))
    if df.empty:
        click.echo(f"study {study!r} has no trials yet")
        return
    if state:
        df = df[df["state"].str.lower() == state.lower()]
    keep = ["number", "state", "value", "duration_s"]
    keep += [c for c in df.columns if c.startswith("params_")]
    keep += [c for c in ("user_attrs_epochs_run", "user_attrs_param_count", "user_attrs_fail_reason") if c in df.columns]
    table = df[keep].rename(columns=lambda c: c.removeprefix("params_").removeprefix("user_attrs_"))
    for col in table.columns:  # nullable Int64 / boolean columns print <NA>, which na_rep does not replace
        if str(table[col].dtype) in ("Int64", "boolean"):
            table[col] = table[col].astype(object).where(table[col].notna(), "-")
    click.echo(table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}"))


@click.command("best")
@click.argument("study")
@storage_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--save-model", "save_model", default=None, type=click.Path(), metavar="PATH.keras",
              help="Retrain the best configuration with its seed and save the Keras model (and PATH.json beside it).")
def best_command(study: str, storage: str | None, as_json: bool, save_model: str | None) -> None:
    """Show the best trial of STUDY: its parameters and metrics.

    \b
    Example:
      tunekit best digits --save-model best.keras
    """
    from tunekit.study import best_summary
    from tunekit._storage import load_study
    from tunekit._units import units_table, with_unit
    from tunekit.study import require_complete_trial

    loaded = load_study(study, storage)
    require_complete_trial(loaded)
    summary = best_summary(loaded)
    attrs = loaded.user_attrs
    units = units_table({summary["metric"]: summary["value"], **summary["metrics"]}, attrs)
    if units:  # regression: which numbers are in the target's units, and which one is standardised
        summary["units"] = units
    saved = None
    if save_model is not None:
        from tunekit.study import save_best_model

        saved = save_best_model(loaded, save_model, echo=lambda text: click.echo(text, err=True))
    if as_json:
        if saved is not None:
            summary["saved_model"] = saved
        click.echo(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    shown = with_unit(summary["value"], summary["metric"], attrs)
    click.echo(f"study {summary['study']!r}: best {summary['metric']} = {shown} (trial {summary['trial']})")
    if summary.get("data"):
        click.echo(f"data: {summary['data']}")
    click.echo("params:")
    for key, value in summary["params"].items():
        click.echo(f"  {key}: {_short(value)}")
    for key, value in summary["fixed"].items():
        click.echo(f"  {key}: {_short(value)} (fixed)")
    scores = {k: v for k, v in summary["metrics"].items() if k.startswith(("val_", "train_")) and k != "train_seconds"}
    click.echo("metrics:")
    for key, value in sorted(scores.items()):
        click.echo(f"  {key}: {with_unit(value, key, attrs)}" if isinstance(value, float) else f"  {key}: {value}")
    click.echo("trial:")
    for key, value in sorted(summary["metrics"].items()):
        if key not in scores:
            click.echo(f"  {key}: {_short(value)}")
    if saved is not None:
        metric, value = saved["metric"], saved["model_metrics"].get(saved["metric"])
        shown = with_unit(value, metric, attrs) if isinstance(value, float) else "?"
        same = "reproduces the trial" if saved["reproduced"] else f"the trial had {saved['trial_value']:.4f}"
        click.echo(f"saved the retrained model to {saved['path']} ({metric} {shown}; {same})")
        click.echo(f"wrote {saved['json']}")


def _short(value: object) -> object:
    """A float to 4 significant digits for reading (``--json`` keeps every digit)."""
    return f"{value:.4g}" if isinstance(value, float) else value


@click.command("export")
@click.argument("study")
@storage_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="out.csv, out.parquet or out.json")
def export_command(study: str, storage: str | None, output: str) -> None:
    """Write the trials of STUDY (flattened params and attributes) to a file."""
    from tunekit.study import export_trials
    from tunekit._storage import load_study

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
