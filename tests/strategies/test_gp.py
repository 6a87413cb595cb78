"""Optuna's GPSampler behind the optional extra ``gp``."""

from __future__ import annotations

import sys

import optuna
import pytest

from tunekit import ConfigError
from tunekit.space import Choice, Float, Space
from tunekit.strategies import make_sampler

from tests.strategies.test_contract import sampler_for

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = Space({"x": Float(-2.0, 2.0), "act": Choice(["a", "b"])})


def test_missing_torch_is_a_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails as when it is not installed
    monkeypatch.delitem(sys.modules, "tunekit.strategies._gp", raising=False)
    with pytest.raises(ConfigError, match=r"strategy 'gp' needs the optional dependency group 'gp' \(torch\); "
                                          r"install it with: pip install 'tunekit\[gp\]'"):
        make_sampler("gp", space=SPACE, seed=0)


def test_the_gaussian_process_is_used_after_the_start_up() -> None:
    sampler = sampler_for("gp", SPACE, seed=0, n_startup_trials=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (SPACE.sample(t)["x"] - 0.5) ** 2, n_trials=8)
    modelled = [any(k.startswith("gp:relative_params") for k in t.system_attrs) for t in study.trials]
    assert modelled == [False] * 4 + [True] * 4
    assert min(t.value for t in study.trials[4:]) < min(t.value for t in study.trials[:4])
