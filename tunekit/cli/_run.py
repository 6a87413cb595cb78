"""``tunekit run``: run or resume a study from a study file."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import click

from tunekit.cli._common import storage_option
from tunekit.cli._tracking import tracking_options



def db_retry_option(command: Any) -> Any:
    """``--db-retry``: how long workers wait out an unreachable database server."""
    return click.option(
        "--db-retry", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
        help="Workers retry an unreachable database server this long, then stop "
             "[default: $TUNEKIT_DB_RETRY or 120; 0: stop at once].",
    )(command)


def heartbeat_options(command: Any) -> Any:
    """``--heartbeat``, ``--grace-period`` and ``--db-retry``."""
    command = db_retry_option(command)
    command = click.option(
        "--grace-period", type=click.IntRange(min=2), default=None, metavar="SECONDS",
        help="A running trial silent this long is failed and retried [default: 3 x heartbeat].",
    )(command)
    return click.option(
        "--heartbeat", type=click.IntRange(min=1), default=10, show_default=True, metavar="SECONDS",
        help="Running trials record a heartbeat this often, so a dead worker's trial is retried.",
    )(command)


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strategy options, the values kept as text: the strategy's declared option
    types read them (``tunekit.strategies.check_options``: ``multivariate=False`` is false)."""
    from tunekit._errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"strategy option {pair!r} is not KEY=VALUE (for example --option n_startup_trials=5)")
        options[key.strip()] = raw
    return options


def _trial_line(study: Any, trial: Any, started: float) -> str:
    from tunekit.study import trial_line

    return trial_line(study, trial, time.monotonic() - started)


def progress(quiet: bool) -> tuple[bool, Callable[[Any, Any], None]]:
    """How ``run`` and ``worker`` show progress: a bar on a terminal, else one line per
    finished trial (none with ``--quiet``): (show the bar, the on_trial callback)."""
    bar = not quiet and sys.stderr.isatty()
    started = time.monotonic()

    def on_trial(study: Any, trial: Any) -> None:
        if not quiet and not bar:
            click.echo(_trial_line(study, trial, started))

    return bar, on_trial


@click.command("run")
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option("--strategy", default="tpe", show_default=True, help="Search strategy (see `tunekit strategies`).")
@click.option("--trials", "n_trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished trials the study should have in total, over all workers (interrupted trials and "
                   "trials lost with a dead worker do not count); re-running resumes up to this number.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop starting trials after this many seconds.")
@storage_option
@click.option("--study-name", default=None, help="Study name [default: the study file's name].")
@click.option("--seed", type=int, default=None,
              help="Seed of the strategy and of each trial's training [default: the one the study was started "
                   "with, else the spec's]; another seed on resume is noted.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of every trial instead of the study file's. A study keeps its epochs: another value "
                   "on resume is refused [default: the study's].")
@click.option("--pruner", default="none", show_default=True, help="Stop unpromising trials early: none, median, halving, hyperband.")
@click.option("--option", "-O", "options", multiple=True, metavar="KEY=VALUE", help="Strategy option, repeatable.")
@click.option("--workers", "-w", type=int, default=None,
              help="Worker processes on this machine; --trials is the total over all workers [default: 1; with "
                   "--dask, one trial at a time per Dask worker].")
@heartbeat_options
@click.option("--health/--no-health", default=True, show_default=True,
              help="Probe every trial's layers and store why it did or did not train (see `tunekit health`).")
@click.option("--prune-unhealthy", is_flag=True,
              help="Stop a trial diagnosed exploding, dead or symmetric after its first epoch (recorded PRUNED).")
@click.option("--warm-start", "warm_start", default=None, metavar="NAME",
              help="First copy the complete trials of study NAME (same database, e.g. an imported keras-tuner "
                   "search) to seed the strategy; they do not count toward --trials.")
@click.option("--confirm", type=int, default=0, show_default=True, metavar="K",
              help="After the search, train the K best configurations again with new seeds; the best is then "
                   "the one with the best mean (mean +/- sd shown). Not counted toward --trials.")
@click.option("--repeats", type=int, default=None, metavar="R",
              help="Confirmation runs per configuration with --confirm [default: 2].")
@click.option("--dask", "dask", default=None, metavar="ADDRESS",
              help="Run the trials as Dask tasks on the scheduler at ADDRESS (tcp://host:8786), or on a local "
                   "cluster (local, local:N); --workers caps the trials running at once. The study database stays "
                   "in this process.")
@click.option("--fuse", type=int, default=1, show_default=True, metavar="K",
              help="Train up to K trials at once as one network of stacked members, each still a whole trial "
                   "(1: one trial at a time; with --dask, one task per batch of K). Studies with their own build(hp) "
                   "train unfused.")
@tracking_options
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary.")
def run_command(study_file: str, strategy: str, n_trials: int, timeout: float | None, storage: str | None,
                study_name: str | None, seed: int | None, epochs: int | None, pruner: str, options: tuple[str, ...],
                workers: int | None, heartbeat: int, grace_period: int | None, db_retry: float | None, health: bool,
                prune_unhealthy: bool, warm_start: str | None, confirm: int, repeats: int | None, dask: str | None, fuse: int,
                mlflow: str | None, tensorboard: str | None, quiet: bool) -> None:
    """Run (or resume) the study defined in STUDY_FILE.

    \b
    Examples:
      tunekit run studies/digits.py --strategy tpe --trials 50
      tunekit run studies/digits.py --trials 200 --workers 2
      tunekit run studies/digits.py --trials 50 --confirm 3
      tunekit run studies/digits.py --trials 64 --fuse 8
      tunekit run studies/digits.py --trials 50 --mlflow http://127.0.0.1:5000 --tensorboard tb/
    Ctrl-C marks the running trials FAIL 'interrupted' and exits 130; run again to resume.
    """
    from tunekit._errors import ConfigError
    from tunekit.study import load_spec, quiet_optuna, run

    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1 (1 runs trials in this process), got {workers}")
    if fuse < 1:
        raise ConfigError(f"--fuse must be >= 1 (1 trains one trial at a time), got {fuse}")
    if prune_unhealthy and not health:
        raise ConfigError("--prune-unhealthy needs the health probe; drop --no-health or --prune-unhealthy")
    if repeats is not None and not confirm:
        raise ConfigError(f"--repeats {repeats} has no effect without --confirm K; add --confirm K (e.g. --confirm 3) "
                          "or drop --repeats")
    quiet_optuna()
    spec = load_spec(study_file)
    progress_bar, on_trial = progress(quiet)
    study = run(
        spec, strategy=strategy, n_trials=n_trials, timeout=timeout, storage=storage, study_name=study_name,
        seed=seed, epochs=epochs, options=parse_options(options), pruner=pruner, show_progress=progress_bar, on_trial=on_trial,
        workers=workers, heartbeat=heartbeat, grace_period=grace_period, db_retry=db_retry, health=health,
        prune_unhealthy=prune_unhealthy, warm_start=warm_start, confirm=confirm, repeats=2 if repeats is None else repeats, dask=dask,
        fuse=fuse, mlflow=mlflow, tensorboard=tensorboard,
    )
    summarize(study, storage)
    if fuse > 1:
        from tunekit.execution import fused_summary

        click.echo(fused_summary(study))


def summarize(study: Any, storage: str | None) -> None:
    """The closing lines of ``run`` and ``worker`` (``tunekit.study.run_summary``)."""
    from tunekit.study import run_summary

    for line in run_summary(study, storage):
        click.echo(line)


COMMANDS = [run_command]
