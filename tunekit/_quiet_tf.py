"""Import TensorFlow and Keras without their C++ start-up lines (a leaf: ``load_spec`` uses it
for a study file that imports Keras itself, the execution layer before the first trial)."""

from __future__ import annotations

import os
import sys

#: TensorFlow settings tunekit gives a process that trains the model factory's networks, before
#: TensorFlow's first import, unless the environment already sets them.
TF_DEFAULTS = {
    # oneDNN's kernels are cached per thread, op and tensor shape and never released, so the
    # resident memory of a process that trains model after model grows with every new layer
    # shape a search tries (issue 27 item 26, benchmarks/results/memory-repeated.md). For the
    # factory's Dense networks oneDNN is no faster; for convolutions it is (benchmarks/results/
    # onednn.md), so a study of the user's own build(hp) keeps it, as does TF_ENABLE_ONEDNN_OPTS=1.
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def tf_environment_defaults(spec: object) -> None:
    """Set ``TF_DEFAULTS`` for a study of the model factory (``spec.model`` None), where the
    environment does not and TensorFlow is not loaded yet (its C++ side reads them once). The
    processes a run starts (workers, a local Dask cluster) inherit them."""
    if getattr(spec, "model", None) is not None or "tensorflow" in sys.modules:
        return
    for name, value in TF_DEFAULTS.items():
        os.environ.setdefault(name, value)


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
