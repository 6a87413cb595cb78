"""Storage URLs: defaults, masking, malformed and unreachable databases, read-only opening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tunekit import ConfigError
from tunekit.storage._storage import load_study, mask, open_storage, resolve_url


def test_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_url() == "sqlite:///tunekit.db"
    monkeypatch.setenv("TUNEKIT_STORAGE", "sqlite:///env.db")
    assert resolve_url() == "sqlite:///env.db"
    assert resolve_url("sqlite:///arg.db") == "sqlite:///arg.db"


def test_mask_hides_password() -> None:
    assert mask("postgresql+psycopg://bob:s3cret@db:5432/x") == "postgresql+psycopg://bob:***@db:5432/x"
    assert mask("sqlite:///a.db") == "sqlite:///a.db"


def test_malformed_url() -> None:
    with pytest.raises(ConfigError, match=r"malformed storage URL 'not a url'; use an SQLAlchemy URL"):
        open_storage("not a url", create=True)


def test_unreachable_server_masks_password() -> None:
    with pytest.raises(ConfigError, match=r"cannot open storage 'postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/x'") as info:
        open_storage("postgresql+psycopg://u:topsecret@127.0.0.1:1/x", create=True)
    assert "topsecret" not in str(info.value)


def test_read_only_open_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    with pytest.raises(ConfigError, match=r"no study database at"):
        open_storage(f"sqlite:///{db}", create=False)
    assert not db.exists()


def test_foreign_sqlite_file_is_refused_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(ConfigError, match=r"is not an Optuna study database"):
        open_storage(f"sqlite:///{db}", create=True)
    assert db.read_bytes() == before


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"folder '.*nowhere' does not exist"):
        open_storage(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}", create=True)


def test_load_study_lists_existing(db_url: str) -> None:
    import optuna

    optuna.create_study(storage=db_url, study_name="alpha")
    with pytest.raises(ConfigError, match=r"no study named 'beta' in .*; studies there: alpha"):
        load_study("beta", db_url)
    assert load_study("alpha", db_url).study_name == "alpha"


def _open_at_once(url: str, writers: int = 4) -> list[str]:
    """``writers`` threads open ``url`` for writing at the same moment (each its own connections, as
    workers started together on one new database): the errors they met."""
    import threading

    start, errors = threading.Barrier(writers), []

    def open_it() -> None:
        start.wait()
        try:
            open_storage(url, create=True).engine.dispose()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(str(exc))

    threads = [threading.Thread(target=open_it) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_writers_opening_one_new_sqlite_file_at_once_all_get_it(tmp_path: Path) -> None:
    """Before the lock, 30 of 40 such opens failed ("table studies already exists", or the half-made
    file called "not an Optuna study database")."""
    for round_ in range(5):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        assert _open_at_once(url) == []
        assert open_storage(url, create=False).get_all_studies() == []


def test_writers_opening_one_empty_postgres_database_at_once_all_get_it(postgres_url: str) -> None:
    """Before the retry, 18 of 24 such opens failed (a duplicate key in pg_type: one table made twice)."""
    import sqlalchemy

    for _ in range(3):
        engine = sqlalchemy.create_engine(postgres_url)
        with engine.begin() as con:
            con.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        assert _open_at_once(postgres_url) == []
        assert open_storage(postgres_url, create=False).get_all_studies() == []
