"""One real tiny study shared by the report and best-model tests, plus synthetic edge-case studies."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from tests.conftest import TINY_STUDY, invoke


@pytest.fixture(scope="session")
def results_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the real study 'tiny' (3 random trials, iris, 2 epochs) and two synthetic ones:
    'one' (a single complete trial) and 'failed' (only a failed trial)."""
    folder = tmp_path_factory.mktemp("results")
    url = f"sqlite:///{folder / 'study.db'}"
    (folder / "tiny.py").write_text(TINY_STUDY)
    result = invoke("run", str(folder / "tiny.py"), "--strategy", "random", "--trials", "3", "--storage", url, "-q")
    assert result.exit_code == 0, result.output
    dists = {"units": IntDistribution(4, 32, log=True), "learning_rate": FloatDistribution(1e-3, 1e-1, log=True)}
    one = optuna.create_study(study_name="one", storage=url, direction="maximize")
    one.set_user_attr("metric", "val_accuracy")
    one.set_user_attr("fixed", json.dumps({"n_layers": 1}))
    one.add_trial(create_trial(params={"units": 8, "learning_rate": 0.01}, distributions=dists, value=0.8,
                               intermediate_values={0: 0.7, 1: 0.8}, user_attrs={"epochs_run": 2}))
    failed = optuna.create_study(study_name="failed", storage=url, direction="maximize")
    failed.add_trial(create_trial(params={"units": 8, "learning_rate": 0.01}, distributions=dists,
                                  state=TrialState.FAIL, user_attrs={"fail_reason": "loss became nan at epoch 1"}))
    return url

