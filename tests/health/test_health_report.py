"""Issue 13: the HTML report's "Training health" section (gradient norms per layer, the trials
per diagnosis, the diagnoses by parameter value) and its PNG, on a real study; one line when no
trial has health figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke
from tunekit.report import read_study
from tunekit.report._health import examples, gradient_figure, share_tables

pytestmark = pytest.mark.slow


class Tables(HTMLParser):
    """The text of every table cell, per table (class -> list of rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append((dict(attrs).get("class", ""), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][1][-1].append("".join(self.cell))
            self.cell = None


def _section(url: str, study: str, tmp_path: Path, *png: str) -> str:
    out = tmp_path / f"{study}.html"
    result = invoke("report", study, "--storage", url, "-o", str(out), *png)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert '<a href="#health">Training health</a>' in text
    start = text.index('<section id="health">')
    return text[start:text.index("</section>", start)]


def test_report_has_the_health_section_with_plot_and_tables(health_db: str, tmp_path: Path) -> None:
    section = _section(health_db, "h", tmp_path)
    assert '<div id="plot-health"' in section and "Gradient norm per layer" in section
    assert "after every epoch" not in section and "after epochs 1, 4, 16" in section  # log-spaced probes
    parser = Tables()
    parser.feed(section)
    counts = [rows for cls, rows in parser.tables if cls == "health-counts"]
    shares = {" x ".join(rows[0][:rows[0].index("trials")]): rows for cls, rows in parser.tables if cls == "health-shares"}
    assert list(shares)[0] == "activation x n_layers"  # then each parameter, the most important first
    assert sorted(shares) == ["activation", "activation x n_layers", "initializer", "n_layers"]
    assert counts[0][1:] == [["ok", "3", "38%"], ["symmetric", "4", "50%"],
                                                     ["vanishing", "1", "12%"]]
    crossed = shares["activation x n_layers"]
    assert crossed[0] == ["activation", "n_layers", "trials", "ok", "symmetric", "vanishing"]
    assert ["sigmoid", "8", "2", "-", "50% (1)", "50% (1)"] in crossed
    assert ["relu", "8", "2", "50% (1)", "50% (1)", "-"] in crossed
    assert shares["initializer"][1:] == [["glorot_uniform", "4", "75% (3)", "-", "25% (1)"],
                                                       ["zeros", "4", "-", "100% (4)", "-"]]


def test_gradient_plot_shows_the_best_and_one_trial_per_unhealthy_diagnosis(health_db: str) -> None:
    facts = read_study(optuna.load_study(study_name="h", storage=health_db))
    shown = examples(facts)
    assert [d for _, d, _ in shown] == ["ok", "symmetric", "vanishing"] and shown[0][0].number == facts.best.number
    fig = gradient_figure(facts).to_dict()
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["yaxis3"]["type"] == "log"
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[0] == f"trial {facts.best.number} (best): ok" and titles[2].endswith(": vanishing")
    vanishing = [t for t in fig["data"] if t["xaxis"] == "x3"]
    assert [t["name"] for t in vanishing] == [f"dense_{i}" for i in range(8)] + ["output"]
    assert list(vanishing[0]["x"]) == [0, 1, 3] and vanishing[0]["y"][-1] < 1e-3 * vanishing[-1]["y"][-1]
    assert len(share_tables(facts)) == 4


def test_a_gradient_of_exactly_zero_is_drawn_at_the_bottom_of_its_panel(health_db: str) -> None:
    facts = read_study(optuna.load_study(study_name="h", storage=health_db))
    symmetric = next(s for _, d, s in examples(facts) if d == "symmetric")
    zeros = [i for i in range(len(symmetric.layers)) if any(g[i] == 0 for g in symmetric.grad_norm)]
    assert zeros  # a zeros-initialized net: its hidden layers' gradients are exactly 0 at some probe
    panel = [t for t in gradient_figure(facts).to_dict()["data"] if t["xaxis"] == "x2"]
    assert [t["name"] for t in panel] == symmetric.layers  # every layer has its line, none dropped
    drawn = [y for t in panel for y in t["y"] if y is not None]
    for i in zeros:
        trace = panel[i]
        at_zero = [y for y, g in zip(trace["y"], symmetric.grad_norm) if g[i] == 0]
        assert at_zero and all(y is not None and y <= min(drawn) for y in at_zero)
        assert "x" in [s for s, g in zip(trace["marker"]["symbol"], symmetric.grad_norm) if g[i] == 0]


def test_png_has_one_gradient_figure(health_db: str, tmp_path: Path) -> None:
    import matplotlib.image

    _section(health_db, "h", tmp_path, "--png", str(tmp_path / "png"))
    pixels = matplotlib.image.imread(tmp_path / "png" / "health.png")
    assert pixels.shape[:2] == (500, 1200) and pixels[..., :3].std() > 0.05


def test_no_health_figures_is_one_line_and_no_png(health_db: str, tmp_path: Path) -> None:
    section = _section(health_db, "plain", tmp_path, "--png", str(tmp_path / "png"))
    text = re.sub(r"<[^>]+>", "\n", section).split("\n")
    assert [t for t in text if t.strip()] == [
        "Training health",
        "no trial of this study has health figures: it ran with --no-health or before tunekit recorded health"]
    assert not (tmp_path / "png" / "health.png").exists()


def test_partly_probed_study_counts_the_trials_not_probed(health_db: str, tmp_path: Path) -> None:
    section = _section(health_db, "mixed", tmp_path)
    parser = Tables()
    parser.feed(section)
    counts = next(rows for cls, rows in parser.tables if cls == "health-counts")
    assert counts[1:] == [["symmetric", "1", "50%"], ["not probed", "1", "50%"]]
    assert "1 of 2 trials probed" in section
