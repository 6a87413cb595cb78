"""Learning-rate schedules: schedule name -> a float or a Keras ``LearningRateSchedule``.

Every schedule is computed from ``steps_per_epoch`` so the factory stays a pure function
(no callback keeps state across epochs), and every one is a built-in Keras class, so a
saved ``.keras`` model loads without custom objects. In terms of the epoch index
``e = step // steps_per_epoch`` (or the fractional ``step / steps_per_epoch``):

- constant, plateau: ``learning_rate`` (a float; plateau adds ``ReduceLROnPlateau`` in
  ``training_callbacks``, which needs a float learning rate)
- step: ``lr * decay_rate ** (e // decay_epochs)`` (ExponentialDecay, staircase)
- exponential: ``lr * decay_rate ** (step / steps_per_epoch)``, per epoch with ``staircase``
- cosine: cosine from ``lr`` to 0 over ``epochs * steps_per_epoch`` steps
- time: ``lr / (1 + decay_rate * e)`` (InverseTimeDecay, staircase)
- warmup: linear ramp from 0 to ``lr`` over ``warmup_epochs``, then cosine to 0 by the
  end of ``epochs`` (CosineDecay with ``warmup_target`` / ``warmup_steps``)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras

Schedule = float | keras.optimizers.schedules.LearningRateSchedule
_schedules = keras.optimizers.schedules


def _constant(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    return lr


def _step(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    return _schedules.ExponentialDecay(
        lr, decay_steps=p["decay_epochs"] * spe, decay_rate=p["decay_rate"],
        staircase=True, name="StepDecay",
    )


def _exponential(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    return _schedules.ExponentialDecay(
        lr, decay_steps=spe, decay_rate=p["decay_rate"], staircase=p["staircase"]
    )


def _cosine(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    return _schedules.CosineDecay(lr, decay_steps=max(1, p["epochs"] * spe))


def _time(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    return _schedules.InverseTimeDecay(
        lr, decay_steps=spe, decay_rate=p["decay_rate"], staircase=True, name="TimeDecay"
    )


def _warmup(lr: float, p: Mapping[str, Any], spe: int) -> Schedule:
    warmup_steps = p["warmup_epochs"] * spe
    decay_steps = max(1, (p["epochs"] - p["warmup_epochs"]) * spe)
    if warmup_steps == 0:
        return _schedules.CosineDecay(lr, decay_steps=decay_steps)
    return _schedules.CosineDecay(
        0.0, decay_steps=decay_steps, warmup_target=lr, warmup_steps=warmup_steps,
        name="WarmupCosineDecay",
    )


SCHEDULES: Mapping[str, Callable[[float, Mapping[str, Any], int], Schedule]] = {
    "constant": _constant,
    "step": _step,
    "exponential": _exponential,
    "cosine": _cosine,
    "time": _time,
    "plateau": _constant,
    "warmup": _warmup,
}


def make_learning_rate(params: Mapping[str, Any], steps_per_epoch: int) -> Schedule:
    """The ``learning_rate`` argument of the optimizer for resolved ``params``."""
    return SCHEDULES[params["schedule"]](params["learning_rate"], params, steps_per_epoch)
