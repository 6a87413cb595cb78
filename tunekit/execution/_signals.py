"""SIGINT / SIGTERM in a worker: a trial that trains is interrupted, anything else stops at
the next safe point, so an interrupted trial is marked FAIL ``interrupted`` and never lost."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from tunekit._errors import TunekitError


class WorkerStopped(TunekitError):
    """The worker stopped on its own (``Interrupts.stop``): its message says why."""


#: Where a database call's code lives: SQLAlchemy, the drivers, Optuna's storages.
_DATABASE_CODE = tuple(f"{os.sep}{os.path.join(*part)}{os.sep}" for part in (
    ("sqlalchemy",), ("sqlite3",), ("psycopg",), ("psycopg2",), ("optuna", "storages")))

#: Seconds between tries to raise a KeyboardInterrupt held back while a database call runs
#: (when another profiler is set, so the call's return cannot be watched).
_HELD_BACK = 0.02


def database_call(frame: Any) -> Any:
    """The outermost frame, from ``frame`` (where a signal handler interrupted the program) up
    its callers, that runs SQLAlchemy, a database driver or Optuna's storages; None if none does.
    A KeyboardInterrupt raised there breaks SQLAlchemy's session (its next commit fails an
    assertion, a SQLite write lock stays held)."""
    outermost = None
    while frame is not None:
        name = frame.f_code.co_filename
        if any(part in name for part in _DATABASE_CODE):
            outermost = frame
        frame = frame.f_back
    return outermost


class _NoInterruptedClose(logging.Filter):
    """Drops SQLAlchemy's "Exception closing connection" / "Error closing cursor" record of a
    KeyboardInterrupt (a third Ctrl-C inside a database call): the interrupt is raised anyway;
    its 60-line log is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, KeyboardInterrupt):
                return False
            error = error.__cause__ or error.__context__
        return True


def quiet_interrupted_closes() -> None:
    """Put ``_NoInterruptedClose`` on the loggers of SQLAlchemy's engines and connection pools (once)."""
    import sqlalchemy.pool as pools

    names = [f"{cls.__module__}.{cls.__name__}"
             for cls in (pools.QueuePool, pools.NullPool, pools.StaticPool, pools.SingletonThreadPool)]
    for name in ("sqlalchemy.engine.Engine", *names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoInterruptedClose) for f in logger.filters):
            logger.addFilter(_NoInterruptedClose())


class Interrupts:
    """SIGINT / SIGTERM handling for a worker (a context manager; main thread only).

    The first signal raises KeyboardInterrupt only while a trial trains (the runner marks it
    FAIL ``interrupted``); anywhere else (claiming, storage writes) it is noted and the loop
    stops at its next safe point. A second signal raises at once. Python drops an exception
    raised while it runs a finalizer or a weakref callback, so while the trial goes on the
    KeyboardInterrupt is raised again every half second (SIGALRM) until it lands.
    No KeyboardInterrupt is raised inside a database call (``database_call``): it is held
    back and raised where the call returns, unless the signal is the third.
    An error other than tunekit's that ends the block after a signal is raised as the
    KeyboardInterrupt it comes from (a library turned the interrupt into its own error).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.signals = 0
        self._held_back: Any = None  # the database call's frame, or True while polling
        self.stop_reason: str | None = None
        self.in_trial = False
        self._previous: dict[int, Any] = {}
        self._unraisable = sys.unraisablehook

    def __enter__(self) -> "Interrupts":
        quiet_interrupted_closes()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
                self._previous[sig] = signal.signal(sig, self._handle)
            self._unraisable = sys.unraisablehook
            sys.unraisablehook = self._quiet_unraisable
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        self._let_go()
        self.leave_trial()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._previous:
            sys.unraisablehook = self._unraisable
        self._previous.clear()
        if self.requested and isinstance(error, Exception) and not isinstance(error, TunekitError):
            raise KeyboardInterrupt from error

    def _quiet_unraisable(self, info: Any) -> None:
        """A KeyboardInterrupt of ours dropped in a finalizer: no traceback, it is raised again."""
        if not (self.requested and isinstance(info.exc_value, KeyboardInterrupt)):
            self._unraisable(info)

    def enter_trial(self) -> None:
        self.in_trial = True

    def leave_trial(self) -> None:
        self.in_trial = False
        if self._previous and self._held_back is None:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def stop(self, reason: str) -> None:
        """From any thread: stop this worker because of ``reason``. A trial that trains is
        interrupted (as by a signal); ``check`` then raises WorkerStopped(reason)."""
        self.stop_reason = reason
        if self._previous:  # our handlers are in place: the main thread runs them
            signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGALRM:
            if self._held_back is True:  # polling
                self._raise(frame)
            elif self.in_trial:
                if self.stop_reason is not None:  # raised again until it lands, as after a signal
                    signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
                self._raise(frame)
            return
        again = self.signum is not None
        self.signum = signum
        self.signals += 1
        if self.in_trial:
            signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
            self._raise(frame)
        elif again:
            self._raise(frame)

    def _raise(self, frame: Any) -> None:
        """Raise KeyboardInterrupt, or hold it back while a database call runs (see the class):
        a profile function raises it as the call returns; with another profiler set, SIGALRM
        tries again every 20 ms."""
        call = database_call(frame) if self.signals < 3 else None
        if call is not None:
            if self._held_back is None and sys.getprofile() is None:
                self._held_back = call
                sys.setprofile(self._on_return)
            elif self._held_back is None or self._held_back is True:
                self._held_back = True
                signal.setitimer(signal.ITIMER_REAL, _HELD_BACK, _HELD_BACK)
            return
        self._let_go()
        raise KeyboardInterrupt

    def _let_go(self) -> None:
        """Stop holding an interrupt back: the profile function off, or the 20 ms polling back to
        a trial's half-second repeats (or none)."""
        if self._held_back is True:
            signal.setitimer(signal.ITIMER_REAL, *((0.5, 0.5) if self.in_trial else (0,)))
        elif self._held_back is not None and sys.getprofile() == self._on_return:
            sys.setprofile(None)
        self._held_back = None

    def _on_return(self, frame: Any, event: str, arg: Any) -> None:
        """The profile function of a held-back KeyboardInterrupt: raised as the call returns (its
        caller gets the KeyboardInterrupt instead of its value; what it wrote is written)."""
        if event == "return" and frame is self._held_back:
            self._let_go()
            raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal arrived, WorkerStopped after ``stop``."""
        if self.signum is not None:
            raise KeyboardInterrupt
        if self.stop_reason is not None:
            raise WorkerStopped(self.stop_reason)

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early (with KeyboardInterrupt) when a signal arrives."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check()
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        self.check()
