"""Predictions on new raw rows: the columns checked first, then the rows streamed in batches.

A ``Predictor`` is a model that takes raw rows (a ``.keras`` file, a SavedModel folder or the
model ``retrain_best`` returns) with its card: the input columns, the task and the classes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunekit._errors import ConfigError
from tunekit.predict._card import read_card
from tunekit.predict._encoding import BOOL, NUMBER, STRING

BATCH_ROWS = 10_000


@dataclass(frozen=True)
class Predictor:
    """A raw-rows model and its card (``inputs``, ``task``, ``target``, ``classes``)."""

    model: Any
    card: dict[str, Any]
    serving: bool = False  # a SavedModel's serving signature, not a Keras model

    @property
    def inputs(self) -> dict[str, str]:
        """Input column -> kind (number, bool, string), in the card's order."""
        return {c["name"]: c["type"] for c in self.card["inputs"]}

    def columns_out(self) -> list[str]:
        """The prediction columns: the label or value, then one probability per class."""
        target = self.card.get("target") or "target"
        classes = self.card.get("classes")
        return [f"predicted_{target}"] + ([f"probability_{c}" for c in classes] if classes else [])

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Class probabilities (classification) or values in target units, one row per row."""
        feeds = {}
        for name, kind in self.inputs.items():
            column = rows[name]
            feeds[name] = (column.astype(str).to_numpy(dtype=object) if kind == STRING
                           else column.to_numpy(dtype=np.float32))
        if self.serving:
            import tensorflow as tf

            names = {c["name"]: c.get("serving_name", c["name"]) for c in self.card["inputs"]}
            tensors = {names[k]: tf.constant(v[:, None]) for k, v in feeds.items()}
            return np.asarray(next(iter(self.model(**tensors).values())))
        return np.asarray(self.model.predict(feeds, batch_size=1024, verbose=0))

    def frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The prediction columns for ``rows`` (labels as the data has them)."""
        out = self.predict(rows)
        names = self.columns_out()
        classes = self.card.get("classes")
        if not classes:
            return pd.DataFrame({names[0]: out[:, 0].astype(np.float64)}, index=rows.index)
        labels = np.asarray(classes, dtype=object)[np.argmax(out, axis=1)]
        data = {names[0]: labels, **{n: out[:, i].astype(np.float64) for i, n in enumerate(names[1:])}}
        return pd.DataFrame(data, index=rows.index)


def load_predictor(path: str | os.PathLike[str]) -> Predictor:
    """The model at ``path`` (``.keras`` file or SavedModel folder) and the card beside it.

    Example:
        >>> p = load_predictor("best.keras")  # doctest: +SKIP
        >>> p.frame(pd.read_csv("new.csv")).head()  # doctest: +SKIP
    """
    model_path = Path(path)
    if not model_path.exists():
        raise ConfigError(f"no model at '{model_path}'; save one with `tunekit best STUDY --save-model {model_path}`")
    card = read_card(model_path)
    from tunekit.execution import import_keras_quietly

    import_keras_quietly()
    try:
        if model_path.is_dir():
            import tensorflow as tf

            return Predictor(model=tf.saved_model.load(str(model_path)).signatures["serving_default"], card=card,
                             serving=True)
        import warnings

        import keras

        with warnings.catch_warnings():  # a column name TensorFlow refuses is its input's key, not its name
            warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
            return Predictor(model=keras.models.load_model(model_path), card=card)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot load the model '{model_path}': {' '.join(str(exc).split())[:300]}") from None


def check_columns(columns: list[str], predictor: Predictor | list[str], label: str) -> list[str]:
    """ConfigError naming the model's input columns (``predictor``'s, or a list of names) missing
    from ``columns``; else the extra columns."""
    inputs = list(predictor) if isinstance(predictor, list) else list(predictor.inputs)
    missing = [c for c in inputs if c not in columns]
    if missing:
        takes = "" if len(missing) == len(inputs) else f" (the model takes: {_names(inputs)})"
        raise ConfigError(f"{label} lacks the column(s) the model takes: {_names(missing)}; add them{takes}")
    return [c for c in columns if c not in inputs]


def check_rows_file(rows: str | os.PathLike[str], inputs: list[str]) -> None:
    """Before any work (``tunekit predict STUDY`` retrains first): ConfigError when the CSV ``rows``
    is missing, unreadable, or lacks one of the columns ``inputs``."""
    path = Path(rows)
    check_columns(_header(path), inputs, f"CSV '{path}'")


def _header(path: Path) -> list[str]:
    label = f"CSV '{path}'"
    if not path.is_file():
        raise ConfigError(f"{label} not found: no file at {path.resolve()}; check the path")
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label} could not be read as a CSV with a header ({' '.join(str(exc).split())}); "
                          "write a header and data rows to it") from None


def _names(names: list[str], most: int = 8) -> str:
    """``a, b, c``; a long list cut after ``most`` names: ``a, ..., h and 56 more``."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def check_values(rows: pd.DataFrame, predictor: Predictor, label: str, first_row: int) -> pd.DataFrame:
    """``rows`` with bool columns as 0/1; ConfigError naming missing values or a value of the wrong type."""
    missing = {c: int(n) for c, n in rows[list(predictor.inputs)].isna().sum().items() if n}
    if missing:
        counts = ", ".join(f"{c} ({n} missing)" for c, n in missing.items())
        raise ConfigError(f"{label} has missing values in {counts}; the model needs a value in every input column "
                          "(as in training): drop those rows or fill them in")
    rows = rows.copy()
    for name, kind in predictor.inputs.items():
        column = rows[name]
        if kind == STRING:
            continue
        if kind == BOOL and not pd.api.types.is_bool_dtype(column.dtype):
            lowered = column.astype(str).str.strip().str.lower()
            mapped = lowered.map({"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0})
            _refuse_bad(column, mapped.isna(), name, "true/false (or 1/0)", label, first_row)
            rows[name] = mapped.astype(np.float64)
        elif kind == NUMBER and (not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)):
            numbers = pd.to_numeric(column, errors="coerce") if not pd.api.types.is_bool_dtype(column.dtype) else column
            _refuse_bad(column, pd.isna(numbers), name, "numbers", label, first_row)
            rows[name] = numbers.astype(np.float64)
        if kind == NUMBER and np.isinf(rows[name].to_numpy(dtype=np.float64)).any():
            _refuse_bad(column, np.isinf(rows[name].to_numpy(dtype=np.float64)), name, "finite numbers", label, first_row)
    return rows


def _refuse_bad(column: pd.Series, bad: Any, name: str, what: str, label: str, first_row: int) -> None:
    bad = np.asarray(bad)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"{label}: column '{name}' should hold {what} (as in training), but data row "
                          f"{first_row + at + 1} has {column.iloc[at]!r}; fix that value")


def _count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)


def _chunks(path: Path, predictor: Predictor, batch_rows: int) -> Iterator[pd.DataFrame]:
    strings = {name: str for name, kind in predictor.inputs.items() if kind == STRING}
    try:
        yield from pd.read_csv(path, chunksize=batch_rows, dtype=strings)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"CSV '{path}' could not be read by pandas: {' '.join(str(exc).split())[:300]}; "
                          "fix or re-export the file") from None


def predict_file(
    predictor: Predictor, rows: str | os.PathLike[str], output: str | os.PathLike[str], *,
    keys: list[str] | None = None, batch_rows: int = BATCH_ROWS, echo: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Predict every row of the CSV ``rows`` into the CSV ``output``: the key columns (``keys``,
    else every column the model does not take), then the predictions. Streams ``batch_rows`` rows
    at a time (a progress bar on stderr when there is more than one batch); ``output`` appears only
    once every row is predicted. Returns ``{"rows", "output", "keys", "ignored"}``.

    Example:
        >>> predict_file(load_predictor("best.keras"), "new.csv", "predictions.csv")  # doctest: +SKIP
        {'rows': 120, 'output': 'predictions.csv', 'keys': ['id'], 'ignored': ['id']}
    """
    path, out = Path(rows), Path(output)
    label = f"CSV '{path}'"
    header = _header(path)
    extra = check_columns(header, predictor, label)
    keys = extra if keys is None else list(keys)
    unknown = [k for k in keys if k not in header]
    if unknown:
        raise ConfigError(f"--key {', '.join(unknown)}: no such column in {label}; its columns are: {', '.join(header)}")
    clash = [k for k in keys if k in predictor.columns_out()]
    if clash:
        raise ConfigError(f"{label} has the column(s) {', '.join(clash)}, named as the predictions are; rename them, "
                          "or pick the columns to copy with --key")
    total = _count_rows(path)
    from tqdm import tqdm

    tmp = out.with_name(f".{out.name}.partial")
    done = 0
    try:
        with tqdm(total=total, unit="rows", file=sys.stderr, disable=total <= batch_rows, desc="predicting") as bar:
            for chunk in _chunks(path, predictor, batch_rows):
                if chunk.empty:  # a header without rows
                    continue
                checked = check_values(chunk, predictor, label, done)
                part = pd.concat([chunk[keys], predictor.frame(checked)], axis=1)
                part.to_csv(tmp, mode="w" if done == 0 else "a", header=done == 0, index=False)
                done += len(chunk)
                bar.update(len(chunk))
        if done == 0:
            raise ConfigError(f"{label} has a header but no data rows; add the rows to predict")
        os.replace(tmp, out)
        if extra and echo:  # after the rows passed their checks: a refusal stays one line
            echo(f"note: ignored by the model (not among its inputs): {', '.join(extra)}"
                 + (f"; copied to the output: {', '.join(k for k in keys if k in extra)}" if set(keys) & set(extra) else ""))
    except OSError as exc:
        raise ConfigError(f"cannot write the predictions '{out}': {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return {"rows": done, "output": str(out), "keys": keys, "ignored": extra}


def check_predictions_output(output: str | os.PathLike[str], *, force: bool = False) -> None:
    """Refuse an existing ``output`` (unless ``force``) or one that is not a writable ``.csv``
    path, before any work: one ``ConfigError`` line."""
    from tunekit._output import check_output_file, refuse_overwrite

    refuse_overwrite([output], force=force, what="the predictions")
    check_output_file(output, suffixes=(".csv",), what="the predictions")
