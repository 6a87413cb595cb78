"""Study database URLs: resolution, validation, connection and password masking."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import optuna

from tunekit._errors import ConfigError

DEFAULT_STORAGE = "sqlite:///tunekit.db"
ENV_VAR = "TUNEKIT_STORAGE"
_OPTUNA_TABLES = ("studies", "trials", "version_info")


def resolve_url(storage: str | None = None) -> str:
    """The storage URL to use: the argument, else $TUNEKIT_STORAGE, else ``sqlite:///tunekit.db``."""
    return storage or os.environ.get(ENV_VAR) or DEFAULT_STORAGE


def mask(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe for messages and logs)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _parse(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"malformed storage URL '{mask(url)}'; use an SQLAlchemy URL such as sqlite:///tunekit.db "
            "or postgresql+psycopg://user:password@host/dbname"
        ) from None


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for other back-ends and in-memory SQLite."""
    parsed = _parse(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_has_optuna_tables(path: Path) -> bool:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return False
    finally:
        con.close()
    return all(t in names for t in _OPTUNA_TABLES)


def open_storage(url: str | None = None, *, create: bool) -> optuna.storages.RDBStorage:
    """Connect to the study database at ``url``.

    With ``create=False`` (inspection commands) nothing is written: a missing SQLite file
    or a database without Optuna's tables is a ConfigError instead of an empty new database.

    Example:
        >>> storage = open_storage("sqlite:///tunekit.db", create=True)  # doctest: +SKIP
    """
    url = resolve_url(url)
    parsed = _parse(url)
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.is_file():
            raise ConfigError(
                f"no study database at '{path}'; run `tunekit run STUDY_FILE` first or pass --storage"
            )
        if create and not path.parent.exists():
            raise ConfigError(f"cannot create the study database '{path}': folder '{path.parent}' does not exist")
        if path.is_file() and not _sqlite_has_optuna_tables(path):
            if path.stat().st_size > 0:
                raise ConfigError(f"'{path}' is not an Optuna study database (no Optuna tables); pass another --storage")
            if not create:
                raise ConfigError(f"'{path}' is an empty file, not a study database; run `tunekit run` first")
    engine_kwargs: dict[str, Any] = {}
    if parsed.drivername.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if parsed.drivername.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        storage = optuna.storages.RDBStorage(
            url, engine_kwargs=engine_kwargs, skip_table_creation=not create
        )
        if not create:
            storage.get_all_studies()  # raises when the tables are missing
    except ConfigError:
        raise
    except ImportError as exc:
        raise ConfigError(
            f"storage '{mask(url)}' needs a database driver that is not installed ({getattr(exc.__cause__, 'name', None) or exc.name}); "
            "for PostgreSQL install it with: pip install 'tunekit[postgres]'"
        ) from None
    except Exception as exc:
        reason = mask(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
        raise ConfigError(f"cannot open storage '{mask(url)}': {reason}") from None
    return storage


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in ``storage``, oldest first."""
    return [s.study_name for s in storage.get_all_studies()]


def load_study(name: str, storage: str | None = None) -> optuna.Study:
    """Load an existing study by name; a ConfigError lists the studies that do exist.

    Example:
        >>> study = load_study("digits", "sqlite:///tunekit.db")  # doctest: +SKIP
    """
    st = open_storage(storage, create=False)
    names = study_names(st)
    if name not in names:
        listed = ", ".join(names) if names else "none"
        raise ConfigError(f"no study named {name!r} in '{mask(resolve_url(storage))}'; studies there: {listed}")
    return optuna.load_study(study_name=name, storage=st)
