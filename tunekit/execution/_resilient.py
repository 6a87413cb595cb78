"""Workers ride out a database outage: storage calls retried with backoff for a bounded time.

A PostgreSQL (or MySQL) server that restarts or is briefly unreachable refuses connections
or drops them; Optuna's RDBStorage surfaces that as ``StorageInternalError`` ("invalid data
in the commit") with SQLAlchemy's ``OperationalError`` as its ``__cause__``. While a worker
runs, every call of its storage is retried on such errors for ``db_retry`` seconds (default
120, ``TUNEKIT_DB_RETRY``), with one line on stderr when the outage starts; after that the
worker stops with ``DatabaseUnreachable``: one line naming the real cause. SQLite files are
local and are not retried (their errors, a full disk say, are not outages).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any, Callable, Iterator

import optuna

from tunekit._errors import ConfigError, TunekitError

DEFAULT_DB_RETRY = 120.0
ENV_VAR = "TUNEKIT_DB_RETRY"
_MAX_DELAY = 5.0
# The RDBStorage methods a worker calls (through Optuna's study and trial objects or directly).
_METHODS = (
    "create_new_trial", "set_trial_param", "get_trial_param", "set_trial_state_values",
    "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
    "get_trial_id_from_study_id_trial_number", "get_trial", "get_all_trials", "get_best_trial",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
    "get_study_system_attrs", "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies",
    "set_study_user_attr", "set_study_system_attr", "record_heartbeat", "_get_stale_trial_ids",
)


class DatabaseUnreachable(TunekitError):
    """The study database stayed unreachable for the whole retry window."""


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


def connection_error(exc: BaseException) -> BaseException | None:
    """The driver error behind ``exc`` when it is a refused, lost or broken connection, else None."""
    import sqlalchemy.exc as sa

    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, DatabaseUnreachable):
        if isinstance(seen, (sa.OperationalError, sa.InterfaceError, sa.PendingRollbackError)) or (
            isinstance(seen, sa.DBAPIError) and seen.connection_invalidated
        ):  # PendingRollbackError: a session whose connection the server dropped mid-transaction
            return seen
        seen = seen.__cause__
    return None


def describe(error: BaseException) -> str:
    """A short cause: ``connection refused``, ``connection lost``, ... or the driver's first line."""
    from tunekit._storage import mask

    text = str(getattr(error, "orig", None) or error)
    lowered = text.lower()
    for needle, short in (
        ("connection refused", "connection refused"),
        ("timeout expired", "connection timed out"), ("timed out", "connection timed out"),
        ("terminating connection", "connection closed by the server"),
        ("server closed the connection", "connection closed by the server"),
        ("the database system is shutting down", "the server is shutting down"),
        ("the database system is starting up", "the server is starting up"),
        ("could not translate host name", "unknown host"), ("name or service not known", "unknown host"),
    ):
        if needle in lowered:
            return short
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return mask(first)


class Retry:
    """Retry state of one process's storage: when the current outage began, whether it was said."""

    def __init__(self, seconds: float, url: str, check: Callable[[], None] | None = None) -> None:
        from tunekit._storage import mask

        self.seconds, self.url, self._check = seconds, mask(url), check
        self.enabled = True  # False: calls are made once, errors raised as they are (SQLite)
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, retried with backoff while the database is unreachable."""
        if not self.enabled:
            return fn(*args, **kwargs)
        delay = 0.25
        while True:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                cause = connection_error(exc)
                if cause is None:
                    raise
                waited = self._failed()
                if waited >= self.seconds:
                    during = f" for {self.seconds:g} s" if self.seconds else ""
                    raise DatabaseUnreachable(f"database unreachable{during}: {describe(cause)} ({self.url})") from exc
                self._sleep(min(delay, self.seconds - waited))
                delay = min(2 * delay, _MAX_DELAY)
                continue
            if self._down_since is not None:
                with self._lock:
                    self._down_since = None
            return result

    def _failed(self) -> float:
        now = time.monotonic()
        with self._lock:
            if self._down_since is None:
                self._down_since = now
                if self.seconds > 0:
                    print(f"database unreachable, retrying for {self.seconds:g} s", file=sys.stderr, flush=True)
            return now - self._down_since

    def _sleep(self, seconds: float) -> None:
        """Sleep; in the main thread a Ctrl-C noted by ``check`` ends the wait."""
        end = time.monotonic() + seconds
        main = threading.current_thread() is threading.main_thread()
        while True:
            if main and self._check is not None:
                self._check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))


def _retried(name: str) -> Callable[..., Any]:
    original = getattr(optuna.storages.RDBStorage, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._tunekit_retry.call(original, self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = original.__doc__
    return method


RetryingRDBStorage = type(
    "RetryingRDBStorage", (optuna.storages.RDBStorage,),
    {"__module__": __name__, "__doc__": "An RDBStorage whose calls ride out a database outage.",
     **{name: _retried(name) for name in _METHODS}},
)


@contextlib.contextmanager
def retrying(storage: Any, seconds: float | None = None, check: Callable[[], None] | None = None) -> Iterator[Retry]:
    """Within the block, ``storage`` (an RDBStorage of a database server) retries its calls
    for ``seconds`` (see ``db_retry_seconds``) while the database is unreachable.

    Example:
        >>> with retrying(storage, 120, interrupts.check) as retry:  # doctest: +SKIP
        ...     study.ask()
    """
    retry = Retry(db_retry_seconds(seconds), str(storage.url), check)
    if type(storage) is not optuna.storages.RDBStorage or storage.engine.dialect.name == "sqlite":
        retry.enabled = False
        yield retry
        return
    storage._tunekit_retry = retry
    storage.__class__ = RetryingRDBStorage  # the same object: the study's cached storage wraps it
    try:
        yield retry
    finally:
        storage.__class__ = optuna.storages.RDBStorage
        del storage._tunekit_retry


def _ping(url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {})
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def open_retrying(url: str, seconds: float | None, **kwargs: Any) -> tuple[Any, Retry]:
    """``tunekit._storage.open_storage(url, **kwargs)`` for a worker joining while the server
    may be down: its ConfigError is raised only when the server answers (a real problem)."""
    from tunekit._storage import open_storage, sqlite_path

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
