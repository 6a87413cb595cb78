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
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05], ids=["at-once", "20ms", "50ms"])
def test_a_double_ctrl_c_between_trials_exits_130_with_one_line(tmp_path: Path, delay: float) -> None:
    """The first Ctrl-C ``delay`` after a trial line (right after a trial ends: storage writes
    under way), the second 50 ms later. One run a test: three at once, each importing TensorFlow,
    took over 60 s on a loaded machine."""
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    proc = start([*TUNEKIT, "run", str(tmp_path / "tiny.py"), "--trials", "500", "--epochs", "1",
                  "--storage", f"sqlite:///{tmp_path / 'd.db'}"])
    for _ in range(2):  # the third trial line: the loop is in full swing
        line = proc.stdout.readline()
        assert line.startswith("trial"), line + proc.stderr.read()
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, (code, err)
    assert "Traceback" not in err and "Exception closing" not in err, err
    assert err.strip().splitlines()[-1:] in ([], ["interrupted: run the same command to resume"]), err
