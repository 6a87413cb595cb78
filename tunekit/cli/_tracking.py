"""``run --mlflow URI --tensorboard DIR`` and ``export STUDY --to mlflow URI``: the options and the
export's body (the work is in ``tunekit.tracking``)."""

from __future__ import annotations

from typing import Any

import click


def tracking_options(command: Any) -> Any:
    """``--mlflow URI`` (env ``TUNEKIT_MLFLOW``) and ``--tensorboard DIR``."""
    command = click.option(
        "--tensorboard", default=None, metavar="DIR",
        help="Also write every finished trial to DIR/trial-NNNN (curves as scalars, parameters and final metrics "
             "for the HParams tab): tensorboard --logdir DIR.",
    )(command)
    return click.option(
        "--mlflow", envvar="TUNEKIT_MLFLOW", default=None, metavar="URI",
        help="Also log every finished trial to this MLflow tracking server (experiment: the study's name), "
             "from this process; a failing server never fails a trial [env TUNEKIT_MLFLOW].",
    )(command)


to_option = click.option(
    "--to", "to", nargs=2, type=(click.Choice(["mlflow", "tensorboard"]), str), default=None,
    metavar="mlflow URI|tensorboard DIR",
    help="Send the finished trials to an MLflow server or a TensorBoard folder instead of a file "
         "(trials already there are not sent again).",
)


def export_to(study: str, storage: str | None, to: tuple[str, str]) -> None:
    """``tunekit export STUDY --to mlflow URI``: send, then say what was sent (exit 1 when some
    trials could not be sent)."""
    from tunekit.study import load_study
    from tunekit.tracking import export_study

    kind, where = to
    lines = export_study(load_study(study, storage), to=kind, where=where, storage=storage)
    for line in lines:
        click.echo(line)
    if any(" not logged to " in line for line in lines):
        raise click.exceptions.Exit(1)


model_mlflow_option = click.option(
    "--mlflow", "mlflow", default=None, metavar="URI",
    help="With --save-model: also log the model and its card as artifacts of the best trial's MLflow run.",
)


def check_model_mlflow(uri: str | None, save_model: str | None) -> None:
    """``best --mlflow`` checked before any training: it needs ``--save-model`` and a tracking URI."""
    if uri is None:
        return
    if save_model is None:
        raise click.UsageError("--mlflow logs the model of --save-model PATH; add --save-model PATH or drop --mlflow")
    from tunekit.tracking import check_mlflow

    check_mlflow(uri)


def log_saved_model(study: Any, storage: str | None, uri: str | None, save_model: str | None) -> None:
    """After ``best --save-model PATH``: log PATH and its card (PATH.json) to MLflow."""
    if uri is None or save_model is None:
        return
    from pathlib import Path

    from tunekit.tracking import log_model

    card = Path(save_model).with_suffix(".json")
    paths = [save_model] + ([str(card)] if card.exists() and str(card) != save_model else [])
    click.echo(log_model(study, uri=uri, storage=storage, paths=paths), err=True)
