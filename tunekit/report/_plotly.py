"""The report's interactive figures (plotly), drawn with Optuna's own plotting where it has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from tunekit.report._axes import BEST_COLOR, TICK_EVERY_UP_TO, TRIAL_CMAP, ParamAxis, label, param_axes, trial_colors
from tunekit.report._facts import StudyFacts

if TYPE_CHECKING:
    import plotly.graph_objects as go


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

    fig = plot_optimization_history(f.study, target_name=f.metric)
    fig.update_xaxes(**_integer_ticks(max((t.number for t in f.trials), default=0)))
    return fig


def _integer_ticks(span: int) -> dict[str, Any]:
    """Plotly axis settings for trial numbers or epochs: a tick on every one when few, never 0.5."""
    return {"dtick": 1, "tick0": 0} if span <= TICK_EVERY_UP_TO else {"tickformat": "d"}


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
    """{metric} against each parameter, three panels a row; axes as the stored space says, one colour bar."""
    import math

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = f.param_names
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.08, vertical_spacing=min(0.3, 0.6 / rows))
    kinds = param_axes(f.attrs, f.complete)
    numbers = [t.number for t in f.complete]
    lo, hi = min(numbers), max(numbers)
    for i, name in enumerate(names):
        row, col = i // cols + 1, i % cols + 1
        trials = [t for t in f.complete if name in t.params]
        kind = kinds[name]
        xs = [label(t.params[name]) if kind.categories is not None else t.params[name] for t in trials]
        fig.add_trace(go.Scatter(
            x=xs, y=[t.value for t in trials], mode="markers", name=name, showlegend=False,
            text=[f"trial {t.number}" for t in trials],
            hovertemplate=f"%{{text}}<br>{name}=%{{x}}<br>{f.metric}=%{{y:.4g}}<extra></extra>",
            marker={"color": [t.number for t in trials], "colorscale": TRIAL_CMAP.capitalize(), "cmin": lo,
                    "cmax": hi if hi > lo else lo + 1, "size": 8, "line": {"width": 0.5, "color": "white"},
                    "showscale": i == 0, "colorbar": _integer_ticks(hi - lo) | {"title": {"text": "trial"}}},
        ), row=row, col=col)
        fig.update_xaxes(title_text=name, row=row, col=col, **_x_axis(kind))
        fig.update_yaxes(title_text=f.metric if col == 1 else None, row=row, col=col)
    fig.update_layout(height=max(420, 320 * rows))
    return fig


def _x_axis(kind: ParamAxis) -> dict[str, Any]:
    """Plotly x-axis settings for one parameter: log (decades, or powers of 2 for integers), categories, integers."""
    import math

    if kind.categories is not None:
        return {"type": "category", "categoryorder": "array", "categoryarray": list(kind.categories)}
    low, high = kind.bounds or (None, None)
    if kind.log:
        out: dict[str, Any] = {"type": "log"}
        if low is not None and low > 0:
            out["range"] = [math.log10(low / 1.25), math.log10(high * 1.25)]
            if kind.integer:  # powers of 2 (at most about 8 of them), not 10^1 and unlabelled minor ticks
                powers = [2 ** k for k in range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)]
                out |= {"tickvals": powers[:: max(1, math.ceil(len(powers) / 8))]}
            elif math.log10(high / low) >= 2:
                out |= {"dtick": 1, "exponentformat": "power"}
        return out
    out = {}
    if kind.integer:
        out = _integer_ticks(int(high - low)) if low is not None else {"tickformat": "d"}
    if low is not None:
        pad = max((high - low) * 0.05, 0.3 if kind.integer else 0.0) or 0.5
        out["range"] = [low - pad, high + pad]
    return out


def _learning_curves(f: StudyFacts) -> "go.Figure | None":
    import plotly.graph_objects as go

    curves = f.curves()
    if not curves:
        return None
    best = f.best.number
    colors = trial_colors([t.number for t, _, _ in curves])
    fig = go.Figure()
    for trial, epochs, values in curves:
        is_best = trial.number == best
        complete = trial.state.name == "COMPLETE"
        fig.add_trace(go.Scatter(
            x=epochs, y=values, mode="lines+markers",
            name=f"trial {trial.number}" + (" (best)" if is_best else "") + ("" if complete else f" [{trial.state.name.lower()}]"),
            line={"color": BEST_COLOR if is_best else colors[trial.number], "width": 3 if is_best else 1,
                  "dash": "solid" if complete else "dot"},
            marker={"size": 4}, opacity=1.0 if is_best else 0.8,
        ))
    fig.update_layout(xaxis_title="epoch", yaxis_title=f.metric, legend_title_text="trial")
    fig.update_xaxes(**_integer_ticks(max(max(e) for _, e, _ in curves) - 1))
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
     "The validation {metric} after every epoch (the trials' intermediate values); the best trial in bold red, "
     "the others coloured by trial number (dark: early, light: late), dotted when pruned or failed."),
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
            figure.update_layout(title={"text": title}, template="plotly_white", height=figure.layout.height or 480,
                                 margin={"l": 60, "r": 30, "t": 60, "b": 50})
        out.append(Section(key=key, title=title, figure=figure, note=note, caption=caption.format(metric=f.metric)))
    return out
