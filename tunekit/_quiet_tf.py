"""Import TensorFlow and Keras without their C++ start-up lines (a leaf: ``load_spec`` uses it
for a study file that imports Keras itself, the execution layer before the first trial)."""

from __future__ import annotations

import os
import sys


def import_keras_quietly() -> None:
    """Import TensorFlow and Keras with fd 2 silenced during the import only.

    TensorFlow's C++ side prints absl/oneDNN start-up lines before Python can configure
    logging; they are noise in a CLI. Errors still raise normally after stderr is restored.
    Set TUNEKIT_TF_VERBOSE=1 to see them.
    """
    if "keras" in sys.modules or os.environ.get("TUNEKIT_TF_VERBOSE"):
        import keras  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        import keras  # noqa: F401

        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
