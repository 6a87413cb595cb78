"""Issue 12, defect 2 (plots): one best-so-far implementation in tunekit/report/, one rule for
missing values, used by ``tunekit compare`` and by the comparison report alike.

The rule: one point per finished trial (complete, pruned or failed) in trial order, the best
complete value so far, nothing before the first complete trial; running trials are not points;
a study with no complete trial contributes no curve and is named in a note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from tests.conftest import invoke
from tunekit.report import write_comparison
from tunekit.report._comparison import read_runs
from tunekit.study import study_name_for
from tunekit.study._compare import curve

DISTS = {"units": IntDistribution(4, 32)}


def _study(url: str, name: str, strategy: str, trials: list[tuple[TrialState, float | None]]) -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    for key, value in {"metric": "val_accuracy", "strategy": strategy, "seed": 0}.items():
        study.set_user_attr(key, value)
    for state, value in trials:
        study.add_trial(create_trial(params={"units": 8}, distributions=DISTS, state=state, value=value))
    return study


def plotly_traces(html: str, title: str | None = None) -> list[tuple[str, list[float | None]]]:
    """(name, y) of every trace of the first Plotly figure in ``html`` (whose title contains ``title``)."""
    decoder = json.JSONDecoder()
    start = 0
    while (start := html.find("Plotly.newPlot(", start)) >= 0:
        start = html.index(",", start) + 1
        traces, end = decoder.raw_decode(html[start:].lstrip())
        layout, _ = decoder.raw_decode(html[start:].lstrip()[end:].lstrip(" ,\n"))
        if title is None or title in json.dumps(layout.get("title", "")):
            return [(t.get("name"), t.get("y")) for t in traces]
    raise AssertionError(f"no Plotly figure titled {title!r}")


def test_the_rule_for_missing_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    C, F, P, R = TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING
    a = _study(url, "a", "random", [(F, None), (C, 0.5), (R, None), (P, None), (C, 0.7), (C, 0.6)])
    b = _study(url, "b", "random", [(C, 0.4)])
    runs, metric, _ = read_runs([a, b])
    assert runs[0].best_so_far == [None, 0.5, 0.5, 0.7, 0.7]  # the running trial is no point
    for run, study in zip(runs, (a, b)):  # the compare table's curve is the same rule
        assert run.best_so_far == [None if math.isnan(v) else v for v in curve(study)]


def test_a_study_without_a_complete_trial_has_no_curve_and_a_note(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    ok = _study(url, "ok", "random", [(TrialState.COMPLETE, 0.5), (TrialState.COMPLETE, 0.6)])
    other = _study(url, "other", "tpe", [(TrialState.COMPLETE, 0.55)])
    empty = _study(url, "empty", "tpe", [(TrialState.FAIL, None), (TrialState.PRUNED, None)])
    result = write_comparison([ok, other, empty], tmp_path / "r.html")
    names = [name for name, _ in plotly_traces(result.html.read_text(), "Best so far")]
    assert "empty" not in names and "ok" in names
    assert names == ["ok", "other", "random", "tpe"]
    assert any("'empty'" in note and "no complete trial" in note for note in result.notes)


@pytest.mark.slow
def test_compare_and_the_comparison_report_draw_the_same_curves(tiny_study_file: Path, db_url: str,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", str(tiny_study_file), "--strategies", "random,tpe", "--trials", "2", "--seeds", "1",
                    "--storage", db_url, "--out", str(out))
    assert result.exit_code == 0, result.output
    studies = [optuna.load_study(study_name=study_name_for("tiny", s, 0), storage=db_url) for s in ("random", "tpe")]
    report = write_comparison(studies, tmp_path / "report.html")
    from_compare = plotly_traces((out / "compare.html").read_text())
    from_report = plotly_traces(report.html.read_text(), "Best so far")
    assert from_compare == from_report
    assert [name for name, _ in from_compare] == [s.study_name for s in studies] + ["random", "tpe"]
    assert all(len(y) == 2 and None not in y for _, y in from_compare)
