"""The execution layer: running trials.

One trial (``TrialRunner``: sample, build, train, record), one worker's loop on a study
(``work``: budget, claim, heartbeat, retry), its signal handling (``Interrupts``), N worker
processes on one machine (``run_processes``), trials lost with their worker, a database
outage ridden out, and the process hygiene of TensorFlow. It knows nothing of study files
beyond ``StudySpec`` and never imports the study layer or the CLI, which sit above it.
"""

from __future__ import annotations

from tunekit.execution._bootstrap import WorkerPlan
from tunekit.execution._forkserver import start_early as start_worker_server
from tunekit.execution._fused import fused_summary
from tunekit.execution._lost import retry_lost_trial
from tunekit.execution._loop import DEFAULT_HEARTBEAT, OnTrial, join_study, work
from tunekit.execution._processes import run_processes, worker_count, worker_seed
from tunekit.execution._resilient import DatabaseUnreachable, db_retry_seconds
from tunekit.execution._runner import Speedups, TrialRunner, default_speedups, trial_seed
from tunekit.execution._signals import Interrupts, WorkerStopped
from tunekit.execution._trial import RunnerTrial
from tunekit.execution._tf import import_keras_quietly, limit_tf_threads, quiet_optuna, thread_budget

from tunekit.execution._dask import connect as dask_connect, run_on_dask, spawns_here as dask_spawns_here

__all__ = [
    "DEFAULT_HEARTBEAT", "DatabaseUnreachable", "Interrupts", "OnTrial", "RunnerTrial", "Speedups", "TrialRunner",
    "WorkerPlan", "WorkerStopped",
    "dask_connect", "dask_spawns_here", "db_retry_seconds", "default_speedups", "fused_summary", "import_keras_quietly", "join_study", "limit_tf_threads", "quiet_optuna",
    "retry_lost_trial", "run_on_dask", "run_processes", "start_worker_server", "thread_budget", "trial_seed", "work", "worker_count", "worker_seed",
]
