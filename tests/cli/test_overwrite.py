"""Issue 27 item 1: every command that writes a file refuses an existing one unless --force;
the refusal is one line naming the file, exit 2, and nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line, stored_study


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def study_db(db_url: str) -> str:
    """A study 'tiny' with three complete trials, made without training."""
    from tunekit import Float, Int, Space

    space = Space({"units": Int(4, 32, log=True), "learning_rate": Float(1e-3, 1e-1, log=True)})
    trials = [{"params": {"units": u, "learning_rate": lr}, "value": v, "intermediate_values": {0: v / 2, 1: v},
               "user_attrs": {"val_accuracy": v, "epochs_run": 2}}
              for u, lr, v in ((8, 0.01, 0.7), (16, 0.02, 0.8), (4, 0.05, 0.6))]
    stored_study(db_url, "tiny", space, trials, data="houses.csv", fixed="{}")
    return db_url


def _refused(result, path: Path) -> None:
    line = one_error_line(result)
    assert f"'{path}'" in line and "already exists" in line and "--force" in line and "another path" in line


def test_export_refuses_the_study_data_csv_and_leaves_it_as_it_was(study_db: str, tmp_path: Path) -> None:
    data = tmp_path / "houses.csv"
    data.write_text("size,price\n50,100000\n70,150000\n")
    before, db_before = _digest(data), _digest(tmp_path / "study.db")
    _refused(invoke("export", "tiny", "--storage", study_db, "-o", str(data)), data)
    assert _digest(data) == before and _digest(tmp_path / "study.db") == db_before
    forced = invoke("export", "tiny", "--storage", study_db, "-o", str(data), "--force")
    assert forced.exit_code == 0, forced.output
    assert "params_units" in data.read_text() and "price" not in data.read_text()


def test_report_refuses_an_existing_html_or_png(study_db: str, tmp_path: Path) -> None:
    page = tmp_path / "mine.html"
    page.write_text("<p>my notes</p>")
    _refused(invoke("report", "tiny", "--storage", study_db, "-o", str(page)), page)
    assert page.read_text() == "<p>my notes</p>"
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "history.png").write_bytes(b"mine")
    fresh = tmp_path / "fresh.html"
    _refused(invoke("report", "tiny", "--storage", study_db, "-o", str(fresh), "--png", str(plots)),
             plots / "history.png")
    assert not fresh.exists() and (plots / "history.png").read_bytes() == b"mine"  # nothing written
    forced = invoke("report", "tiny", "--storage", study_db, "-o", str(page), "--png", str(plots), "--force")
    assert forced.exit_code == 0, forced.output
    assert "my notes" not in page.read_text() and (plots / "history.png").read_bytes()[:4] == b"\x89PNG"


def test_report_of_several_studies_refuses_an_existing_comparison_png(study_db: str, tmp_path: Path) -> None:
    from tunekit import Float, Int, Space

    space = Space({"units": Int(4, 32, log=True), "learning_rate": Float(1e-3, 1e-1, log=True)})
    stored_study(study_db, "other", space, [{"params": {"units": 8, "learning_rate": 0.01}, "value": 0.5}])
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "best_so_far.png").write_bytes(b"mine")
    _refused(invoke("report", "tiny", "other", "--storage", study_db, "-o", "c.html", "--png", str(plots)),
             plots / "best_so_far.png")
    assert not (tmp_path / "c.html").exists()


def test_best_save_model_refuses_an_existing_model_or_json_before_training(study_db: str, tmp_path: Path) -> None:
    model = tmp_path / "best.keras"
    model.write_bytes(b"an older model")
    _refused(invoke("best", "tiny", "--storage", study_db, "--save-model", str(model)), model)
    assert model.read_bytes() == b"an older model"
    model.unlink()
    meta = tmp_path / "best.json"
    meta.write_text("{}")
    _refused(invoke("best", "tiny", "--storage", study_db, "--save-model", str(model)), meta)
    assert meta.read_text() == "{}" and not model.exists()


def test_compare_refuses_existing_outputs_before_any_trial(tiny_study_file: Path, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "compare.csv").write_text("mine")
    _refused(invoke("compare", str(tiny_study_file), "--strategies", "random", "--trials", "1", "--seeds", "1",
                    "--storage", db_url, "--out", str(out)), out / "compare.csv")
    assert (out / "compare.csv").read_text() == "mine"
    assert not (tmp_path / "study.db").exists()  # nothing ran


def test_lesson_refuses_an_existing_page_or_a_foreign_readme(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    out.mkdir()
    (out / "initialization.md").write_text("my edits")
    _refused(invoke("lesson", "initialization", "--quick", "--storage", db_url, "--out", str(out)),
             out / "initialization.md")
    (out / "initialization.md").unlink()
    (out / "README.md").write_text("# My project\n")
    _refused(invoke("lesson", "initialization", "--quick", "--storage", db_url, "--out", str(out)), out / "README.md")
    assert (out / "README.md").read_text() == "# My project\n"
    assert not (tmp_path / "study.db").exists()  # nothing ran


def test_lesson_index_is_not_refused(tmp_path: Path) -> None:
    from tunekit.lessons._page import page_outputs, write_index

    write_index(tmp_path)
    assert page_outputs("initialization", tmp_path) == []
    (tmp_path / "initialization_curves.png").write_bytes(b"x")
    assert page_outputs("initialization", tmp_path) == [tmp_path / "initialization_curves.png"]
