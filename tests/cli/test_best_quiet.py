"""`tunekit best --save-model` in a real subprocess prints only what tunekit means to say (issue 11, item 4)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import invoke

pytestmark = pytest.mark.slow  # trains a real tiny model twice (the study, then the retraining)

TUNEKIT = Path(sys.executable).with_name("tunekit")
#: TensorFlow / absl C++ log lines ("I0000 00:00:... port.cc:153] ...") and their start-up banners.
TF_NOISE = re.compile(r"^[IWEF]\d{4} |absl|oneDNN|tensorflow|cpu_feature_guard|AVX", re.IGNORECASE)


def test_best_save_model_stderr_has_no_tensorflow_log_lines(tiny_study_file: Path, db_url: str, tmp_path: Path) -> None:
    ran = invoke("run", str(tiny_study_file), "--strategy", "random", "--trials", "1", "--storage", db_url, "-q")
    assert ran.exit_code == 0, ran.output
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "TUNEKIT_"))}  # as a user's shell has it
    out = tmp_path / "best.keras"
    proc = subprocess.run(
        [str(TUNEKIT), "best", "tiny", "--storage", db_url, "--save-model", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert f"saved the retrained model to {out}" in proc.stdout
    noise = [line for line in (proc.stdout + proc.stderr).splitlines() if TF_NOISE.search(line)]
    assert noise == [], "\n".join(noise)
    lines = proc.stderr.splitlines()
    assert lines and lines[0].startswith("retraining trial 0 (seed "), proc.stderr
    assert all(line.startswith(("retraining trial", "note: ")) for line in lines), proc.stderr
