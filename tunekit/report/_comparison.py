"""A report comparing several studies of one metric, e.g. the strategies and seeds of a comparison run.

Studies are grouped by their ``strategy`` user attribute: each study's best-so-far curve is
drawn faintly and each group's median in bold, and a table lists every study's best value.
The one implementation of the best-so-far plots: the comparison report and ``tunekit compare``
(``compare_plots``) draw them here, with one rule for missing values (``tunekit.study._compare.curve``):
a point per finished trial, nothing before the first complete one; a study with no complete
trial draws no curve and is named in a note.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import optuna

from tunekit._errors import ConfigError
from tunekit._records import kind_counts
from tunekit.report._plotly import Section
from tunekit.study._compare import curve as best_so_far

if TYPE_CHECKING:
    import plotly.graph_objects as go

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
PNG_SIZE = (900, 500)


@dataclass(frozen=True)
class Run:
    """One study of a comparison: its group (strategy), seed and best-so-far curve."""

    name: str
    group: str
    seed: object
    counts: dict[str, int]
    best_so_far: list[float | None]  # index n: the best value among trials 0..n (None before the first complete)

    @property
    def best(self) -> float | None:
        values = [v for v in self.best_so_far if v is not None]
        return values[-1] if values else None


def read_runs(studies: Sequence[optuna.Study]) -> tuple[list[Run], str, str]:
    """The studies as runs, with their shared metric and direction; ConfigError when they differ."""
    metrics = {s.user_attrs.get("metric", "value") for s in studies}
    directions = {s.direction.name.lower() for s in studies}
    if len(metrics) > 1 or len(directions) > 1:
        listed = ", ".join(f"{s.study_name} ({s.user_attrs.get('metric', 'value')}, {s.direction.name.lower()})" for s in studies)
        raise ConfigError(f"cannot compare studies of different metrics or directions: {listed}")
    runs = [_run(s) for s in studies]
    if all(r.best is None for r in runs):
        raise ConfigError(f"none of the studies {', '.join(r.name for r in runs)} has a complete trial; run them first")
    return runs, metrics.pop(), directions.pop()


def _run(study: optuna.Study) -> Run:
    """One study as a run; its curve follows the one rule (``tunekit.study._compare.curve``)."""
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    return Run(name=study.study_name, group=str(study.user_attrs.get("strategy", study.study_name)),
               seed=study.user_attrs.get("seed"), counts=kind_counts(trials),
               best_so_far=[None if math.isnan(v) else v for v in best_so_far(study)])


def missing_notes(runs: Sequence[Run]) -> list[str]:
    """One note per study that draws no curve (no complete trial)."""
    return [f"study {r.name!r} has no complete trial; it has no curve in the plots" for r in runs if r.best is None]


def group_medians(runs: Sequence[Run]) -> dict[str, list[float | None]]:
    """Per group, the median best-so-far after each trial (over the runs that have a value there);
    a run without a complete trial is no member of its group."""
    runs = [r for r in runs if r.best is not None]
    out: dict[str, list[float | None]] = {}
    for group in dict.fromkeys(r.group for r in runs):
        members = [r for r in runs if r.group == group]
        length = max(len(r.best_so_far) for r in members)
        medians: list[float | None] = []
        for i in range(length):
            values = [r.best_so_far[i] for r in members if i < len(r.best_so_far) and r.best_so_far[i] is not None]
            medians.append(statistics.median(values) if values else None)
        out[group] = medians
    return out


def _colors(runs: Sequence[Run]) -> dict[str, str]:
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(dict.fromkeys(r.group for r in runs))}


def best_so_far_figure(runs: Sequence[Run], metric: str, title: str = "Best so far") -> "go.Figure":
    """Faint best-so-far line per study, bold median per group; a study with no complete trial draws none."""
    import plotly.graph_objects as go

    colors = _colors(runs)
    runs = [r for r in runs if r.best is not None]
    fig = go.Figure()
    for r in runs:
        fig.add_trace(go.Scatter(x=list(range(1, len(r.best_so_far) + 1)), y=r.best_so_far, mode="lines",
                                 name=r.name, legendgroup=r.group, showlegend=False, opacity=0.35,
                                 line={"color": colors[r.group], "width": 1}))
    for group, medians in group_medians(runs).items():
        n = sum(r.group == group for r in runs)
        fig.add_trace(go.Scatter(x=list(range(1, len(medians) + 1)), y=medians, mode="lines", legendgroup=group,
                                 name=f"{group} (median of {n})" if n > 1 else group,
                                 line={"color": colors[group], "width": 3}))
    fig.update_layout(xaxis_title="finished trials", yaxis_title=f"best {metric} so far", template="plotly_white",
                      title={"text": title}, height=480, legend_title_text="strategy")
    return fig


def final_best_figure(runs: Sequence[Run], metric: str) -> "go.Figure":
    """Each study's best value, one column per group."""
    import plotly.graph_objects as go

    colors = _colors(runs)
    fig = go.Figure()
    for group in colors:
        members = [r for r in runs if r.group == group and r.best is not None]
        fig.add_trace(go.Box(y=[r.best for r in members], name=group, boxpoints="all", jitter=0.3, pointpos=0,
                             text=[r.name for r in members], marker={"color": colors[group]}))
    fig.update_layout(yaxis_title=f"best {metric}", template="plotly_white", title={"text": "Final best by strategy"},
                      height=420, showlegend=False)
    return fig


def comparison_sections(runs: Sequence[Run], metric: str) -> list[Section]:
    return [
        Section(key="best-so-far", title="Best so far", figure=best_so_far_figure(runs, metric),
                caption=f"The best {metric} after each trial: one faint line per study, the median of each strategy in bold."),
        Section(key="final-best", title="Final best by strategy", figure=final_best_figure(runs, metric),
                caption=f"Each study's best {metric}, grouped by strategy."),
    ]


def comparison_rows(runs: Sequence[Run]) -> list[list[object]]:
    return [
        [r.name, r.group, r.seed, r.counts["complete"], r.counts["pruned"],
         r.counts["failed"] + r.counts["interrupted"] + r.counts["lost"], r.best]
        for r in runs
    ]


def write_comparison_png(runs: Sequence[Run], metric: str, folder: Path, *, name: str = "best_so_far.png",
                         title: str = "Best so far") -> Path:
    """``folder/name``: the best-so-far curves of ``best_so_far_figure`` drawn with matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colors = _colors(runs)
    runs = [r for r in runs if r.best is not None]
    fig = Figure(figsize=(PNG_SIZE[0] / 100, PNG_SIZE[1] / 100), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for r in runs:
        ax.plot(range(1, len(r.best_so_far) + 1), [float("nan") if v is None else v for v in r.best_so_far],
                color=colors[r.group], alpha=0.3, linewidth=1)
    for group, medians in group_medians(runs).items():
        ax.plot(range(1, len(medians) + 1), [float("nan") if v is None else v for v in medians],
                color=colors[group], linewidth=2.5, label=group)
    ax.set(title=title, xlabel="finished trials", ylabel=f"best {metric} so far")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", title="strategy (median)")
    path = folder / name
    try:
        fig.savefig(path, dpi=100, format="png")
    except OSError as exc:
        raise ConfigError(f"cannot write '{path}': {exc.strerror or exc}") from None
    return path


def compare_plots(studies: Sequence[optuna.Study], folder: Path, *, title: str) -> list[str]:
    """``tunekit compare``'s ``compare.png`` and ``compare.html`` in ``folder``: the best-so-far
    figure of the comparison report; returns a note per study that draws no curve."""
    runs = [_run(s) for s in studies]
    if all(r.best is None for r in runs):
        return missing_notes(runs)  # nothing to draw
    metric = str(studies[0].user_attrs.get("metric", "value"))
    write_comparison_png(runs, metric, folder, name="compare.png", title=title)
    page = folder / "compare.html"
    try:
        best_so_far_figure(runs, metric, title).write_html(str(page), include_plotlyjs=True)
    except OSError as exc:
        raise ConfigError(f"cannot write '{page}': {exc.strerror or exc}") from None
    return missing_notes(runs)
