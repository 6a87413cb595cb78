"""Workers ride out a database outage: storage calls retried with backoff for a bounded time.

``tunekit.storage._storage.open_storage`` opens a database server as a ``RetryingRDBStorage``
(``tunekit.storage._retry``, where the errors that count as an outage are told apart). While
a worker runs (``retrying``, around ``work``'s loop), every call of its storage is retried on
such errors for ``db_retry`` seconds (default 120, ``TUNEKIT_DB_RETRY``), with one line on
stderr when the outage starts; after that the worker stops with ``DatabaseUnreachable``: one
line naming the real cause. A worker joining a study waits for a server that is down
(``open_retrying``). SQLite files are local and are not retried (their errors, a full disk
say, are not outages).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

from tunekit._errors import ConfigError
from tunekit.storage._retry import (  # noqa: F401  (DatabaseUnreachable, connection_error re-exported)
    DatabaseUnreachable,
    Retry,
    RetryingRDBStorage,
    connection_error,
)

DEFAULT_DB_RETRY = 120.0
ENV_VAR = "TUNEKIT_DB_RETRY"


def db_retry_seconds(value: float | None = None) -> float:
    """The retry window: ``value``, else $TUNEKIT_DB_RETRY, else 120 s; ConfigError when invalid."""
    source = "db_retry"
    if value is None:
        raw = os.environ.get(ENV_VAR, "").strip()
        if not raw:
            return DEFAULT_DB_RETRY
        source = ENV_VAR
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{ENV_VAR} must be a number of seconds >= 0 (for example 120), got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{source} must be a number of seconds >= 0 (for example 120), got {value!r}")
    return float(value)


@contextlib.contextmanager
def retrying(storage: Any, seconds: float | None = None, check: Callable[[], None] | None = None) -> Iterator[Retry]:
    """Within the block, calls of ``storage`` (a ``RetryingRDBStorage``: how ``open_storage``
    opens a database server) are retried for ``seconds`` (see ``db_retry_seconds``) while the
    database is unreachable; ``check`` (a Ctrl-C) ends a wait. Other storages (SQLite) are
    called once, as they are.

    Example:
        >>> with retrying(storage, 120, interrupts.check) as retry:  # doctest: +SKIP
        ...     study.ask()
    """
    window = db_retry_seconds(seconds)
    if not isinstance(storage, RetryingRDBStorage):
        yield Retry(window, str(storage.url), check, enabled=False)
        return
    with storage.retry.active(window, check) as retry:
        yield retry


def _ping(url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {})
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def open_retrying(url: str, seconds: float | None, **kwargs: Any) -> tuple[Any, Retry]:
    """``tunekit.storage._storage.open_storage(url, **kwargs)`` for a worker joining while the server
    may be down: its ConfigError is raised only when the server answers (a real problem)."""
    from tunekit.storage._storage import open_storage, sqlite_path

    retry = Retry(db_retry_seconds(seconds), url)
    if sqlite_path(url) is not None or url.startswith("sqlite"):
        retry.enabled = False
        return open_storage(url, **kwargs), retry
    while True:
        retry.call(_ping, url)
        try:
            return open_storage(url, **kwargs), retry
        except ConfigError:
            try:
                _ping(url)
            except Exception as exc:
                if connection_error(exc) is not None:
                    continue  # down again: wait for it
            raise
