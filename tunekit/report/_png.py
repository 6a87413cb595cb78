"""The main plots as PNG files (matplotlib, no display needed) for terminals and CI logs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tunekit._errors import ConfigError
from tunekit.report._axes import BEST_COLOR, TRIAL_CMAP, ParamAxis, param_axes, trial_colors
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
    "health": (1200, 500),  # written only when the study's trials have health figures
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


def _trial_colorbar(fig: "Figure", numbers: list[int], axes: Any) -> None:
    """One colour bar of trial numbers (integer ticks) beside ``axes``."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    lo, hi = (min(numbers), max(numbers)) if numbers else (0, 1)
    mappable = ScalarMappable(norm=Normalize(lo, hi if hi > lo else lo + 1), cmap=colormaps[TRIAL_CMAP])
    bar = fig.colorbar(mappable, ax=axes, label="trial", pad=0.01, fraction=0.03)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()


def _curves(f: StudyFacts) -> "Figure":
    fig = _figure("curves")
    ax = fig.add_subplot()
    best = f.best.number
    curves = f.curves()
    colors = trial_colors([t.number for t, _, _ in curves])
    for trial, epochs, values in curves:
        is_best = trial.number == best
        ax.plot(epochs, values, marker="o", markersize=3, linewidth=2.5 if is_best else 1,
                alpha=1.0 if is_best else 0.8, color=BEST_COLOR if is_best else colors[trial.number],
                linestyle="-" if is_best or trial.state.name == "COMPLETE" else ":",
                label=f"trial {trial.number} (best)" if is_best else None, zorder=3 if is_best else 2)
    if not curves:
        ax.text(0.5, 0.5, f"no trial recorded a per-epoch {f.metric}", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="best")
        _trial_colorbar(fig, list(colors), ax)
    ax.set(title=f"Learning curves: {f.name} ({len(curves)} trials)", xlabel="epoch", ylabel=f.metric)
    _integer_x(ax)
    ax.grid(alpha=0.3)
    return fig


def _slice_axis(ax: Any, axis: ParamAxis) -> None:
    """Log scale, categories or integer ticks on ``ax``'s x axis, as the parameter's dimension says."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    if axis.categories is not None:
        ax.set_xticks(range(len(axis.categories)), axis.categories)
        ax.set_xlim(-0.5, len(axis.categories) - 0.5)
    elif axis.log:
        ax.set_xscale("log")
        if axis.bounds is not None and axis.bounds[0] > 0:  # the whole searched range, a little wider
            ax.set_xlim(axis.bounds[0] / 1.25, axis.bounds[1] * 1.25)
        if axis.integer:  # 4, 8, 16, 32 rather than 10^1 and unlabelled minor ticks
            ax.xaxis.set_major_locator(LogLocator(base=2))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
    elif axis.bounds is not None:
        pad = max((axis.bounds[1] - axis.bounds[0]) * 0.05, 0.3 if axis.integer else 0.0) or 0.5
        ax.set_xlim(axis.bounds[0] - pad, axis.bounds[1] + pad)
    if axis.integer and not axis.log:
        _integer_x(ax)


def _slice(f: StudyFacts) -> "Figure":
    fig = _figure("slice")
    names = f.param_names[:MAX_SLICE_PARAMS]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    kinds = param_axes(f.attrs, f.complete)
    numbers = [t.number for t in f.complete]
    lo, hi = min(numbers), max(numbers)
    axes = []
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        axes.append(ax)
        trials = [t for t in f.complete if name in t.params]
        kind = kinds[name]
        ax.scatter([kind.position(t.params[name]) for t in trials], [t.value for t in trials], s=16,
                   c=[t.number for t in trials], cmap=TRIAL_CMAP, vmin=lo, vmax=hi if hi > lo else lo + 1)
        _slice_axis(ax, kind)
        ax.set(xlabel=name, ylabel=f.metric if i % cols == 0 else None)
        ax.grid(alpha=0.3)
    if axes:
        _trial_colorbar(fig, numbers, axes)
    more = len(f.param_names) - len(names)
    fig.suptitle(f"Slice plots: {f.name}" + (f" (the {len(names)} most important; {more} more in the HTML report)" if more > 0 else ""))
    return fig


def _health(f: StudyFacts) -> "Figure":
    from tunekit.report._health import gradient_png

    return gradient_png(f, PNG_SIZES["health"], DPI)


PNG_PLOTS: dict[str, Callable[[StudyFacts], Any]] = {
    "history": _history,
    "importances": _importances,
    "curves": _curves,
    "slice": _slice,
    "health": _health,
}


def write_pngs(f: StudyFacts, folder: Path) -> list[Path]:
    """Write ``<key>.png`` for each main plot into ``folder`` (``health.png`` only when a trial
    has health figures); returns the paths."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("PNG plots need matplotlib; install it with: pip install matplotlib") from None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tunekit.report._health import probed

    paths = []
    for key, draw in PNG_PLOTS.items():
        if key == "health" and not probed(f):
            continue
        fig = draw(f)
        FigureCanvasAgg(fig)
        path = folder / f"{key}.png"
        try:
            fig.savefig(path, dpi=DPI, format="png")
        except OSError as exc:
            raise ConfigError(f"cannot write '{path}': {exc.strerror or exc}") from None
        paths.append(path)
    return paths
