"""``tunekit import-kt DIR --study-name NAME``: a keras-tuner project into the study database."""

from __future__ import annotations

import click

from tunekit.cli._common import storage_option


@click.command("import-kt")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--study-name", "study_name", required=True, help="Name of the new study to create.")
@storage_option
@click.option("--objective", default=None, metavar="METRIC",
              help="The metric the search optimised, when it cannot be told from the scores.")
def import_kt_command(folder: str, study_name: str, storage: str | None, objective: str | None) -> None:
    """Import the keras-tuner project in FOLDER (oracle.json, trial_*/trial.json) as a new study.

    Every finished keras-tuner trial becomes a trial of the study with the same parameter
    names and ranges, its score and its metrics, so the search shows in tunekit trials,
    report, export and optuna-dashboard. Nothing is written when the folder cannot be read.

    \b
    Examples:
      tunekit import-kt my_dir/my_project --study-name old-search
      tunekit trials old-search
    """
    from tunekit.study import import_keras_tuner

    result = import_keras_tuner(folder, study_name=study_name, storage=storage, objective=objective)
    c = result.counts
    left = f"; {len(result.skipped)} unfinished keras-tuner trial(s) left out" if result.skipped else ""
    click.echo(f"imported {c['complete']} complete, {c['failed']} failed and {c['pruned']} stopped trial(s) into "
               f"study '{study_name}' (objective {result.objective}, {result.direction}){left}")


COMMANDS = [import_kt_command]
