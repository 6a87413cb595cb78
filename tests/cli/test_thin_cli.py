"""Issue 12, defect 9: the CLI parses options and calls public names of the library.

Counting trials, picking the best trial, aligning tables, TensorFlow's threads and ``--debug``
are the library's (``tunekit.study``) or click's work, not the CLI's.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState, create_trial

from tests.conftest import invoke, one_error_line

CLI = Path(__file__).resolve().parents[2] / "tunekit" / "cli"
#: What the CLI may import from tunekit besides its own modules: public packages, and the
#: error root and version (leaves that every layer shares).
LEAVES = {"tunekit._errors", "tunekit._version"}
#: Library work: reading trials and their states, the best trial, TensorFlow threads, argv,
#: aligning text by hand (as attributes, ``x.name``, or names, ``name``).
LIBRARY_ATTRS = {"best_trial", "best_value", "get_trials", "trials", "state", "limit_tf_threads", "argv", "ljust", "rjust"}
LIBRARY_NAMES = {"limit_tf_threads", "argv", "trial_counts", "with_unit", "units_table"}


def _findings(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [a.name for a in node.names]
            if node.module.split(".")[0] == "optuna":
                out.append(f"line {node.lineno}: imports optuna")
            elif node.module.startswith("tunekit") and not node.module.startswith("tunekit.cli"):
                private = any(p.startswith("_") for p in node.module.split(".")[1:]) and node.module not in LEAVES
                if private or any(n.startswith("_") and n != "__version__" for n in names):
                    out.append(f"line {node.lineno}: from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            out += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] == "optuna"]
        elif isinstance(node, ast.Attribute) and node.attr in LIBRARY_ATTRS:
            out.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in LIBRARY_NAMES:
            out.append(f"line {node.lineno}: {node.id}")
    return out


def test_cli_calls_public_names_only() -> None:
    found = {p.name: _findings(p) for p in sorted(CLI.glob("*.py"))}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_debug_is_a_click_option(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # "--debug" as the value of another option is not the --debug flag (argv is not scanned)
    line = one_error_line(invoke("run", "missing.py", "--study-name", "--debug", "--storage", db_url))
    assert "does not exist" in line
    result = invoke("--debug", "run", "missing.py", "--storage", db_url)
    assert result.exit_code == 2 and "Traceback" in result.output
    monkeypatch.setenv("TUNEKIT_DEBUG", "1")  # the environment still turns it on
    result = invoke("run", "missing.py", "--storage", db_url)
    assert result.exit_code == 2 and "Traceback" in result.output and "does not exist" in result.output


def test_an_error_before_parsing_is_one_line() -> None:
    assert "--nope" in one_error_line(invoke("--nope"))
    assert "--nope" in one_error_line(invoke("--debug", "--nope"))


def test_worker_threads_are_set_by_the_library(tiny_study_file: Path, db_url: str) -> None:
    from tunekit._errors import ConfigError
    from tunekit.study import join, load_spec

    with pytest.raises(ConfigError, match="threads must be an integer >= 1, got 0"):
        join(load_spec(str(tiny_study_file)), storage=db_url, threads=0)


def _study(db_url: str, states: list[TrialState]) -> optuna.Study:
    study = optuna.create_study(storage=db_url, study_name="s", direction="maximize")
    study.set_user_attr("metric", "val_accuracy")
    dist = {"units": optuna.distributions.IntDistribution(4, 8)}
    for i, state in enumerate(states):
        study.add_trial(create_trial(state=state, value=0.5 + i / 10 if state == TrialState.COMPLETE else None,
                                     params={"units": 4 + i}, distributions=dist))
    return study


def test_run_summary_counts_and_best_come_from_the_library(db_url: str) -> None:
    from tunekit._errors import TunekitError
    from tunekit.study import run_summary

    study = _study(db_url, [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE])
    lines = list(run_summary(study, db_url))
    assert lines[0].endswith("3 finished trials count toward --trials (2 complete, 1 failed)")
    assert lines[1:3] == ["best val_accuracy = 0.7000 (trial 2)", "  units: 6"]
    failed = run_summary(optuna.create_study(storage=db_url, study_name="f"), db_url)
    assert "0 finished trials" in next(failed)
    with pytest.raises(TunekitError, match="no trial completed"):
        next(failed)


def test_run_summary_says_one_trial_and_one_run_in_the_singular(db_url: str) -> None:
    from tunekit._records import CONFIRMS
    from tunekit.study import run_summary

    study = _study(db_url, [TrialState.COMPLETE])
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.4, params={"units": 4}, user_attrs={CONFIRMS: 0},
                                 distributions={"units": optuna.distributions.IntDistribution(4, 8)}))
    first = next(run_summary(study, db_url))
    assert first.endswith("1 finished trial counts toward --trials (1 complete; not counted: 1 confirmation run "
                          "(--confirm))"), first


def test_comparison_table_is_aligned_by_the_library() -> None:
    from tunekit.study import comparison_text

    table = pd.DataFrame({
        "strategy": ["random", "tpe"], "seeds": [2, 2], "median_best": [0.93, math.nan], "best": [0.95, 0.9],
        "worst": [0.9, 0.8], "median_trials_to_target": [math.inf, 3.0], "reached": [1, 2],
        "median_seconds_per_trial": [1.234, 2.0], "target": [0.9, 0.9],
    })
    table.attrs["metric"] = "val_accuracy"
    lines = comparison_text(table, target_given=False)
    assert lines[:3] == [
        "strategy  seeds  median best  best  worst  trials to 0.9 (reached)  s/trial",
        "random    2      0.93         0.95  0.9    not reached (1)          1.234",
        "tpe       2      n/a          0.9   0.8    3 (2)                    2",
    ]
    assert lines[3].startswith("columns: median best, best, worst: each seed's best val_accuracy")
