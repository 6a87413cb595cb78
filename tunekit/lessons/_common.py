"""Helpers the lessons share: reading a lesson's frame, and drawing and saving its figures."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

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


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> tuple[str, float, float, int]:
    """``a - b`` paired over the seeds both have (non-finite differences left out): the status
    (``holds`` above two standard errors, ``contradicted`` below minus two, ``no clear
    difference`` between, ``not measured`` without a pair), the mean difference, its standard
    error (infinite with one pair) and the number of pairs.

    >>> paired({0: 0.9, 1: 0.8, 2: 0.85}, {0: 0.7, 1: 0.65, 2: 0.7})[0]
    'holds'
    >>> paired({0: 0.9}, {0: 0.7})[0]  # one seed says nothing about the noise
    'no clear difference'
    """
    diffs = [a[s] - b[s] for s in sorted(set(a) & set(b)) if _finite(a[s] - b[s])]
    if not diffs:
        return "not measured", math.nan, math.inf, 0
    d = statistics.fmean(diffs)
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.inf
    status = "holds" if d > 2 * se else "contradicted" if d < -2 * se else "no clear difference"
    return status, d, se, len(diffs)


def outcome(statuses: Sequence[str], *, main: bool = False) -> str:
    """A lesson's outcome from its claims' statuses: every claim holds -> ``reproduced``; the main
    claim holds (``main``), or some hold and none is contradicted -> ``partly``; else ``not reproduced``.

    >>> outcome(["holds", "no clear difference"]), outcome(["holds", "contradicted"], main=True)
    ('partly', 'partly')
    """
    if statuses and all(s == "holds" for s in statuses):
        return "reproduced"
    if main or ("holds" in statuses and "contradicted" not in statuses):
        return "partly"
    return "not reproduced"
