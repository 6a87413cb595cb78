"""The diagnosis of a trial from its health figures, and every threshold it uses, in one place.

A trial is probed at the start of training and after epochs 1, 4, 16, 64, ... and its last epoch
(``tunekit.health._probe``; its training loss is recorded after every epoch);
``diagnose`` reads those figures and names the first problem it finds, in this order (a cause
before its symptoms: a net that explodes or whose units are all alike also stalls):

``exploding`` > ``symmetric`` > ``dead`` > ``vanishing`` > ``saturated`` > ``stalled`` > ``ok``

Each rule is one function of the series; ``THRESHOLDS`` holds its numbers with the reason
for each, and ``docs/DESIGN.md`` and the README quote them.

Example:
    >>> s = HealthSeries(layers=["dense_0", "output"], activations=["relu", "softmax"], units=[8, 3])
    >>> s.add(epoch=0, loss=2.3, grad_norm=[0.5, 1.0], weight_norm=[3.0, 2.0], act_mean=[0.4, 0.33],
    ...       act_std=[0.5, 0.1], dead=[0.0, None], saturated=[None, None], symmetric=[False, False])
    >>> s.epoch_loss.append(0.5)
    >>> s.add(epoch=1, loss=0.4, grad_norm=[0.2, 0.3], weight_norm=[3.1, 2.2], act_mean=[0.5, 0.33],
    ...       act_std=[0.6, 0.3], dead=[0.1, None], saturated=[None, None], symmetric=[False, False])
    >>> diagnose(s).name
    'ok'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

#: Every diagnosis, in the order the rules are tried; ``ok`` when none applies.
DIAGNOSES = ("exploding", "symmetric", "dead", "vanishing", "saturated", "stalled", "ok")
#: Diagnoses ``--prune-unhealthy`` stops a trial on: none of them recovers by training longer.
PRUNABLE = ("exploding", "dead", "symmetric")

#: Activations whose unit is *dead* when its output is 0 on every probe sample (ReLU's flat half).
DEAD_ACTIVATIONS = ("relu",)
#: Activations with bounds a unit can saturate at: (low, high).
BOUNDED_ACTIVATIONS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0)}
)


@dataclass(frozen=True)
class Threshold:
    """A number a rule compares with, and why it is that number."""

    value: float
    reason: str


THRESHOLDS: Mapping[str, Threshold] = MappingProxyType({
    "exploding_growth": Threshold(
        1e3, "a gradient norm 1000x its value at the start has left the range any learning rate can follow"),
    "exploding_floor": Threshold(
        1.0, "growth is counted from at least 1: a gradient that starts near 0 (a saturated start) may grow to a normal size"),
    "symmetry_tolerance": Threshold(
        1e-6, "units whose weights differ by less than a millionth of the largest weight compute the same function"),
    "dead_share": Threshold(
        0.5, "when more than half a layer's ReLU units output 0 on every probe sample, the layer has lost most of its width"),
    "vanishing_ratio": Threshold(
        1e-3, "a first layer whose gradient is a thousandth of the output layer's (the median over the probes) "
              "barely moves: 3 orders of magnitude"),
    "vanishing_stalled_ratio": Threshold(
        1e-2, "a first layer at a hundredth of the output layer's gradient explains a loss that has stalled"),
    "vanishing_floor": Threshold(
        1e-7, "gradient norms below 1e-7 in every layer move no weight in float32 arithmetic"),
    "saturation_margin": Threshold(
        0.01, "an output within 1% of its activation's bound has a derivative near 0 (sigmoid' < 0.01)"),
    "saturated_samples": Threshold(
        0.75, "a unit is saturated when it sits at a bound for 3 probe samples in 4, not just a few"),
    "saturated_share": Threshold(
        0.5, "more than half a layer's units saturated: most of its gradient is cut off"),
    "stall_decrease": Threshold(
        0.05, "a training loss that fell less than 5% over the second half of the epochs has stopped learning, "
              "or learns too slowly to matter in this many epochs"),
    "stall_level": Threshold(
        0.5, "... while still above half its value at the start: a model that had already learned is not stalled"),
    "stall_min_epochs": Threshold(
        3, "a loss over fewer than 3 epochs is too short to call flat"),
})


def threshold(name: str) -> float:
    """The value of ``THRESHOLDS[name]``."""
    return THRESHOLDS[name].value


@dataclass
class HealthSeries:
    """Per-layer figures of one trial, one entry per probe; ``epochs`` says when each probe was
    taken (0: the start of training, k: after epoch k). ``epoch_loss`` is the training loss of
    every epoch (Keras' average over the epoch), probed or not.

    Each per-layer field is a list over probes of a list over ``layers``; ``None`` where a
    figure does not apply (``dead`` for a non-ReLU layer) or is not known yet (``update_ratio``
    at the start).
    """

    layers: list[str]
    activations: list[str]
    units: list[int]
    epochs: list[int] = field(default_factory=list)
    loss: list[float | None] = field(default_factory=list)
    epoch_loss: list[float | None] = field(default_factory=list)
    grad_norm: list[list[float | None]] = field(default_factory=list)
    weight_norm: list[list[float | None]] = field(default_factory=list)
    update_ratio: list[list[float | None]] = field(default_factory=list)
    act_mean: list[list[float | None]] = field(default_factory=list)
    act_std: list[list[float | None]] = field(default_factory=list)
    dead: list[list[float | None]] = field(default_factory=list)
    saturated: list[list[float | None]] = field(default_factory=list)
    symmetric: list[list[bool]] = field(default_factory=list)
    unit_spread: list[list[float | None]] = field(default_factory=list)

    def add(self, *, epoch: int, loss: float | None, update_ratio: Sequence[float | None] | None = None,
            **per_layer: Sequence[Any]) -> None:
        """Append the figures of the probe after ``epoch`` (``loss``: the probe batch's loss;
        ``per_layer``: grad_norm, weight_norm, act_mean, act_std, dead, saturated, symmetric and
        optionally unit_spread, each a list over ``layers``)."""
        self.epochs.append(epoch)
        self.loss.append(loss)
        self.update_ratio.append(list(update_ratio) if update_ratio is not None else [None] * len(self.layers))
        for name, values in per_layer.items():
            getattr(self, name).append(list(values))

    @property
    def probes(self) -> int:
        """Probes taken so far."""
        return len(self.loss)

    def epoch(self, t: int) -> int:
        """The epoch probe ``t`` was taken after (0: the start)."""
        return self.epochs[t] if t < len(self.epochs) else t

    @property
    def hidden(self) -> range:
        """Indexes of the hidden Dense layers (every layer but the output)."""
        return range(len(self.layers) - 1)


@dataclass(frozen=True)
class Diagnosis:
    """What a trial's figures say: ``name`` (one of ``DIAGNOSES``), the ``layer`` that triggered
    it (None for ``ok`` and ``stalled``), the probe (``epoch``: 0 is the start) and a sentence."""

    name: str
    layer: str | None = None
    epoch: int | None = None
    reason: str = "trained normally: no rule of tunekit.health fired"

    @property
    def healthy(self) -> bool:
        return self.name == "ok"


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(value)


def _exploding(s: HealthSeries) -> Diagnosis | None:
    for e, value in enumerate(s.epoch_loss, start=1):
        if value is not None and not math.isfinite(value):
            return Diagnosis("exploding", None, e, f"the training loss became {value} in epoch {e}; lower the "
                             "learning_rate or set clipnorm")
    for t in range(s.probes):
        if s.loss[t] is not None and not math.isfinite(s.loss[t]):
            return Diagnosis("exploding", None, s.epoch(t), f"the loss became {s.loss[t]} by epoch {s.epoch(t)}; "
                             "lower the learning_rate or set clipnorm")
        for i, (g, w) in enumerate(zip(s.grad_norm[t], s.weight_norm[t])):
            if (g is not None and not math.isfinite(g)) or (w is not None and not math.isfinite(w)):
                return Diagnosis("exploding", s.layers[i], s.epoch(t), f"{s.layers[i]}'s weights or gradient became "
                                 f"non-finite by epoch {s.epoch(t)}; lower the learning_rate or set clipnorm")
    growth, floor = threshold("exploding_growth"), threshold("exploding_floor")
    for t in range(1, s.probes):
        for i, g in enumerate(s.grad_norm[t]):
            g0 = s.grad_norm[0][i]
            if _finite(g) and _finite(g0) and g >= growth * max(g0, floor):
                return Diagnosis("exploding", s.layers[i], s.epoch(t), f"{s.layers[i]}'s gradient norm grew from "
                                 f"{g0:.3g} to {g:.3g} by epoch {s.epoch(t)} (rule: {growth:g}x, from at least {floor:g}); lower the "
                                 "learning_rate or set clipnorm")
    return None


def _symmetric(s: HealthSeries) -> Diagnosis | None:
    t = s.probes - 1
    for i in s.hidden:
        if s.units[i] > 1 and s.symmetric[t][i]:
            return Diagnosis("symmetric", s.layers[i], s.epoch(t), f"all {s.units[i]} units of {s.layers[i]} still "
                             f"have identical weights at epoch {s.epoch(t)}, so they compute one function; use a random "
                             "initializer (glorot_uniform, he_normal) instead of a constant one")
    return None


def _unit_share(s: HealthSeries, name: str, figure: str, share_name: str, what: str, advice: str) -> Diagnosis | None:
    """``name`` when, at the last probe, more than ``THRESHOLDS[share_name]`` of some hidden layer's
    units are ``figure`` (dead, saturated); ``what`` says it of the layer's units."""
    t, share = s.probes - 1, threshold(share_name)
    for i in s.hidden:
        value = getattr(s, figure)[t][i]
        if value is not None and value > share:
            units = what.format(layer=s.layers[i], activation=s.activations[i])
            return Diagnosis(name, s.layers[i], s.epoch(t), f"{value:.0%} of {units} at epoch {s.epoch(t)} (rule: over "
                             f"{share:.0%}); {advice}")
    return None


def _dead(s: HealthSeries) -> Diagnosis | None:
    return _unit_share(s, "dead", "dead", "dead_share", "{layer}'s ReLU units output 0 on every probe sample",
                       "lower the learning_rate, or use leaky_relu or elu")


def first_last_ratio(s: HealthSeries) -> float | None:
    """The median over probes of the first hidden layer's gradient norm over the output layer's
    (None without a hidden layer or a finite, non-zero pair)."""
    if not s.hidden:
        return None
    ratios = sorted(g[0] / g[-1] for g in s.grad_norm if _finite(g[0]) and _finite(g[-1]) and g[-1] > 0)
    if not ratios:
        return None
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else math.sqrt(ratios[mid - 1] * ratios[mid])


def _vanishing(s: HealthSeries) -> Diagnosis | None:
    if not s.hidden:
        return None
    t = s.probes - 1
    floor, limit = threshold("vanishing_floor"), threshold("vanishing_ratio")
    advice = "use relu-family activations with he_normal, or batch_norm, or fewer layers"
    if all(_finite(g) and g < floor for g in s.grad_norm[t]) and _stalled(s) is not None:
        return Diagnosis("vanishing", s.layers[0], s.epoch(t), f"every layer's gradient norm is below {floor:g} at "
                         f"epoch {s.epoch(t)} and the loss is flat; {advice}")
    ratio = first_last_ratio(s)
    if ratio is None:
        return None
    if ratio < limit:
        return Diagnosis("vanishing", s.layers[0], s.epoch(t), f"{s.layers[0]}'s gradient norm is {ratio:.2g} of "
                         f"{s.layers[-1]}'s (median over {s.probes} probes; rule: below {limit:g}); {advice}")
    stalled_limit = threshold("vanishing_stalled_ratio")
    if ratio < stalled_limit and _stalled(s) is not None:
        return Diagnosis("vanishing", s.layers[0], s.epoch(t), f"{s.layers[0]}'s gradient norm is {ratio:.2g} of "
                         f"{s.layers[-1]}'s (median over {s.probes} probes) and the loss has stalled (rule: below "
                         f"{stalled_limit:g} with a flat loss); {advice}")
    return None


def _saturated(s: HealthSeries) -> Diagnosis | None:
    return _unit_share(s, "saturated", "saturated", "saturated_share", "{layer}'s {activation} units sit at a bound",
                       "use a smaller init_stddev, a glorot initializer, batch_norm or a relu-family activation")


def _stalled(s: HealthSeries) -> Diagnosis | None:
    train = [v for v in s.epoch_loss if _finite(v)]
    epochs = len(s.epoch_loss)
    if epochs < threshold("stall_min_epochs") or len(train) < 2 or not s.loss or not _finite(s.loss[0]):
        return None
    middle = (len(train) - 1) // 2  # the second half of the epochs (epoch 2 of 4, epoch 5 of 10)
    first, last, start = train[middle], train[-1], s.loss[0]
    need, level = threshold("stall_decrease"), threshold("stall_level")
    if first > 0 and last > (1 - need) * first and last > level * start:
        return Diagnosis("stalled", None, epochs, f"the training loss went from {first:.4g} after epoch {middle + 1} "
                         f"to {last:.4g} after epoch {epochs}, still above half its {start:.4g} at the start (rule: a "
                         f"fall under {need:.0%}); raise the learning_rate or change the optimizer")
    return None


RULES = (_exploding, _symmetric, _dead, _vanishing, _saturated, _stalled)


def diagnose(series: HealthSeries) -> Diagnosis:
    """The first rule that fires on ``series`` (see the module docstring), else ``ok``."""
    if series.probes == 0:
        return Diagnosis("ok", reason="not probed")
    for rule in RULES:
        found = rule(series)
        if found is not None:
            return found
    return Diagnosis("ok")
