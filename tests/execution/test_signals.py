"""Ctrl-C inside a database call (issue 27, item 23; stop 40's CI): the KeyboardInterrupt is held
back until the call returns, so SQLAlchemy's session is never left half-committed (before, its
next commit failed an assertion or Optuna's StorageInternalError, and a SQLite write lock could
stay held). A real SQLite file, real signals."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy

from tunekit.execution._signals import Interrupts


@pytest.fixture
def storage(tmp_path: Path) -> tuple[optuna.storages.RDBStorage, int]:
    rdb = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=rdb)
    return rdb, study.ask()._trial_id


def _signal_inside_each_statement(rdb: optuna.storages.RDBStorage, signals: list[int]) -> None:
    """Each statement SQLAlchemy executes first sends this process the next signal of ``signals``:
    Python runs the handler while SQLAlchemy's frames are on the stack."""
    @sqlalchemy.event.listens_for(rdb.engine, "before_cursor_execute")
    def send(*_: object) -> None:
        if signals:
            os.kill(os.getpid(), signals.pop(0))


def test_a_second_ctrl_c_inside_a_write_is_raised_as_the_write_returns(storage) -> None:
    rdb, trial_id = storage
    with pytest.raises(KeyboardInterrupt), Interrupts() as interrupts:
        os.kill(os.getpid(), signal.SIGINT)  # the first, between calls: noted, not raised
        time.sleep(0.01)
        assert interrupts.requested
        _signal_inside_each_statement(rdb, [signal.SIGINT])
        rdb.set_trial_user_attr(trial_id, "written", 1)
    assert rdb.get_trial(trial_id).user_attrs == {"written": 1}  # the write finished, then the raise
    rdb.set_trial_user_attr(trial_id, "after", 2)  # the session works
    assert rdb.get_trial(trial_id).user_attrs == {"written": 1, "after": 2}


def test_a_ctrl_c_in_a_trial_waits_for_the_trials_write_and_a_third_raises_at_once(storage) -> None:
    rdb, trial_id = storage
    with pytest.raises(KeyboardInterrupt), Interrupts() as interrupts:
        interrupts.enter_trial()
        _signal_inside_each_statement(rdb, [signal.SIGINT])
        rdb.set_trial_user_attr(trial_id, "report", 1)
    assert rdb.get_trial(trial_id).user_attrs == {"report": 1}
    with pytest.raises(KeyboardInterrupt), Interrupts() as interrupts:  # a hung call: the third gets out
        interrupts.signals = 2
        interrupts.signum = signal.SIGINT
        _signal_inside_each_statement(rdb, [signal.SIGINT])
        rdb.set_trial_user_attr(trial_id, "never", 2)
    assert "never" not in rdb.get_trial(trial_id).user_attrs


def test_a_library_error_after_ctrl_c_ends_the_block_as_the_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt) as raised, Interrupts() as interrupts:
        interrupts.signum = signal.SIGINT
        raise RuntimeError("a driver's own error for the interrupt")
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(RuntimeError), Interrupts():  # without a signal: the error itself
        raise RuntimeError("a real error")


def test_double_ctrl_c_at_random_moments_of_writes_leaves_the_storage_working(storage, capfd) -> None:
    rdb, trial_id = storage
    rng = random.Random(0)
    go, shot = threading.Event(), threading.Event()
    block: list[Interrupts] = []

    def shooter() -> None:
        while go.wait() and not shot.is_set():
            go.clear()
            time.sleep(rng.random() * 0.01)
            os.kill(os.getpid(), signal.SIGINT)
            # Python runs one handler call for two signals that arrive before it runs (a loaded
            # machine): the second is sent once the first was handled, as a user's would be
            end = time.monotonic() + 10
            while block[-1].signals < 1 and time.monotonic() < end:
                time.sleep(0.0005)
            time.sleep(rng.random() * 0.005)
            os.kill(os.getpid(), signal.SIGINT)
            shot.set()

    previous = signal.signal(signal.SIGINT, lambda *_: None)  # a signal that comes after the block
    thread = threading.Thread(target=shooter, daemon=True)
    thread.start()
    try:
        for i in range(40):
            with pytest.raises(KeyboardInterrupt), Interrupts() as interrupts:
                block.append(interrupts)
                if i % 2:
                    interrupts.enter_trial()
                go.set()
                for j in range(10_000):
                    rdb.set_trial_user_attr(trial_id, "k", j)
            shot.wait()
            shot.clear()
            rdb.set_trial_user_attr(trial_id, "after", i)  # raised StorageInternalError or hung before
            assert rdb.get_trial(trial_id).user_attrs["after"] == i
    finally:
        shot.set()
        go.set()
        signal.signal(signal.SIGINT, previous)
    assert "Exception ignored" not in capfd.readouterr().err
