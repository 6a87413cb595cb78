"""A storage that rides out a database outage: its calls retried with backoff for a bounded time.

A PostgreSQL (or MySQL) server that restarts or is briefly unreachable refuses connections
or drops them; Optuna's RDBStorage surfaces that as ``StorageInternalError`` ("invalid data
in the commit") with SQLAlchemy's ``OperationalError`` as its ``__cause__``.
``open_storage`` opens every database server as a ``RetryingRDBStorage``: built once, it
retries its calls on such errors while its ``retry`` is active (a worker's loop,
``tunekit.execution._resilient.retrying``) and is a plain RDBStorage otherwise. Past the
retry window a call raises ``DatabaseUnreachable``: one line naming the real cause.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from typing import Any, Callable, Iterator

import optuna

from tunekit._errors import TunekitError
from tunekit.storage._url import mask, reason

_MAX_DELAY = 5.0
# The RDBStorage methods a worker calls (through Optuna's study and trial objects or directly).
_METHODS = (
    "create_new_trial", "set_trial_param", "get_trial_param", "set_trial_state_values",
    "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
    "get_trial_id_from_study_id_trial_number", "get_trial", "get_all_trials", "get_best_trial",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
    "get_study_system_attrs", "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies",
    "set_study_user_attr", "set_study_system_attr", "record_heartbeat", "_get_stale_trial_ids",
    # the private ones Optuna's _CachedStorage (how a study wraps an RDBStorage) calls instead:
    # a suggest_* during an outage went through _set_trial_param unretried and stopped the run
    "_create_new_trial", "_set_trial_param", "_get_trials", "_get_best_trial_id",
)


class DatabaseUnreachable(TunekitError):
    """The study database stayed unreachable for the whole retry window."""


def connection_error(exc: BaseException) -> BaseException | None:
    """The driver error behind ``exc`` when it is a refused, lost or broken connection, else None."""
    import sqlalchemy.exc as sa

    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, DatabaseUnreachable):
        if isinstance(seen, (sa.OperationalError, sa.InterfaceError, sa.PendingRollbackError)) or (
            isinstance(seen, sa.DBAPIError) and seen.connection_invalidated
        ):  # PendingRollbackError: a session whose connection the server dropped mid-transaction
            return seen
        if isinstance(seen, (sa.SQLAlchemyError, ConnectionError)) and _LOST.search(str(seen)):
            return seen  # e.g. "Can't reconnect until invalid transaction is rolled back", "connection is closed"
        seen = seen.__cause__
    return None


#: Messages of a connection the server refused, closed or dropped, whatever error class carries them.
_LOST = re.compile(r"connection (refused|is closed|is lost|was closed|reset)|server closed the connection|"
                   r"terminating connection|the database system is (shutting down|starting up|in recovery mode)|"
                   r"can't reconnect|lost synchronization with (the )?server|ssl syscall|eof detected", re.I)


def describe(error: BaseException) -> str:
    """A short cause: ``connection refused``, ``connection lost``, ... or the driver's first line."""
    lowered = str(getattr(error, "orig", None) or error).lower()
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
    return reason(error)


class Retry:
    """Retry state of one storage (or of one worker joining): when the current outage began,
    whether it was said. While ``enabled`` is False calls are made once, errors raised as they are."""

    def __init__(self, seconds: float, url: str, check: Callable[[], None] | None = None, *,
                 enabled: bool = True) -> None:
        self.seconds, self.url, self._check = seconds, mask(url), check
        self.enabled = enabled
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @contextlib.contextmanager
    def active(self, seconds: float, check: Callable[[], None] | None = None) -> Iterator["Retry"]:
        """Within the block calls are retried for ``seconds``; ``check`` (a Ctrl-C) ends a wait."""
        before = self.seconds, self._check, self.enabled
        self.seconds, self._check, self.enabled = seconds, check, True
        try:
            yield self
        finally:
            self.seconds, self._check, self.enabled = before

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
    """RDBStorage's method ``name``, called through the storage's ``retry``."""
    original = getattr(optuna.storages.RDBStorage, name)

    def method(self: "RetryingRDBStorage", *args: Any, **kwargs: Any) -> Any:
        return self.retry.call(original, self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = original.__doc__
    return method


def _with_retried_methods(cls: type) -> type:
    """``cls`` with each method of ``_METHODS`` called through ``self.retry`` (at definition)."""
    for name in _METHODS:
        setattr(cls, name, _retried(name))
    return cls


@_with_retried_methods
class RetryingRDBStorage(optuna.storages.RDBStorage):
    """An RDBStorage whose calls ride out a database outage while its ``retry`` is active.

    Example:
        >>> with storage.retry.active(120, interrupts.check):  # doctest: +SKIP
        ...     study.ask()
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.retry = Retry(0.0, url, enabled=False)
        super().__init__(url, **kwargs)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        del state["retry"]  # holds a lock; a copy starts with its retry off
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        self.retry = Retry(0.0, state["url"], enabled=False)
        super().__setstate__(state)


def retries_now(storage: Any) -> bool:
    """Whether ``storage``'s calls are being retried now (its retry is active)."""
    return isinstance(storage, RetryingRDBStorage) and storage.retry.enabled
