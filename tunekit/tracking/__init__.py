"""Results where users already look: MLflow runs and TensorBoard event files, sent from the
study database (the source of truth) by the process that runs or exports the study.

``run(..., mlflow=URI, tensorboard=DIR)`` syncs after every finished trial and at the end
(``track_run``); ``export_study`` sends an existing study's trials afterwards, never twice.
MLflow and TensorBoard are imported only when asked for (``pip install 'tunekit[tracking]'``).

Example:
    >>> from tunekit.tracking import Tracking
    >>> Tracking.open(mlflow=None, tensorboard=None, study="digits", database="sqlite:///tunekit.db") is None
    True
"""

from __future__ import annotations

from tunekit.tracking._mlflow import MlflowSink, check_mlflow
from tunekit.tracking._record import TrialRecord, trial_record
from tunekit.tracking._sync import Tracking, best_trial, export_study, log_model, track_run
from tunekit.tracking._tensorboard import TensorBoardSink, check_tensorboard

__all__ = ["MlflowSink", "TensorBoardSink", "Tracking", "TrialRecord", "check_mlflow", "check_tensorboard",
           "best_trial", "export_study", "log_model", "track_run", "trial_record"]
