"""Paths that had no test (issue 12): ``--pruner`` really prunes, a user-registered strategy
(from Python or from a study file) is listed and used, and a grid point interrupted by a real
Ctrl-C is evaluated on resume, the grid finishing with each point exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import optuna
import pytest

from tests.conftest import ctrl_c_when, invoke, trials_reader
from tunekit._records import FAIL_REASON, GRID_POINT, INTERRUPTED
from tunekit import ConfigError
from tunekit.strategies import STRATEGIES, Strategy, get_strategy, register
from tunekit.strategies._random import TrialSeededRandomSampler

COMPLETE, PRUNED, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL

PRUNING_STUDY = (
    "from tunekit import StudySpec, Int, Float\n"
    "spec = StudySpec(data='iris', space={'units': Int(4, 32, log=True), 'learning_rate': Float(1e-4, 1e-1, log=True)},\n"
    "                 fixed={'n_layers': 1, 'batch_size': 16}, epochs=4)\n"
)


# ------------------------------------------------------------------ --pruner


@pytest.mark.slow
@pytest.mark.parametrize(("pruner", "n_trials"), [("median", 7), ("hyperband", 5)])
def test_pruner_really_prunes_a_tiny_study(pruner: str, n_trials: int, tmp_path: Path, db_url: str) -> None:
    """Median prunes nothing before its 5 startup trials (7: two chances; seed 0's trial 6, learning
    rate 8e-4, stays near 0.27 where the others pass 0.8); Hyperband from the third trial on (seed 0
    prunes trials 2 to 7 of 8 here: 5 leave three chances)."""
    study_file = tmp_path / "prune.py"
    study_file.write_text(PRUNING_STUDY)
    result = invoke("run", str(study_file), "--strategy", "random", "--pruner", pruner, "--trials", str(n_trials),
                    "--seed", "0", "--storage", db_url, "-q")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="prune", storage=db_url)
    assert study.user_attrs["run"]["pruner"] == pruner
    pruned = [t for t in study.trials if t.state == PRUNED]
    assert pruned, [t.state for t in study.trials]
    assert any(len(t.intermediate_values) < 4 for t in pruned)  # stopped before its last epoch
    assert any(t.state == COMPLETE and len(t.intermediate_values) == 4 for t in study.trials)
    assert f"{len(pruned)} pruned" in result.output


# ------------------------------------------------------------------ register()


@pytest.fixture
def registered():
    names: list[str] = []
    yield names
    for name in names:
        STRATEGIES.pop(name, None)


def test_a_strategy_registered_from_python_is_listed_and_used(tiny_study_file: Path, db_url: str, registered) -> None:
    built: list[tuple] = []

    def factory(*, space, seed, spread=None):
        built.append((seed, spread))
        return TrialSeededRandomSampler(seed=seed)

    register(Strategy(name="mine", factory=factory, description="my own sampler for this test",
                      options={"spread": "how far to look (any value)"}))
    registered.append("mine")
    listed = invoke("strategies")
    assert listed.exit_code == 0, listed.output
    assert "mine: my own sampler for this test" in listed.output and "-O spread=" in listed.output
    result = invoke("run", str(tiny_study_file), "--strategy", "mine", "-O", "spread=2", "--trials", "2",
                    "--seed", "4", "--storage", db_url, "-q")
    assert result.exit_code == 0, result.output
    assert built and built[0] == (4, 2)  # the untyped option's text read as JSON
    study = optuna.load_study(study_name="tiny", storage=db_url)
    assert study.user_attrs["run"]["strategy"] == "mine" and study.user_attrs["run"]["options"] == {"spread": 2}
    assert [(t.state, t.user_attrs["strategy"]) for t in study.trials] == [(COMPLETE, "mine")] * 2
    again = Strategy(name="mine", factory=factory, description="twice", options={})
    register(again)  # a notebook cell run twice: the plug-in is replaced, not refused
    assert get_strategy("mine") is again
    with pytest.raises(ConfigError, match="strategy 'tpe' is built in; register yours under another name"):
        register(Strategy(name="tpe", factory=factory, description="mine, not Optuna's", options={}))


@pytest.mark.slow
def test_a_strategy_registered_in_a_study_file_is_used_by_run(tmp_path: Path, registered) -> None:
    study_file = tmp_path / "plugged.py"
    study_file.write_text(
        "from tunekit import StudySpec, Int\n"
        "from tunekit.strategies import Strategy, register\n"
        "from tunekit.strategies._random import TrialSeededRandomSampler\n"
        "register(Strategy(name='filed', factory=lambda *, space, seed: TrialSeededRandomSampler(seed=seed),\n"
        "                  description='registered by the study file', options={}))\n"
        "spec = StudySpec(data='iris', space={'units': Int(4, 16)}, fixed={'n_layers': 1}, epochs=1)\n"
    )
    url = f"sqlite:///{tmp_path / 'plugged.db'}"
    registered.append("filed")  # registered by the run below, in this process: removed after the test
    assert "filed" not in STRATEGIES  # as in a fresh process: only loading the study file registers it
    result = invoke("run", str(study_file), "--strategy", "filed", "--trials", "2", "--storage", url, "-q")
    assert result.exit_code == 0, result.output
    assert "filed" in STRATEGIES
    study = optuna.load_study(study_name="plugged", storage=url)
    assert study.user_attrs["run"]["strategy"] == "filed"
    assert [(t.state, t.user_attrs["strategy"]) for t in study.trials] == [(COMPLETE, "filed")] * 2


# ------------------------------------------------------------------ a grid point released after Ctrl-C


GRID_STUDY = (  # 15 epochs of batches of 8: Ctrl-C lands in the trial seen at its first epoch (polled every 0.05 s)
    "from tunekit import StudySpec, Choice\n"
    "spec = StudySpec(data='iris', space={'units': Choice([4, 8])}, fixed={'n_layers': 1, 'batch_size': 8},\n"
    "                 epochs=15)\n"
)


def _running_with_an_epoch(url: str) -> Callable[[], bool]:
    read = trials_reader(url, "grid")
    return lambda: any(t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values for t in read())


@pytest.mark.slow
def test_a_grid_point_interrupted_by_ctrl_c_is_evaluated_on_resume(tmp_path: Path) -> None:
    study_file = tmp_path / "grid.py"
    study_file.write_text(GRID_STUDY)
    url = f"sqlite:///{tmp_path / 'grid.db'}"
    command = ["run", str(study_file), "--strategy", "grid", "--trials", "5", "--storage", url, "-q"]
    with ctrl_c_when(_running_with_an_epoch(url)):  # a real SIGINT, to this process
        stopped = invoke(*command)
    assert stopped.exit_code == 130, stopped.output
    study = optuna.load_study(study_name="grid", storage=url)
    interrupted = [t for t in study.trials if t.state == FAIL and t.user_attrs.get(FAIL_REASON) == INTERRUPTED]
    assert len(interrupted) == 1
    point = interrupted[0].system_attrs[GRID_POINT]

    resumed = invoke(*command)
    assert resumed.exit_code == 0, resumed.output
    study = optuna.load_study(study_name="grid", storage=url)
    complete = [t for t in study.trials if t.state == COMPLETE]
    assert sorted(t.system_attrs[GRID_POINT] for t in complete) == [0, 1]  # each point exactly once
    assert sorted(t.params["units"] for t in complete) == [4, 8]
    assert [t for t in complete if t.system_attrs[GRID_POINT] == point][0].number > interrupted[0].number
    assert len(study.trials) == 3  # the grid stopped when exhausted, under the --trials 5 budget
