"""Data sets for tuning: built-ins, CSV / Parquet files or DataFrames, split and encoded.

>>> from tunekit.data import load_data
>>> ds = load_data("breast_cancer", seed=0)
>>> ds.task, ds.classes
('binary', ('malignant', 'benign'))
"""

from __future__ import annotations

from tunekit.data._load import BUILTIN_DATASETS, TASKS, load_data
from tunekit.data._prepare import Dataset

__all__ = ["BUILTIN_DATASETS", "TASKS", "Dataset", "load_data"]
