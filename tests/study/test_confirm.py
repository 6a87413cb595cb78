"""Issue 16: ``run --confirm K --repeats R``: the best configurations trained again, the best by mean."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

import tunekit
from tests.conftest import TINY_SPEC, ctrl_c_when, invoke, one_error_line
from tunekit._confirm import chosen, confirmation_plan, confirmed_best, noise_sd
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, budget, kind_counts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "execution" / "workers"))
from workers_helpers import trials  # noqa: E402


def _trials(rows: list[tuple]) -> list:
    """(u, value, confirms or None[, state]) -> FrozenTrials numbered in order."""
    out = []
    for i, row in enumerate(rows):
        u, value, of = row[:3]
        state = row[3] if len(row) > 3 else TrialState.COMPLETE
        attrs = {} if of is None else {CONFIRMS: of}
        if state == TrialState.FAIL:
            attrs[FAIL_REASON] = INTERRUPTED
        t = create_trial(state=state, value=value if state == TrialState.COMPLETE else None, params={"u": u},
                         distributions={"u": IntDistribution(1, 9)}, user_attrs=attrs)
        t.number = i
        out.append(t)
    return out


def test_the_k_best_distinct_configurations_get_r_runs_and_nothing_twice() -> None:
    search = _trials([(1, 0.90, None), (2, 0.95, None), (2, 0.80, None), (3, 0.93, None), (4, 0.10, None)])
    assert [t.number for t in chosen(search, k=2, maximize=True)] == [1, 3]  # u=2 once, by its best run
    assert confirmation_plan(search, k=2, repeats=2, maximize=True) == [({"u": 2}, 1)] * 2 + [({"u": 3}, 3)] * 2
    some = _trials([(1, 0.90, None), (2, 0.95, None), (2, 0.80, None), (3, 0.93, None), (4, 0.10, None),
                    (2, 0.90, 1), (3, None, 3, TrialState.FAIL)])  # one done; one interrupted: queued again
    assert confirmation_plan(some, k=2, repeats=2, maximize=True) == [({"u": 2}, 1), ({"u": 3}, 3), ({"u": 3}, 3)]
    assert confirmation_plan(_trials([(1, 0.2, None), (2, 0.1, None)]), k=1, repeats=1, maximize=False) == [({"u": 2}, 1)]


def test_the_best_is_the_best_mean_and_the_noise_is_pooled() -> None:
    rows = [(1, 0.99, None), (2, 0.96, None), (1, 0.90, 0), (1, 0.92, 0), (2, 0.95, 1), (2, 0.97, 1)]
    done = _trials(rows)
    best = confirmed_best(done, maximize=True)
    assert best.trial.number == 1 and best.values == (0.96, 0.95, 0.97)  # not trial 0's lucky 0.99
    assert best.mean == pytest.approx(0.96) and best.sd == pytest.approx(0.01) and best.n == 3
    pooled = ((3 - 1) * statistics.variance([0.99, 0.90, 0.92]) + (3 - 1) * statistics.variance([0.96, 0.95, 0.97])) / 4
    assert noise_sd(done) == pytest.approx(pooled ** 0.5)
    assert confirmed_best(_trials([(1, 0.5, None)]), maximize=True) is None
    assert kind_counts(done)["confirmation"] == 4 and budget(done).counted == 2


@pytest.mark.slow
def test_confirmation_on_a_real_study(db_url: str, tmp_path: Path) -> None:
    spec = tunekit.StudySpec(**{**TINY_SPEC, "data": "digits", "max_rows": 400})
    study = tunekit.run(spec, strategy="random", n_trials=3, storage=db_url, seed=3, confirm=2, repeats=2)
    everything = study.trials
    extra = [t for t in everything if CONFIRMS in t.user_attrs]
    assert budget(everything).counted == 3 and len(extra) == 4 and all(t.state == TrialState.COMPLETE for t in extra)
    top = chosen(everything, k=2, maximize=True)
    for head in top:
        mine = [t for t in extra if t.user_attrs[CONFIRMS] == head.number]
        assert len(mine) == 2 and all(t.params == head.params for t in mine)
        seeds = {head.user_attrs["seed"], *(t.user_attrs["seed"] for t in mine)}
        assert len(seeds) == 3  # new seeds
    from tunekit.study import best_summary, run_summary, trials_frame

    summary = best_summary(study)
    means = {h.number: statistics.fmean([h.value] + [t.value for t in extra if t.user_attrs[CONFIRMS] == h.number])
             for h in top}
    assert summary["trial"] == max(means, key=means.get)
    assert summary["confirmed"]["mean"] == pytest.approx(means[summary["trial"]]) and summary["confirmed"]["n"] == 3
    lines = list(run_summary(study, db_url))
    assert "(3 complete; not counted: 4 confirmation runs (--confirm))" in lines[0]
    assert f"runs of trial {summary['trial']}'s configuration, confirmed; noise level" in lines[1]
    df = trials_frame(study)
    assert df.loc[df["number"] == summary["trial"], "config_n"].item() == 3
    from tunekit.study import studies_frame

    row = studies_frame(db_url).iloc[0]  # `tunekit studies` shows the best `tunekit best` shows
    assert row["best"] == pytest.approx(summary["confirmed"]["mean"]) and row["best_runs"] == 3
    assert "best_runs" in invoke("studies", "--storage", db_url).output
    assert study.user_attrs["confirmed_best"]["trial"] == summary["trial"]
    report = invoke("report", study.study_name, "--storage", db_url, "-o", str(tmp_path / "r.html"))
    assert report.exit_code == 0, report.output
    assert f"runs of trial {summary['trial']}&#x27;s configuration, confirmed" in (tmp_path / "r.html").read_text() \
        or f"runs of trial {summary['trial']}'s configuration, confirmed" in (tmp_path / "r.html").read_text()
    again = tunekit.run(spec, strategy="random", n_trials=3, storage=db_url, seed=3, confirm=2, repeats=2)
    assert len(again.trials) == len(everything)  # resumed: nothing to add
    shown = invoke("best", study.study_name, "--storage", db_url, "--save-model", str(tmp_path / "b.keras"))
    assert shown.exit_code == 0, shown.output
    headline = [line for line in shown.output.splitlines() if line.startswith(f"study {study.study_name!r}: best")]
    assert headline and "+/-" in headline[0] and "reproduces the trial" in shown.output
    assert json.loads((tmp_path / "b.json").read_text())["trial"] == summary["trial"]


@pytest.mark.slow
def test_ctrl_c_during_confirmation_resumes_without_repeating_any(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "conf.py"
    path.write_text("from tunekit import StudySpec, Int\n"
                    "spec = StudySpec(data='iris', space={'units': Int(4, 16)}, fixed={'n_layers': 1, 'batch_size': 8},"
                    " epochs=30)\n")
    search = ["run", str(path), "--storage", db_url, "--trials", "2", "--strategy", "random"]
    # 30 epochs: a confirmation run lasts long enough to be caught running by the Ctrl-C (at 2 epochs
    # one in CI finished between the test seeing it RUNNING and the signal)
    command = [*search, "--confirm", "1", "--repeats", "2"]
    ran = invoke(*search)  # the search first, quickly
    assert ran.exit_code == 0, ran.output

    def confirming():
        return [t for t in trials(db_url, "conf") if t.state == TrialState.RUNNING and CONFIRMS in t.user_attrs]

    with ctrl_c_when(confirming):  # a real SIGINT, to this process, once a confirmation run trains
        stopped = invoke(*command)
    assert stopped.exit_code == 130, stopped.output
    resumed = invoke(*command)
    assert resumed.exit_code == 0, resumed.output
    out = resumed.output
    everything = trials(db_url, "conf")
    runs = [t for t in everything if CONFIRMS in t.user_attrs]
    done = [t for t in runs if t.state == TrialState.COMPLETE]
    assert len(done) == 2 and {t.user_attrs[CONFIRMS] for t in done} == {chosen(everything, k=1, maximize=True)[0].number}
    assert any(t.user_attrs.get(FAIL_REASON) == INTERRUPTED for t in runs)
    assert budget(everything).counted == 2 and "2 confirmation runs (--confirm)" in out


@pytest.mark.parametrize("args, message", [
    (["--confirm", "-1"], "--confirm must be an integer >= 0, got -1"),
    (["--confirm", "1", "--repeats", "0"], "--repeats must be an integer >= 1, got 0"),
    (["--confirm", "5"], "--confirm 5 asks for more configurations than --trials 3 can give"),
])
def test_bad_confirm_numbers_are_one_line_and_write_nothing(tiny_study_file: Path, db_url: str, args: list[str],
                                                             message: str) -> None:
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--trials", "3", *args)
    assert message in one_error_line(result)
    assert optuna.get_all_study_names(db_url) == []
