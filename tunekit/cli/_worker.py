"""``tunekit worker``: join an existing study from this machine (PostgreSQL or a shared database)."""

from __future__ import annotations

import click

from tunekit.cli._common import storage_option
from tunekit.cli._run import db_retry_option


@click.command("worker")
@click.argument("study_file", type=click.Path(dir_okay=False))
@storage_option
@click.option("--study-name", default=None, help="Study name [default: the study file's name].")
@click.option("--trials", "n_trials", type=click.IntRange(min=1), default=None,
              help="Total finished trials for the study [default: the number it was started with].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop starting trials after this many seconds.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="TensorFlow threads of this worker [default: all cores]; with K workers on one machine use cores / K.")
@db_retry_option
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary.")
def worker_command(study_file: str, storage: str | None, study_name: str | None, n_trials: int | None,
                   timeout: float | None, threads: int | None, db_retry: float | None, quiet: bool) -> None:
    """Work on an existing study: one more worker process, on this machine or another.

    The study must exist (start it with `tunekit run STUDY_FILE --storage URL`); the
    worker uses its strategy, seed, epochs, pruner and trial budget. Start as many as you
    like, on as many machines as can reach the database.

    \b
    Example (the URL in the environment, the password in ~/.pgpass: a command line shows in `ps`):
      export TUNEKIT_STORAGE=postgresql+psycopg://tunekit@db-host:5432/tunekit
      tunekit worker studies/digits.py
    """
    from tunekit.study import join, load_spec, quiet_optuna
    from tunekit.cli._run import progress, summarize

    quiet_optuna()
    spec = load_spec(study_file)
    progress_bar, on_trial = progress(quiet)

    study = join(spec, storage=storage, study_name=study_name, n_trials=n_trials, timeout=timeout,
                 show_progress=progress_bar, on_trial=on_trial, db_retry=db_retry, threads=threads)
    summarize(study, storage)


COMMANDS = [worker_command]
