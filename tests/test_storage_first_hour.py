"""Storage for a newcomer (issue 11, items 11, 14, 18): a study database on a read-only file
system, messages for unknown URLs and missing drivers, and a full disk.

Read-only and full file systems are real: a tmpfs mounted for the test (root, as here and
in CI), remounted read-only or filled to the brim with a file.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import TINY_STUDY, Tmpfs, invoke, one_error_line


@pytest.fixture(scope="module")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real study database (study 'tiny', one trained trial) made once for this module."""
    import tunekit

    folder = tmp_path_factory.mktemp("made")
    (folder / "tiny.py").write_text(TINY_STUDY)
    tunekit.run(tunekit.load_spec(folder / "tiny.py"), n_trials=1, storage=f"sqlite:///{folder / 'study.db'}")
    return folder / "study.db"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _on_read_only(tmpfs: Tmpfs, study_db: Path) -> Path:
    db = tmpfs.folder / "study.db"
    shutil.copy(study_db, db)
    tmpfs.make_read_only()
    return db


# Item 11: a study database on a read-only file system

def test_reading_commands_work_on_a_read_only_file_system(tmpfs: Tmpfs, study_db: Path, tmp_path: Path) -> None:
    db = _on_read_only(tmpfs, study_db)
    url = f"sqlite:///{db}"
    before = _digest(db)
    studies = invoke("studies", "--storage", url)
    assert studies.exit_code == 0 and "tiny" in studies.output and "val_accuracy" in studies.output, studies.output
    trials = invoke("trials", "tiny", "--storage", url)
    assert trials.exit_code == 0 and "COMPLETE" in trials.output, trials.output
    best = invoke("best", "tiny", "--storage", url, "--json")
    assert best.exit_code == 0 and '"study": "tiny"' in best.output, best.output
    out = tmp_path / "trials.csv"
    export = invoke("export", "tiny", "--storage", url, "-o", str(out))
    assert export.exit_code == 0 and out.read_text().count("\n") >= 2, export.output
    report = invoke("report", "tiny", "--storage", url, "-o", str(tmp_path / "tiny.html"))
    assert report.exit_code == 0 and (tmp_path / "tiny.html").stat().st_size > 0, report.output
    from tunekit.report import make_server

    server = make_server(storage=url, port=0)  # the dashboard opens it too
    server.server_close()
    assert _digest(db) == before


def test_read_only_database_with_changes_still_in_its_wal_is_not_read_stale(tmpfs: Tmpfs, study_db: Path,
                                                                          tmp_path: Path) -> None:
    work = tmp_path / "work.db"
    shutil.copy(study_db, work)
    con = sqlite3.connect(work)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("UPDATE studies SET study_name = 'renamed'")
    con.commit()
    for suffix in ("", "-wal"):  # copied while open: the change is only in the -wal file; no -shm
        shutil.copy(f"{work}{suffix}", tmpfs.folder / f"study.db{suffix}")
    con.close()
    tmpfs.make_read_only()
    line = one_error_line(invoke("studies", "--storage", f"sqlite:///{tmpfs.folder / 'study.db'}"))
    assert "its last changes are still in" in line and "study.db-wal" in line and "copy both files" in line, line


def test_run_on_a_read_only_file_system_says_read_only(tmpfs: Tmpfs, study_db: Path, tmp_path: Path) -> None:
    db = _on_read_only(tmpfs, study_db)
    before = _digest(db)
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    for command in ("run", "worker"):
        line = one_error_line(invoke(command, str(tmp_path / "tiny.py"), "--storage", f"sqlite:///{db}"))
        assert line.startswith(f"error: the study database '{db}' is on a read-only file system; "), line
        assert "copy it to a writable folder" in line and "--storage" in line
    line = one_error_line(invoke("run", str(tmp_path / "tiny.py"), "--storage", f"sqlite:///{tmpfs.folder / 'new.db'}"))
    assert f"folder '{tmpfs.folder}' is on a read-only file system" in line, line
    assert _digest(db) == before and sorted(p.name for p in tmpfs.folder.iterdir()) == ["study.db"]


# Item 14: messages for storage URLs and read-only output folders

def test_unknown_url_scheme_names_the_two_forms() -> None:
    for command in (["studies"], ["trials", "x"]):
        line = one_error_line(invoke(*command, "--storage", "notaurl://"))
        assert line == ("error: 'notaurl://' is not a known database URL; use sqlite:///path/to/file.db "
                        "or postgresql+psycopg://user@host:5432/db"), line


def test_mysql_without_a_driver_names_the_mysql_driver() -> None:
    line = one_error_line(invoke("studies", "--storage", "mysql://bob:secret@db.example/tunekit"))
    assert "MySQLdb" in line and "pip install pymysql" in line and "mysql+pymysql://" in line, line
    assert "postgres" not in line.replace("PostgreSQL", "") and "secret" not in line, line


def test_missing_postgresql_driver_still_names_the_postgres_extra() -> None:
    line = one_error_line(invoke("studies", "--storage", "postgresql+asyncpg://u@h/db"))
    assert "asyncpg" in line and "pip install 'tunekit[postgres]'" in line, line


def test_writing_into_a_read_only_folder_says_read_only(tmpfs: Tmpfs, study_db: Path) -> None:
    url = f"sqlite:///{study_db}"
    tmpfs.make_read_only()
    line = one_error_line(invoke("report", "tiny", "--storage", url, "-o", str(tmpfs.folder / "r.html")))
    assert line.endswith("read-only file system") and "permission denied" not in line, line
    line = one_error_line(invoke("best", "tiny", "--storage", url, "--save-model", str(tmpfs.folder / "m.keras")))
    assert line.endswith("read-only file system"), line


# Item 18: a full disk

_ATTRS = {"space", "data", "dataset", "task", "metric", "direction", "seed", "epochs", "fixed", "data_seed",
          "val_fraction", "max_rows", "base_dir", "tunekit_version"}  # what `run` writes for a new study
_FULL = re.compile(r"error: disk full \((\d+) bytes free at (.+?)\); free some space there")


def _disk_full_line(result, folder: Path) -> int:
    """Assert a one-line 'disk full' error (exit 1) naming ``folder``; return the free bytes it says."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    match = _FULL.match(lines[0])
    assert match and Path(match.group(2)) == folder.resolve(), lines[0]
    return int(match.group(1))


def test_new_database_on_a_full_disk_says_disk_full_and_leaves_no_file(small_tmpfs: Tmpfs, tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    db = small_tmpfs.folder / "study.db"
    small_tmpfs.leave_free(0)
    result = invoke("run", str(tmp_path / "tiny.py"), "--trials", "1", "--storage", f"sqlite:///{db}")
    assert _disk_full_line(result, small_tmpfs.folder) == 0
    assert sorted(p.name for p in small_tmpfs.folder.iterdir()) == ["filler"]  # no half-made database


def _studies_and_attrs(db: Path) -> dict[str, set[str]]:
    """Each study's user attribute keys, read straight from the file (read-only)."""
    if not db.exists() or db.stat().st_size == 0:
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "studies" not in tables:
            return {"(no Optuna tables)": set()}
        found: dict[str, set[str]] = {name: set() for (name,) in con.execute("SELECT study_name FROM studies")}
        for name, key in con.execute(
            "SELECT s.study_name, a.key FROM study_user_attributes a JOIN studies s USING (study_id)"
        ):
            found[name].add(key)
        return found
    finally:
        con.close()


def _trial_count(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_a_full_disk_never_leaves_a_study_without_its_attributes(small_tmpfs: Tmpfs, tmp_path: Path) -> None:
    """Every amount of free space from none to enough: the run either works, or says 'disk full'
    and leaves no database or one without half-made studies (the next run can start clean)."""
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    db = small_tmpfs.folder / "study.db"
    outcomes = []
    for pages in range(0, 250, 10):  # 4 KB pages of free space, until the run works
        for leftover in small_tmpfs.folder.glob("study.db*"):
            leftover.unlink()
        small_tmpfs.leave_free(pages * 4096)
        result = invoke("run", str(tmp_path / "tiny.py"), "--trials", "1", "--storage", f"sqlite:///{db}")
        (small_tmpfs.folder / "filler").unlink()  # room to read what the run left
        found = _studies_and_attrs(db)
        if result.exit_code == 0:
            outcomes.append("ran")
            assert _ATTRS <= found["tiny"], found
            break
        _disk_full_line(result, small_tmpfs.folder)
        assert found in ({}, {"tiny": found.get("tiny")}) and "(no Optuna tables)" not in found, (pages, found)
        if found:
            assert _ATTRS <= found["tiny"], (pages, found)
        outcomes.append("full, tables made" if db.exists() and db.stat().st_size else "full, no database")
        del result  # its traceback holds the failed run's connections (and so its deleted files) open
    assert outcomes[-1] == "ran", outcomes
    assert "full, no database" in outcomes and "full, tables made" in outcomes, outcomes  # both windows crossed


@pytest.mark.slow
def test_a_full_disk_under_worker_processes_says_disk_full(tmpfs: Tmpfs, study_db: Path, tmp_path: Path) -> None:
    """The disk fills while a worker process runs a trial: the run stops with the same one line.
    (``--workers 2`` with one trial left starts one worker process: one is enough to fill the disk.)"""
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    db = tmpfs.folder / "study.db"
    shutil.copy(study_db, db)
    tmpfs.leave_free(30 * 4096)  # room for the run's own writes and a trial's start, not for its end
    result = invoke("run", str(tmp_path / "tiny.py"), "--trials", "2", "--workers", "2", "--storage", f"sqlite:///{db}")
    last = result.output.strip().splitlines()[-1]
    assert result.exit_code == 1 and _FULL.match(last), result.output
    assert "starting 1 worker" in result.output, result.output
    (tmpfs.folder / "filler").unlink()  # room to read what the run left
    assert _trial_count(db) == 2  # the worker's trial began: the disk filled under it, not before it
