"""One small real study shared by the health CLI, export and report tests, and a study without
health figures (made directly: trials of ``--no-health`` or older studies store none)."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from tunekit import Choice, Space, StudySpec
from tunekit._records import PRUNED_REASON

#: The real study: sigmoid/relu x 1/8 layers x glorot/zeros on digits, 3 epochs, every grid
#: point once (about 15 s): ok, vanishing (sigmoid, 8 layers) and symmetric (zeros) trials.
SPACE = {"activation": Choice(["sigmoid", "relu"]), "n_layers": Choice([1, 8]),
         "initializer": Choice(["glorot_uniform", "zeros"])}
PARAMS = {"activation": "relu", "n_layers": 1, "initializer": "glorot_uniform"}


@pytest.fixture(scope="session")
def health_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the real study 'h' (8 grid trials), 'plain' (2 trials without health
    figures) and 'mixed' (a pruned probed trial, copied from 'h', and an unprobed one)."""
    import tunekit

    url = f"sqlite:///{tmp_path_factory.mktemp('health') / 'study.db'}"
    spec = StudySpec(data="digits", space=SPACE, fixed={"units": 64}, epochs=3)
    study = tunekit.run(spec, strategy="grid", n_trials=8, storage=url, study_name="h")
    dists = Space(SPACE).distributions()
    plain = optuna.create_study(study_name="plain", storage=url, direction="maximize")
    plain.set_user_attr("metric", "val_accuracy")
    plain.set_user_attr("space", study.user_attrs["space"])
    for value in (0.8, 0.9):
        plain.add_trial(create_trial(params=PARAMS, distributions=dists, value=value, intermediate_values={0: value},
                                     user_attrs={"epochs_run": 1}))
    symmetric = next(t for t in study.trials if t.user_attrs.get("health") == "symmetric")
    mixed = optuna.create_study(study_name="mixed", storage=url, direction="maximize")
    mixed.set_user_attr("metric", "val_accuracy")
    reason = f"unhealthy at epoch 1: symmetric: {symmetric.user_attrs['health_reason']}"
    mixed.add_trial(create_trial(params=symmetric.params, distributions=dists, state=TrialState.PRUNED,
                                 user_attrs={**symmetric.user_attrs, PRUNED_REASON: reason}))
    mixed.add_trial(create_trial(params=PARAMS, distributions=dists, value=0.9, user_attrs={"epochs_run": 3}))
    return url
