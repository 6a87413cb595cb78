"""The report's interactive figures (plotly), drawn with Optuna's own plotting where it has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from tunekit.report._facts import StudyFacts

if TYPE_CHECKING:
    import plotly.graph_objects as go

STATE_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "FAIL": "#d62728", "RUNNING": "#7f7f7f", "WAITING": "#7f7f7f"}


@dataclass(frozen=True)
class Section:
    """One plot of the report: an id (the HTML anchor and plot div), a title, a figure or a note."""

    key: str
    title: str
    figure: "go.Figure | None"
    note: str | None = None
    caption: str = ""


def _history(f: StudyFacts) -> "go.Figure":
    from optuna.visualization import plot_optimization_history

    return plot_optimization_history(f.study, target_name=f.metric)


def _importances(f: StudyFacts) -> "go.Figure | None":
    import plotly.graph_objects as go

    if not f.importances:
        return None
    names = list(f.importances)[::-1]  # the most important at the top
    fig = go.Figure(go.Bar(x=[f.importances[n] for n in names], y=names, orientation="h",
                           text=[f"{f.importances[n]:.2f}" for n in names], textposition="outside"))
    fig.update_layout(xaxis_title=f"importance for {f.metric} (fANOVA)", yaxis_title="parameter")
    return fig


def _parallel(f: StudyFacts) -> "go.Figure":
    from optuna.visualization import plot_parallel_coordinate

    return plot_parallel_coordinate(f.study, target_name=f.metric)


def _slice(f: StudyFacts) -> "go.Figure":
    from optuna.visualization import plot_slice

    return plot_slice(f.study, target_name=f.metric)


def _learning_curves(f: StudyFacts) -> "go.Figure | None":
    import plotly.graph_objects as go

    curves = f.curves()
    if not curves:
        return None
    best = f.best.number
    fig = go.Figure()
    for trial, epochs, values in curves:
        is_best = trial.number == best
        fig.add_trace(go.Scatter(
            x=epochs, y=values, mode="lines+markers",
            name=f"trial {trial.number}" + (" (best)" if is_best else "") + ("" if trial.state.name == "COMPLETE" else f" [{trial.state.name.lower()}]"),
            line={"color": "#2ca02c" if is_best else STATE_COLORS.get(trial.state.name, "#7f7f7f"), "width": 3 if is_best else 1},
            marker={"size": 4}, opacity=1.0 if is_best else 0.6,
        ))
    fig.update_layout(xaxis_title="epoch", yaxis_title=f.metric, legend_title_text="trial")
    return fig


_BUILDERS: tuple[tuple[str, str, Callable[[StudyFacts], Any], str | None, str], ...] = (
    ("history", "Optimization history", _history, None,
     "Each complete trial's {metric}, and the best so far."),
    ("importances", "Parameter importances", _importances, "importances",
     "How much of the variation of {metric} each parameter explains (fANOVA, seeded), over the parameters "
     "every complete trial has: conditional parameters are left out."),
    ("parallel", "Parallel coordinates", _parallel, None,
     "One line per complete trial through its parameter values; the colour is {metric}."),
    ("slice", "Slice plots", _slice, None,
     "{metric} against each parameter; the colour is the trial number."),
    ("curves", "Learning curves", _learning_curves, None,
     "The validation {metric} after every epoch (the trials' intermediate values); the best trial in bold green."),
)
#: The plot sections of every report, in order: (id, title).
SECTIONS = tuple((key, title) for key, title, *_ in _BUILDERS)


def sections(f: StudyFacts) -> list[Section]:
    """Every plot section; a plot that cannot be drawn becomes a note instead of an error."""
    out = []
    for key, title, build, note_key, caption in _BUILDERS:
        note = f.notes.get(note_key) if note_key else None
        figure = None
        if note is None:
            try:
                figure = build(f)
            except (ValueError, RuntimeError, KeyError) as exc:  # e.g. a plot that needs more trials
                note = f"{title.lower()} could not be drawn: {exc}"
            if figure is None and note is None:
                note = f"nothing to show: no trial recorded a per-epoch {f.metric}" if key == "curves" else "nothing to show"
        if figure is not None:
            figure.update_layout(title={"text": title}, template="plotly_white", height=480 if key != "slice" else 420,
                                 margin={"l": 60, "r": 30, "t": 60, "b": 50})
        out.append(Section(key=key, title=title, figure=figure, note=note, caption=caption.format(metric=f.metric)))
    return out
