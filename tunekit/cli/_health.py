"""``tunekit health STUDY [--trial N|best]``: the training health of a study's trials."""

from __future__ import annotations

import json

import click

from tunekit.cli._common import storage_option


@click.command("health")
@click.argument("study")
@storage_option
@click.option("--trial", "trial", default=None, metavar="N|best",
              help="Show one trial's layers at its last probe (a trial number, or 'best' for the best trial).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def health_command(study: str, storage: str | None, trial: str | None, as_json: bool) -> None:
    """Show the training health of STUDY: trials per diagnosis and the unhealthy ones.

    Every trial is probed at the start of training and after epochs 1, 4, 16, ... and its
    last, and diagnosed ok, vanishing, exploding, dead, saturated, symmetric or stalled. With
    --trial, one trial's layers at its last probe: gradient and weight norms, update ratio,
    dead and saturated units, identical units; then its diagnosis and the reason.

    \b
    Examples:
      tunekit health digits
      tunekit health digits --trial 12
      tunekit health digits --trial best --json
    """
    from tunekit.study import health_summary, health_summary_lines, load_study, trial_health, trial_health_lines

    loaded = load_study(study, storage)
    report = health_summary(loaded) if trial is None else trial_health(loaded, trial)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
        return
    lines = health_summary_lines(report, storage) if trial is None else trial_health_lines(report)
    for line in lines:
        click.echo(line)


COMMANDS = [health_command]
