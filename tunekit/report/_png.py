"""The main plots as PNG files (matplotlib, no display needed) for terminals and CI logs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tunekit._errors import ConfigError
from tunekit.report._facts import StudyFacts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
#: Pixel size (width, height) of each PNG; fixed, so CI logs and READMEs lay out predictably.
PNG_SIZES = {
    "history": (900, 500),
    "importances": (900, 500),
    "curves": (900, 500),
    "slice": (1200, 700),
}
MAX_SLICE_PARAMS = 6


def _figure(key: str) -> "Figure":
    from matplotlib.figure import Figure

    w, h = PNG_SIZES[key]
    return Figure(figsize=(w / DPI, h / DPI), dpi=DPI, layout="constrained")


def _integer_x(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _history(f: StudyFacts) -> "Figure":
    fig = _figure("history")
    ax = fig.add_subplot()
    xs = [t.number for t in f.complete]
    ys = [t.value for t in f.complete]
    ax.scatter(xs, ys, s=18, label=f.metric, color="#1f77b4")
    best, best_line = None, []
    for t in sorted(f.complete, key=lambda t: t.number):
        if best is None or (t.value > best if f.maximize else t.value < best):
            best = t.value
        best_line.append((t.number, best))
    ax.step([p[0] for p in best_line], [p[1] for p in best_line], where="post", color="#d62728", label="best so far")
    ax.set(title=f"Optimization history: {f.name}", xlabel="trial", ylabel=f.metric)
    _integer_x(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig


def _importances(f: StudyFacts) -> "Figure":
    fig = _figure("importances")
    ax = fig.add_subplot()
    if not f.importances:
        ax.text(0.5, 0.5, f.notes.get("importances", "no importances"), ha="center", va="center", wrap=True)
        ax.set_axis_off()
    else:
        names = list(f.importances)[::-1]
        ax.barh(names, [f.importances[n] for n in names], color="#1f77b4")
        ax.set(xlabel=f"importance for {f.metric} (fANOVA)")
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Parameter importances: {f.name}")
    return fig


def _curves(f: StudyFacts) -> "Figure":
    fig = _figure("curves")
    ax = fig.add_subplot()
    best = f.best.number
    curves = f.curves()
    for trial, epochs, values in curves:
        is_best = trial.number == best
        ax.plot(epochs, values, marker="o", markersize=3, linewidth=2.5 if is_best else 1,
                alpha=1.0 if is_best else 0.5, color="#2ca02c" if is_best else None,
                label=f"trial {trial.number} (best)" if is_best else None, zorder=3 if is_best else 2)
    if not curves:
        ax.text(0.5, 0.5, f"no trial recorded a per-epoch {f.metric}", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="best")
    ax.set(title=f"Learning curves: {f.name} ({len(curves)} trials)", xlabel="epoch", ylabel=f.metric)
    _integer_x(ax)
    ax.grid(alpha=0.3)
    return fig


def _slice(f: StudyFacts) -> "Figure":
    fig = _figure("slice")
    names = f.param_names[:MAX_SLICE_PARAMS]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        trials = [t for t in f.complete if name in t.params]
        values = [t.params[name] for t in trials]
        ys = [t.value for t in trials]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            ax.scatter(values, ys, s=14, c=[t.number for t in trials], cmap="viridis")
            numeric = [float(v) for v in values]
            if numeric and min(numeric) > 0 and max(numeric) / min(numeric) >= 100:
                ax.set_xscale("log")
            elif all(isinstance(v, int) for v in values):
                _integer_x(ax)
        else:  # categorical: one column per choice
            labels = sorted({str(v) for v in values})
            ax.scatter([labels.index(str(v)) for v in values], ys, s=14, c=[t.number for t in trials], cmap="viridis")
            ax.set_xticks(range(len(labels)), labels)
        ax.set(xlabel=name, ylabel=f.metric if i % cols == 0 else None)
        ax.grid(alpha=0.3)
    more = len(f.param_names) - len(names)
    fig.suptitle(f"Slice plots: {f.name}" + (f" (the {len(names)} most important; {more} more in the HTML report)" if more > 0 else ""))
    return fig


PNG_PLOTS: dict[str, Callable[[StudyFacts], Any]] = {
    "history": _history,
    "importances": _importances,
    "curves": _curves,
    "slice": _slice,
}


def write_pngs(f: StudyFacts, folder: Path) -> list[Path]:
    """Write ``<key>.png`` for each main plot into ``folder``; returns the paths."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("PNG plots need matplotlib; install it with: pip install 'tunekit[report]'") from None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    paths = []
    for key, draw in PNG_PLOTS.items():
        fig = draw(f)
        FigureCanvasAgg(fig)
        path = folder / f"{key}.png"
        try:
            fig.savefig(path, dpi=DPI, format="png")
        except OSError as exc:
            raise ConfigError(f"cannot write '{path}': {exc.strerror or exc}") from None
        paths.append(path)
    return paths
