"""`tunekit report`: one valid, self-contained HTML file with every plot; PNGs of the expected size; bad input."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line
from tunekit.report import PNG_SIZES, SECTIONS

pytestmark = pytest.mark.slow  # the shared results_db fixture trains a real tiny study

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Checks that every element is closed in order; collects ids, headings, table rows and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.h2: list[str] = []
        self.rows: dict[str, int] = {}
        self.scripts: list[str] = []
        self.external: list[str] = []
        self._text: list[str] | None = None
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        for key in ("src", "href"):
            if a.get(key, "") and re.match(r"(https?:)?//", a[key] or ""):
                self.external.append(a[key])
        if tag == "table":
            self._table = a.get("class") or ""
        if tag == "tr" and self._table is not None:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1
        if tag == "h2":
            self._text = []
        if tag == "script":
            self.scripts.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "h2" and self._text is not None:
            self.h2.append("".join(self._text).strip())
            self._text = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1] += data


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert not page.errors, page.errors[:5]
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def test_html_report_has_every_plot_and_opens_offline(results_db: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "tiny", "--storage", results_db, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = parse(out)
    for key, title in SECTIONS:  # history, importances, parallel, slice, learning curves
        assert key in page.ids and f"plot-{key}" in page.ids, key
        assert title in page.h2
        assert re.search(rf'Plotly\.newPlot\(\s*"plot-{key}"', text), key  # the plot is drawn into its div
    assert "Top trials" in page.h2
    assert page.rows["top-trials"] == 1 + 3  # header + the 3 complete trials
    # self-contained: plotly.js inline, nothing fetched from the network
    assert page.external == []
    assert max(len(s) for s in page.scripts) > 1_000_000 and "plotly" in page.scripts[0][:2000].lower()
    assert "learning_rate" in text and "val_accuracy" in text


def test_png_files_are_real_images_of_the_expected_size(results_db: str, tmp_path: Path) -> None:
    import matplotlib.image

    folder = tmp_path / "plots" / "nested"
    result = invoke("report", "tiny", "--storage", results_db, "-o", str(tmp_path / "r.html"), "--png", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{k}.png" for k in PNG_SIZES)
    for key, (width, height) in PNG_SIZES.items():
        data = (folder / f"{key}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
        assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (width, height)
        pixels = matplotlib.image.imread(folder / f"{key}.png")
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05  # drawn, not a blank canvas


def test_one_complete_trial_degrades_with_a_note(results_db: str, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    result = invoke("report", "one", "--storage", results_db, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "note: parameter importances need at least 2 complete trials; this study has 1" in result.output
    page = parse(out)
    assert "plot-importances" not in page.ids and "importances" in page.ids
    assert {"plot-history", "plot-parallel", "plot-slice", "plot-curves"} <= set(page.ids)
    assert "need at least 2 complete trials" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nope"], "error: no study named 'nope' in "),
        (["report", "failed", "--png", "plots"], "error: study 'failed' has no finished trial (1 failed, 0 pruned, 0 running)"),
        (["report", "tiny", "-o", "missing/report.html"], "error: cannot write the report 'missing/report.html': folder 'missing' does not exist"),
        (["report", "tiny", "-o", "report.txt"], "error: cannot write the report 'report.txt': use a file name ending .html or .htm"),
        (["report", "tiny", "-o", "."], "error: cannot write the report '.': it is a folder; pass a file name"),
        (["report", "tiny", "--png", "afile"], "error: cannot write the PNG folder 'afile': it is a file, not a folder"),
    ],
)
def test_bad_input_one_line_exit_2(results_db: str, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "afile").write_text("x")
    line = one_error_line(invoke(*args, "--storage", results_db))
    assert message in line
    if "nope" in args:
        assert "studies there: tiny, one, failed" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


def _strategy_studies(url: str) -> None:
    """Two strategies x two seeds of synthetic trials (a comparison needs no training to test)."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    for strategy in ("random", "tpe"):
        for seed in (0, 1):
            study = optuna.create_study(study_name=f"cmp-{strategy}-{seed}", storage=url, direction="maximize")
            for key, value in (("strategy", strategy), ("seed", seed), ("metric", "val_accuracy")):
                study.set_user_attr(key, value)
            for i in range(5):
                study.add_trial(create_trial(params={"x": i / 5}, distributions={"x": FloatDistribution(0, 1)},
                                             value=0.5 + 0.05 * i + 0.01 * seed))


def test_comparison_report_for_several_studies(db_url: str, tmp_path: Path) -> None:
    _strategy_studies(db_url)
    names = [f"cmp-{s}-{seed}" for s in ("random", "tpe") for seed in (0, 1)]
    out = tmp_path / "compare.html"
    result = invoke("report", *names, "--storage", db_url, "-o", str(out), "--png", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    page = parse(out)
    assert {"plot-best-so-far", "plot-final-best"} <= set(page.ids)
    assert page.rows["studies"] == 1 + 4
    text = out.read_text(encoding="utf-8")
    assert "random (median of 2)" in text and "tpe (median of 2)" in text
    data = (tmp_path / "plots" / "best_so_far.png").read_bytes()
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (900, 500)


def test_comparison_refuses_different_metrics(db_url: str, tmp_path: Path) -> None:
    import optuna

    _strategy_studies(db_url)
    optuna.create_study(study_name="loss", storage=db_url, direction="minimize").set_user_attr("metric", "val_loss")
    line = one_error_line(invoke("report", "cmp-tpe-0", "loss", "--storage", db_url, "-o", "c.html"))
    assert "cannot compare studies of different metrics or directions: cmp-tpe-0 (val_accuracy, maximize), loss (val_loss, minimize)" in line
    assert not (tmp_path / "c.html").exists()
