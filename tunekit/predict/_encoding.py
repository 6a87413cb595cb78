"""The raw columns a study trained on and how tunekit encoded them, fitted on the training rows.

``raw_split`` reads the data exactly as ``tunekit.data.load_data`` does (same checks, subsample
and split) but keeps the columns as the user's data has them; ``fit_encoding`` records, per
column, what ``tunekit.data._prepare.encode_features`` fitted (mean and std, or the categories),
so that a Keras model can encode raw rows the same way.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunekit._errors import ConfigError

NUMBER, BOOL, STRING = "number", "bool", "string"


@dataclass(frozen=True)
class ColumnEncoding:
    """One raw feature column: its ``kind`` (number, bool, string) and what was fitted on the
    training rows (``mean`` and ``std`` for numbers, ``categories`` for strings)."""

    name: str
    kind: str
    mean: float = 0.0
    std: float = 1.0
    categories: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The column as the model card lists it."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        if self.kind == NUMBER:
            out.update(mean=self.mean, std=self.std)
        if self.kind == STRING:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_card(cls, item: dict[str, Any]) -> ColumnEncoding:
        return cls(name=item["name"], kind=item["type"], mean=float(item.get("mean", 0.0)),
                   std=float(item.get("std", 1.0)), categories=tuple(item.get("categories", ())))


@dataclass(frozen=True)
class RawSplit:
    """The study's rows as the data has them: ``features`` (every row), ``target`` values, the
    ``train`` and ``val`` row positions, the ``task``, ``classes`` and the file's full sha256."""

    features: pd.DataFrame
    target_name: str
    target: pd.Series
    train: np.ndarray
    val: np.ndarray
    task: str
    classes: tuple[Any, ...] | None
    sha256: str | None


def fit_encoding(features: pd.DataFrame, train: np.ndarray) -> tuple[ColumnEncoding, ...]:
    """Per column, what ``encode_features`` fits on the ``train`` rows (same rules, same order).

    Example:
        >>> df = pd.DataFrame({"size": [1.0, 3.0, 5.0], "color": ["red", "blue", "red"]})
        >>> [c.describe() for c in fit_encoding(df, np.array([0, 1]))]
        [{'name': 'size', 'type': 'number', 'mean': 2.0, 'std': 1.0}, {'name': 'color', 'type': 'string', 'categories': ['blue', 'red']}]
    """
    from tunekit.data._prepare import _categories, _is_categorical

    out: list[ColumnEncoding] = []
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            out.append(ColumnEncoding(name=str(name), kind=BOOL))
        elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(column.dtype):
            tr = column.iloc[train].to_numpy(dtype=np.float64)
            mean, std = float(tr.mean()), float(tr.std())
            out.append(ColumnEncoding(name=str(name), kind=NUMBER, mean=mean, std=std if std > 0 else 1.0))
        elif _is_categorical(column):
            cats = [str(c) for c in _categories(column.iloc[train])]
            if len(set(cats)) != len(cats):
                raise ConfigError(f"column '{name}' has categories that read the same as text ({', '.join(cats[:10])}); "
                                  "make its values one type (all strings) to save a model that takes raw rows")
            out.append(ColumnEncoding(name=str(name), kind=STRING, categories=tuple(cats)))
        else:
            raise ConfigError(f"column '{name}' has dtype {column.dtype}, which tunekit cannot use as a feature")
    return tuple(out)


def encode_rows(rows: pd.DataFrame, encoding: tuple[ColumnEncoding, ...]) -> np.ndarray:
    """Raw ``rows`` encoded with numpy exactly as tunekit's training matrix (float32)."""
    blocks = []
    for col in encoding:
        values = rows[col.name]
        if col.kind == STRING:
            codes = pd.Categorical(values.astype(str), categories=list(col.categories)).codes
            blocks.append((codes[:, None] == np.arange(len(col.categories))[None, :]).astype(np.float64))
        elif col.kind == BOOL:
            blocks.append(values.to_numpy(dtype=np.float64)[:, None])
        else:
            blocks.append(((values.to_numpy(dtype=np.float64) - col.mean) / col.std)[:, None])
    return np.concatenate(blocks, axis=1).astype(np.float32)


def full_sha256(source: Any, base_dir: str | os.PathLike[str] | None) -> str | None:
    """The sha256 of a CSV / Parquet data file (resolved as ``load_data`` does); None for others."""
    if not isinstance(source, (str, os.PathLike)) or Path(os.fspath(source)).suffix.lower() not in (".csv", ".parquet"):
        return None
    path = Path(os.fspath(source)).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir).expanduser() / path
    digest = hashlib.sha256()
    with path.resolve().open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_split(
    source: Any, *, target: str | None = None, task: str | None = None, val_fraction: float = 0.2, seed: int = 0,
    max_rows: int | None = None, base_dir: str | os.PathLike[str] | None = None,
) -> RawSplit:
    """The rows ``load_data(source, ...)`` splits, with the same arguments, as raw columns.

    Example:
        >>> raw = raw_split("iris", seed=1)
        >>> len(raw.train), len(raw.val), list(raw.features.columns)[:1]
        (120, 30, ['sepal length (cm)'])
    """
    from tunekit.data._load import split_frame

    frame, _name, _label, target, _identity, task, _y, classes, train, val = split_frame(
        source, target=target, task=task, val_fraction=val_fraction, seed=seed, max_rows=max_rows, base_dir=base_dir)
    return RawSplit(features=frame.drop(columns=[target]), target_name=target, target=frame[target], train=train,
                    val=val, task=task, classes=classes, sha256=full_sha256(source, base_dir))
