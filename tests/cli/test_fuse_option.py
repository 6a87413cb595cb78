"""``tunekit run --fuse K``: bad values, the run summary, each worker fusing, the runs that stay unfused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_bad_fuse_is_one_line_exit_2_and_no_database(tiny_study_file: Path, db_url: str, tmp_path: Path,
                                                       value: str) -> None:
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--fuse", value)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: --fuse must be >= 1 (1 trains one trial at a time), got {value}"
    assert not (tmp_path / "study.db").exists()


def test_tunekit_run_refuses_a_bad_fuse_before_the_database(tmp_path: Path, db_url: str) -> None:
    import tunekit
    from tests.conftest import TINY_SPEC

    with pytest.raises(tunekit.ConfigError, match=r"fuse must be an integer >= 1 \(1 trains one trial at a time\), got 0"):
        tunekit.run(tunekit.StudySpec(**TINY_SPEC), storage=db_url, fuse=0)
    assert not (tmp_path / "study.db").exists()


@pytest.mark.slow
def test_fused_run_says_how_many_trials_ran_fused(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "4",
                    "--fuse", "2", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "fused: 4 of 4 trials trained in 2 fused groups"
    trials = optuna.load_study(study_name="tiny", storage=db_url).trials
    assert sorted(t.user_attrs["fused_member"] for t in trials) == [0, 0, 1, 1]


@pytest.mark.slow
def test_with_workers_each_worker_fuses_its_own_batches(tiny_study_file: Path, db_url: str) -> None:
    """Also the first-hour check that a tpe run on two worker processes prints no warning and no
    Optuna log line (it was its own run of 2 unfused trials; the workers and the sampler are the same)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("tunekit")), "run", str(tiny_study_file), "--storage", db_url,
         "--strategy", "tpe", "--trials", "8", "--workers", "2", "--fuse", "4", "-q"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "[I " not in proc.stderr and "[W " not in proc.stderr, proc.stderr
    trials = optuna.load_study(study_name="tiny", storage=db_url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    workers: dict[int, set[str]] = {}
    for t in trials:
        workers.setdefault(t.user_attrs["fused_group"], set()).add(t.user_attrs["worker"])
    assert all(len(w) == 1 for w in workers.values())  # a group never spans two workers
    assert len(set.union(*workers.values())) == 2  # both workers trained fused groups
    assert "fused: 8 of 8 trials trained in" in proc.stdout


BUILD = """
import keras
from tunekit import StudySpec

def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 4, 8)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

spec = StudySpec(data="iris", build=build, epochs=1)
"""


@pytest.mark.slow
def test_a_study_with_its_own_build_runs_unfused_with_a_note(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "own.py"
    path.write_text(BUILD)
    result = invoke("run", str(path), "--storage", db_url, "--trials", "2", "--fuse", "4", "-q")
    assert result.exit_code == 0, result.output
    assert ("note: --fuse needs the model factory; a study with its own build(hp) or HyperModel trains unfused"
            in result.stderr)
    trials = optuna.load_study(study_name="own", storage=db_url).trials
    assert len(trials) == 2 and not any("fused_group" in t.user_attrs for t in trials)
    assert "fused: 0 of 2 trials trained in 0 fused groups" in result.stdout
