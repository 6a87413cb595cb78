"""Process hygiene for a process that trains: TensorFlow's quiet import and thread budget,
releasing what a trained model leaves behind, and Optuna's per-trial log lines silenced.

Process-wide state a program that calls ``tunekit.run`` (a notebook) gets back as it was:
op determinism, TensorFlow's Python log level and Python's and NumPy's global random
generators are set for one trial and restored after it (``trial_process_state``); the garbage
collector's freeze lasts one run (``TrialRunner.process_scope``); fd 2 is redirected only
while TensorFlow is first imported. What stays changed is ``PROCESS_STATE_KEPT``, with why.
A CLI process also keeps Optuna's verbosity at ERROR (``quiet_optuna``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from types import MappingProxyType
from typing import Iterator, Mapping

from tunekit._quiet_tf import import_keras_quietly  # noqa: F401 - re-exported (execution uses it before each run)

#: Process-wide state a run changes and leaves changed, and why (docs/DESIGN.md says the same).
PROCESS_STATE_KEPT: Mapping[str, str] = MappingProxyType({
    "TF_CPP_MIN_LOG_LEVEL": "set to 3 before TensorFlow's first import unless already set (TUNEKIT_TF_VERBOSE=1 "
                            "skips it): TensorFlow's C++ side reads it once, so it cannot be scoped.",
    "TF_ENABLE_ONEDNN_OPTS": "set to 0 by a run of the model factory when TensorFlow is not loaded yet, unless "
                             "already set (TF_ENABLE_ONEDNN_OPTS=1 keeps oneDNN): oneDNN's per-shape kernel caches "
                             "grow with every layer shape a search tries; TensorFlow reads it once.",
    "keras.backend.clear_session": "each trial starts a fresh Keras session, so the layer-name counters and "
                                   "graph of models built before are reset.",
    "tensorflow global seed": "each trial sets it (keras.utils.set_random_seed); TensorFlow has no public way "
                              "to read the previous one back.",
})


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
def trial_process_state() -> Iterator[None]:
    """Process-wide settings one trial needs, restored when it ends.

    Op determinism on (the same seed gives the same result), TensorFlow's Python logger at
    ERROR (retracing notices are not actionable for users), one Grappler pass over each new
    function (``grappler_once``), and the global random generators of Python and NumPy saved
    (``keras.utils.set_random_seed`` reseeds them) and put back.
    """
    import numpy as np
    import tensorflow as tf

    enabled, disable = _determinism_switches()
    was_deterministic = enabled()
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    py_state, np_state = random.getstate(), np.random.get_state()
    tf.config.experimental.enable_op_determinism()
    tf_logger.setLevel(logging.ERROR)
    try:
        with grappler_once():
            yield
    finally:
        if not was_deterministic:
            disable()
        tf_logger.setLevel(level)
        random.setstate(py_state)
        np.random.set_state(np_state)


def _determinism_switches() -> tuple:
    """TensorFlow's ``is_op_determinism_enabled`` and ``disable_op_determinism``: not exported
    under ``tf.config`` (only ``enable_op_determinism`` is), so read from the private module;
    ``tests/execution/test_global_state.py`` fails when they move."""
    from tensorflow.python.framework import config

    return config.is_op_determinism_enabled, config.disable_op_determinism


@contextlib.contextmanager
def grappler_once() -> Iterator[None]:
    """TensorFlow's graph optimiser (Grappler) makes one pass over each function this thread calls
    for the first time, not two (its default): a trial's first-call set-up is shorter and its
    later steps are as fast (``benchmarks/fused_phases.py --grappler-once``, and ``--run --fuse 1``
    side by side with an older checkout). This thread's function-call options, which ``tf.function`` reads, are
    restored after; where TensorFlow's private API for them changed, nothing is changed
    (``tests/execution/test_global_state.py`` fails then)."""
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
    from tensorflow.python.eager import context  # the thread's FunctionCallOptions: no public API

    ctx = context.context()
    before = ctx.function_call_options
    try:
        config = config_pb2.ConfigProto()
        config.ParseFromString(before.config_proto_serialized)
        config.graph_options.rewrite_options.meta_optimizer_iterations = rewriter_config_pb2.RewriterConfig.ONE
        ctx.function_call_options = context.FunctionCallOptions(executor_type=before.executor_type, config_proto=config)
    except (AttributeError, TypeError, ValueError):
        pass
    try:
        yield
    finally:
        ctx.function_call_options = before


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


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the operating system (glibc's ``malloc_trim``).

    TensorFlow frees a trained model's graphs and buffers from many threads, each with its own
    glibc arena; the freed chunks stay mapped in those arenas, so the resident size of a process
    that trains model after model creeps up although the memory in use does not (issue 27:
    +0.35 MB a trial over repeated ``tunekit.run`` calls). Called after every trial; a few ms.
    False where the C library has no ``malloc_trim`` (macOS, musl): nothing to do there.

    What this cannot give back (issue 27, ``python -m benchmarks.memory``, whose table shows the
    C heap in use next to RSS): oneDNN's primitives, which TensorFlow caches per thread, op and
    tensor shape (in use, not garbage: they grow while new layer shapes and batch sizes appear and
    stay flat when every trial trains one architecture, ``--space fixed``; which is why tunekit
    turns oneDNN off unless told otherwise, ``tunekit/_quiet_tf.py``), and the heap's fragmentation
    (RSS creeping up while the heap in use stays flat). Python objects, TensorFlow's function
    library and its gradient registry stay flat from trial to trial.
    """
    global _malloc_trim
    if _malloc_trim is None:
        import ctypes

        try:
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim is False:
        return False
    _malloc_trim(0)
    return True


_malloc_trim = None


def _gradient_registry() -> dict | None:
    """TensorFlow's gradient registry (the private ``ops._gradient_registry._registry`` dict),
    or None, warned once per process, when this TensorFlow has moved it: the memory fix is
    then lost (``tests/strategies/test_private_internals.py`` fails on such a release)."""
    global _registry_missing_said
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        return registry
    if not _registry_missing_said:
        _registry_missing_said = True
        import warnings

        warnings.warn("this TensorFlow has no private ops._gradient_registry._registry dict: each trained model's "
                      "traced graph stays in memory (about 6 MB a trial); please report it to tunekit with your "
                      "TensorFlow version", RuntimeWarning, stacklevel=2)
    return None


_registry_missing_said = False
