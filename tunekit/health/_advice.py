"""What to change, from what the figures show and what the trial already uses.

Each rule of ``tunekit.health._rules`` ends its sentence with one of these: a problem present at
the start of training (probe 0, before any step) points at the initial weights; one that
appeared while training, with weights moving by a large share of their size between probes,
points at the learning rate; and no advice names what the trial already uses (its initializer,
clipnorm, batch_norm or activation, from ``HealthSeries.setup``).

Example:
    >>> from tunekit.health import HealthSeries
    >>> s = HealthSeries(layers=["dense_0", "output"], activations=["relu", "sigmoid"], units=[8, 1],
    ...                  setup={"initializer": "he_normal", "batch_norm": True})
    >>> vanishing_advice(s)
    'use fewer layers'
"""

from __future__ import annotations

from typing import Any, Protocol


class HealthSeries(Protocol):
    """What the advice reads of ``tunekit.health._rules.HealthSeries`` (no import: the rules import this)."""

    activations: list[str]
    setup: dict[str, Any]

#: Activations that keep a gradient of 1 on their positive side.
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish")
#: Initializers scaled to the layer's width.
SCALED_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                       "lecun_uniform", "orthogonal")


def _or(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def lowered_lr(s: HealthSeries, *, clip: bool = True) -> str:
    """``lower the learning_rate (now 0.5)``; with ``clip``, ``or set clipnorm`` unless the trial clips."""
    lr = s.setup.get("learning_rate")
    text = "lower the learning_rate" + (f" (now {_num(lr)})" if lr is not None else "")
    return text if not clip or s.setup.get("clipnorm") else text + " or set clipnorm"


def initializer_text(s: HealthSeries) -> str:
    """``random_normal, init_stddev 3`` (or ``random_normal``; ``the initializer`` when unknown)."""
    init, stddev = s.setup.get("initializer"), s.setup.get("init_stddev")
    if init is None:
        return "the initializer"
    return f"{init}, init_stddev {_num(stddev)}" if stddev is not None else str(init)


def smaller_weights(s: HealthSeries) -> str:
    """Advice for initial weights that are too large, without what the trial already uses."""
    init = s.setup.get("initializer")
    options = []
    if s.setup.get("init_stddev") is not None:
        options.append(f"a smaller init_stddev (now {_num(s.setup['init_stddev'])})")
    if init not in SCALED_INITIALIZERS:
        options.append("glorot_uniform" if all(a not in RELU_FAMILY for a in s.activations[:-1]) else "he_normal")
    if not s.setup.get("batch_norm"):
        options.append("batch_norm")
    return "use " + _or(options) if options else "use fewer layers"


def dead_advice(s: HealthSeries, i: int, at_start: bool, ratio: float | None, high: float) -> str:
    """Dead ReLU units: from the start (the initial weights or bias), or after a large update (the
    learning rate)."""
    others = "leaky_relu or elu"
    if at_start:
        init = s.setup.get("initializer")
        fix = others if init == "he_normal" else f"he_normal or {others}"
        return (f"they were dead at the start, before any training step: {initializer_text(s)} or the bias "
                f"initializer puts them below 0 on every sample; use {fix}")
    if ratio is not None and ratio >= high:
        return (f"its weights moved by {ratio:.2g} of their size between two probes (rule: {high:g}): "
                f"{lowered_lr(s, clip=False)}, or use {others}")
    return f"lower the learning_rate, or use {others}"


def saturated_advice(s: HealthSeries, at_start: bool, ratio: float | None, high: float) -> str:
    """Saturated units: from the start (the initial weights), after large updates (the learning
    rate), or otherwise what keeps pre-activations small."""
    if at_start:
        return f"they were saturated at the start, before any training step ({initializer_text(s)}): {smaller_weights(s)}"
    if ratio is not None and ratio >= high:
        return (f"its weights moved by {ratio:.2g} of their size between two probes (rule: {high:g}): "
                f"{lowered_lr(s, clip=False)}")
    options = [] if s.setup.get("batch_norm") else ["batch_norm"]
    options.append("a relu-family activation")
    return "use " + _or(options)


def vanishing_advice(s: HealthSeries) -> str:
    """Vanishing gradients: relu-family activations with he_normal, batch_norm, fewer layers; only
    what the trial does not use yet."""
    relu = all(a in RELU_FAMILY for a in s.activations[:-1])
    he = s.setup.get("initializer") in ("he_normal", "he_uniform")
    options = []
    if not relu:
        options.append("relu-family activations" + ("" if he else " with he_normal"))
    elif not he:
        options.append("he_normal")
    if not s.setup.get("batch_norm"):
        options.append("batch_norm")
    options.append("fewer layers")
    return "use " + _or(options)


def stalled_advice(s: HealthSeries) -> str:
    """A flat loss near the constant predictor's: larger steps, or another optimizer."""
    lr = s.setup.get("learning_rate")
    return "raise the learning_rate" + (f" (now {_num(lr)})" if lr is not None else "") + " or change the optimizer"


def symmetric_advice(s: HealthSeries) -> str:
    """Identical units: a random initializer instead of the trial's constant one."""
    init = s.setup.get("initializer")
    return ("use a random initializer (glorot_uniform, he_normal) instead of "
            + (f"the constant {init}" if init else "a constant one"))
