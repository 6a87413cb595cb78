"""Issue 27, item 23: two Ctrl-C 50 ms apart, as an impatient user presses them, end ``tunekit run``
with exit 130 and one line: no SQLAlchemy traceback (``Exception closing connection``), no
death by SIGINT (exit -2)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_STUDY
from workers_helpers import TUNEKIT, finish, start


@pytest.mark.slow
def test_a_double_ctrl_c_between_trials_exits_130_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    procs = []
    for i, delay in enumerate((0.0, 0.02, 0.05)):  # right after a trial ends: storage writes under way
        proc = start([*TUNEKIT, "run", str(tmp_path / "tiny.py"), "--trials", "500", "--epochs", "1",
                      "--storage", f"sqlite:///{tmp_path / f'd{i}.db'}"])
        procs.append((proc, delay))
    for proc, delay in procs:
        for _ in range(2):  # the third trial line: the loop is in full swing
            line = proc.stdout.readline()
            assert line.startswith("trial"), line + proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    for proc, _ in procs:
        code, _, err = finish(proc)
        assert code == 130, (code, err)
        assert "Traceback" not in err and "Exception closing" not in err, err
        assert err.strip().splitlines()[-1:] in ([], ["interrupted: run the same command to resume"]), err
