"""The runner's side of training health: the probe on every trial, its figures stored on the
trial, and ``--prune-unhealthy`` (a trial diagnosed exploding, dead or symmetric is stopped and
recorded PRUNED with the diagnosis as its reason).

The probe batch is the first ``PROBE_ROWS`` training rows (the split is already shuffled with
the study's seed), the same in every trial of the study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna

from tunekit._records import PRUNED_REASON
from tunekit.execution._trial import RunnerTrial

if TYPE_CHECKING:
    import keras

    from tunekit.data import Dataset
    from tunekit.health._probe import HealthProbe

#: Epochs a trial trains before ``--prune-unhealthy`` may stop it: the first epoch's end is the
#: first probe after any training step, so a diagnosis is never made on the initial weights alone.
PRUNE_AFTER_EPOCHS = 1


def health_probe(trial: RunnerTrial, dataset: "Dataset", *, prune: bool,
                 ) -> tuple["HealthProbe", list["keras.callbacks.Callback"]]:
    """The probe for one trial, and the callbacks that follow the runner's report-and-prune: with
    ``prune``, one that stops the trial on a diagnosis in ``PRUNABLE`` (after the epoch's value is
    reported, so a pruned trial keeps its curve up to the epoch it was stopped at)."""
    import keras

    from tunekit.health import PRUNABLE
    from tunekit.health._probe import HealthProbe

    probe = HealthProbe(dataset.x_train, dataset.y_train)
    if not prune:
        return probe, []

    class PruneUnhealthy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            diagnosis = probe.diagnosis
            if diagnosis is not None and epoch + 1 >= PRUNE_AFTER_EPOCHS and diagnosis.name in PRUNABLE:
                reason = f"unhealthy at epoch {epoch + 1}: {diagnosis.name}: {diagnosis.reason}"
                trial.set_user_attr(PRUNED_REASON, reason[:1000])
                raise optuna.TrialPruned(reason)

    return probe, [PruneUnhealthy()]


def record_health(trial: RunnerTrial, probe: "HealthProbe | None") -> None:
    """Store the probe's figures and diagnosis on ``trial`` (nothing when it never probed)."""
    from tunekit.health import diagnose
    from tunekit.health._attrs import health_attrs

    if probe is None or probe.series is None or probe.series.probes == 0:
        return
    for key, value in health_attrs(probe.series, probe.diagnosis or diagnose(probe.series)).items():
        trial.set_user_attr(key, value)
