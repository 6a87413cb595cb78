"""The model card: what a saved model takes and returns, where it came from, and the versions.

``best --save-model`` writes it into ``best.json`` beside the model (with the retraining's own
keys); ``tunekit predict --model best.keras`` reads it back (``read_card``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tunekit._errors import ConfigError
from tunekit.predict._encoding import ColumnEncoding

#: What a study of the user's own build(hp) / HyperModel saves, in one line.
OWN_MODEL_NOTE = ("this study trained your own build(hp) model: its inputs are whatever your build() takes "
                  "(tunekit's encoded matrix unless you changed it), so the model is saved as built, without "
                  "tunekit's encoding inside")


def versions() -> dict[str, str]:
    """The versions of tunekit, TensorFlow and Keras that saved the model."""
    import keras
    import tensorflow as tf

    from tunekit._version import __version__

    return {"tunekit": __version__, "tensorflow": tf.__version__, "keras": keras.__version__}


def metric_text(metric: str, value: float, confirmed: dict[str, Any] | None) -> str:
    """``val_accuracy 0.9617`` or, after ``run --confirm``, ``val_accuracy 0.9617 ± 0.0041 (3 runs)``."""
    if confirmed:
        return f"{metric} {confirmed['mean']:.4g} ± {confirmed['sd']:.4g} ({confirmed['n']} runs)"
    return f"{metric} {value:.4g}"


def model_card(
    *, summary: dict[str, Any], task: str, target: str | None, encoding: tuple[ColumnEncoding, ...] | None,
    classes: tuple[Any, ...] | None, sha256: str | None, fmt: str,
) -> dict[str, Any]:
    """The card's keys (merged into ``best.json``). ``encoding`` None: the user's own model."""
    confirmed = summary.get("confirmed")
    if encoding is None:
        takes, returns = OWN_MODEL_NOTE, "what your build() model returns"
    elif task == "regression":
        takes, returns = "raw rows: one input per column, by name", f"{target} in its own units"
    else:
        takes, returns = "raw rows: one input per column, by name", "one probability per class, in the order of classes"
    return {
        "format": fmt,
        "task": task,
        "target": target,
        "inputs": None if encoding is None else _inputs(encoding),
        "classes": None if classes is None else list(classes),
        "takes": takes,
        "returns": returns,
        "metric_summary": metric_text(summary["metric"], summary["value"], confirmed),
        "confirmed": confirmed,
        "data_sha256": sha256,
        "versions": versions(),
    }


def _inputs(encoding: tuple[ColumnEncoding, ...]) -> list[dict[str, Any]]:
    """The input columns for the card, each with the name its SavedModel serving argument has."""
    from tunekit.predict._wrap import serving_names

    names = serving_names(encoding)
    return [{**c.describe(), "serving_name": names[c.name]} for c in encoding]


def card_path(model: str | os.PathLike[str]) -> Path:
    """``best.json`` for ``best.keras`` (and for a SavedModel folder ``best``)."""
    path = Path(model)
    return path.with_suffix(".json") if path.suffix else path.with_name(path.name + ".json")


def read_card(model: str | os.PathLike[str]) -> dict[str, Any]:
    """The card beside ``model``; ConfigError when it is missing, unreadable or has no inputs."""
    path = card_path(model)
    if not path.is_file():
        raise ConfigError(f"no model card '{path}' beside the model '{model}'; save the model with "
                          "`tunekit best STUDY --save-model PATH.keras`, which writes both")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the model card '{path}': {exc}; save the model again with --save-model") from None
    if not isinstance(card, dict) or not card.get("inputs"):
        what = "is of your own build(hp) model, whose inputs tunekit does not know" if isinstance(card, dict) and \
            "inputs" in card else "was saved before tunekit kept the encoding inside the model"
        raise ConfigError(f"the model card '{path}' {what}; predict with your own code, or save it again with "
                          "`tunekit best STUDY --save-model PATH.keras`")
    return card
