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
