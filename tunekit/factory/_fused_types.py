"""What the fused core's modules share: one member's result and the per-epoch callback's types
(a module of its own, so that ``_fused`` and ``_fused_train`` do not import each other)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Logs = dict[str, float]
OnEpoch = Callable[[int, list[Logs | None]], Iterable[int]]


@dataclass
class MemberResult:
    """One member's training, as its own trial would record it."""

    history: dict[str, list[float]]
    final: dict[str, float]
    epochs_run: int
    status: str
    reason: str | None
    train_seconds: float


@dataclass(frozen=True)
class LayerState:
    """One Dense layer of one member at a probe, padding removed: its kernel [in, units], bias
    (None without one: batch norm before the activation), the kernel's gradient on the probe
    batch and the activation output [rows, units]."""

    name: str
    activation: str
    kernel: np.ndarray
    bias: np.ndarray | None
    grad: np.ndarray
    act: np.ndarray


@dataclass(frozen=True)
class MemberState:
    """One member at a probe: its loss on the probe batch (no L1/L2 term) and its Dense layers."""

    loss: float
    layers: list[LayerState]


class Watcher(Protocol):
    """What follows a fused group's training from outside (the health probe): ``start`` before the
    first epoch, ``after_epoch`` once each epoch's logs are known (before ``on_epoch``), and
    ``early_stopped`` for members early stopping ends, before their best weights come back.
    Each may call ``inspect(members, x, y)`` on the trainer (``tunekit.factory._fused_inspect``)."""

    def start(self, trainer: Any) -> None: ...

    def after_epoch(self, trainer: Any, epoch: int, logs: list[Logs | None]) -> None: ...

    def early_stopped(self, trainer: Any, epoch: int, members: list[int]) -> None: ...
