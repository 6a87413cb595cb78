"""Study database URLs: resolution, parsing, password masking and the messages that name them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tunekit._errors import ConfigError

DEFAULT_STORAGE = "sqlite:///tunekit.db"
ENV_VAR = "TUNEKIT_STORAGE"
URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/db"


def resolve_url(storage: str | None = None) -> str:
    """The storage URL to use: the argument, else $TUNEKIT_STORAGE, else ``sqlite:///tunekit.db``."""
    return storage or os.environ.get(ENV_VAR) or DEFAULT_STORAGE


def mask(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe for messages and logs).

    Example:
        >>> mask("postgresql+psycopg://tunekit:s3cret@db-host/tunekit")
        'postgresql+psycopg://tunekit:***@db-host/tunekit'
    """
    return re.sub(r"(://[^:/@\s]+:)\S*@", r"\1***@", url)


def parse_url(url: str) -> Any:
    """The SQLAlchemy URL of ``url``; ConfigError for a malformed URL or an unknown database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"malformed storage URL '{mask(url)}'; use an SQLAlchemy URL such as sqlite:///tunekit.db "
            "or postgresql+psycopg://user:password@host/dbname"
        ) from None
    try:
        parsed.get_dialect()  # the dialect only: a missing driver is reported when connecting
    except NoSuchModuleError:
        raise ConfigError(f"'{mask(url)}' is not a known database URL; use {URL_FORMS}") from None
    except ImportError:
        pass
    return parsed


def missing_driver(url: str, parsed: Any, module: str | None) -> ConfigError:
    """The error for a URL whose database driver is not installed, with the right install hint."""
    backend = parsed.get_backend_name()
    what = f"storage '{mask(url)}' needs the database driver {module or parsed.drivername}, which is not installed"
    if backend == "postgresql":
        return ConfigError(f"{what}; install it with: pip install 'tunekit[postgres]' (and use postgresql+psycopg://)")
    if backend in ("mysql", "mariadb"):
        return ConfigError(
            f"{what}; tunekit supports SQLite and PostgreSQL; for MySQL: pip install pymysql "
            "and use mysql+pymysql://user@host:3306/db"
        )
    return ConfigError(f"{what}; tunekit supports SQLite and PostgreSQL: {URL_FORMS}")


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for other back-ends and in-memory SQLite.

    Example:
        >>> sqlite_path("sqlite:///runs/tunekit.db")
        PosixPath('runs/tunekit.db')
        >>> sqlite_path("postgresql+psycopg://tunekit@db-host/tunekit") is None
        True
    """
    parsed = parse_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def reason(exc: BaseException) -> str:
    """The first line of a driver error, password masked."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return mask(text.splitlines()[0] if text else type(exc).__name__)


def no_study(name: str, url: str, names: list[str], *, study_name_option: bool = True) -> ConfigError:
    """The error for a study ``name`` that is not among ``names`` in the database at ``url``:
    which studies are there, the closest name, and how to start the one asked for; "or pass
    --study-name" only for the commands that have that option (``study_name_option``)."""
    import difflib

    listed = ", ".join(names) if names else "none"
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    start = "start it with `tunekit run STUDY_FILE --storage URL`" + (" or pass --study-name" if study_name_option else "")
    return ConfigError(f"no study named {name!r} in '{mask(url)}'; studies there: {listed}; {hint}{start}")
