"""``tunekit predict``: predictions of a study's best model on new raw rows, into a CSV."""

from __future__ import annotations

import click

from tunekit.cli._common import force_option, storage_option


@click.command("predict")
@click.argument("args", nargs=-1, metavar="[STUDY] ROWS.csv")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), metavar="PREDICTIONS.csv",
              help="Where to write the key columns and the predictions.")
@click.option("--model", "model", default=None, type=click.Path(), metavar="PATH",
              help="A model saved by `best --save-model` (.keras file or SavedModel folder, with its .json card); "
                   "without it the study's best trial is retrained first.")
@click.option("--key", "keys", multiple=True, metavar="COLUMN",
              help="A column copied to the output (repeat it); default: every column the model does not take.")
@click.option("--batch-rows", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Rows read and predicted at a time.")
@storage_option
@force_option
def predict_command(args: tuple[str, ...], output: str, model: str | None, keys: tuple[str, ...], batch_rows: int,
                    storage: str | None, force: bool) -> None:
    """Predict ROWS.csv (raw rows: the data's own columns) with the best model of STUDY.

    \b
    Example:
      tunekit predict houses new.csv -o predictions.csv
      tunekit predict --model best.keras new.csv -o predictions.csv
    """
    from pathlib import Path

    from tunekit._errors import ConfigError
    from tunekit.predict import Predictor, check_predictions_output, check_rows_file, load_predictor, predict_file

    wanted = 1 if model else 2
    if len(args) != wanted and not (model and len(args) == 2):
        usage = "--model PATH ROWS.csv" if model else "STUDY ROWS.csv (or --model PATH ROWS.csv)"
        raise click.UsageError(f"expected {usage}, got {len(args)} argument(s)")
    study, rows = (args[0] if len(args) == 2 else None), args[-1]
    check_predictions_output(output, force=force)
    if not Path(rows).is_file():  # before any retraining
        raise ConfigError(f"CSV '{rows}' not found: no file at {Path(rows).resolve()}; check the path")
    echo = lambda text: click.echo(text, err=True)
    if model:
        predictor = load_predictor(model)
        if study is not None and predictor.card.get("study") != study:
            raise ConfigError(f"the model '{model}' is of study {predictor.card.get('study')!r}, not {study!r}; "
                              "drop STUDY or pass that study's model")
    else:
        from tunekit.study import load_study, raw_input_columns, retrain_best

        loaded = load_study(study, storage)
        if loaded.user_attrs.get("model"):  # before retraining: its inputs are the user's own
            raise ConfigError(f"study {study!r} trained your own build(hp) model, whose inputs tunekit does not know; "
                              "save it with `tunekit best --save-model` and predict with your own code")
        check_rows_file(rows, raw_input_columns(loaded))  # before retraining
        trained, card = retrain_best(loaded, echo=echo)
        predictor = Predictor(model=trained, card=card)
    done = predict_file(predictor, rows, output, keys=list(keys) if keys else None, batch_rows=batch_rows, echo=echo)
    kind = "class labels and probabilities" if predictor.card.get("classes") else f"{predictor.card.get('target')} values"
    click.echo(f"wrote {done['rows']} predictions ({kind}) to {done['output']}")


COMMANDS = [predict_command]
