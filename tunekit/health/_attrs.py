"""How a trial's health is stored in the study database, and read back.

Four trial user attributes (JSON, so optuna-dashboard shows them with no extra server):

- ``health``: the diagnosis, one of ``DIAGNOSES``;
- ``health_layer``: the layer that triggered it (``dense_0`` ... ``output``), or null;
- ``health_reason``: a sentence saying what was measured and what to change;
- ``health_series``: the figures, compact: ``{"layers": [...], "activations": [...], "units":
  [...], "epochs": [0, 1, 2, 4, ...], "loss": [...], "epoch_loss": [...], "grad_norm": [[...],
  ...], ...}``, where ``epochs`` says after which epoch each probe was taken, ``loss`` is the
  probe batch's loss at each probe, ``epoch_loss`` the training loss of every epoch, and every
  per-layer figure a list over probes of a list over layers; floats to 4 significant digits;
  ``val_loss`` (every epoch's validation loss), ``baseline`` (a constant predictor's loss on the
  training labels) and ``setup`` (the trial's initializer, optimizer, learning rate, clipnorm).

``health_columns`` turns them into a trial's export columns: numbers as numbers, lists as lists.

Example:
    >>> from tunekit.health._rules import HealthSeries, diagnose
    >>> s = HealthSeries(layers=["dense_0", "output"], activations=["relu", "softmax"], units=[4, 3])
    >>> s.add(epoch=0, loss=1.0, grad_norm=[0.1, 1.0], weight_norm=[1.0, 1.0], act_mean=[0.1, 0.3], act_std=[0.1, 0.1],
    ...       dead=[0.0, None], saturated=[None, None], symmetric=[False, False])
    >>> attrs = health_attrs(s, diagnose(s))
    >>> read_health(attrs)[0].name, read_health(attrs)[1].grad_norm
    ('ok', [[0.1, 1.0]])
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Mapping

from tunekit.health._rules import Diagnosis, HealthSeries, first_last_ratio

HEALTH = "health"
HEALTH_LAYER = "health_layer"
HEALTH_REASON = "health_reason"
HEALTH_SERIES = "health_series"
#: The per-layer figures of ``health_series`` and their export columns (``dead`` and ``saturated``
#: as ``..._layers``: ``health_dead`` and ``health_saturated`` are the largest share at the last probe).
FIGURES = {"grad_norm": "health_grad_norm", "weight_norm": "health_weight_norm", "update_ratio": "health_update_ratio",
           "act_mean": "health_act_mean", "act_std": "health_act_std", "dead": "health_dead_layers",
           "saturated": "health_saturated_layers", "symmetric": "health_symmetric",
           "unit_spread": "health_unit_spread"}


def health_attrs(series: HealthSeries, diagnosis: Diagnosis) -> dict[str, Any]:
    """The user attributes that store ``series`` and ``diagnosis`` on a trial."""
    return {HEALTH: diagnosis.name, HEALTH_LAYER: diagnosis.layer, HEALTH_REASON: diagnosis.reason,
            HEALTH_SERIES: asdict(series)}


def read_health(attrs: Mapping[str, Any]) -> tuple[Diagnosis, HealthSeries] | None:
    """The diagnosis and series stored in a trial's user ``attrs``; None when it was not probed
    (``--no-health``, or a study older than the instruments)."""
    name, stored = attrs.get(HEALTH), attrs.get(HEALTH_SERIES)
    if not isinstance(name, str) or not isinstance(stored, Mapping):
        return None
    known = {f.name for f in fields(HealthSeries)}
    series = HealthSeries(**{k: v for k, v in stored.items() if k in known})
    epoch = series.epoch(series.probes - 1) if series.probes else None
    return Diagnosis(name, attrs.get(HEALTH_LAYER), epoch, str(attrs.get(HEALTH_REASON, ""))), series


def _worst(rows: list[list[Any]]) -> float | None:
    """The largest share of a hidden layer at the last probe (the output layer is not judged: a
    confident sigmoid sits at its bound)."""
    values = [v for v in (rows[-1][:-1] if rows else []) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return max(values) if values else None


def health_columns(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's health as flat columns: ``health``, ``health_layer``, ``health_reason``, scalars
    at the last probe (``health_grad_ratio``: first hidden layer's gradient norm over the output
    layer's, median over probes; ``health_dead``, ``health_saturated``: the largest share of a
    hidden layer), ``health_layers`` (names), ``health_epochs`` (when each probe was taken), ``health_loss``
    (the probe batch's loss), ``health_epoch_loss`` (every epoch's training loss) and, for each of
    ``FIGURES``, its column (a list over probes of a list over layers). Empty when not probed."""
    found = read_health(attrs)
    if found is None:
        return {}
    diagnosis, series = found
    columns: dict[str, Any] = {HEALTH: diagnosis.name, HEALTH_LAYER: diagnosis.layer, HEALTH_REASON: diagnosis.reason,
                               "health_grad_ratio": first_last_ratio(series) if series.loss else None,
                               "health_dead": _worst(series.dead), "health_saturated": _worst(series.saturated),
                               "health_layers": list(series.layers), "health_epochs": list(series.epochs),
                               "health_loss": list(series.loss), "health_epoch_loss": list(series.epoch_loss)}
    for name, column in FIGURES.items():
        columns[column] = getattr(series, name)
    return columns
