"""Every lesson end to end in --quick mode (real training), and the lesson framework."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit.lessons import LESSONS, OUTCOMES, Verdict, get_lesson, recorded_seconds, run_lesson, study_name
from tunekit.lessons._page import markdown_table, page_verdict, write_index


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def _check_quick_page(name: str, result, db_url: str, out: Path) -> None:
    """What a quick run of lesson ``name`` (``result``, pages in ``out``) must have written."""
    lesson = get_lesson(name)
    assert result.verdict.outcome in OUTCOMES
    assert result.figures and all(_png_size(f)[0] >= 300 for f in result.figures)
    page = (out / f"{name}.md").read_text()
    assert page_verdict(out / f"{name}.md") == result.verdict.outcome
    assert f"tunekit lesson {name} --quick" in page and "--quick` run" in page
    assert lesson.claim.strip().splitlines()[0] in page  # the claim, quoted
    assert all(f"]({f.name})" in page for f in result.figures)
    assert f"[{lesson.title}]({name}.md)" in (out / "README.md").read_text()
    # every study is an ordinary study of the database, and every planned trial finished
    names = {s.study_name for s in optuna.get_all_study_summaries(db_url)}
    planned = lesson.studies(True)
    assert {study_name(name, s.key, quick=True) for s in planned} <= names
    assert result.n_trials == sum(s.n_trials for s in planned)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in LESSONS if name != "initialization"])  # the next test's
def test_quick_lesson_writes_a_page_with_figures_and_a_verdict(name: str, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    _check_quick_page(name, run_lesson(name, quick=True, storage=db_url, out_dir=out), db_url, out)


@pytest.mark.slow
def test_a_lesson_run_again_resumes_and_trains_nothing_new(db_url: str, tmp_path: Path) -> None:
    """The initialization lesson's quick run: its page (as every lesson's above), then run again."""
    first = run_lesson("initialization", quick=True, storage=db_url, out_dir=tmp_path)
    _check_quick_page("initialization", first, db_url, tmp_path)
    assert recorded_seconds("initialization", tmp_path) == pytest.approx(first.seconds, abs=0.1)
    result = invoke("lesson", "initialization", "--quick", "--storage", db_url, "--out", str(tmp_path), "--force")
    assert result.exit_code == 0, result.output
    assert f"initialization: {first.verdict.outcome}." in result.output
    study = optuna.load_study(study_name=study_name("initialization", "seed0", quick=True), storage=db_url)
    assert len(study.trials) == first.n_trials  # nothing trained twice
    page = (tmp_path / "initialization.md").read_text()
    # redrawn from the stored trials: the page keeps the time of the run that trained them
    assert "this page was redrawn" in page
    assert recorded_seconds("initialization", tmp_path) == pytest.approx(first.seconds, abs=0.1)


@pytest.mark.slow  # the initialization lesson's quick grid (4 trials)
def test_a_lesson_finished_by_a_second_run_records_no_time(db_url: str, tmp_path: Path) -> None:
    lesson = get_lesson("initialization")
    item = lesson.studies(True)[0]
    from tunekit.study import run

    run(item.spec, strategy="grid", n_trials=2, storage=db_url, study_name=study_name("initialization", item.key,
                                                                                        quick=True), seed=item.seed)
    result = run_lesson("initialization", quick=True, storage=db_url, out_dir=tmp_path)
    page = (tmp_path / "initialization.md").read_text()
    assert f"resumed: 2 of the {item.n_trials} trials had run before" in page and result.n_trials == item.n_trials > 2
    assert recorded_seconds("initialization", tmp_path) is None  # a partial time is not a lesson's time


def test_unknown_lesson_is_one_line_naming_the_close_one(db_url: str) -> None:
    line = one_error_line(invoke("lesson", "activations_depth", "--storage", db_url))
    assert "no lesson 'activations_depth'" in line and "did you mean 'activation_depth'" in line


def test_no_name_says_how_to_list(db_url: str) -> None:
    assert "tunekit lesson --list" in one_error_line(invoke("lesson", "--storage", db_url))


def test_unwritable_out_stops_before_any_trial(db_url: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = one_error_line(invoke("lesson", "initialization", "--quick", "--storage", db_url, "--out", str(blocker / "x")))
    assert "cannot write lesson pages" in line and "--out" in line
    assert optuna.get_all_study_summaries(db_url) == []  # nothing ran, nothing stored


def test_list_shows_every_lesson_with_the_time_of_its_page(tmp_path: Path) -> None:
    page = tmp_path / "optimizers.md"
    page.write_text("# x\n\n<!-- lesson-seconds: 240.0 -->\n\n**Verdict: partly.** Something.\n")
    result = invoke("lesson", "--list", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[:-1]}
    assert list(lines) == list(LESSONS)
    assert "4.0 min" in lines["optimizers"] and "partly" in lines["optimizers"]
    assert "not run here" in lines["schedules"]


def test_list_works_from_the_repository_pages() -> None:
    """The committed pages come from full runs: each records the time of its run (the 10-minute
    target is read from them by `tunekit lesson --list`, not asserted in a test)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "lessons"
    for name in LESSONS:
        seconds = recorded_seconds(name, docs)
        assert seconds is not None, f"docs/lessons/{name}.md is missing or was not written by one full run"
        assert page_verdict(docs / f"{name}.md") in OUTCOMES
        assert "--quick" not in (docs / f"{name}.md").read_text().split("## What was run")[1].split("##")[0]


def test_verdict_refuses_an_unknown_outcome() -> None:
    with pytest.raises(Exception, match="reproduced, partly, not reproduced"):
        Verdict(outcome="yes", summary="")


def test_markdown_table_and_index(tmp_path: Path) -> None:
    assert markdown_table([{"a": 1.23456, "b": float("nan")}, {"a": 0.0001234, "b": "x|y"}]) == [
        "| a | b |", "| --- | --- |", "| 1.235 | n/a |", "| 0.000123 | x\\|y |"]
    (tmp_path / "schedules.md").write_text("**Verdict: not reproduced.** The rate did not matter.\n")
    (tmp_path / "schedules.png").write_bytes(b"")
    text = write_index(tmp_path).read_text()
    assert "| not reproduced |" in text and 'src="schedules.png"' in text
    assert "optimizers" not in text  # no page, no line


def test_study_file_runs_the_lessons_first_study() -> None:
    from tunekit import load_spec

    root = Path(__file__).resolve().parents[2]
    for name in LESSONS:
        spec = load_spec(root / "studies" / "lessons" / f"{name}.py")
        assert spec.space.to_json() == get_lesson(name).studies(False)[0].spec.space.to_json()
    assert os.path.isdir(root / "docs" / "lessons")
