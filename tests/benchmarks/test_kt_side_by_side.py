"""The keras-tuner side-by-side benchmark runs end to end on a tiny budget and writes tables that
hold the run's own numbers: a row per contender (keras-tuner RandomSearch / BayesianOptimization /
Hyperband, tunekit random / tpe / gp with and without the median pruner) in the time-to-target
and the suggestion-cost tables, each with the budget's trials. No time is asserted.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_benchmarks_smoke import _rows, _written  # the smoke tests' table readers (this folder)


def test_rotations_put_every_contender_early_and_late() -> None:
    from benchmarks.kt_side_by_side import rotations

    names = list("ABCDEFGHI")
    orders = rotations(names, 3)
    assert [o[0] for o in orders] == ["A", "D", "G"]
    assert all(sorted(o) == names for o in orders)
    assert rotations(["A", "B"], 1) == [["A", "B"]]


def test_at_target_and_censored_median() -> None:
    from benchmarks.kt_side_by_side import _median_of, at_target, ratio_cell

    ends = [{"t": 1.0, "value": 0.5}, {"t": 2.0, "value": None}, {"t": 3.0, "value": 0.96}]
    assert at_target(ends, 4.0, 0.95) == {"time": 3.0, "reached": True, "time_or_wall": 3.0, "trials": 3}
    missed = at_target(ends, 4.0, 0.99)
    assert missed["time"] == math.inf and missed["time_or_wall"] == 4.0 and not missed["reached"]
    runs = [{"at": {0.9: {"time_or_wall": t, "reached": ok}}} for t, ok in ((1.0, True), (5.0, False), (3.0, True))]
    assert _median_of(runs, 0.9) == (3.0, False)
    runs[2]["at"][0.9]["reached"] = False
    assert _median_of(runs, 0.9) == (3.0, True)  # the middle run never got there: a lower bound
    assert ratio_cell(3.0, True, 6.0, False) == "≥0.50×" and ratio_cell(3.0, False, 6.0, True) == "≤0.50×"


#: The nine contenders: two in the fresh-process test (one per tool), the other seven in two in-process
#: runs (each with a keras-tuner and a tunekit search), so that no one test runs past 60 s; together they
#: cover every contender.
FRESH = "kt-hyperband,tpe"  # Hyperband: the one keras-tuner search stopped by the trial budget alone (no max_trials)
HALVES = ("kt-random,random,random+median", "tpe+median,kt-bayesian,gp,gp+median")
TARGETS = (0.5, 0.999)


def _run_and_check(tmp_path: Path, only: str, trials: int, *flags: str) -> str:
    """Run the benchmark on ``only`` with a budget of ``trials`` and check its tables against the run's
    summary; the text back."""
    from benchmarks.kt_side_by_side import CONTENDERS, main

    short = {c[3]: name for name, c in CONTENDERS.items()}
    chosen = {short[s] for s in only.split(",")}
    summary = main(["--quick", "--seeds", "1", "--trials", str(trials), "--epochs", "1",
                    "--target", ",".join(map(str, TARGETS)), "--only", only, "--out", str(tmp_path), *flags])
    text = _written(tmp_path, "kt_side_by_side")
    assert f"Budget: {trials} trials per run, at most 1 epochs each" in text
    assert set(summary["contenders"]) == chosen
    for target in TARGETS:
        entry = summary["targets"][target]
        assert entry["kt_best"] in CONTENDERS and CONTENDERS[entry["kt_best"]][0] == "keras-tuner"
        assert entry["tunekit_best"] in CONTENDERS and CONTENDERS[entry["tunekit_best"]][0] == "tunekit"
        for facts in entry["contenders"].values():
            assert facts["runs"] == 1 and len(facts["times"]) == 1 and facts["times"][0] > 0
    rows = _rows(text, "median s to target")  # the first target's table
    assert set(rows) == chosen
    for name, row in rows.items():
        facts = summary["targets"][TARGETS[0]]["contenders"][name]
        assert row["reached"] == f"{facts['reached']}/1"
        best = summary["contenders"][name]["best"]
        assert 0 < best <= 1 and row["best val_accuracy, median (range)"].startswith(f"{best:.4f}")
    costs = _rows(text, "s/trial outside fit, median (range)")
    assert set(costs) == chosen
    for name, row in costs.items():
        facts = summary["contenders"][name]
        assert math.isfinite(facts["cost_fit"]) and facts["cost_fit"] > 0
        assert row["s/trial outside fit, median (range)"].startswith(f"{facts['cost_fit']:.3f}")
        assert row["trials (median)"] == str(trials)
        # start-up is part of the cost (the cell has two decimals: 1.3197 s shows as 1.32)
        assert 0 < float(row["s to first fit (median)"]) <= facts["cost_fit"] * trials + 0.005
    kt_cheapest = summary["kt_cheapest"]
    assert costs[kt_cheapest]["ratio to kt's cheapest"] == "1.00×"
    return text


def test_the_tests_cover_every_contender() -> None:
    from benchmarks.kt_side_by_side import CONTENDERS

    assert len(CONTENDERS) == 9
    groups = [FRESH, *HALVES]
    assert sorted(",".join(groups).split(",")) == sorted(c[3] for c in CONTENDERS.values())
    for group in groups:  # each run has a contender of each tool: its kt_best, tunekit_best and ratios
        tools = {CONTENDERS[n][0] for n in CONTENDERS if CONTENDERS[n][3] in group.split(",")}
        assert tools == {"keras-tuner", "tunekit"}


@pytest.mark.slow
def test_kt_side_by_side_in_process_after_a_warm_up(tmp_path: Path) -> None:
    # every contender in this process (one TensorFlow start, not several), after the untimed warm-up; one
    # trial each: a budget of more, stopped by both tools' budget checks, is the fresh-process test's
    text = _run_and_check(tmp_path, HALVES[0], 1, "--in-process")
    assert "All searches in this one process; before the first, one untimed trial" in text


@pytest.mark.slow
def test_kt_side_by_side_in_process_without_a_warm_up(tmp_path: Path) -> None:
    # the warm-up is the other in-process test's; here the first search pays the start-up itself
    text = _run_and_check(tmp_path, HALVES[1], 1, "--in-process", "--no-warm-up")
    assert "no warm-up before the first (`--no-warm-up`)" in text and "--in-process --no-warm-up" in text


@pytest.mark.slow
def test_each_search_in_a_fresh_process(tmp_path: Path) -> None:
    # the benchmark's default: each tool's search runs in a child process and its figures come back; a budget
    # of 2 trials, so each tool's search must stop after its budget, not after its first trial
    text = _run_and_check(tmp_path, FRESH, 2)
    assert "Every search in a fresh Python process" in text
