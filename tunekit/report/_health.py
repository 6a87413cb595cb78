"""The report's "Training health" section: each layer's gradient norm over the epochs for the
best trial and one trial of each unhealthy diagnosis, the trials per diagnosis, and which
parameter values go with which diagnosis; and its PNG.

Trials without health figures (``--no-health``, older studies) are left out; when no trial has
any, the section says so in one line.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial

from tunekit.health._attrs import read_health
from tunekit.health._rules import HealthSeries
from tunekit.report._axes import param_axes
from tunekit.report._facts import StudyFacts
from tunekit.report._html import table
from tunekit.study._health import NOT_PROBED, ORDER, counted, health_by_param, health_counts

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

KEY, TITLE = "health", "Training health"
#: A parameter with more distinct values than this among the probed trials gets no table.
MAX_VALUES = 12
#: The pair of parameters crossed in one table when both are searched.
CROSSED = ("activation", "n_layers")
NO_HEALTH = ("no trial of this study has health figures: it ran with --no-health or before tunekit "
             "recorded health")


def probed(f: StudyFacts) -> list[tuple[FrozenTrial, str, HealthSeries]]:
    """(trial, diagnosis, series) of every trial with health figures, by number."""
    out = []
    for t in counted(f.trials):  # a trial lost with its worker and retried: its copy only
        found = read_health(t.user_attrs)
        if found is not None:
            out.append((t, found[0].name, found[1]))
    return out


def examples(f: StudyFacts) -> list[tuple[FrozenTrial, str, HealthSeries]]:
    """The trials the gradient plot shows: the best (when probed), then the first trial of each
    unhealthy diagnosis present, in the rules' order."""
    found = probed(f)
    best = f.best.number
    picked = [p for p in found if p[0].number == best]
    for name in ORDER[1:]:
        picked += [p for p in found if p[1] == name and p[0].number != best][:1]
    return picked


#: Where a gradient of exactly 0 is drawn on the log axis: this factor below the panel's smallest
#: positive gradient (1e-8 when it has none), marked ``ZERO_MARK``.
ZERO_BELOW, ZERO_MARK = 10.0, "x"


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def zero_floor(series: HealthSeries) -> float:
    """The height a gradient of exactly 0 is drawn at in ``series``' panel (a log axis has no 0)."""
    values = [g for row in series.grad_norm for g in row if _positive(g)]
    return min(values) / ZERO_BELOW if values else 1e-8


def _norms(series: HealthSeries, i: int) -> tuple[list[float | None], list[str]]:
    """Layer ``i``'s gradient norm per probe (exactly 0: at ``zero_floor``; None where not finite)
    and each point's marker (``ZERO_MARK`` for a 0)."""
    floor, ys, marks = zero_floor(series), [], []
    for g in series.grad_norm:
        value = g[i] if i < len(g) else None
        zero = isinstance(value, (int, float)) and value == 0
        ys.append(floor if zero else value if _positive(value) else None)
        marks.append(ZERO_MARK if zero else "circle")
    return ys, marks


def _title(trial: FrozenTrial, diagnosis: str, best: int) -> str:
    return f"trial {trial.number}{' (best)' if trial.number == best else ''}: {diagnosis}"


def gradient_figure(f: StudyFacts) -> "go.Figure | None":
    """Plotly: one panel per example trial, a line per layer (dark: first, light: output), log y."""
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale
    from plotly.subplots import make_subplots

    shown = examples(f)
    if not shown:
        return None
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_title(t, d, f.best.number) for t, d, _ in shown],
                        horizontal_spacing=0.06, vertical_spacing=min(0.25, 0.5 / rows))
    seen: set[str] = set()
    for k, (trial, _, series) in enumerate(shown):
        row, col = k // cols + 1, k % cols + 1
        colors = sample_colorscale("Viridis", [i / max(1, len(series.layers) - 1) for i in range(len(series.layers))])
        for i, layer in enumerate(series.layers):
            ys, marks = _norms(series, i)
            fig.add_trace(go.Scatter(
                x=list(series.epochs), y=ys, mode="lines+markers", name=layer,
                legendgroup=layer, showlegend=layer not in seen, line={"color": colors[i]},
                marker={"size": [8 if m == ZERO_MARK else 4 for m in marks], "symbol": marks},
                customdata=["0 (drawn at the bottom)" if m == ZERO_MARK else "" for m in marks],
                hovertemplate=f"trial {trial.number} {layer}<br>epoch %{{x}}<br>"
                              "gradient norm %{y:.3g} %{customdata}<extra></extra>",
            ), row=row, col=col)
            seen.add(layer)
        fig.update_yaxes(type="log", exponentformat="power", row=row, col=col,
                         title_text="gradient norm" if col == 1 else None)
        fig.update_xaxes(title_text="epoch (0: start)", tickvals=list(series.epochs), row=row, col=col)
    fig.update_layout(height=max(420, 340 * rows), legend_title_text="layer", template="plotly_white",
                      margin={"l": 60, "r": 30, "t": 60, "b": 50})
    return fig


def _share_rows(f: StudyFacts, params: list[str], names: list[str]) -> list[list[Any]]:
    """One row per combination of ``params``' values: the values, trials, then '50% (2)' per diagnosis."""
    df = health_by_param([t for t, _, _ in probed(f)], params)
    out = []
    for _, r in df.iterrows():
        cells = [f"{r[d]:.0%} ({round(r[d] * r['trials'])})" if d in df.columns and r[d] > 0 else "-" for d in names]
        out.append([*(r[p].item() if hasattr(r[p], "item") else r[p] for p in params), int(r["trials"]), *cells])
    return out


def share_params(f: StudyFacts) -> list[str]:
    """Searched categorical and integer parameters with at most ``MAX_VALUES`` values among the probed trials."""
    trials = [t for t, _, _ in probed(f)]
    axes = param_axes(f.attrs, trials)
    out = []
    for name in f.param_names:
        values = {str(t.params[name]) for t in trials if name in t.params}
        axis = axes.get(name)
        if axis is not None and (axis.categories is not None or axis.integer) and 1 < len(values) <= MAX_VALUES:
            out.append(name)
    return out


def share_tables(f: StudyFacts) -> list[tuple[str, str]]:
    """(caption, table HTML) per parameter (and for activation x n_layers when both are searched)."""
    counts = health_counts(t for t, _, _ in probed(f))
    names = [d for d in counts if d != NOT_PROBED]
    params = share_params(f)
    groups = ([list(CROSSED)] if all(p in params for p in CROSSED) else []) + [[p] for p in params]
    out = []
    for group in groups:
        rows = _share_rows(f, group, names)
        out.append((" x ".join(group), table([*group, "trials", *names], rows, css_class="health-shares")))
    return out


def health_section(f: StudyFacts) -> tuple[str, str, str]:
    """(anchor, title, HTML) of the "Training health" section."""
    found = probed(f)
    if not found:
        return KEY, TITLE, f'<section id="{KEY}"><h2>{TITLE}</h2><p class="note">{html.escape(NO_HEALTH)}</p></section>'
    counts = health_counts(f.trials)
    total = sum(counts.values())
    parts = [f'<section id="{KEY}"><h2>{TITLE}</h2>',
             f'<p class="caption">{len(found)} of {total} trials probed at the start of training and after epochs '
             "1, 4, 16, 64, ... and the last (log-spaced; the training loss is kept for every epoch); the "
             "diagnosis names the first problem the rules of tunekit.health find "
             "(see <code>tunekit health STUDY --trial N</code>).</p>",
             table(["diagnosis", "trials", "share"], [[d, n, f"{n / total:.0%}"] for d, n in counts.items()],
                   css_class="health-counts")]
    fig = gradient_figure(f)
    if fig is not None:
        parts += ['<h3>Gradient norm per layer</h3><p class="caption">Each layer\'s gradient norm (log scale) at '
                  "the start (epoch 0) and after epochs 1, 4, 16, ... and the last, for the best trial and one trial of each unhealthy "
                  "diagnosis; dark lines are the first layers, light ones the output. A gradient of exactly 0 "
                  "is drawn at the bottom of its panel, marked ×.</p>",
                  fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"plot-{KEY}",
                              config={"displaylogo": False, "responsive": True})]
    shares = share_tables(f)
    if shares:
        parts.append('<h3>Diagnoses by parameter value</h3><p class="caption">The share of probed trials with '
                     "each diagnosis (and their count), for each value of a searched categorical or integer "
                     "parameter.</p>")
        parts += [f'<p class="caption"><b>{html.escape(caption)}</b></p>{text}' for caption, text in shares]
    parts.append("</section>")
    return KEY, TITLE, "".join(parts)


def gradient_png(f: StudyFacts, size: tuple[int, int], dpi: int) -> "Figure":
    """Matplotlib: the gradient plot of ``gradient_figure`` (the caller checks ``probed(f)``)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    shown = examples(f)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, layout="constrained")
    cols = max(1, min(3, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    for k, (trial, diagnosis, series) in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        n = len(series.layers)
        for i, layer in enumerate(series.layers):
            values, marks = _norms(series, i)
            ys = [math.nan if v is None else v for v in values]
            color = colormaps["viridis"](i / max(1, n - 1))
            ax.plot(series.epochs, ys, marker="o", markersize=3, color=color,
                    label=layer if n <= 6 or i in (0, n - 1) else None)
            zeros = [(e, y) for e, y, m in zip(series.epochs, ys, marks) if m == ZERO_MARK]
            if zeros:  # exactly 0: at the bottom of the panel, marked x
                ax.plot(*zip(*zeros), linestyle="none", marker="x", markersize=7, color=color)
        ax.set_yscale("log")
        ax.set(title=_title(trial, diagnosis, f.best.number), xlabel="epoch (0: start)",
               ylabel="gradient norm" if k % cols == 0 else None)
        ax.set_xticks(series.epochs)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(loc="best", fontsize="small")
    fig.suptitle(f"Gradient norm per layer: {f.name}")
    return fig
