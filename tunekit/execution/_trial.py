"""What the runner needs from a trial (``RunnerTrial``), and how a trial's failure is told:
out of memory, or a failure that stops the run.

``TrialRunner.train`` records into anything that has these few members: an Optuna
``optuna.Trial`` during a study, a small stand-in when ``tunekit best --save-model``
retrains the best trial (``tunekit.study._best``).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Protocol, runtime_checkable

import optuna

from tunekit._records import FAIL_REASON, STOPPED_RUN


@runtime_checkable
class StudyDirection(Protocol):
    """The part of a study the runner reads: which way the metric is better."""

    @property
    def direction(self) -> optuna.study.StudyDirection: ...


@runtime_checkable
class RunnerTrial(Protocol):
    """The part of a trial ``TrialRunner.train`` uses: its number (for the training seed),
    its study's direction (early stopping's mode), user attributes, per-epoch reports and
    the pruning question. ``optuna.Trial`` is one.

    Example:
        >>> import optuna
        >>> study = optuna.create_study(direction="maximize")
        >>> isinstance(study.ask(), RunnerTrial)
        True
    """

    @property
    def number(self) -> int: ...

    @property
    def study(self) -> StudyDirection: ...

    @property
    def user_attrs(self) -> Mapping[str, Any]: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...

    def report(self, value: float, step: int) -> None: ...

    def should_prune(self) -> bool: ...


#: Trial system attr: TensorFlow's intra-op threads the trial trained with (0: TensorFlow's
#: default, every core); ``tunekit worker --threads N`` and ``run --workers N`` set them.
TF_THREADS = "tunekit:tf_threads"


def record_threads(trial: optuna.Trial) -> None:
    """Record ``TF_THREADS`` on ``trial`` (a system attribute: not part of the exports)."""
    import tensorflow as tf

    threads = int(tf.config.threading.get_intra_op_parallelism_threads())
    trial.storage.set_trial_system_attr(trial._trial_id, TF_THREADS, threads)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``; for TensorFlow's ``Graph execution error:`` (whose
    first line says nothing), the cause it ends with and the Python line it names last.

    >>> one_line(ValueError("bad units; more on the next line" + chr(10) + "more"))
    'ValueError: bad units; more on the next line'
    """
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.startswith("Graph execution error") and len(lines) > 1:
        causes = [line for line in lines if not line.startswith(("File ", "[[", "Detected at node", "Graph execution"))]
        where = [line for line in lines if line.startswith("File ")]
        if causes:
            first = causes[-1] + (f" ({where[-1]})" if where else "")
    cause = exc.__cause__
    if type(exc).__name__ == "StorageInternalError" and cause is not None:  # Optuna's message hides the cause
        return f"{type(exc).__name__}: {first} ({one_line(cause)})"
    return f"{type(exc).__name__}: {first}"


def stop_run(trial: RunnerTrial, reason: str) -> None:
    """Record on ``trial`` that the run stops during it, and why: its ``fail_reason`` and
    ``STOPPED_RUN`` (a trial failed so does not count toward ``--trials``)."""
    trial.set_user_attr(FAIL_REASON, reason[:1000])
    trial.set_user_attr(STOPPED_RUN, True)


def physical_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's (cgroup v2)
    limit when lower; very large when the platform does not say."""
    try:
        total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        total = 2**62
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def out_of_memory(exc: BaseException) -> bool:
    """TensorFlow's ``ResourceExhaustedError`` (an allocation failed) or Python's MemoryError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"
