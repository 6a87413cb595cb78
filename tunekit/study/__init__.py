"""The study layer: the study database as users see it.

Run or join a study (``run``, ``join``: create or resume it, check it against the study file,
then hand its trials to the execution layer), read it back (``trials_frame``,
``studies_frame``, ``best_summary``, ``export_trials``), retrain its best trial
(``save_best_model``) and compare strategies on it (``compare``). The CLI and the report sit
above it; it never imports them.
"""

from __future__ import annotations

from tunekit._records import fail_reason, require_complete_trial, trial_counts
from tunekit.execution import quiet_optuna
from tunekit.study._best import rebuild_dataset, save_best_model
from tunekit.study._compare import compare, startup_note, study_name_for, summarize
from tunekit.study._frames import best_summary, export_trials, studies_frame, trials_frame
from tunekit.study._run import finished_count, join, run

__all__ = [
    "best_summary", "compare", "export_trials", "fail_reason", "finished_count", "join", "quiet_optuna",
    "rebuild_dataset", "require_complete_trial", "run", "save_best_model", "startup_note", "studies_frame",
    "study_name_for", "summarize", "trial_counts", "trials_frame",
]
