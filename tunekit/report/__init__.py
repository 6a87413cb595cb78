"""The report layer: one self-contained HTML file (plotly) and PNG files (matplotlib) of a
study, a comparison of studies, and the optuna-dashboard launcher (``serve``). It reads the
study database and sits beside the CLI's commands; the study and execution layers never
import it.

Example:
    >>> import tunekit
    >>> from tunekit.report import write_report
    >>> result = write_report(tunekit.load_study("digits"), "report.html", png_dir="plots")  # doctest: +SKIP
    >>> result.notes  # plots that could not be drawn, e.g. importances with one trial  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import optuna

from tunekit._errors import ConfigError
from tunekit._output import check_output_dir, check_output_file, write_text
from tunekit.report._comparison import compare_plots
from tunekit.report._dashboard import dashboard_url, is_loopback, make_server, serve
from tunekit.report._facts import MIN_TRIALS_FOR_IMPORTANCE, StudyFacts, read_study
from tunekit.report._png import PNG_PLOTS, PNG_SIZES
from tunekit.report._plotly import SECTIONS

__all__ = [
    "MIN_TRIALS_FOR_IMPORTANCE", "PNG_PLOTS", "PNG_SIZES", "SECTIONS", "ReportResult", "StudyFacts",
    "compare_plots", "dashboard_url", "is_loopback", "make_server", "read_study", "serve", "write_comparison", "write_report",
]


@dataclass(frozen=True)
class ReportResult:
    """What ``write_report`` wrote, and the notes for plots it could not draw."""

    html: Path | None
    pngs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ConfigError("the HTML report needs plotly; install it with: pip install plotly") from None
    return get_plotlyjs()


def write_report(
    study: optuna.Study,
    output: str | os.PathLike[str] | None,
    *,
    png_dir: str | os.PathLike[str] | None = None,
    top: int = 10,
) -> ReportResult:
    """Write the HTML report of ``study`` to ``output`` (and PNGs into ``png_dir``), with its
    training health after the plots (``health.png`` too when its trials were probed).

    Output paths are checked before anything is computed; a study without a complete trial
    is a ConfigError. ``output=None`` writes only the PNGs.
    """
    if output is None and png_dir is None:
        raise ConfigError("nothing to write: pass an HTML output file (-o report.html) or --png DIR")
    if top < 1:
        raise ConfigError(f"top must be >= 1, got {top}")
    html_path = check_output_file(output, suffixes=(".html", ".htm"), what="the report") if output is not None else None
    folder = check_output_dir(png_dir, what="PNG folder", create=False) if png_dir is not None else None
    facts = read_study(study)
    notes = [n for n in facts.notes.values()]
    if html_path is not None:
        from tunekit.report._health import health_section
        from tunekit.report._html import render
        from tunekit.report._plotly import sections

        plotly_js = _plotly_js()
        plots = sections(facts)
        notes = [s.note for s in plots if s.note]
        text = render(facts, plots, top=top, plotly_js=plotly_js, extra=[health_section(facts)])
        write_text(html_path, text, what="the report")
    pngs = []
    if folder is not None:
        from tunekit.report._png import write_pngs

        pngs = write_pngs(facts, check_output_dir(folder, what="PNG folder"))
    return ReportResult(html=html_path, pngs=pngs, notes=notes)


def write_comparison(
    studies: Sequence[optuna.Study],
    output: str | os.PathLike[str] | None,
    *,
    png_dir: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Write a report comparing ``studies`` (one metric; grouped by their ``strategy`` attribute):
    best-so-far curves with each strategy's median, each study's final best, and a table.

    Example:
        >>> studies = [tunekit.load_study(n) for n in ("digits-random-0", "digits-tpe-0")]  # doctest: +SKIP
        >>> write_comparison(studies, "compare.html", png_dir="plots")  # doctest: +SKIP
    """
    from tunekit.report._comparison import (
        comparison_rows, comparison_sections, missing_notes, read_runs, write_comparison_png,
    )
    from tunekit.report._html import page, plot_section, table

    if len(studies) < 2:
        raise ConfigError("a comparison needs at least 2 studies")
    html_path = check_output_file(output, suffixes=(".html", ".htm"), what="the report") if output is not None else None
    folder = check_output_dir(png_dir, what="PNG folder", create=False) if png_dir is not None else None
    runs, metric, direction = read_runs(studies)
    notes = missing_notes(runs)
    if html_path is not None:
        plots = comparison_sections(runs, metric)
        headers = ["study", "strategy", "seed", "complete", "pruned", "failed", f"best {metric}"]
        body = [
            f'<section id="summary"><h2>Summary</h2><p>{len(runs)} studies, {metric} ({direction}).</p>',
            table(headers, comparison_rows(runs), css_class="studies"),
            "</section>",
            *(plot_section(s) for s in plots),
        ]
        nav = [("summary", "Summary")] + [(s.key, s.title) for s in plots]
        text = page(f"tunekit comparison: {metric}", body, nav=nav, plotly_js=_plotly_js())
        write_text(html_path, text, what="the report")
    pngs = [write_comparison_png(runs, metric, check_output_dir(folder, what="PNG folder"))] if folder is not None else []
    return ReportResult(html=html_path, pngs=pngs, notes=notes)
