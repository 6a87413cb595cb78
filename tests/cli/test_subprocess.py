"""A few real subprocess runs of the installed `tunekit` console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

TUNEKIT = Path(sys.executable).parent / "tunekit"


def tunekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([str(TUNEKIT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # a tunekit process that trains two real models
def test_default_storage_is_sqlite_in_working_directory(tiny_study_file: Path, tmp_path: Path) -> None:
    proc = tunekit("run", str(tiny_study_file), "--trials", "2", "--strategy", "tpe", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tunekit.db").is_file()
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'tunekit.db'}")
    assert len(study.trials) == 2
    assert "best val_accuracy" in proc.stdout


def test_bad_input_exit_code_and_one_line(tmp_path: Path) -> None:
    proc = tunekit("run", "nothing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: study file 'nothing.py' does not exist; pass the path of a .py file that defines spec = StudySpec(...)"]
    assert not (tmp_path / "tunekit.db").exists()


def test_help_and_version(tmp_path: Path) -> None:
    proc = tunekit("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "run" in proc.stdout and "dashboard" in proc.stdout
    assert tunekit("--version", cwd=tmp_path).stdout.strip().endswith("0.1.0")
