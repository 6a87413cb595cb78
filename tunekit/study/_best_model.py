"""``tunekit.best_model``: the best trial's model, retrained, taking raw rows, from Python."""

from __future__ import annotations

import os
from typing import Any

import optuna


def best_model(
    study: str | optuna.Study, path: str | os.PathLike[str] | None = None, *, storage: str | None = None,
    fmt: str = "keras", force: bool = False,
) -> Any:
    """Retrain the best trial of ``study`` (a name or a loaded study) and return its Keras model,
    which takes raw rows: a dict of columns by name, tunekit's encoding inside. With ``path`` it is
    also saved there (``fmt`` keras or savedmodel) with its model card (``.json``) beside it.

    Example:
        >>> model = tunekit.best_model("houses", "best.keras")  # doctest: +SKIP
        >>> df = pd.read_csv("new.csv")  # doctest: +SKIP
        >>> model.predict({name: df[name].to_numpy() for name in df})  # doctest: +SKIP
    """
    from tunekit._output import refuse_overwrite
    from tunekit.predict import check_model_path, model_card_path
    from tunekit.storage._storage import load_study
    from tunekit.study._best import retrain_best, write_model

    checked = None
    if path is not None:
        refuse_overwrite([path, model_card_path(path)], force=force, what="the model")
        checked = check_model_path(path, fmt, force=force)
    loaded = load_study(study, storage) if isinstance(study, str) else study
    model, info = retrain_best(loaded, fmt=fmt)
    if checked is not None:
        write_model(model, info, *checked, fmt)
    return model
