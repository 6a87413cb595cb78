"""Process hygiene for a process that trains: TensorFlow's quiet import and thread budget,
releasing what a trained model leaves behind, and Optuna's per-trial log lines silenced."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


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
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices and similar: not actionable for users


def available_cores() -> int:
    """CPU cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_budget(n_workers: int, cores: int | None = None) -> int:
    """TensorFlow intra-op threads per worker so ``n_workers`` processes share the cores."""
    return max(1, (cores or available_cores()) // max(1, n_workers))


def limit_tf_threads(threads: int) -> None:
    """Size TensorFlow's thread pools; call before TensorFlow runs its first op."""
    for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import_keras_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process: the env vars apply
        pass


def quiet_optuna() -> None:
    """Silence Optuna's per-trial log lines and tracebacks (the CLI prints its own)."""
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").propagate = False


@contextlib.contextmanager
def released_custom_gradients() -> Iterator[None]:
    """Forget the gradient functions TensorFlow registers while the block traces a model.

    Each traced Keras train step registers a ``CustomGradient-<uid>`` entry in TensorFlow's
    global gradient registry (``ReplicaContext.all_reduce`` in the optimizer's update uses
    ``tf.custom_gradient``), and that entry's closure holds the whole traced graph. Nothing
    ever removes it, so a process leaks every train step it traces: about 6 MB per trained
    model on a small MLP (``benchmarks/results/memory.md``). The registry is read only while
    gradients are built, i.e. while a train step is traced; once the block's models are
    trained and dropped, the entries it added are dead weight and are removed here.

    Example:
        >>> with released_custom_gradients():  # doctest: +SKIP
        ...     model.fit(x, y)
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for key in [k for k in list(registry) if k not in before and str(k).startswith("CustomGradient-")]:
                registry.pop(key, None)


def _gradient_registry() -> dict | None:
    """TensorFlow's gradient registry (a private dict), or None if this TensorFlow has none."""
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None
