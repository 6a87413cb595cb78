"""A trial whose model does not fit in memory fails with a sentence and its size (issue 11, item 21)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke
from tunekit.factory import build_model, count_params

HUGE = 2**22  # a 4194304 x 4194304 layer: 17.6e12 parameters, 70 TB of float32
HUGE_STUDY = (
    "from tunekit import StudySpec, Choice\n"
    "spec = StudySpec(data='iris', space={'units': Choice([4194304])}, fixed={'n_layers': 2, 'batch_size': 32}, epochs=1)\n"
)
HUGE_COUNT = 4 * HUGE + HUGE + HUGE * HUGE + HUGE + HUGE * 3 + 3  # two hidden layers and a 3-class output


@pytest.mark.parametrize(
    ("params", "input_shape", "task", "n_classes"),
    [
        ({"n_layers": 2, "units": 16}, (8,), "binary", None),
        ({"n_layers": 3, "units": 64, "shape": "funnel", "batch_norm": "before", "activation": "prelu"}, (5,), "multiclass", 4),
        ({"n_layers": 2, "units": 8, "units_1": 3, "batch_norm": "after", "dropout": 0.2}, (2, 4), "regression", None),
        ({"n_layers": 0}, (6,), "multiclass", 3),
    ],
)
def test_param_count_computed_without_building_equals_keras(params: dict, input_shape: tuple, task: str,
                                                            n_classes: int | None) -> None:
    model = build_model(params, input_shape=input_shape, task=task, n_classes=n_classes)
    assert count_params(params, input_shape=input_shape, task=task, n_classes=n_classes) == model.count_params()


def test_huge_units_trial_fails_with_a_sentence_and_its_param_count(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "huge.py"
    study_file.write_text(HUGE_STUDY)
    result = invoke("run", str(study_file), "--strategy", "random", "--trials", "1", "--storage", db_url)
    assert "Traceback" not in result.output and not isinstance(result.exception, MemoryError), result.output
    trial = optuna.load_study(study_name="huge", storage=db_url).trials[0]
    expected = "out of memory building a 4194304 x 4194304 layer (17.6e12 parameters); reduce units or batch_size"
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == expected
    assert trial.user_attrs["param_count"] == HUGE_COUNT
    assert f"trial   0 failed: {expected}" in result.output


#: Runs one trial whose 32768 x 32768 layer (4.3 GB) fits in this machine's memory but not under
#: the address-space limit set just before it: TensorFlow's own allocation then really fails
#: (at once: the limit refuses the allocation, nothing is touched).
_LIMITED_TRIAL = """
import json, os, resource, sys
import optuna
from tunekit import Choice, StudySpec
from tunekit._errors import TrialError
from tunekit.execution import TrialRunner
from tunekit.execution._tf import import_keras_quietly
from tunekit.data import load_data

import_keras_quietly()
optuna.logging.set_verbosity(optuna.logging.ERROR)
spec = StudySpec(data="iris", space={"units": Choice([4, 32768])}, fixed={"n_layers": 2, "batch_size": 32}, epochs=1)
runner = TrialRunner(spec=spec, dataset=load_data("iris", seed=0), metric="val_accuracy", seed=0)
study = optuna.create_study(storage=sys.argv[1], study_name="limited", direction="maximize")
study.enqueue_trial({"units": 4})
study.optimize(runner, n_trials=1)  # warm up TensorFlow's thread pools before limiting
pages = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (pages + 2 * 2**30, resource.RLIM_INFINITY))
study.enqueue_trial({"units": 32768})
study.optimize(runner, n_trials=1, catch=(TrialError,))
last = study.trials[-1]
print(json.dumps({"state": last.state.name, "attrs": last.user_attrs}))
"""


@pytest.mark.slow
def test_tensorflow_allocation_failure_is_reported_as_out_of_memory(tmp_path: Path, db_url: str) -> None:
    script = tmp_path / "limited.py"
    script.write_text(_LIMITED_TRIAL)
    proc = subprocess.run([sys.executable, str(script), db_url], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["state"] == "FAIL"
    assert last["attrs"]["fail_reason"] == (
        "out of memory building a 32768 x 32768 layer (1.07e9 parameters); reduce units or batch_size"
    )
    assert last["attrs"]["param_count"] == 4 * 32768 + 32768 + 32768 * 32768 + 32768 + 32768 * 3 + 3
