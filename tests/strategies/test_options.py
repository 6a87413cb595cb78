"""Strategy options: one declared schema per strategy, checked before anything is written (issue 11, items 9, 10).

Parametrized over the registry, so a strategy added to it is covered here automatically.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import optuna
import pytest

import tunekit
from tests.conftest import invoke, one_error_line
from tunekit import ConfigError
from tunekit._spec import load_spec
from tunekit.cli._run import parse_options
from tunekit.space import Choice, Float, Space
from tunekit.strategies import STRATEGIES, check_options, make_sampler
from tunekit.strategies._options import Option

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

SPACE = Space({"x": Float(-1.0, 1.0), "act": Choice(["a", "b"])})
OPTIONS = [(name, key) for name, s in STRATEGIES.items() for key in s.options]
BOOLS = [(name, key) for name, key in OPTIONS if STRATEGIES[name].options[key].kind is bool]
INTS = [(name, key) for name, key in OPTIONS if STRATEGIES[name].options[key].kind is int]


def bad_values(option: Option) -> list[object]:
    """Values the declared type or range of ``option`` refuses."""
    bad: list[object] = ["abc", "", None, [1]]
    if option.kind is bool:
        bad += ["maybe", "2", 2, -1, 0.5, "tru"]
    elif option.kind is int:
        bad += ["5.5", 5.5, "1e3", True, math.nan]
    elif option.kind is float:
        bad += ["nan", math.inf, True]
    elif option.kind is str:
        bad += ["XX", 1]
    if option.kind in (int, float):
        below = {int: 1, float: 0.5}[option.kind]
        if option.low is not None:
            low = option.low if option.low_open else option.low - below
            bad += [low, str(low)]
        if option.high is not None and math.isfinite(option.high):
            high = option.high if option.high_open else option.high + below
            bad += [high, str(high)]
    return bad


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_option_is_declared_with_type_default_and_help(name: str) -> None:
    strategy = STRATEGIES[name]
    for key, option in strategy.options.items():
        assert isinstance(option, Option), f"{name}.{key} has no declared schema"
        assert option.kind in (bool, int, float, str), f"{name}.{key}: no type"
        assert option.help and "\n" not in option.help
        assert option.coerce(key, option.default) == option.default  # the default passes its own check
        assert option.coerce(key, str(option.default).lower() if option.kind is bool else str(option.default)) \
            == option.default  # and so does its text, as typed on the command line
    # the defaults are accepted by the sampler itself
    make_sampler(name, space=SPACE, seed=0, options={k: o.default for k, o in strategy.options.items()})


@pytest.mark.parametrize(("name", "key"), OPTIONS)
def test_bad_values_are_refused_before_the_sampler_is_built(name: str, key: str) -> None:
    option = STRATEGIES[name].options[key]
    for value in bad_values(option):
        with pytest.raises(ConfigError, match=re.escape(f"strategy '{name}': {key} must be ") + ".*"
                           + re.escape(f"got {value!r}")):
            check_options(name, {key: value})
        with pytest.raises(ConfigError, match=f"{key} must be"):
            make_sampler(name, space=SPACE, seed=0, options={key: value})


@pytest.mark.parametrize(("name", "key"), BOOLS)
def test_booleans_are_parsed_any_case_and_nothing_else(name: str, key: str) -> None:
    for text in ("true", "TRUE", "True", "yes", "Yes", "1", 1, True):
        assert check_options(name, {key: text}) == {key: True}
    for text in ("false", "False", "FALSE", "no", "NO", "0", 0, False):
        assert check_options(name, {key: text}) == {key: False}


def test_tpe_multivariate_false_really_is_false() -> None:
    sampler = make_sampler("tpe", space=SPACE, seed=0, options={"multivariate": "False"})
    assert sampler._multivariate is False and sampler._group is False
    sampler = make_sampler("tpe", space=SPACE, seed=0, options={"constant_liar": "no"})
    assert sampler._constant_liar is False and sampler._multivariate is True


@pytest.mark.parametrize(("name", "key"), INTS)
def test_integer_options_take_integers_only(name: str, key: str) -> None:
    option = STRATEGIES[name].options[key]
    good = int(option.low or 0) + 3
    assert check_options(name, {key: str(good)}) == {key: good}
    assert check_options(name, {key: f" {good} "}) == {key: good}
    for value in ("5.5", 5.5, 5.0, "5.0"):
        with pytest.raises(ConfigError, match=f"{key} must be an int"):
            check_options(name, {key: value})


def test_choices_are_matched_without_case_and_listed_when_wrong() -> None:
    assert check_options("skopt", {"acq_func": "lcb", "base_estimator": "rf"}) == {"acq_func": "LCB", "base_estimator": "RF"}
    with pytest.raises(ConfigError, match="acq_func must be one of EI, PI, LCB, got 'gp_hedge'"):
        check_options("skopt", {"acq_func": "gp_hedge"})


def test_parse_options_keeps_the_text_for_the_schema_to_read() -> None:
    assert parse_options(("multivariate=False", "n_startup_trials=5", "x=a=b")) == {
        "multivariate": "False", "n_startup_trials": "5", "x": "a=b"}
    assert check_options("tpe", parse_options(("multivariate=False", "n_startup_trials=5"))) == {
        "multivariate": False, "n_startup_trials": 5}
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_options(("multivariate",))


def test_start_up_trials_come_from_the_options() -> None:
    assert STRATEGIES["tpe"].startup_trials({}) == 10
    assert STRATEGIES["tpe"].startup_trials({"n_startup_trials": "3"}) == 3
    assert STRATEGIES["skopt"].startup_trials({"n_initial_points": 4}) == 4
    assert STRATEGIES["random"].startup_trials({}) == 0 and STRATEGIES["grid"].startup_trials({}) == 0


def test_strategies_command_prints_each_options_type_range_and_help() -> None:
    result = invoke("strategies")
    assert result.exit_code == 0, result.output
    blocks: dict[str, list[str]] = {}
    for line in result.output.splitlines():
        if line.startswith(" "):
            blocks[name].append(line.strip())
        else:
            name = line.split(":")[0]
            blocks[name] = []
    assert list(blocks) == list(STRATEGIES)
    for name, strategy in STRATEGIES.items():
        assert len(blocks[name]) == len(strategy.options)
        for (key, option), line in zip(strategy.options.items(), blocks[name]):
            assert line.startswith(f"-O {key}=") and option.help in line and option.describe() in line
    tpe = next(line for line in blocks["tpe"] if "-O n_startup_trials=" in line)
    assert "int >= 0" in tpe and "default 10" in tpe
    assert "one of EI, PI, LCB" in result.output and "true or false" in result.output


# ---------------------------------------------------------------- through run, tunekit.run() and compare


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _bad_pair(name: str) -> str:
    """A KEY=VALUE that ``name`` refuses: a wrong type for its first option, else an option it lacks."""
    options = STRATEGIES[name].options
    return f"{next(iter(options))}=abc" if options else "n_startup_trials=abc"


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_run_refuses_a_bad_option_and_writes_nothing(name: str, tiny_study_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    optuna.create_study(storage=url, study_name="other")
    before = _digest(db)
    result = invoke("run", str(tiny_study_file), "--strategy", name, "-O", _bad_pair(name), "--trials", "1",
                    "--storage", url)
    line = one_error_line(result)
    assert f"strategy '{name}'" in line and ("must be" in line or "does not apply" in line)
    assert _digest(db) == before
    assert [s.study_name for s in optuna.get_all_study_summaries(url)] == ["other"]


def test_run_with_workers_refuses_the_issues_tpe_option(tiny_study_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    result = invoke("run", str(tiny_study_file), "-O", "n_startup_trials=abc", "--workers", "2", "--trials", "2",
                    "--storage", f"sqlite:///{db}")
    line = one_error_line(result)
    assert line == ("error: strategy 'tpe': n_startup_trials must be an int >= 0, got 'abc'; "
                    "see the options with: tunekit strategies")
    assert not db.exists()


def test_library_run_coerces_or_refuses(tiny_study_file: Path, tmp_path: Path) -> None:
    spec = load_spec(str(tiny_study_file))
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    for options in ({"n_startup_trials": "abc"}, {"multivariate": "maybe"}, {"n_startup_trials": 5.5}):
        with pytest.raises(ConfigError, match="strategy 'tpe'"):
            tunekit.run(spec, strategy="tpe", n_trials=1, storage=url, options=options)
    assert not (tmp_path / "lib.db").exists()


@pytest.mark.slow  # trains several real models
def test_cli_false_is_stored_and_used_as_false(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "-O", "multivariate=False", "-O", "n_startup_trials=1",
                    "--trials", "1", "--storage", db_url, "--quiet")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=db_url)
    assert study.user_attrs["run"]["options"] == {"multivariate": False, "n_startup_trials": 1}


def test_compare_refuses_a_bad_option_before_any_run(tiny_study_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    result = invoke("compare", str(tiny_study_file), "--strategies", "random,tpe", "-O", "tpe.n_startup_trials=abc",
                    "--trials", "1", "--seeds", "1", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "o"))
    line = one_error_line(result)
    assert "strategy 'tpe': n_startup_trials must be an int >= 0, got 'abc'" in line
    assert not db.exists() and not (tmp_path / "o").exists()
