"""``load_data``: a built-in name, a CSV / Parquet file or a DataFrame -> a split ``Dataset``.

Loading checks the table (target column, missing values, row counts, the task) and raises
``ConfigError`` with a one-line message; ``_prepare`` splits and encodes it.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunekit._errors import ConfigError
from tunekit._records import TASKS
from tunekit.data._identity import BUILTIN_DATASETS, file_identity
from tunekit.data._prepare import Dataset, encode_features, scale_target, split_indices

FILE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")
MIN_ROWS = 10
#: An integer target with at most this many distinct values is inferred as classification.
MAX_INT_CLASSES = 20


def load_data(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    target: str | None = None,
    task: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    max_rows: int | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Load a data set and split it into standardised train / validation arrays.

    Args:
        source: a built-in name (see ``BUILTIN_DATASETS``), a path ending ``.csv`` or
            ``.parquet``, or a ``pandas.DataFrame``.
        target: the column to predict; required for files and DataFrames (built-ins
            default to their own target).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred when None
            (string / bool / categorical or an integer target with at most 20 values is
            classification, anything else numeric is regression).
        val_fraction: share of rows held out for validation, in (0, 0.9].
        seed: seeds the subsample, the split and the built-in generators (moons, circles).
        max_rows: keep a seeded random subsample of this many rows before splitting.
        base_dir: folder that relative file paths are resolved against (the study file's).

    Returns:
        A ``Dataset``; the same arguments always give identical arrays.

    Raises:
        ConfigError: a one-line message naming what is wrong and how to fix it.

    Example:
        >>> ds = load_data("iris", seed=1)
        >>> ds.task, ds.n_classes, ds.input_shape, ds.n_train, ds.n_val
        ('multiclass', 3, (4,), 120, 30)
    """
    split = split_frame(source, target=target, task=task, val_fraction=val_fraction, seed=seed, max_rows=max_rows,
                        base_dir=base_dir)
    frame, name, label, target, identity, task, y, classes, train, val = split
    x_train, x_val, feature_names = encode_features(
        frame.drop(columns=[target]), train, val, label=label
    )
    y_train, y_val, target_scale = (y[train], y[val], None) if classes is not None else scale_target(y, train, val)
    return Dataset(
        name=name, task=task, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
        n_classes=None if classes is None else len(classes), feature_names=feature_names, target=target,
        classes=classes, target_scale=target_scale, identity=identity,
    )


def split_frame(source: Any, *, target: str | None, task: str | None, val_fraction: float, seed: int,
                max_rows: int | None, base_dir: str | os.PathLike[str] | None) -> tuple[Any, ...]:
    """What ``load_data`` reads and splits before encoding: (frame, name, label, target column,
    identity, task, encoded target y, classes, train indices, val indices); ConfigError on bad
    input. ``tunekit.predict``'s ``raw_split`` keeps the raw columns of the same split."""
    _check_options(task=task, val_fraction=val_fraction, seed=seed, max_rows=max_rows)
    frame, name, label, default_target, identity = _read_source(source, seed=seed, base_dir=base_dir)
    target = _check_target_column(frame, target, default_target, label)
    _check_values(frame, label)
    frame = _subsample(frame, max_rows, seed, label)
    task, y, classes = _encode_target(frame[target], target, task, label)
    train, val = split_indices(y, classes=classes, target=target, val_fraction=val_fraction, seed=seed, label=label)
    return frame, name, label, target, identity, task, y, classes, train, val


def _subsample(frame: pd.DataFrame, max_rows: int | None, seed: int, label: str) -> pd.DataFrame:
    """A seeded random subsample of ``max_rows`` rows (all rows without it); ConfigError when
    fewer than ``MIN_ROWS`` rows are left."""
    if max_rows is not None and max_rows < len(frame):
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
        frame = frame.iloc[keep]
    if len(frame) < MIN_ROWS:
        after = f" (after max_rows={max_rows})" if max_rows is not None else ""
        raise ConfigError(
            f"{label} has {len(frame)} rows{after}; at least {MIN_ROWS} are needed to train "
            "and validate. Use a larger data set" + (" or raise max_rows." if after else ".")
        )
    return frame


def _check_options(
    *, task: str | None, val_fraction: float, seed: int, max_rows: int | None
) -> None:
    if task is not None and task not in TASKS:
        raise ConfigError(
            f"task={task!r} is not a task; use one of: {', '.join(TASKS)} (or None to infer it)."
        )
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, numbers.Real)
        or not 0 < val_fraction <= 0.9
    ):
        raise ConfigError(
            f"val_fraction={val_fraction!r} is outside (0, 0.9]; use a share of rows to hold "
            "out for validation, e.g. 0.2."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed={seed!r} is not an integer in [0, 2**32); use e.g. seed=0.")
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1
    ):
        raise ConfigError(
            f"max_rows={max_rows!r} is not a positive integer; use e.g. max_rows=5000, or None "
            "to keep every row."
        )


def _builtin(name: str, seed: int) -> tuple[pd.DataFrame, str]:
    """A built-in data set as a frame and its target column name."""
    from sklearn import datasets

    if name in ("moons", "circles"):
        if name == "moons":
            x, y = datasets.make_moons(n_samples=1000, noise=0.2, random_state=seed)
        else:
            x, y = datasets.make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=seed)
        return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "label": y}), "label"
    if name == "diabetes":
        return datasets.load_diabetes(as_frame=True, scaled=False).frame, "target"
    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }[name]
    bunch = loader(as_frame=True)
    frame = bunch.frame.copy()
    # Original label names, in sklearn's index order (e.g. breast_cancer: malignant, benign).
    names = [n.item() if isinstance(n, np.generic) else n for n in bunch.target_names]
    frame["target"] = pd.Categorical.from_codes(frame["target"].to_numpy(), categories=names)
    return frame, "target"


def _read_source(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    seed: int,
    base_dir: str | os.PathLike[str] | None,
) -> tuple[pd.DataFrame, str, str, str | None, dict[str, Any]]:
    """Return (frame, dataset name, label for messages, default target or None, file identity).

    The identity of a file is its name, row count and the first 12 hex digits of the sha256
    of its bytes ({} for built-ins and DataFrames): what a report shows, wherever it is read.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.columns = [str(c) for c in frame.columns]
        name = str(source.attrs.get("name", "dataframe"))
        return frame, name, f"DataFrame '{name}'", None, {}
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(
            f"data source {source!r} is a {type(source).__name__}; use a built-in name, a path "
            "ending .csv or .parquet, or a pandas DataFrame."
        )
    text = os.fspath(source)
    if isinstance(source, str) and text.strip().lower() in BUILTIN_DATASETS:
        name = text.strip().lower()
        frame, default_target = _builtin(name, seed)
        return frame, name, f"built-in data set '{name}'", default_target, {}
    suffix = Path(text).suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise ConfigError(
            f"data source {text!r} is neither a built-in data set ({', '.join(BUILTIN_DATASETS)}) "
            "nor a file path ending .csv or .parquet; use one of those."
        )
    frame, label, identity = _read_file(text, suffix, base_dir)
    return frame, text, label, None, identity


def _read_file(text: str, suffix: str, base_dir: str | os.PathLike[str] | None) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """Read the CSV or Parquet file ``text`` (relative to ``base_dir``): (frame, label, identity)."""
    kind = "CSV" if suffix == ".csv" else "Parquet file"
    label = f"{kind} '{text}'"
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir).expanduser() / path
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(
            f"{label} not found: {path} does not exist or is not a file; check the path "
            "(relative paths are resolved against the study file's folder)."
        )
    if path.stat().st_size == 0:
        raise ConfigError(
            f"{label} is empty (0 bytes at {path}); write a header and data rows to it."
        )
    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise ConfigError(
            f"{label} is empty (no columns at {path}); write a header and data rows to it."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"{label} could not be read by pandas: {reason}; fix or re-export the file."
        ) from exc
    frame.columns = [str(c) for c in frame.columns]
    return frame, label, file_identity(path, len(frame))


def _columns_text(columns: list[str], limit: int = 30) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns) - limit} more)" if len(columns) > limit else "")


def _check_target_column(
    frame: pd.DataFrame, target: str | None, default: str | None, label: str
) -> str:
    columns = list(frame.columns)
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ConfigError(
            f"{label} has duplicate column names: {', '.join(duplicated)}; rename them so each "
            "column is unique."
        )
    if target is None:
        if default is None:
            raise ConfigError(
                f"{label} needs target= (the column to predict); its columns are: "
                f"{_columns_text(columns)}. Set target= to one of them."
            )
        target = default
    if target not in frame.columns:
        raise ConfigError(
            f"{label} has no column {target!r}; its columns are: {_columns_text(columns)}. "
            "Set target= to one of them."
        )
    if len(columns) < 2:
        raise ConfigError(
            f"{label} has only the target column {target!r} and no feature columns; add feature "
            "columns to the table."
        )
    return target


def _check_values(frame: pd.DataFrame, label: str) -> None:
    """Refuse missing (NaN) and infinite values, naming the columns and counts."""
    missing = frame.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        counts = ", ".join(f"{col} ({n} NaN)" for col, n in missing.items())
        raise ConfigError(
            f"{label} has missing values in {len(missing)} column(s): {counts}; drop those rows "
            "or columns (DataFrame.dropna) or impute the values before loading."
        )
    numeric = frame.select_dtypes(include="number")
    infinite = {c: int(np.isinf(numeric[c].to_numpy(dtype=np.float64)).sum()) for c in numeric}
    infinite = {c: n for c, n in infinite.items() if n}
    if infinite:
        counts = ", ".join(f"{col} ({n} inf)" for col, n in infinite.items())
        raise ConfigError(
            f"{label} has infinite values in {len(infinite)} column(s): {counts}; drop those "
            "rows or replace the values before loading."
        )


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar (JSON-able class labels)."""
    return value.item() if isinstance(value, np.generic) else value


def _encode_target(
    column: pd.Series, target: str, task: str | None, label: str
) -> tuple[str, np.ndarray, tuple[Any, ...] | None]:
    """Infer or check the task; return (task, y, classes) with y int32 codes or float64."""
    dtype = column.dtype
    is_bool = pd.api.types.is_bool_dtype(dtype)
    is_number = pd.api.types.is_numeric_dtype(dtype) and not is_bool
    distinct = column.nunique()
    if distinct < 2:
        raise ConfigError(
            f"{label}: target {target!r} has a single value {_plain(column.iloc[0])!r} in all "
            f"{len(column)} rows; choose a target column with at least two distinct values."
        )
    if task is None:
        if is_number and not (pd.api.types.is_integer_dtype(dtype) and distinct <= MAX_INT_CLASSES):
            task = "regression"
        else:
            task = "binary" if distinct == 2 else "multiclass"
    if task == "regression":
        if not is_number:
            raise ConfigError(
                f"{label}: task 'regression' needs a numeric target, but {target!r} has dtype "
                f"{dtype}; use task='binary' or 'multiclass', or a numeric target column."
            )
        return task, column.to_numpy(dtype=np.float64), None
    if task == "binary" and distinct > 2:
        raise ConfigError(
            f"{label}: task 'binary' needs 2 classes, but target {target!r} has {distinct}; "
            "use task='multiclass' (or leave task unset to infer it)."
        )
    if isinstance(dtype, pd.CategoricalDtype):
        present = set(column.unique().tolist())
        classes = [c for c in dtype.categories.tolist() if c in present]
    else:
        classes = pd.unique(column).tolist()
        try:
            classes = sorted(classes)
        except TypeError:  # mixed types in an object column
            classes = sorted(classes, key=str)
    classes = [_plain(c) for c in classes]
    codes = pd.Categorical(column, categories=classes).codes.astype(np.int32)
    return task, codes, tuple(classes)
