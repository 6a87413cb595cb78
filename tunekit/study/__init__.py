"""The study layer: the study database as users see it.

Run or join a study (``run``, ``join``: create or resume it, check it against the study file,
then hand its trials to the execution layer), read it back (``trials_frame``,
``studies_frame``, ``best_summary``, ``export_trials``), retrain its best trial
(``save_best_model``) and compare strategies on it (``compare``); what the commands print
(``trial_line``, ``run_summary``, ``best_report``/``best_lines``, ``trials_text``,
``comparison_text``); training health (``health_summary``, ``trial_health``, ``health_by_param``).
The CLI and the report sit above it; it never imports them. The CLI reaches the layers below
through the names exported here (``load_spec``, ``load_study``, ...).
"""

from __future__ import annotations

from tunekit._records import fail_reason, kind_counts, require_complete_trial, trial_counts
from tunekit._spec import load_spec
from tunekit._output import refuse_overwrite
from tunekit.storage._storage import check_storage, disk_full, load_study
from tunekit.execution import quiet_optuna
from tunekit.study._best import raw_input_columns, rebuild_dataset, retrain_best, save_best_model
from tunekit.study._best_model import best_model
from tunekit.study._compare import compare, startup_note, study_name_for, summarize
from tunekit.study._frames import best_summary, export_trials, studies_frame, trials_frame
from tunekit.study._health import (
    health_by_param, health_counts, health_summary, health_summary_lines, trial_health, trial_health_lines,
)
from tunekit.study._import_kt import KerasTunerImport, import_keras_tuner
from tunekit.study._join import join
from tunekit.study._run import finished_count, run
from tunekit.study._text import best_lines, best_report, comparison_text, run_summary, trial_line, trials_text

__all__ = [
    "check_storage", "refuse_overwrite",
    "best_lines", "best_model", "best_report", "best_summary", "compare",
    "comparison_text", "disk_full", "export_trials", "fail_reason", "finished_count", "health_by_param", "health_counts",
    "health_summary", "health_summary_lines", "import_keras_tuner", "join", "kind_counts", "KerasTunerImport",
    "load_spec", "load_study", "quiet_optuna", "raw_input_columns", "rebuild_dataset", "require_complete_trial",
    "retrain_best", "run", "run_summary",
    "save_best_model", "startup_note", "studies_frame", "study_name_for", "summarize", "trial_counts", "trial_line",
    "trial_health", "trial_health_lines", "trials_frame", "trials_text",
]
