"""Helpers the lessons share: reading a lesson's frame, and drawing and saving its figures."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")


def complete(frame: "pd.DataFrame") -> "pd.DataFrame":
    """The complete trials of a lesson's frame (failed and pruned ones left out)."""
    if frame.empty or "state" not in frame:
        return frame
    return frame[frame["state"] == "COMPLETE"]


def mean(values: Iterable[Any]) -> float:
    """The mean of the finite numbers in ``values``; NaN when there is none.

    >>> mean([1.0, float("nan"), 3.0])
    2.0
    """
    found = [float(v) for v in values if v is not None and _finite(v)]
    return statistics.fmean(found) if found else math.nan


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def first_layer_grad(row: Any, probe: int = 0) -> float:
    """The first hidden layer's gradient norm at probe ``probe`` of a trial (NaN when absent)."""
    series = row.get("health_grad_norm") if hasattr(row, "get") else None
    try:
        value = series[probe][0]
    except (TypeError, IndexError, KeyError):
        return math.nan
    return float(value) if value is not None else math.nan


def first_reach(losses: Sequence[Any] | None, target: float) -> int | None:
    """The first epoch (1-based) whose training loss is at or below ``target``; None if none is.

    >>> first_reach([0.9, 0.4, 0.2, 0.1], 0.25)
    3
    >>> first_reach([0.9, 0.8], 0.25) is None
    True
    """
    for i, value in enumerate(losses or [], 1):
        if value is not None and _finite(value) and float(value) <= target:
            return i
    return None


def figure(ncols: int = 1, *, width: float = 6.0, height: float = 4.0) -> tuple["Figure", Any]:
    """A matplotlib figure (no display) with ``ncols`` axes side by side."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig, list(axes)


def save(fig: "Figure", folder: Path, name: str) -> Path:
    """Write ``fig`` as ``folder/name`` (PNG); a clear error when the folder is not writable."""
    path = Path(folder) / name
    try:
        fig.savefig(path, dpi=100, format="png")
    except OSError as exc:
        raise ConfigError(f"cannot write '{path}': {exc.strerror or exc}") from None
    return path
