"""An existing SQLite study on a disk with no byte free: ``disk full`` (exit 1), and nothing left
behind that breaks the database once space is freed (issue 27, item 24)."""

from __future__ import annotations

import gc
import re
import sqlite3
from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_STUDY, Tmpfs, invoke

pytestmark = pytest.mark.slow

_FULL = re.compile(r"error: disk full \((\d+) bytes free at (.+?)\); free some space there")


@pytest.mark.parametrize("free", [0, 4096])
def test_resuming_on_a_full_disk_says_disk_full_and_leaves_the_database_readable(
        small_tmpfs: Tmpfs, tmp_path: Path, free: int) -> None:
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    db = small_tmpfs.folder / "study.db"
    url = f"sqlite:///{db}"
    assert invoke("run", str(tmp_path / "tiny.py"), "--trials", "1", "--storage", url).exit_code == 0
    gc.collect()  # the first run's connections closed, as when its process ends
    before = sorted(p.name for p in small_tmpfs.folder.iterdir())
    content = db.read_bytes()

    small_tmpfs.leave_free(free)
    result = invoke("run", str(tmp_path / "tiny.py"), "--trials", "2", "--storage", url)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    match = _FULL.match(lines[0])
    assert match and Path(match.group(2)) == small_tmpfs.folder.resolve() and int(match.group(1)) == free, lines[0]
    del result

    (small_tmpfs.folder / "filler").unlink()
    assert sorted(p.name for p in small_tmpfs.folder.iterdir()) == before  # no stray -shm or -wal left
    assert db.read_bytes() == content
    con = sqlite3.connect(db)  # the plain sqlite3 tool works again at once
    try:
        assert con.execute("SELECT count(*) FROM trials").fetchone()[0] == 1
    finally:
        con.close()
    assert invoke("run", str(tmp_path / "tiny.py"), "--trials", "2", "--storage", url).exit_code == 0
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 2
