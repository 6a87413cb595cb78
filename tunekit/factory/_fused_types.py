"""What the fused core's modules share: one member's result and the per-epoch callback's types
(a module of its own, so that ``_fused`` and ``_fused_train`` do not import each other)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
