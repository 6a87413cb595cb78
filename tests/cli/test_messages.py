"""Issue 27 items 20 and 21: error and summary lines that say what is true and can be pasted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line, stored_study


@pytest.fixture
def study_db(db_url: str) -> str:
    """A study 'tiny' with one complete trial, made without training."""
    from tunekit import Float, Space

    stored_study(db_url, "tiny", Space({"learning_rate": Float(1e-3, 1e-1, log=True)}),
                 [{"params": {"learning_rate": 0.01}, "value": 0.7}])
    return db_url


@pytest.mark.parametrize("command", [["trials"], ["best"], ["report"], ["export", "-o", "out.csv"], ["health"]])
def test_unknown_study_suggests_only_options_the_command_has(command: list[str], study_db: str) -> None:
    line = one_error_line(invoke(command[0], "tinny", *command[1:], "--storage", study_db))
    assert "no study named 'tinny'" in line and "studies there: tiny" in line and "did you mean 'tiny'?" in line
    assert "--study-name" not in line and "tunekit run STUDY_FILE --storage URL" in line
    assert not Path("out.csv").exists()


def test_worker_still_suggests_its_study_name_option(study_db: str, tiny_study_file: Path) -> None:
    from tunekit.storage._url import no_study

    assert str(no_study("x", study_db, ["tiny"])).endswith("or pass --study-name")


@pytest.mark.parametrize("keep", [100, 4096, 10, 0.5])
def test_a_truncated_database_is_called_damaged_and_left_as_it_was(keep: float, study_db: str, tmp_path: Path,
                                                                   tiny_study_file: Path) -> None:
    db = tmp_path / "study.db"
    data = db.read_bytes()
    db.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for args in (["trials", "tiny"], ["run", str(tiny_study_file), "--trials", "1"]):
        line = one_error_line(invoke(*args, "--storage", study_db))
        assert f"the study database '{db}' is damaged" in line and "truncated or corrupt" in line, line
        assert "no Optuna tables" not in line and "restore it from a backup" in line
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_text_file_is_still_not_a_study_database(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("my notes\n")
    line = one_error_line(invoke("trials", "x", "--storage", f"sqlite:///{tmp_path / 'notes.db'}"))
    assert "is not an Optuna study database" in line


@pytest.mark.slow
def test_summary_with_tunekit_storage_prints_lines_that_can_be_pasted(postgres_url: str, tiny_study_file: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert ":" in postgres_url.split("@")[0].split("//")[1], "the test needs a URL with a password"
    monkeypatch.setenv("TUNEKIT_STORAGE", postgres_url)
    result = invoke("run", str(tiny_study_file), "--trials", "1", "--strategy", "random", "-q")
    assert result.exit_code == 0, result.output
    dashboard = [line for line in result.output.splitlines() if line.startswith("open the dashboard")]
    assert dashboard == ['open the dashboard: tunekit dashboard   (or: optuna-dashboard "$TUNEKIT_STORAGE")']
    assert "--storage" not in result.output  # every suggested command finds the database through the variable


def test_summary_with_a_masked_explicit_url_names_a_placeholder(study_db: str) -> None:
    import optuna

    from tunekit.study import run_summary

    lines = list(run_summary(optuna.load_study(study_name="tiny", storage=study_db),
                             "postgresql+psycopg://u:s3cret@db-host/tunekit"))
    assert lines[-1] == "open the dashboard: tunekit dashboard --storage URL   (or: optuna-dashboard URL)"
    assert "s3cret" not in "\n".join(lines)


def _lesson(storage: str) -> str:
    return one_error_line(invoke("lesson", "initialization", "--quick", "--storage", storage, "--out", "pages"))


def test_lesson_with_bad_storage_is_one_line_before_any_progress(tmp_path: Path) -> None:
    assert "folder" in _lesson(f"sqlite:///{tmp_path / 'missing' / 'l.db'}") and "does not exist" in \
        _lesson(f"sqlite:///{tmp_path / 'missing' / 'l.db'}")
    (tmp_path / "notes.txt").write_text("my notes\n")
    assert "not an Optuna study database" in _lesson(f"sqlite:///{tmp_path / 'notes.txt'}")
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"


def test_lesson_with_a_read_only_database_is_one_line(tmpfs, study_db: str, tmp_path: Path) -> None:
    db = tmpfs.folder / "study.db"
    db.write_bytes((tmp_path / "study.db").read_bytes())
    tmpfs.make_read_only()
    line = _lesson(f"sqlite:///{db}")
    assert "read-only file system" in line and "lesson" not in line.split("error:")[0]


@pytest.mark.slow
def test_lesson_draws_no_progress_bar_when_not_on_a_terminal(db_url: str, tmp_path: Path) -> None:
    result = invoke("lesson", "initialization", "--quick", "--storage", db_url, "--out", str(tmp_path / "pages"))
    assert result.exit_code == 0, result.output
    assert "lesson initialization: study 1/" in result.output  # a line per study stays
    assert "it/s" not in result.output and "%|" not in result.output and "\r" not in result.output
