"""``tunekit compare``: real (tiny) studies through tunekit.run, the table, the plots, bad input."""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit import ConfigError
from tunekit.study import compare, study_name_for, summarize
from tunekit._spec import load_spec
from tunekit.cli import cli
from tunekit.cli._compare import compare_command

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_with_compare():
    """The CLI group; ``compare`` is registered by tunekit/cli/__init__.py."""
    assert cli.commands["compare"] is compare_command
    return cli


def test_compare_runs_real_studies_and_writes_table_and_plots(tiny_study_file: Path, db_url: str,
                                                              tmp_path: Path, cli_with_compare) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", str(tiny_study_file), "--strategies", "random,metropolis", "--trials", "2", "--seeds", "2",
                    "--storage", db_url, "--out", str(out), "-O", "metropolis.n_startup_trials=1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["strategy", "seeds", "median", "best"]
    assert lines[1].startswith("random") and lines[2].startswith("metropolis")
    reached = [int(line.rsplit("(", 1)[1].split("/")[0]) for line in lines[1:3]]
    # the default target is the median of the four runs' best values (maximize: reached when best >= it)
    bests = {s: [optuna.load_study(study_name=study_name_for("tiny", s, seed), storage=db_url).best_value
                 for seed in (0, 1)] for s in ("random", "metropolis")}
    target = statistics.median(bests["random"] + bests["metropolis"])
    assert reached == [sum(b >= target for b in bests[s]) for s in ("random", "metropolis")]
    for line, k in zip(lines[1:3], reached):  # a median over 2 seeds is finite only when both reached it
        assert f"({k}/2)" in line and ("not reached" in line) == (k < 2)
    assert lines[3].startswith("columns: median best")
    assert (out / "compare.png").stat().st_size > 1000 and (out / "compare.html").stat().st_size > 1000
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(db_url))
    assert names == sorted(study_name_for("tiny", s, seed) for s in ("random", "metropolis") for seed in (0, 1))
    for name in names:
        study = optuna.load_study(study_name=name, storage=db_url)
        assert len(study.trials) == 2 and study.user_attrs["strategy"] in name
    # the table the library returns agrees with the studies
    spec = load_spec(str(tiny_study_file))
    table = compare(spec, strategies=["random"], n_trials=2, seeds=2, storage=db_url, out_dir=out)  # resumes: no new trial
    best = [optuna.load_study(study_name=study_name_for("tiny", "random", s), storage=db_url).best_value for s in (0, 1)]
    assert table.loc[0, "median_best"] == pytest.approx(sum(best) / 2)
    assert all(len(optuna.load_study(study_name=n, storage=db_url).trials) == 2 for n in names)


@pytest.mark.parametrize(("args", "message"), [
    (["--strategies", "random,nope"], "unknown strategy 'nope'"),
    (["--strategies", "random", "-O", "random.acq_func=EI"], "option 'acq_func' does not apply to strategy 'random'"),
    (["--strategies", "skopt", "-O", "skopt.acq_func=XX"], "acq_func must be one of EI, PI, LCB"),
    (["--strategies", "random", "-O", "tpe.n_startup_trials=3"], "options given for 'tpe'"),
    (["--strategies", "random", "-O", "bad"], "is not STRATEGY.KEY=VALUE"),
    (["--trials", "0"], "0 is not in the range x>=1"),
])
def test_bad_input_exit_2_one_line_nothing_written(args: list[str], message: str, tiny_study_file: Path,
                                                   tmp_path: Path, cli_with_compare) -> None:
    db = tmp_path / "untouched.db"
    url = f"sqlite:///{db}"
    optuna.create_study(storage=url, study_name="existing")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = invoke("compare", str(tiny_study_file), "--storage", url, "--out", str(tmp_path / "o"), *args)
    assert message in one_error_line(result)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (tmp_path / "o").exists()


def test_summarize_trials_to_target_and_maximize() -> None:
    studies = []
    for values in ([0.5, 0.7, 0.9], [0.2, 0.3, 0.4]):
        study = optuna.create_study(direction="maximize")
        for v in values:
            study.add_trial(optuna.trial.create_trial(value=v))
        studies.append(study)
    table = summarize({"s": studies}, target=0.7)
    row = table.iloc[0]
    assert row["median_best"] == pytest.approx(0.65) and row["best"] == 0.9 and row["worst"] == 0.4
    assert row["reached"] == "1/2" and row["median_trials_to_target"] == float("inf")


def test_library_checks_counts_before_running(tiny_study_file: Path, tmp_path: Path) -> None:
    spec = load_spec(str(tiny_study_file))
    for kwargs, message in [({"strategies": []}, "at least one strategy"),
                            ({"strategies": ["tpe", "tpe"]}, "listed twice"),
                            ({"seeds": 0}, "seeds must be >= 1"),
                            ({"target": float("nan")}, "target must be a finite number")]:
        args = {"strategies": ["random"], "n_trials": 2, "seeds": 1, "storage": f"sqlite:///{tmp_path / 'x.db'}",
                "out_dir": tmp_path / "o", **kwargs}
        with pytest.raises(ConfigError, match=message):
            compare(spec, **args)
    assert not (tmp_path / "x.db").exists()
