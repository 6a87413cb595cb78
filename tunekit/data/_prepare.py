"""Split a checked table into train/validation arrays: one-hot, standardise, encode labels.

Everything that is fitted (categories, means, standard deviations, the target scale) is
fitted on the training part only, so no validation information leaks into training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from tunekit._errors import ConfigError

#: A string column with more distinct values than this in the training part is refused:
#: it is most likely an identifier or free text, and one-hot encoding it would explode.
MAX_CATEGORIES = 100


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into train and validation arrays, ready for ``model.fit``.

    Features are float32 (numeric columns standardised on the training part, string
    columns one-hot encoded, bool columns 0/1). Labels are int32 class indices
    ``0..n_classes-1`` for classification (``classes[i]`` is the original label of index
    ``i``) and the standardised float32 target for regression (``target_scale`` holds the
    training ``(mean, std)`` to map predictions back: ``y * std + mean``).
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int | None
    feature_names: tuple[str, ...]
    target: str
    classes: tuple[Any, ...] | None
    target_scale: tuple[float, float] | None
    identity: dict[str, Any] = field(default_factory=dict)  # a file's name, file_rows, sha256

    @property
    def input_shape(self) -> tuple[int]:
        """The shape of one example, ``(n_features,)``: what ``keras.Input`` needs."""
        return (int(self.x_train.shape[1]),)

    @property
    def n_train(self) -> int:
        """Number of training rows."""
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        """Number of validation rows."""
        return int(self.x_val.shape[0])

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary stored with the study (no arrays)."""
        return {
            "name": self.name,
            "task": self.task,
            "target": self.target,
            "rows": self.n_train + self.n_val,
            "train_rows": self.n_train,
            "val_rows": self.n_val,
            "features": self.input_shape[0],
            "n_classes": self.n_classes,
            "classes": None if self.classes is None else list(self.classes),
            "target_scale": None if self.target_scale is None else list(self.target_scale),
            **self.identity,
        }


def split_indices(
    y: np.ndarray,
    *,
    classes: tuple[Any, ...] | None,
    target: str,
    val_fraction: float,
    seed: int,
    label: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation row indices; stratified for classification when feasible.

    ``y`` holds class indices into ``classes`` (classification) or is ``classes=None``.

    Raises ``ConfigError`` when the split would leave fewer than 2 rows on either side or
    (classification) a class has a single example.
    """
    n = len(y)
    n_val = math.ceil(val_fraction * n)  # the same rounding as train_test_split
    n_train = n - n_val
    if n_val < 2:
        raise ConfigError(
            f"{label} has {n} rows, and val_fraction={val_fraction} leaves {n_val} validation "
            "row(s); at least 2 are needed. Raise val_fraction or use more rows."
        )
    if n_train < 2:
        raise ConfigError(
            f"{label} has {n} rows, and val_fraction={val_fraction} leaves {n_train} training "
            "row(s); at least 2 are needed. Lower val_fraction or use more rows."
        )
    strata = None
    if classes is not None:
        values, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            singles = [repr(classes[int(v)]) for v in values[counts < 2]]
            shown = ", ".join(singles[:10]) + (", ..." if len(singles) > 10 else "")
            which = f"class {shown} has" if len(singles) == 1 else (
                f"{len(singles)} classes ({shown}) have"
            )
            raise ConfigError(
                f"{label}: target {target!r}: {which} only 1 row, and a stratified split needs "
                "at least 2 rows per class. Drop those rows, add examples, or use a task that "
                "fits the target (a numeric target can be task='regression')."
            )
        if n_val >= len(values) and n_train >= len(values):
            strata = y
    rows = np.arange(n)
    train, val = train_test_split(rows, test_size=n_val, random_state=seed, stratify=strata)
    return np.asarray(train), np.asarray(val)


def _is_categorical(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(
        column.dtype
    ) or pd.api.types.is_string_dtype(column.dtype)


def _categories(column: pd.Series) -> list[Any]:
    """Distinct values of a training column: category order, or sorted."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(column.unique().tolist())
        return [c for c in column.dtype.categories.tolist() if c in present]
    values = pd.unique(column).tolist()
    try:
        return sorted(values)
    except TypeError:  # mixed types in an object column
        return sorted(values, key=str)


def encode_features(
    features: pd.DataFrame, train: np.ndarray, val: np.ndarray, *, label: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Encode feature columns fitted on the ``train`` rows; return (x_train, x_val, names).

    Numeric columns are standardised (a constant column keeps std 1), bool columns become
    0/1, string / categorical columns become one 0/1 column per training category (an
    unseen validation category encodes as all zeros).
    """
    blocks_train: list[np.ndarray] = []
    blocks_val: list[np.ndarray] = []
    names: list[str] = []
    for name in features.columns:
        column = features[name]
        col_train, col_val = column.iloc[train], column.iloc[val]
        if pd.api.types.is_bool_dtype(column.dtype):
            blocks_train.append(col_train.to_numpy(dtype=np.float64)[:, None])
            blocks_val.append(col_val.to_numpy(dtype=np.float64)[:, None])
            names.append(str(name))
        elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(
            column.dtype
        ):
            tr = col_train.to_numpy(dtype=np.float64)
            mean, std = float(tr.mean()), float(tr.std())
            std = std if std > 0 else 1.0
            blocks_train.append(((tr - mean) / std)[:, None])
            blocks_val.append(((col_val.to_numpy(dtype=np.float64) - mean) / std)[:, None])
            names.append(str(name))
        elif _is_categorical(column):
            cats = _categories(col_train)
            if len(cats) > MAX_CATEGORIES:
                raise ConfigError(
                    f"{label}: string column '{name}' has {len(cats)} distinct values in the "
                    f"training part (more than {MAX_CATEGORIES}), which looks like an identifier "
                    "or free text; drop that column or encode it as numbers first."
                )
            for part, block in ((col_train, blocks_train), (col_val, blocks_val)):
                codes = pd.Categorical(part, categories=cats).codes  # unseen -> -1
                block.append(
                    (codes[:, None] == np.arange(len(cats))[None, :]).astype(np.float64)
                )
            names.extend(f"{name}={cat}" for cat in cats)
        else:
            raise ConfigError(
                f"{label}: column '{name}' has dtype {column.dtype}, which tunekit cannot use "
                "as a feature; convert it to numbers or strings, or drop it."
            )
    x_train = np.concatenate(blocks_train, axis=1).astype(np.float32)
    x_val = np.concatenate(blocks_val, axis=1).astype(np.float32)
    return x_train, x_val, tuple(names)


def scale_target(
    y: np.ndarray, train: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Standardise a regression target with the training mean/std (std 1 if constant)."""
    tr = y[train].astype(np.float64)
    mean, std = float(tr.mean()), float(tr.std())
    std = std if std > 0 else 1.0
    y_train = ((tr - mean) / std).astype(np.float32)
    y_val = ((y[val].astype(np.float64) - mean) / std).astype(np.float32)
    return y_train, y_val, (mean, std)
