"""Where and how a model is saved: ``keras`` (one ``.keras`` file), ``savedmodel`` (a folder that
TensorFlow Serving loads, written by ``model.export``); ``onnx`` is refused with the reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunekit._errors import ConfigError
from tunekit._output import check_output_file
from tunekit.predict._card import card_path

if TYPE_CHECKING:
    import keras

FORMATS: tuple[str, ...] = ("keras", "savedmodel", "onnx")

#: Measured with tf2onnx 1.17.0 and onnxruntime 1.32 on Keras 3.15 / TensorFlow 2.21 (see README).
ONNX_REFUSED = ("--format onnx is not available with Keras 3.15: its converter (tf2onnx 1.17, which "
                "model.export(format='onnx') uses) leaves the standardisation weights as model inputs and cannot "
                "convert the string-category lookups; use --format savedmodel (TensorFlow Serving) or keras")


def check_model_path(path: str | os.PathLike[str], fmt: str = "keras", *, force: bool = False) -> tuple[Path, Path]:
    """``(model path, card path)`` checked before any training; ConfigError when either cannot be written.

    Example:
        >>> check_model_path("best.keras")
        (PosixPath('best.keras'), PosixPath('best.json'))
    """
    if fmt == "onnx":
        raise ConfigError(ONNX_REFUSED)
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not a model format; use one of: keras, savedmodel")
    out = Path(path)
    if fmt == "keras":
        out = check_output_file(out, suffixes=(".keras",), what="the model")
    else:
        if out.suffix:
            raise ConfigError(f"cannot write the SavedModel '{out}': it is a folder, so give a name without a suffix "
                              "(e.g. best_model)")
        if out.exists() and not (out / "saved_model.pb").is_file():
            raise ConfigError(f"cannot write the SavedModel '{out}': it exists and is not a SavedModel; choose another path")
        if out.exists() and not force:
            raise ConfigError(f"cannot write the SavedModel '{out}': it already exists; pass --force to overwrite it, "
                              "or choose another path")
        check_output_file(out.with_name(out.name + ".tmp"), what="the SavedModel")  # its folder exists, writable
    return out, check_output_file(card_path(out), what="the model's JSON")


def save_model(model: keras.Model, out: Path, fmt: str = "keras", inputs: list[dict[str, Any]] | None = None) -> None:
    """Save ``model`` to ``out`` in ``fmt``; ConfigError when it cannot be written. ``inputs`` (the
    card's) name a SavedModel's serving arguments; without them the model's own input names do."""
    try:
        if fmt == "keras":
            for part in [model, *model.layers]:  # the trained model inside the raw-rows one is compiled
                optimizer = getattr(part, "optimizer", None)
                if optimizer is not None and not optimizer.built:  # else loading warns of skipped variables
                    optimizer.build(part.trainable_variables)
            model.save(out)
            return
        if out.exists():
            shutil.rmtree(out)  # a SavedModel (check_model_path made sure), overwritten with --force
        from tunekit.predict._wrap import serving_signature

        signature = serving_signature(inputs) if inputs else None
        model.export(str(out), format="tf_saved_model", verbose=False, input_signature=signature)
    except OSError as exc:
        raise ConfigError(f"cannot write the model '{out}': {exc.strerror or exc}") from None
