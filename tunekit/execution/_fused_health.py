"""Training health inside a fused group: every member probed as ``HealthProbe`` probes one model.

``FusedHealth`` is the fused core's ``Watcher``: at the start, after the epochs of
``probe_epochs`` (each member its own epochs), after an epoch whose loss is not finite and where
early stopping ends a member, it takes one inference-mode forward and backward pass of the whole
group on the probe batch (the first ``PROBE_ROWS`` training rows, as unfused) and records each
member's figures (``layer_figures``), its training and validation loss of every epoch, the
constant predictor's loss and what it uses; ``diagnosis(m)`` is its latest verdict. With
``--prune-unhealthy``, ``train_group`` stops a member diagnosed exploding, dead or symmetric
(after its first epoch), as the unfused runner does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunekit.factory._fused_types import Logs, MemberState
from tunekit.health import Diagnosis, HealthSeries, diagnose
from tunekit.health._baseline import constant_loss, finite_or_none
from tunekit.health._probe import PROBE_ROWS, layer_figures, probe_epochs, setup_of


def _round(value: float) -> float:
    return value if not math.isfinite(value) or value == 0 else float(f"{value:.4g}")


class MemberProbe:
    """One member's series and verdict (what ``record_health`` stores, as a ``HealthProbe``)."""

    def __init__(self, params: Mapping[str, Any], y_train: np.ndarray, steps_per_epoch: int) -> None:
        from tunekit.factory._build import INITIALIZERS, _optimizer

        self.params = params
        self.series: HealthSeries | None = None
        self.diagnosis: Diagnosis | None = None
        self.due = set(probe_epochs(int(params["epochs"])))
        self.previous: list[np.ndarray] = []
        self._setup = setup_of(INITIALIZERS[params["initializer"]](params), _optimizer(params, steps_per_epoch),
                               params["batch_norm"] != "none")
        self._baseline = finite_or_none(constant_loss(params["loss"], np.asarray(y_train)))

    def add(self, epoch: int, state: MemberState) -> None:
        """Record the probe after ``epoch`` (0: the start)."""
        if self.series is None:
            self.series = HealthSeries(layers=[layer.name for layer in state.layers],
                                       activations=[layer.activation for layer in state.layers],
                                       units=[int(layer.kernel.shape[1]) for layer in state.layers])
            self.series.baseline, self.series.setup = self._baseline, self._setup
        figures: dict[str, list[Any]] = {}
        ratios, current = [], []
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged member's norms are inf/nan: kept so
            for n, layer in enumerate(state.layers):
                one = layer_figures(layer.kernel, layer.bias, layer.grad, layer.act.reshape(len(layer.act), -1),
                                    layer.activation, self.previous[n] if self.previous else None)
                ratios.append(one.pop("update_ratio"))
                for key, value in one.items():
                    figures.setdefault(key, []).append(value)
                current.append(layer.kernel)
        self.previous = current
        self.series.add(epoch=epoch, loss=_round(state.loss), update_ratio=ratios, **figures)
        self.diagnosis = diagnose(self.series)


class FusedHealth:
    """The health probe of one fused group (a ``Watcher`` of ``fit_fused``).

    Example:
        >>> health = FusedHealth(resolved, x_train=x, y_train=y)  # doctest: +SKIP
        >>> fit_fused(resolved, ..., watcher=health); health.members[0].diagnosis.name  # doctest: +SKIP
        'ok'
    """

    def __init__(self, members: Sequence[Mapping[str, Any]], *, x_train: np.ndarray, y_train: np.ndarray) -> None:
        steps = max(1, math.ceil(len(x_train) / int(members[0]["batch_size"])))
        self.members = [MemberProbe(p, y_train, steps) for p in members]
        self._x, self._y = x_train[:PROBE_ROWS], y_train[:PROBE_ROWS]

    def diagnosis(self, m: int) -> Diagnosis | None:
        """Member ``m``'s latest verdict (None before its first probe after training began)."""
        return self.members[m].diagnosis

    def _probe(self, trainer: Any, epoch: int, members: list[int]) -> None:
        if members:
            for m, state in trainer.inspect(members, self._x, self._y).items():
                self.members[m].add(epoch, state)

    def start(self, trainer: Any) -> None:
        self._probe(trainer, 0, [m for m, probe in enumerate(self.members) if 0 in probe.due])
        for probe in self.members:
            probe.diagnosis = None  # the start alone is no verdict (HealthProbe's first is after epoch 1)

    def after_epoch(self, trainer: Any, epoch: int, logs: list[Logs | None]) -> None:
        due = []
        for m, log in enumerate(logs):
            if log is None:
                continue
            series, loss = self.members[m].series, log.get("loss")
            if series is not None:
                series.epoch_loss.append(None if loss is None else _round(float(loss)))
                val = log.get("val_loss")
                series.val_loss.append(None if val is None else _round(float(val)))
            if epoch + 1 in self.members[m].due or (loss is not None and not math.isfinite(loss)):
                due.append(m)
        self._probe(trainer, epoch + 1, due)

    def early_stopped(self, trainer: Any, epoch: int, members: list[int]) -> None:
        self._probe(trainer, epoch + 1, [m for m in members if self.members[m].series is not None
                                          and self.members[m].series.epochs[-1] != epoch + 1])
