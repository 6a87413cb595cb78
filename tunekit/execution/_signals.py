"""SIGINT / SIGTERM in a worker: a trial that trains is interrupted, anything else stops at
the next safe point, so an interrupted trial is marked FAIL ``interrupted`` and never lost."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

from tunekit._errors import TunekitError


class WorkerStopped(TunekitError):
    """The worker stopped on its own (``Interrupts.stop``): its message says why."""


class _NoInterruptedClose(logging.Filter):
    """Drops SQLAlchemy's "Exception closing connection" record of a KeyboardInterrupt (a second
    Ctrl-C while a connection closes): the interrupt is raised anyway; its 60-line log is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


def quiet_interrupted_closes() -> None:
    """Put ``_NoInterruptedClose`` on the loggers of SQLAlchemy's connection pools (once)."""
    import sqlalchemy.pool as pools

    for cls in (pools.QueuePool, pools.NullPool, pools.StaticPool, pools.SingletonThreadPool):
        logger = logging.getLogger(f"{cls.__module__}.{cls.__name__}")
        if not any(isinstance(f, _NoInterruptedClose) for f in logger.filters):
            logger.addFilter(_NoInterruptedClose())


class Interrupts:
    """SIGINT / SIGTERM handling for a worker (a context manager; main thread only).

    The first signal raises KeyboardInterrupt only while a trial trains (the runner marks it
    FAIL ``interrupted``); anywhere else (claiming, storage writes) it is noted and the loop
    stops at its next safe point. A second signal raises at once. Python drops an exception
    raised while it runs a finalizer or a weakref callback, so while the trial goes on the
    KeyboardInterrupt is raised again every half second (SIGALRM) until it lands.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
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

    def __exit__(self, *exc: object) -> None:
        self.leave_trial()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._previous:
            sys.unraisablehook = self._unraisable
        self._previous.clear()

    def _quiet_unraisable(self, info: Any) -> None:
        """A KeyboardInterrupt of ours dropped in a finalizer: no traceback, it is raised again."""
        if not (self.requested and isinstance(info.exc_value, KeyboardInterrupt)):
            self._unraisable(info)

    def enter_trial(self) -> None:
        self.in_trial = True

    def leave_trial(self) -> None:
        self.in_trial = False
        if self._previous:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def stop(self, reason: str) -> None:
        """From any thread: stop this worker because of ``reason``. A trial that trains is
        interrupted (as by a signal); ``check`` then raises WorkerStopped(reason)."""
        self.stop_reason = reason
        if self._previous:  # our handlers are in place: the main thread runs them
            signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGALRM:
            if self.in_trial:
                if self.stop_reason is not None:  # raised again until it lands, as after a signal
                    signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
                raise KeyboardInterrupt
            return
        again = self.signum is not None
        self.signum = signum
        if self.in_trial:
            signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
            raise KeyboardInterrupt
        if again:
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
