"""Data sets for tuning: built-ins, CSV / Parquet files or DataFrames, split and encoded.

>>> from tunekit.data import load_data
>>> ds = load_data("breast_cancer", seed=0)
>>> ds.task, ds.classes
('binary', ('malignant', 'benign'))
"""

from __future__ import annotations

import importlib
from typing import Any

from tunekit.data._identity import BUILTIN_DATASETS, data_summary

__all__ = ["BUILTIN_DATASETS", "TASKS", "Dataset", "data_summary", "load_data"]

# Loaded on first use: pandas and scikit-learn are slow to import, and `data_summary` needs neither.
_LAZY = {"TASKS": "tunekit.data._load", "load_data": "tunekit.data._load", "Dataset": "tunekit.data._prepare"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunekit.data' has no attribute {name!r}")
