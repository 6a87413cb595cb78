"""One self-contained HTML file: plotly.js inline (opens offline), the plots and the trial tables."""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any, Iterable, Sequence

from tunekit.report._facts import StudyFacts
from tunekit.report._plotly import Section

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#222}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
nav a{margin-right:1rem}
section{margin:2rem 0;border-top:1px solid #ddd;padding-top:.5rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem 1rem}
table.summary td:first-child{font-weight:600;width:9rem} .caption{color:#555;margin:.2rem 0}
""".strip()


def fmt(value: Any) -> str:
    """A cell's text: floats with 6 significant digits, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, css_class: str = "") -> str:
    """An HTML table with escaped cells; numbers right-aligned; no header row when ``headers`` is empty."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    thead = f"<thead><tr>{head}</tr></thead>" if headers else ""
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{html.escape(fmt(v))}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{html.escape(fmt(v))}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    cls = f' class="{css_class}"' if css_class else ""
    return f"<table{cls}>{thead}<tbody>{''.join(body)}</tbody></table>"


def top_trials_table(f: StudyFacts, limit: int) -> str:
    """The best ``limit`` complete trials: value, every parameter, and the recorded training facts."""
    params = f.param_names
    extras = [k for k in ("epochs_run", "train_seconds", "param_count", "health") if any(k in t.user_attrs for t in f.complete)]
    headers = ["rank", "trial", f.metric, *params, *extras]
    rows = [
        [rank, t.number, t.value, *(t.params.get(p) for p in params), *(t.user_attrs.get(k) for k in extras)]
        for rank, t in enumerate(f.ranked(limit), start=1)
    ]
    return table(headers, rows, css_class="top-trials")


def failed_trials_table(f: StudyFacts) -> str | None:
    """Failed and pruned trials with the reason the runner stored, or None when there are none."""
    rows = [
        [t.number, t.state.name.lower(), t.user_attrs.get("fail_reason") or t.user_attrs.get("pruned_reason")
         or ("pruned" if t.state.name == "PRUNED" else "-")]
        for t in f.trials if t.state.name in ("FAIL", "PRUNED")
    ]
    return table(["trial", "state", "reason"], rows, css_class="failed-trials") if rows else None


def _figure_html(section: Section) -> str:
    if section.figure is None:
        return f'<p class="note">{html.escape(section.note or "nothing to show")}</p>'
    return section.figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"plot-{section.key}",
        config={"displaylogo": False, "responsive": True},
    )


def plot_section(s: Section) -> str:
    """A plot's ``<section>``: heading, caption, the plot div (or the note saying why there is none)."""
    caption = f'<p class="caption">{html.escape(s.caption)}</p>' if s.caption and s.figure is not None else ""
    return f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>{caption}{_figure_html(s)}</section>'


def page(title: str, body: Sequence[str], *, nav: Sequence[tuple[str, str]], plotly_js: str) -> str:
    """A complete HTML document: plotly.js inline in the head, a link bar of (anchor, text), ``body``."""
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    links = " ".join(f'<a href="#{key}">{html.escape(text)}</a>' for key, text in nav)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{plotly_js}</script>',
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="sub">generated {when}</p>',
        f"<nav>{links}</nav>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def render(f: StudyFacts, plots: Sequence[Section], *, top: int = 10, plotly_js: str,
           extra: Sequence[tuple[str, str, str]] = ()) -> str:
    """The whole report page of one study as a string; ``extra``: (anchor, title, HTML) sections
    after the plots (the training health)."""
    body = [
        '<section id="summary"><h2>Summary</h2>',
        table([], f.summary(), css_class="summary"),
        "</section>",
        *(plot_section(s) for s in plots),
        *(text for _, _, text in extra),
        '<section id="top-trials"><h2>Top trials</h2>',
        f"<p>The best {min(top, len(f.complete))} of {len(f.complete)} complete trials, best first.</p>",
        top_trials_table(f, top),
        "</section>",
    ]
    failed = failed_trials_table(f)
    if failed:
        body += ['<section id="failed-trials"><h2>Failed and pruned trials</h2>', failed, "</section>"]
    nav = [(s.key, s.title) for s in plots] + [(key, title) for key, title, _ in extra] + [("top-trials", "Top trials")]
    return page(f"tunekit report: {f.name}", body, nav=nav, plotly_js=plotly_js)
