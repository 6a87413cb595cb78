"""The FCNet intensify benchmark (issue 16, item 3) runs end to end on a tiny budget: every arm
spends the same evaluations, the intensify arm reports a configuration with a mean over its runs,
and the regret adds up from the table. No time is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_benchmarks_smoke import _rows, _written  # the smoke tests' table readers (this folder)


def test_fcnet_intensify(tmp_path: Path) -> None:
    from benchmarks.fcnet_confirm import best_mean, true_mean
    from benchmarks.fcnet_intensify import main

    evals, ds = 30, "parkinsons_telemonitoring"
    out = main(["--quick", "--seeds", "2", "--evals", str(evals), "--datasets", ds, "--only", "tpe,optuna-tpe",
                "--processes", "2", "--out", str(tmp_path)])
    results = out["results"]
    assert sorted(results) == [(c, ds, s) for c in ("optuna-tpe", "tpe") for s in (0, 1)]
    best = best_mean(ds)
    for (contender, _, _), result in results.items():
        arms = {a for a in result if a != "wall"}
        assert arms == ({"plain", "confirm", "intensify"} if contender == "tpe" else {"plain", "confirm"})
        for arm in arms:
            o = result[arm]
            assert o["evals"] == evals
            assert o["true"] == pytest.approx(true_mean(ds, o["config"]))
            assert o["regret"] == pytest.approx(o["true"] - best) and o["regret"] >= 0
        if "intensify" in result:
            assert 0 <= result["intensify"]["repeats"] < evals
            assert result["intensify"]["n"] >= 1
    rows = _rows(_written(tmp_path, "fcnet_intensify"), "median regret [95% interval]")
    assert {"tpe", "tpe+confirm", "tpe+intensify", "optuna-tpe"} <= set(rows)


def test_an_unknown_contender_or_data_set_stops_with_the_choices() -> None:
    from benchmarks import _util
    from benchmarks.fcnet_intensify import main

    with pytest.raises(SystemExit, match=r"unknown contender\(s\) \['tpee'\]; choose from"):
        main(["--only", "tpee"])
    with pytest.raises(SystemExit, match=r"unknown data set\(s\) \['mnist'\]"):
        _util.names("mnist", ("naval_propulsion",), (), "data set")
