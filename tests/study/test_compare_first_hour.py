"""``tunekit compare`` for a newcomer (issue 11): start-up trials said, columns explained, --out checked first."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit import ConfigError
from tunekit.study import compare, startup_note
from tunekit._spec import load_spec


def test_startup_note_names_each_strategy_whose_start_up_exceeds_the_budget() -> None:
    note = startup_note(["random", "tpe", "skopt", "grid"], 3, {})
    assert note is not None and "\n" not in note
    assert "tpe (n_startup_trials=10)" in note and "skopt (n_initial_points=10)" in note
    assert "random (" not in note and "grid" not in note
    assert "--trials 3" in note and "-O tpe.n_startup_trials=" in note
    assert startup_note(["random", "tpe"], 11, {}) is None
    assert startup_note(["random", "tpe"], 3, {"tpe": {"n_startup_trials": "2"}}) is None
    assert "tpe (n_startup_trials=5)" in startup_note(["tpe"], 5, {"tpe": {"n_startup_trials": 5}})


@pytest.mark.slow
def test_short_compare_says_tpe_is_random_and_explains_the_columns(tiny_study_file: Path, db_url: str,
                                                                    tmp_path: Path) -> None:
    result = invoke("compare", str(tiny_study_file), "--strategies", "random,tpe", "--trials", "2", "--seeds", "1",
                    "--storage", db_url, "--out", str(tmp_path / "cmp"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(notes) == 1 and "tpe (n_startup_trials=10)" in notes[0] and "random search" in notes[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("strategy"))
    assert lines[header + 1].startswith("random") and lines[header + 2].startswith("tpe")
    explained = lines[header + 3]
    for column in ("median best", "trials to", "reached", "s/trial", "not reached", "val_accuracy"):
        assert column in explained, explained
    # with the start-up below the budget, no note
    result = invoke("compare", str(tiny_study_file), "--strategies", "tpe", "--trials", "2", "--seeds", "1",
                    "-O", "tpe.n_startup_trials=1", "--storage", db_url, "--out", str(tmp_path / "cmp2"))
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_out_under_a_file_is_refused_before_the_first_trial(tiny_study_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    optuna.create_study(storage=url, study_name="other")
    before = _digest(db)
    (tmp_path / "somefile").write_text("not a folder\n")
    result = invoke("compare", str(tiny_study_file), "--strategies", "random", "--trials", "1", "--seeds", "1",
                    "--storage", url, "--out", "somefile/sub")
    line = one_error_line(result)
    assert "somefile/sub" in line and "'somefile' is a file, not a folder" in line and "--out" in line
    assert _digest(db) == before
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        compare(load_spec(str(tiny_study_file)), strategies=["random"], n_trials=1, seeds=1, storage=url,
                out_dir=tmp_path / "somefile" / "sub")
    assert _digest(db) == before


def test_out_folder_created_for_the_check_is_not_left_behind_by_a_later_error(tiny_study_file: Path,
                                                                              tmp_path: Path) -> None:
    result = invoke("compare", str(tiny_study_file), "--strategies", "random", "--trials", "1", "--seeds", "1",
                    "--storage", "nosuchdialect://x", "--out", str(tmp_path / "a" / "b"))
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "a").exists()


@pytest.fixture
def read_only_folder(tmp_path: Path, request: pytest.FixtureRequest):
    """A folder on a read-only file system (a tmpfs remounted read-only; root ignores permission bits)."""
    if os.geteuid() != 0:  # a regular user: permission bits are enough
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder, "permission denied"
        folder.chmod(0o755)
        return
    fs = request.getfixturevalue("small_tmpfs")
    fs.make_read_only()
    yield fs.folder, "read-only file system"


def test_out_on_a_read_only_file_system_is_refused_before_the_first_trial(tiny_study_file: Path, tmp_path: Path,
                                                                          read_only_folder) -> None:
    folder, reason = read_only_folder
    db = tmp_path / "study.db"
    for out in (folder, folder / "new"):
        result = invoke("compare", str(tiny_study_file), "--strategies", "random", "--trials", "1", "--seeds", "1",
                        "--storage", f"sqlite:///{db}", "--out", str(out))
        line = one_error_line(result)
        assert str(out) in line and reason in line and "--out" in line
    assert not db.exists()
