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


def test_a_fit_runs_without_optunas_cpu_device_mode_and_suggests_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Optuna wraps each fit in ``torch.device("cpu")``; where the default device is the CPU anyway
    tunekit lifts that mode for the fit: the fit then sees no device mode, and the suggestions are
    the ones made with the mode kept."""
    from torch.overrides import _get_current_function_mode_stack

    from tunekit.strategies import _gp

    seen: list[list[object]] = []
    original = optuna.samplers.GPSampler._sample_relative_impl

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(_get_current_function_mode_stack()))
        return original(self, *args, **kwargs)

    def suggestions() -> list[float]:
        study = optuna.create_study(sampler=sampler_for("gp", SPACE, seed=3, n_startup_trials=3))
        study.optimize(lambda t: (SPACE.sample(t)["x"] - 0.5) ** 2, n_trials=6)
        return [t.params["x"] for t in study.trials]

    monkeypatch.setattr(optuna.samplers.GPSampler, "_sample_relative_impl", spy)
    lifted = suggestions()
    assert len(seen) == 3 and all(stack == [] for stack in seen)
    monkeypatch.setattr(_gp, "_cpu_without_device_mode", __import__("contextlib").nullcontext)
    seen.clear()
    kept = suggestions()
    assert len(seen) == 3 and all(len(stack) == 1 for stack in seen)  # Optuna's own torch.device("cpu")
    assert lifted == kept


def test_a_device_mode_that_is_not_only_the_cpu_is_left_in_place() -> None:
    import torch
    from torch.overrides import _get_current_function_mode_stack

    from tunekit.strategies._gp import _cpu_without_device_mode

    for outer, inner in (("meta", "cpu"), ("cpu", "meta")):  # a user's default under Optuna's, or another device
        with torch.device(outer), torch.device(inner):
            with _cpu_without_device_mode():
                assert len(_get_current_function_mode_stack()) == 2
    with torch.device("cpu"):
        with _cpu_without_device_mode():
            assert _get_current_function_mode_stack() == [] and torch.zeros(1).device.type == "cpu"
        assert len(_get_current_function_mode_stack()) == 1
