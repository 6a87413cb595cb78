"""Issue 27, item 25: the parent of ``run --workers`` killed with SIGKILL leaves no
``resource_tracker: leaked semaphore`` warning; its workers stop after their trial."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from workers_helpers import TUNEKIT, finish, running_trial, start, wait_for


@pytest.mark.slow
def test_kill_9_of_the_workers_parent_leaks_no_semaphore(db_url: str, tiny_long_study: Path) -> None:
    proc = start([*TUNEKIT, "run", str(tiny_long_study), "--storage", db_url, "--trials", "4", "--epochs", "8",
                  "--strategy", "random", "--workers", "2"])
    wait_for("a running trial", running_trial(db_url, "tinylong"), timeout=240, procs=[proc])
    os.kill(proc.pid, signal.SIGKILL)
    code, _, err = finish(proc, timeout=240)  # stderr closes when the workers and the resource tracker are gone
    assert code == -signal.SIGKILL
    assert "leaked" not in err and "resource_tracker" not in err and "Traceback" not in err, err
