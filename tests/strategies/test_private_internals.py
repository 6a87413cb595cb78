"""Private names of TensorFlow, Optuna and scikit-optimize that tunekit patches (issue 12,
defect 6). Each test fails loudly when a new release moves the name (the attribute exists,
with the expected type) and checks that the patch really takes effect; when a name is
missing, the code says so once (a warning) instead of silently losing the fix."""

from __future__ import annotations

import importlib.util
import inspect
import os
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest

from tunekit.space import Bool, Choice, Float, Int, Space
from tunekit.strategies import make_sampler
from tunekit.strategies import _private
from tunekit.strategies._private import PrivateNameMissing

optuna.logging.set_verbosity(optuna.logging.ERROR)
SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "units": Int(4, 64), "act": Choice(["relu", "tanh"]), "bn": Bool()})


def objective(trial: optuna.Trial) -> float:
    params = SPACE.sample(trial)
    return (np.log10(params["lr"]) + 2) ** 2 + params["units"] / 100 + 0.1 * (params["act"] == "tanh")


def sequence(study: optuna.Study) -> list[dict]:
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


def whole_and_resumed(make, tmp_path: Path, n: int = 9, cut: int = 5) -> tuple[list, list]:
    """The suggestions of one uninterrupted run, and of a run resumed after ``cut`` trials by a new sampler."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        whole = optuna.create_study(sampler=make())
        whole.optimize(objective, n_trials=n)
        url = f"sqlite:///{tmp_path / 'resumed.db'}"
        optuna.create_study(sampler=make(), storage=url, study_name="s").optimize(objective, n_trials=cut)
        resumed = optuna.load_study(study_name="s", storage=url, sampler=make())
        resumed.optimize(objective, n_trials=n - cut)
    return sequence(whole), sequence(resumed)


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the one-time warnings afresh."""
    monkeypatch.setattr(_private, "_SAID", set())


# ------------------------------------------------------------------ TensorFlow: the gradient registry


def test_tensorflow_gradient_registry_is_where_the_memory_fix_looks() -> None:
    from tensorflow.python.framework import ops

    assert isinstance(ops._gradient_registry._registry, dict)


def test_released_custom_gradients_really_removes_the_entries_a_trained_model_added() -> None:
    import keras

    from tunekit.execution._tf import _gradient_registry, released_custom_gradients

    registry = _gradient_registry()
    assert registry is not None
    x = np.random.default_rng(0).random((32, 4)).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")
    before = set(registry)
    with released_custom_gradients():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        added = [k for k in registry if k not in before and str(k).startswith("CustomGradient-")]
        assert added, "training registered no CustomGradient entry: the leak (and the fix) moved"
    assert not [k for k in added if k in registry]


def test_a_moved_gradient_registry_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorflow.python.framework import ops

    from tunekit.execution import _tf

    monkeypatch.setattr(ops, "_gradient_registry", object())
    monkeypatch.setattr(_tf, "_registry_missing_said", False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert _tf._gradient_registry() is None
        assert _tf._gradient_registry() is None
    assert len(said) == 1 and "memory" in str(said[0].message)


# ------------------------------------------------------------------ Optuna's TPE: _rng


def test_tpe_random_state_is_where_the_reseeding_looks() -> None:
    from optuna.samplers._lazy_random_state import LazyRandomState

    sampler = make_sampler("tpe", space=SPACE, seed=0)
    assert isinstance(sampler._rng, LazyRandomState) and isinstance(sampler._rng.rng, np.random.RandomState)


def test_tpe_reseeding_really_makes_a_resumed_study_suggest_what_an_uninterrupted_one_would(tmp_path: Path) -> None:
    options = {"n_startup_trials": 3}
    whole, resumed = whole_and_resumed(lambda: make_sampler("tpe", space=SPACE, seed=3, options=options), tmp_path)
    assert resumed == whole
    # the patch is what does it: Optuna's own TPE, same seed, resumes differently
    (tmp_path / "resumed.db").unlink()
    plain = whole_and_resumed(lambda: optuna.samplers.TPESampler(seed=3, n_startup_trials=3), tmp_path)
    assert plain[0] != plain[1]


def test_tpe_without_its_random_state_warns_once_and_still_suggests(fresh_warnings: None) -> None:
    sampler = make_sampler("tpe", space=SPACE, seed=0)  # in its random start-up: _rng is not used
    del sampler._rng
    study = optuna.create_study(sampler=sampler)
    with pytest.warns(PrivateNameMissing, match="TPEStrategySampler has no private attribute '_rng'.*resumable"):
        study.optimize(objective, n_trials=2)
    assert len(study.trials) == 2


# ------------------------------------------------------------------ Optuna's GP: _rng and the kernel cache


def _torch_or_skip() -> None:
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("TUNEKIT_REQUIRE_SERVICES", "") not in ("", "0"):
            pytest.fail("PyTorch is required for strategy 'gp' (TUNEKIT_REQUIRE_SERVICES=1)")
        pytest.skip("PyTorch not installed: strategy 'gp' untested")


def test_gp_private_names_are_where_the_patch_looks() -> None:
    _torch_or_skip()
    from optuna.samplers._lazy_random_state import LazyRandomState

    plain = optuna.samplers.GPSampler(seed=0, n_startup_trials=2)
    assert isinstance(plain._rng, LazyRandomState) and isinstance(plain._rng.rng, np.random.RandomState)
    assert plain._gprs_cache_list is None and plain._constraints_gprs_cache_list is None
    study = optuna.create_study(sampler=plain)
    study.optimize(objective, n_trials=4)
    assert isinstance(plain._gprs_cache_list, list)  # Optuna carries the fitted kernel over in memory here


def test_gp_patch_really_drops_the_cache_and_resumes_as_uninterrupted(tmp_path: Path) -> None:
    _torch_or_skip()
    options = {"n_startup_trials": 3}
    seen: list = []
    sampler = make_sampler("gp", space=SPACE, seed=2, options=options)
    original = optuna.samplers.GPSampler.sample_relative

    def spy(self, study, trial, search_space):  # what Optuna's sample_relative finds on entry
        seen.append(self._gprs_cache_list)
        return original(self, study, trial, search_space)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optuna.samplers.GPSampler, "sample_relative", spy)
        optuna.create_study(sampler=sampler).optimize(objective, n_trials=6)
    assert len(seen) >= 3 and all(c is None for c in seen)
    whole, resumed = whole_and_resumed(lambda: make_sampler("gp", space=SPACE, seed=2, options=options), tmp_path,
                                       n=7, cut=4)
    assert resumed == whole


# ------------------------------------------------------------------ scikit-optimize: _gaussian_acquisition


def test_skopt_acquisition_is_where_the_repeat_fix_looks() -> None:
    import skopt.acquisition
    from skopt import Optimizer

    acquisition = skopt.acquisition._gaussian_acquisition
    assert {"X", "model", "y_opt", "acq_func"} <= set(inspect.signature(acquisition).parameters)
    optimizer = Optimizer([(0.0, 1.0)], base_estimator="GP", n_initial_points=2, random_state=0)
    optimizer.tell([[0.1], [0.5], [0.9]], [1.0, 0.0, 1.0])
    scores = acquisition(X=optimizer.space.transform([[0.2], [0.4], [0.6]]), model=optimizer.models[-1],
                         y_opt=0.0, acq_func="EI")
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)


def _five_choices(**options) -> list[str]:
    space = Space({"a": Choice(["p", "q", "r", "s", "t"])})
    study = optuna.create_study(sampler=make_sampler("skopt", space=space, seed=0,
                                                     options={"n_initial_points": 1, **options}))
    study.optimize(lambda t: float("pqrst".index(space.sample(t)["a"])), n_trials=5)
    return [t.params["a"] for t in study.trials]


def test_skopt_repeat_fix_really_gives_new_points(fresh_warnings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sorted(_five_choices()) == list("pqrst")  # every point once, no repeat
    import skopt.acquisition

    monkeypatch.delattr(skopt.acquisition, "_gaussian_acquisition")
    with pytest.warns(PrivateNameMissing, match="_gaussian_acquisition.*new points instead of repeated ones"):
        moved = _five_choices()
    assert len(set(moved)) < 5  # without it skopt repeats a point: what the fix prevents
