"""The diagnosis of a trial from its health figures, and every threshold it uses, in one place.

A trial is probed at the start of training and after epochs 1, 4, 16, 64, ... and its last epoch
(``tunekit.health._probe``; its training loss is recorded after every epoch);
``diagnose`` reads those figures and names the first problem it finds, in this order (a cause
before its symptoms: a net that explodes or whose units are all alike also stalls):

``exploding`` > ``symmetric`` > ``dead`` > ``vanishing`` > ``saturated`` > ``stalled`` > ``ok``

Each rule is one function of the series; ``THRESHOLDS`` holds its numbers with the reason
for each, and ``docs/DESIGN.md`` and the README quote them. Losses are judged against what the
data allows: ``HealthSeries.baseline``, the loss of a constant predictor (the training labels'
prior or mean). The advice at the end of each sentence comes from ``tunekit.health._advice``.

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

from tunekit.health import _advice

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
    "exploding_loss": Threshold(
        100.0, "a training loss 100x a constant predictor's (the training labels' prior or mean) predicts far "
               "worse than knowing nothing: the outputs have blown up, even while the loss falls"),
    "exploding_grad_weight": Threshold(
        1e3, "a gradient norm 1000x its layer's weight norm (counted from at least 1) moves every weight far past "
             "its own size in one step of any usual learning rate"),
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
    "stall_prior": Threshold(
        0.95, "... while the training and validation losses are still above 95% of a constant predictor's: a model "
              "well below it has learned what the data allows, and its curve is flat at the data's floor"),
    "stall_level": Threshold(
        0.5, "... or, where a constant predictor's loss is not known (a loss tunekit cannot compute it for), "
             "while still above half its value at the start"),
    "update_ratio_high": Threshold(
        1.0, "weights that moved by their own size between two probes are driven by the learning rate, not by "
             "where they started (healthy trials measured up to 0.5 between log-spaced probes)"),
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
    every epoch (Keras' average over the epoch), probed or not, and ``val_loss`` its validation
    loss where there is one. ``baseline`` is the loss of a constant predictor on the training
    labels (None when unknown) and ``setup`` what the trial uses: ``initializer``,
    ``init_stddev``, ``optimizer``, ``learning_rate``, ``clipnorm``, ``batch_norm``.

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
    symmetric: list[list[bool | None]] = field(default_factory=list)
    unit_spread: list[list[float | None]] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    baseline: float | None = None
    setup: dict[str, Any] = field(default_factory=dict)

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


def _last_finite(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if _finite(v)]
    return found[-1] if found else None


def _blown_up(s: HealthSeries, t: int) -> tuple[str | None, str] | None:
    """(layer, what) when probe ``t``'s figures are far beyond what the data allows: a loss
    ``exploding_loss`` times a constant predictor's, or a gradient ``exploding_grad_weight``
    times its layer's weight norm; None otherwise."""
    limit, ratio = threshold("exploding_loss"), threshold("exploding_grad_weight")
    loss = s.loss[t]  # the probe batch's loss; at the last probe, the latest epoch's training loss
    if t == s.probes - 1 and t > 0 and s.epoch_loss:
        loss = _last_finite(s.epoch_loss)
    if s.baseline and _finite(loss) and loss > limit * s.baseline:
        return None, (f"the loss is {loss:.3g} at epoch {s.epoch(t)}, {loss / s.baseline:.3g}x a constant "
                      f"predictor's {s.baseline:.3g} (rule: over {limit:g}x)")
    for i, (g, w) in enumerate(zip(s.grad_norm[t], s.weight_norm[t])):
        if _finite(g) and _finite(w) and g >= ratio * max(w, threshold("exploding_floor")):
            return s.layers[i], (f"{s.layers[i]}'s gradient norm is {g:.3g} at epoch {s.epoch(t)}, "
                                 f"{g / max(w, 1.0):.3g}x its weight norm {w:.3g} (rule: {ratio:g}x)")
    return None


def _exploding(s: HealthSeries) -> Diagnosis | None:
    lower = _advice.lowered_lr(s)
    for e, value in enumerate(s.epoch_loss, start=1):
        if value is not None and not math.isfinite(value):
            return Diagnosis("exploding", None, e, f"the training loss became {value} in epoch {e}; {lower}")
    for t in range(s.probes):
        if s.loss[t] is not None and not math.isfinite(s.loss[t]):
            return Diagnosis("exploding", None, s.epoch(t), f"the loss became {s.loss[t]} by epoch {s.epoch(t)}; {lower}")
        for i, (g, w) in enumerate(zip(s.grad_norm[t], s.weight_norm[t])):
            if (g is not None and not math.isfinite(g)) or (w is not None and not math.isfinite(w)):
                return Diagnosis("exploding", s.layers[i], s.epoch(t), f"{s.layers[i]}'s weights or gradient became "
                                 f"non-finite by epoch {s.epoch(t)}; {lower}")
    growth, floor = threshold("exploding_growth"), threshold("exploding_floor")
    for t in range(1, s.probes):
        for i, g in enumerate(s.grad_norm[t]):
            g0 = s.grad_norm[0][i]
            if _finite(g) and _finite(g0) and g >= growth * max(g0, floor):
                return Diagnosis("exploding", s.layers[i], s.epoch(t), f"{s.layers[i]}'s gradient norm grew from "
                                 f"{g0:.3g} to {g:.3g} by epoch {s.epoch(t)} (rule: {growth:g}x, from at least {floor:g}); "
                                 f"{lower}")
    t = s.probes - 1
    found = _blown_up(s, t)
    if found is None:
        return None
    layer, what = found
    if t > 0 and _blown_up(s, 0) is not None:  # so before any step: the initial weights
        advice = (f"it was so at the start, before any training step: the initial weights are too large "
                  f"({_advice.initializer_text(s)}); {_advice.smaller_weights(s)}")
    else:
        advice = lower
    return Diagnosis("exploding", layer, s.epoch(t), f"{what}; {advice}")


def _symmetric(s: HealthSeries) -> Diagnosis | None:
    t = s.probes - 1
    for i in s.hidden:
        if s.units[i] > 1 and s.symmetric[t][i]:
            return Diagnosis("symmetric", s.layers[i], s.epoch(t), f"all {s.units[i]} units of {s.layers[i]} still "
                             f"have identical weights at epoch {s.epoch(t)}, so they compute one function; "
                             f"{_advice.symmetric_advice(s)}")
    return None


def _share_layer(s: HealthSeries, figure: str, share_name: str) -> tuple[int, float, bool, float | None] | None:
    """(layer index, share, whether it was so at the start, the layer's largest update ratio) for
    the first hidden layer where more than ``THRESHOLDS[share_name]`` of the units are ``figure``
    (dead, saturated) at the last probe; None when none is."""
    t, share = s.probes - 1, threshold(share_name)
    rows = getattr(s, figure)
    for i in s.hidden:
        value = rows[t][i]
        if value is not None and value > share:
            start = rows[0][i] if rows and i < len(rows[0]) else None
            ratios = [r[i] for r in s.update_ratio if i < len(r) and _finite(r[i])]
            return i, value, start is not None and start > share, max(ratios) if ratios else None
    return None


def _dead(s: HealthSeries) -> Diagnosis | None:
    found = _share_layer(s, "dead", "dead_share")
    if found is None:
        return None
    i, value, at_start, ratio = found
    t = s.probes - 1
    advice = _advice.dead_advice(s, i, at_start, ratio, threshold("update_ratio_high"))
    return Diagnosis("dead", s.layers[i], s.epoch(t), f"{value:.0%} of {s.layers[i]}'s ReLU units output 0 on every "
                     f"probe sample at epoch {s.epoch(t)} (rule: over {threshold('dead_share'):.0%}); {advice}")


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
    advice = _advice.vanishing_advice(s)
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
    found = _share_layer(s, "saturated", "saturated_share")
    if found is None:
        return None
    i, value, at_start, ratio = found
    t = s.probes - 1
    advice = _advice.saturated_advice(s, at_start, ratio, threshold("update_ratio_high"))
    return Diagnosis("saturated", s.layers[i], s.epoch(t), f"{value:.0%} of {s.layers[i]}'s {s.activations[i]} units "
                     f"sit at a bound at epoch {s.epoch(t)} (rule: over {threshold('saturated_share'):.0%}); {advice}")


def _stalled(s: HealthSeries) -> Diagnosis | None:
    train = [v for v in s.epoch_loss if _finite(v)]
    epochs = len(s.epoch_loss)
    if epochs < threshold("stall_min_epochs") or len(train) < 2 or not s.loss or not _finite(s.loss[0]):
        return None
    middle = (len(train) - 1) // 2  # the second half of the epochs (epoch 2 of 4, epoch 5 of 10)
    first, last, start = train[middle], train[-1], s.loss[0]
    need = threshold("stall_decrease")
    if first <= 0 or last <= (1 - need) * first:
        return None
    fell = (f"the training loss went from {first:.4g} after epoch {middle + 1} to {last:.4g} after epoch {epochs} "
            f"(rule: a fall under {need:.0%})")
    if s.baseline is not None and math.isfinite(s.baseline) and s.baseline > 0:
        prior = threshold("stall_prior")
        val = _last_finite(s.val_loss)
        best = min(last, val) if val is not None else last
        if best <= prior * s.baseline:
            return None  # flat at the data's floor, well under a constant predictor's loss: it has learned
        seen = f"{last:.4g}" if val is None else f"{last:.4g} (validation {val:.4g})"
        return Diagnosis("stalled", None, epochs, f"{fell}, and {seen} is still above {prior:.0%} of a constant "
                         f"predictor's {s.baseline:.4g}: it has learned next to nothing; {_advice.stalled_advice(s)}")
    level = threshold("stall_level")
    if last > level * start:
        return Diagnosis("stalled", None, epochs, f"{fell}, still above half its {start:.4g} at the start; "
                         f"{_advice.stalled_advice(s)}")
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
