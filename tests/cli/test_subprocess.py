"""A few real subprocess runs of the installed `tunekit` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

TUNEKIT = Path(sys.executable).parent / "tunekit"


def tunekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([str(TUNEKIT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_bad_input_exit_code_and_one_line(tmp_path: Path) -> None:
    proc = tunekit("run", "nothing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: study file 'nothing.py' does not exist; pass the path of a .py file that defines spec = StudySpec(...)"]
    assert not (tmp_path / "tunekit.db").exists()


def test_help_and_version(tmp_path: Path) -> None:
    proc = tunekit("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "run" in proc.stdout and "dashboard" in proc.stdout
    assert tunekit("--version", cwd=tmp_path).stdout.strip().endswith("0.1.0")


PROBE_STUDY = '''
import atexit, sys, types
from pathlib import Path
from tunekit import Int, StudySpec

class Sentinel:  # deleted when the interpreter tears its modules down
    def __del__(self):
        Path("torn-down").write_text("yes")

probe = types.ModuleType("tunekit_exit_probe")
probe.sentinel = Sentinel()
sys.modules["tunekit_exit_probe"] = probe
atexit.register(lambda: Path("exit-handler").write_text("ran"))
spec = StudySpec(data="iris", space={"units": Int(4, 8)}, fixed={"n_layers": 1}, epochs=1, name="probe")
'''


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One ``tunekit run`` process with no --storage that trained one real model: (its working folder, the process)."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.py").write_text(PROBE_STUDY)
    return folder, tunekit("run", "probe.py", "--trials", "1", "--strategy", "random", cwd=folder)


@pytest.mark.slow  # a tunekit process that trains a real model (shared with the test below)
def test_default_storage_is_sqlite_in_working_directory(trained: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, proc = trained
    assert proc.returncode == 0, proc.stderr
    assert (folder / "tunekit.db").is_file()
    study = optuna.load_study(study_name="probe", storage=f"sqlite:///{folder / 'tunekit.db'}")
    assert len(study.trials) == 1
    assert "best val_accuracy" in proc.stdout


@pytest.mark.slow  # a tunekit process that trains a real model (shared with the test above)
def test_a_command_that_trained_exits_without_the_interpreter_teardown(
        trained: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """After a command that loaded TensorFlow the process ends with os._exit once Python's exit handlers
    ran and stdout/stderr are flushed: the teardown of TensorFlow's modules (about 1.5 s of CPU) is skipped,
    nothing the command wrote is lost."""
    folder, proc = trained
    assert proc.returncode == 0, proc.stderr
    assert "best val_accuracy" in proc.stdout and proc.stdout.rstrip().endswith("sqlite:///tunekit.db)")  # flushed
    assert (folder / "exit-handler").read_text() == "ran"  # atexit handlers (logging, Dask, MLflow) still run
    assert not (folder / "torn-down").exists()  # the modules were not torn down
    study = optuna.load_study(study_name="probe", storage=f"sqlite:///{folder / 'tunekit.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    # the same command again finds its trial done and trains nothing: without TensorFlow, the interpreter's own exit
    again = folder.with_name(folder.name + "-again")
    shutil.copytree(folder, again)  # the shared run's folder stays as the run left it
    (again / "exit-handler").unlink()
    proc = tunekit("run", "probe.py", "--trials", "1", "--strategy", "random", cwd=again)
    assert proc.returncode == 0, proc.stderr
    assert (again / "exit-handler").read_text() == "ran" and (again / "torn-down").read_text() == "yes"
