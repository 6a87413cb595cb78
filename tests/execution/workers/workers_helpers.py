"""Helpers for the worker tests: real processes, polled through Optuna's API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[3]
TUNEKIT = [str(Path(sys.executable).with_name("tunekit"))]
CHEAP = [sys.executable, str(Path(__file__).with_name("cheap_worker.py"))]


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return out


def start(args: list[str], **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), **kwargs)


#: One storage per database URL for ``trials``: building an RDBStorage (engine, schema check)
#: costs some 40 ms of CPU, a poll through a kept one some 5 ms; at 10 Hz that is most of what a
#: waiting test spends. NullPool: each poll's connection is closed when the poll ends.
_STORAGES: dict[str, optuna.storages.RDBStorage] = {}


def trials(url: str, name: str) -> list[FrozenTrial]:
    """The study's trials, read through a storage that keeps no connection open between polls (a
    poll loop at 10 Hz that left each engine to the garbage collector once ran a private
    PostgreSQL server (100 connections) out of clients in CI). A kept storage that fails (its
    tables dropped by the next test's fixture) is built again, which makes the tables."""
    for fresh in (False, True):
        if fresh or url not in _STORAGES:
            _STORAGES[url] = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": NullPool})
        try:
            return optuna.load_study(study_name=name, storage=_STORAGES[url]).get_trials(deepcopy=False)
        except KeyError:  # not created yet
            return []
        except Exception:
            if fresh:
                raise
    raise AssertionError("unreachable")


def study_exists(url: str, name: str) -> bool:
    """Whether study ``name`` is in the database yet (read as ``trials`` reads it)."""
    trials(url, name)  # makes the kept storage
    return name in {s.study_name for s in _STORAGES[url].get_all_studies()}


def wait_for(what: str, check: Callable[[], object], timeout: float = 90.0, procs: tuple = ()) -> object:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                raise AssertionError(f"process exited ({p.returncode}) while waiting for {what}:\n{out}\n{err}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def running_trial(url: str, name: str) -> Callable[[], FrozenTrial | None]:
    """A check: a RUNNING trial that already has its parameters and says which worker (host:pid) runs it."""

    def check() -> FrozenTrial | None:
        for t in trials(url, name):
            if t.state == TrialState.RUNNING and "worker" in t.user_attrs and t.params:
                return t
        return None

    return check


def worker_pid(trial: FrozenTrial) -> int:
    return int(str(trial.user_attrs["worker"]).rsplit(":", 1)[1])


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
