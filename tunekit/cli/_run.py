"""``tunekit run``: run or resume a study from a study file."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from tunekit.cli._common import storage_option



def heartbeat_options(command: Any) -> Any:
    """``--heartbeat`` and ``--grace-period``."""
    command = click.option(
        "--grace-period", type=click.IntRange(min=2), default=None, metavar="SECONDS",
        help="A running trial silent this long is failed and retried [default: 3 x heartbeat].",
    )(command)
    return click.option(
        "--heartbeat", type=click.IntRange(min=1), default=10, show_default=True, metavar="SECONDS",
        help="Running trials record a heartbeat this often, so a dead worker's trial is retried.",
    )(command)


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strategy options; values are read as JSON when they parse, else as text."""
    from tunekit._errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"strategy option {pair!r} is not KEY=VALUE (for example --option n_startup_trials=5)")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _trial_line(study: Any, trial: Any, started: float) -> str:
    from tunekit._study import fail_reason

    metric = study.user_attrs.get("metric", "value")
    state = trial.state.name
    if state == "COMPLETE":
        detail = f"{metric}={trial.value:.4f}"
    elif state == "FAIL":
        detail = f"failed: {fail_reason(trial) or 'unknown reason'}"
    else:
        detail = state.lower()
    try:
        best = f"best {study.best_value:.4f}"
    except ValueError:
        best = "no best yet"
    secs = trial.user_attrs.get("train_seconds")
    took = f" {secs:.1f}s" if isinstance(secs, (int, float)) else ""
    return f"trial {trial.number:>3} {detail}{took} ({best}; {time.monotonic() - started:.0f}s elapsed)"


@click.command("run")
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option("--strategy", default="tpe", show_default=True, help="Search strategy (see `tunekit strategies`).")
@click.option("--trials", "n_trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished trials the study should have in total, over all workers (interrupted trials and "
                   "trials lost with a dead worker do not count); re-running resumes up to this number.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop starting trials after this many seconds.")
@storage_option
@click.option("--study-name", default=None, help="Study name [default: the study file's name].")
@click.option("--seed", type=int, default=None, help="Seed of the strategy and of each trial's training [default: the spec's].")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the number of epochs of every trial.")
@click.option("--pruner", default="none", show_default=True, help="Stop unpromising trials early: none, median, halving, hyperband.")
@click.option("--option", "-O", "options", multiple=True, metavar="KEY=VALUE", help="Strategy option, repeatable.")
@click.option("--workers", "-w", type=int, default=1, show_default=True,
              help="Worker processes on this machine; --trials is the total over all workers.")
@heartbeat_options
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary.")
def run_command(study_file: str, strategy: str, n_trials: int, timeout: float | None, storage: str | None,
                study_name: str | None, seed: int | None, epochs: int | None, pruner: str, options: tuple[str, ...],
                workers: int, heartbeat: int, grace_period: int | None, quiet: bool) -> None:
    """Run (or resume) the study defined in STUDY_FILE.

    \b
    Examples:
      tunekit run studies/digits.py --strategy tpe --trials 50
      tunekit run studies/digits.py --trials 200 --workers 2
    Ctrl-C marks the running trials FAIL 'interrupted' and exits 130; run again to resume.
    """
    from tunekit._errors import ConfigError
    from tunekit._spec import load_spec
    from tunekit._study import quiet_optuna, run

    if workers < 1:
        raise ConfigError(f"--workers must be >= 1 (1 runs trials in this process), got {workers}")
    quiet_optuna()
    spec = load_spec(study_file)
    progress_bar = not quiet and sys.stderr.isatty()
    started = time.monotonic()

    def on_trial(study: Any, trial: Any) -> None:
        if not quiet and not progress_bar:
            click.echo(_trial_line(study, trial, started))

    study = run(
        spec, strategy=strategy, n_trials=n_trials, timeout=timeout, storage=storage, study_name=study_name,
        seed=seed, epochs=epochs, options=parse_options(options), pruner=pruner, show_progress=progress_bar, on_trial=on_trial,
        workers=workers, heartbeat=heartbeat, grace_period=grace_period,
    )
    summarize(study, storage)


def summarize(study: Any, storage: str | None) -> None:
    """The closing lines of ``run`` and ``worker``: counts, best trial, how to look further."""
    from tunekit._storage import mask, resolve_url
    from tunekit._study import finished_count

    url = mask(resolve_url(storage))
    trials = study.get_trials(deepcopy=False)
    by_state: dict[str, int] = {}
    for t in trials:
        by_state[t.state.name.lower()] = by_state.get(t.state.name.lower(), 0) + 1
    states = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
    click.echo(f"study {study.study_name!r} in {url}: {finished_count(study)} finished trials ({states})")
    metric = study.user_attrs.get("metric", "value")
    try:
        best = study.best_trial
    except ValueError:
        click.echo("no trial completed; see the failure reasons with: tunekit trials " + study.study_name)
        return
    click.echo(f"best {metric} = {best.value:.4f} (trial {best.number})")
    for key, value in best.params.items():
        click.echo(f"  {key}: {value}")
    click.echo(f"open the dashboard: tunekit dashboard{'' if storage is None else ' --storage ' + url}"
               f"   (or: optuna-dashboard {url})")


COMMANDS = [run_command]
