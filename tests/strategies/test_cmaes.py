"""CMA-ES as a strategy (issue 12, defect 4): one file (strategies/_cmaes.py) plus one registry
entry. The contract suite (test_contract.py) and the option tests (test_options.py) run over
it because they run over the registry; here, what is particular to CMA-ES."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit.space import Bool, Choice, Float, Int, Space
from tunekit.strategies import STRATEGIES, make_sampler
from tunekit.strategies._random import TrialSeededRandomSampler

SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "units": Int(4, 64), "act": Choice(["relu", "tanh"]), "bn": Bool()})


def _run(sampler: optuna.samplers.BaseSampler, n_trials: int = 10) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda t: (SPACE.sample(t)["lr"] - 0.01) ** 2 + t.params["units"] / 100, n_trials=n_trials)
    return study


def test_cmaes_is_registered_and_is_optunas_cma_es() -> None:
    assert "cmaes" in STRATEGIES and STRATEGIES["cmaes"].startup_trials({}) == 1
    sampler = make_sampler("cmaes", space=SPACE, seed=0)
    assert isinstance(sampler, optuna.samplers.CmaEsSampler)


def test_numeric_parameters_are_modelled_and_categoricals_sampled_independently_seeded() -> None:
    sampler = make_sampler("cmaes", space=SPACE, seed=0, options={"n_startup_trials": 2})
    study = _run(sampler)
    # the CMA-ES search space: the numeric parameters only
    assert set(sampler.infer_relative_search_space(study, study.trials[-1])) == {"lr", "units"}
    # categoricals come from tunekit's per-trial seeded sampler (not Optuna's unseeded default)
    assert isinstance(sampler._independent_sampler, TrialSeededRandomSampler)
    # past the start-up trials, CMA-ES drew the numeric parameters (its state is in the trials)
    assert all(any(k.startswith("cma:") for k in t.system_attrs) for t in study.trials[2:])
    assert not any(any(k.startswith("cma:") for k in t.system_attrs) for t in study.trials[:2])
    same = _run(make_sampler("cmaes", space=SPACE, seed=0, options={"n_startup_trials": 2}))
    assert [t.params for t in same.trials] == [t.params for t in study.trials]


def test_a_resumed_process_suggests_what_an_uninterrupted_one_would(tmp_path: Path) -> None:
    whole = optuna.create_study(sampler=make_sampler("cmaes", space=SPACE, seed=4), storage=f"sqlite:///{tmp_path}/a.db")
    url = f"sqlite:///{tmp_path}/b.db"
    first = optuna.create_study(sampler=make_sampler("cmaes", space=SPACE, seed=4), storage=url, study_name="s")
    objective = lambda t: (SPACE.sample(t)["lr"] - 0.01) ** 2 + t.params["units"] / 100  # noqa: E731
    whole.optimize(objective, n_trials=12)
    first.optimize(objective, n_trials=7)
    # a new sampler (a new process) with the same seed picks the study up from its storage
    resumed = optuna.load_study(study_name="s", storage=url, sampler=make_sampler("cmaes", space=SPACE, seed=4))
    resumed.optimize(objective, n_trials=5)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]


def test_options_that_cannot_go_together_are_one_error_line(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--strategy", "cmaes", "--storage", db_url,
                    "-O", "with_margin=true", "-O", "use_separable_cma=true")
    line = one_error_line(result)
    assert "cmaes" in line and "bad option value" in line


@pytest.mark.slow
def test_tunekit_run_with_cmaes_trains_and_records_the_strategy(tiny_study_file: Path, db_url: str) -> None:
    listed = invoke("strategies")
    assert listed.exit_code == 0 and "cmaes" in listed.output
    result = invoke("run", str(tiny_study_file), "--strategy", "cmaes", "--trials", "3", "--storage", db_url,
                    "--seed", "1", "-q")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=db_url)
    assert study.user_attrs["run"]["strategy"] == "cmaes"
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert any(k.startswith("cma:") for k in study.trials[-1].system_attrs)
