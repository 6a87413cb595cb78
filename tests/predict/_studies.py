"""Tiny real studies for the prediction tests: a CSV with string, bool and integer columns whose
validation rows hold categories the training rows never had, and the built-in data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SPACE_FIXED = {"n_layers": 1, "batch_size": 16}


def write_houses(folder: Path, n: int = 160) -> Path:
    """``houses.csv``: size, city (4 common and 12 one-row cities), rooms, garden, band (cheap/mid/dear).

    Columns in an order of their own; the one-row cities make some validation categories unseen."""
    rng = np.random.default_rng(0)
    city = rng.choice(["north", "south", "east", "west"], n).astype(object)
    city[:12] = [f"hamlet{i}" for i in range(12)]
    size = rng.uniform(40, 200, n).round(1)
    rooms = rng.integers(1, 6, n)
    garden = rng.random(n) < 0.5
    price = 1000 * size + 20000 * rooms + 30000 * garden + np.where(city == "north", 50000, 0) + rng.normal(0, 5000, n)
    band = np.where(price < np.quantile(price, 1 / 3), "cheap", np.where(price < np.quantile(price, 2 / 3), "mid", "dear"))
    path = folder / "houses.csv"
    pd.DataFrame({"size": size, "city": city, "band": band, "rooms": rooms, "garden": garden}).to_csv(path, index=False)
    return path


def run_study(url: str, name: str, data: str, **spec: Any) -> Any:
    """One trial of 2 epochs (the model factory, fixed small architecture)."""
    import tunekit
    from tunekit import Float, Int, StudySpec

    study_spec = StudySpec(data=data, name=name, space={"units": Int(8, 16), "learning_rate": Float(5e-3, 5e-2, log=True)},
                           fixed=SPACE_FIXED, epochs=2, **spec)
    return tunekit.run(study_spec, strategy="random", n_trials=1, storage=url, seed=0)


def raw_val_rows(study: Any) -> tuple[pd.DataFrame, pd.Series]:
    """The study's validation rows as the data has them (features, target), read again."""
    from tunekit.predict import raw_split
    from tunekit.study._best import _rebuild

    _, args = _rebuild(study)
    raw = raw_split(args.pop("source"), **args)
    return raw.features.iloc[raw.val], raw.target.iloc[raw.val]


def as_inputs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A DataFrame as the saved model takes it (the README's line)."""
    return {name: frame[name].to_numpy() for name in frame}


def metric_on_rows(probabilities_or_values: np.ndarray, truth: pd.Series, classes: list[Any] | None) -> float:
    """Accuracy (labels as the data has them) or RMSE in target units."""
    if classes:
        labels = np.asarray(classes, dtype=object)[np.argmax(probabilities_or_values, axis=1)]
        return float(np.mean(labels == truth.to_numpy(dtype=object)))
    return float(np.sqrt(np.mean((probabilities_or_values[:, 0] - truth.to_numpy(dtype=np.float64)) ** 2)))
