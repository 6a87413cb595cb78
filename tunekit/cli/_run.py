"""``tunekit run``: run or resume a study from a study file."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from tunekit.cli._common import storage_option



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
    from tunekit.study import fail_reason
    from tunekit._units import with_unit

    attrs = study.user_attrs
    metric = attrs.get("metric", "value")
    state = trial.state.name
    if state == "COMPLETE":
        # Regression: the metric in the target's units, and the standardised loss labelled as such.
        shown = [metric] + [m for m in ("val_rmse", "val_loss") if m != metric and attrs.get("task") == "regression"]
        values = {**trial.user_attrs, metric: trial.value}
        detail = ", ".join(f"{m}={with_unit(values[m], m, attrs)}" for m in shown if isinstance(values.get(m), (int, float)))
    elif state == "FAIL":
        detail = f"failed: {fail_reason(trial) or 'unknown reason'}"
    else:
        detail = state.lower()
    try:
        best = f"best {with_unit(study.best_value, metric, attrs)}"
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
@click.option("--seed", type=int, default=None,
              help="Seed of the strategy and of each trial's training [default: the one the study was started "
                   "with, else the spec's]; another seed on resume is noted.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of every trial instead of the study file's. A study keeps its epochs: another value "
                   "on resume is refused [default: the study's].")
@click.option("--pruner", default="none", show_default=True, help="Stop unpromising trials early: none, median, halving, hyperband.")
@click.option("--option", "-O", "options", multiple=True, metavar="KEY=VALUE", help="Strategy option, repeatable.")
@click.option("--workers", "-w", type=int, default=1, show_default=True,
              help="Worker processes on this machine; --trials is the total over all workers.")
@heartbeat_options
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary.")
def run_command(study_file: str, strategy: str, n_trials: int, timeout: float | None, storage: str | None,
                study_name: str | None, seed: int | None, epochs: int | None, pruner: str, options: tuple[str, ...],
                workers: int, heartbeat: int, grace_period: int | None, db_retry: float | None, quiet: bool) -> None:
    """Run (or resume) the study defined in STUDY_FILE.

    \b
    Examples:
      tunekit run studies/digits.py --strategy tpe --trials 50
      tunekit run studies/digits.py --trials 200 --workers 2
    Ctrl-C marks the running trials FAIL 'interrupted' and exits 130; run again to resume.
    """
    from tunekit._errors import ConfigError
    from tunekit._spec import load_spec
    from tunekit.study import quiet_optuna, run

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
        workers=workers, heartbeat=heartbeat, grace_period=grace_period, db_retry=db_retry,
    )
    summarize(study, storage)


def summarize(study: Any, storage: str | None) -> None:
    """The closing lines of ``run`` and ``worker``: counts, best trial, how to look further."""
    from tunekit._errors import TunekitError
    from tunekit._storage import mask, resolve_url
    from tunekit.study import trial_counts

    url = mask(resolve_url(storage))
    counted, other = trial_counts(study)
    detail = ", ".join(f"{n} {kind}" for kind, n in counted.items())
    if other:
        words = {"lost": "lost with its worker"}
        left_out = ", ".join(f"{n} {words.get(kind, kind)}" for kind, n in other.items())
        detail = f"{detail}; not counted: {left_out}" if detail else f"not counted: {left_out}"
    click.echo(f"study {study.study_name!r} in {url}: {sum(counted.values())} finished trials count toward --trials"
               + (f" ({detail})" if detail else ""))
    metric = study.user_attrs.get("metric", "value")
    try:
        best = study.best_trial
    except ValueError:  # a script must be able to tell that the study produced nothing: exit 1
        where = "" if storage is None or "***" in url else f" --storage {url}"
        raise TunekitError(f"no trial completed; see the failure reasons with: tunekit trials {study.study_name}{where}") from None
    from tunekit._units import with_unit  # regression: the target's units

    click.echo(f"best {metric} = {with_unit(best.value, metric, study.user_attrs)} (trial {best.number})")
    for key, value in best.params.items():
        click.echo(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    click.echo(f"open the dashboard: tunekit dashboard{'' if storage is None else ' --storage ' + url}"
               f"   (or: optuna-dashboard {url})")


COMMANDS = [run_command]
