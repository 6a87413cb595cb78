"""The FCNet batch benchmark (issue 26) runs end to end on a tiny budget, resumes from its cache,
and writes tables that hold the run's own numbers.

No time is asserted (the machine is shared); what is asserted could fail: every run spends its
evaluations, batching changes what the strategy proposes, the regret adds up from the table's
truth, the cells and ratios equal the figures recomputed from the runs.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from test_benchmarks_smoke import _rows, _written  # the smoke tests' table readers (this folder)


def test_summary_and_bootstrap_on_made_up_runs() -> None:
    from benchmarks.fcnet_batch import label, median_boot, summarize

    def run(regret: float) -> dict:
        return {"end": {"regret": regret}, "half": {"regret": 2 * regret}, "wall": 1.0, "distinct": 40}

    seq, batched = [0.1, 0.2, 0.3, 0.4, 0.5], [0.2, 0.4, 0.6, 0.8, 1.0]
    results = {("tpe", 1, "d", s): run(v) for s, v in enumerate(seq)}
    results |= {("tpe", 8, "d", s): run(v) for s, v in enumerate(batched)}
    results |= {("random", 1, "d", s): run(1.0) for s in range(5)}
    summary = summarize(results)["d"]
    assert list(summary) == ["random", "tpe", "tpe x8"] and label("skopt", 16) == "skopt x16"
    assert summary["tpe"]["regret"] == 0.3 and summary["tpe"]["half"] == 0.6
    assert summary["tpe x8"]["ratio"] == pytest.approx(2.0)  # twice the sequential median regret
    assert summary["tpe x8"]["ratio_lo"] <= 2.0 <= summary["tpe x8"]["ratio_hi"]
    lo, hi = median_boot(seq)
    assert 0.1 <= lo <= 0.3 <= hi <= 0.5 and (lo, hi) == median_boot(seq)  # seeded: reproducible
    assert median_boot([0.7] * 4) == (0.7, 0.7)


@pytest.mark.slow
def test_fcnet_batch(tmp_path: Path) -> None:
    from benchmarks.fcnet_batch import best_mean, main, run, true_mean

    evals, ds, cache = 20, "parkinsons_telemonitoring", tmp_path / "runs.jsonl"
    argv = ["--quick", "--seeds", "2", "--evals", str(evals), "--datasets", ds, "--only", "tpe",
            "--batches", "4", "--out", str(tmp_path), "--cache", str(cache)]
    out = main(argv)
    results, summary = out["results"], out["summary"][ds]
    assert out["batches"] == [1, 4]  # the sequential twin is always run
    assert sorted(results) == sorted((s, b, ds, seed) for seed in (0, 1) for s, b in
                                     [("tpe", 1), ("tpe", 4), ("random", 1)])
    best = best_mean(ds)
    for (strategy, batch, _, seed), r in results.items():
        for at in ("half", "end"):
            assert r[at]["true"] == pytest.approx(true_mean(ds, r[at]["config"]))
            assert r[at]["regret"] == pytest.approx(r[at]["true"] - best) and r[at]["regret"] >= 0
        assert r["end"]["reported"] <= r["half"]["reported"]  # the best single value only improves
    # a round is asked before it is told: one round of all 20 leaves tpe in its random start-up
    # (10 told trials), so it proposes exactly what random search does; told one by one, it does not
    assert run("tpe", evals, ds, 0, evals)["end"] == results[("random", 1, ds, 0)]["end"]
    assert run("tpe", 1, ds, 0, evals)["end"] == results[("tpe", 1, ds, 0)]["end"]
    assert any(results[("tpe", 1, ds, s)]["end"] != results[("random", 1, ds, s)]["end"] for s in (0, 1))
    text = _written(tmp_path, "fcnet_batch")
    rows = _rows(text, f"median regret at {evals} [95% bootstrap]")
    assert list(rows) == ["random", "tpe", "tpe x4"]
    for name, row in rows.items():
        facts = summary[name]
        assert int(row["seeds"]) == 2
        assert facts["regret"] == pytest.approx(statistics.median(facts["regrets"]))
        assert row[f"median regret at {evals} [95% bootstrap]"].startswith(f"{facts['regret']:.3g} [")
    if summary["tpe"]["regret"] > 0:
        assert summary["tpe x4"]["ratio"] == pytest.approx(summary["tpe x4"]["regret"] / summary["tpe"]["regret"])
        assert rows["tpe x4"]["ratio to sequential [95%]"].startswith(f"{summary['tpe x4']['ratio']:.3g} [")
    assert "- tpe x4 / tpe: parkinsons_telemonitoring" in text
    # a second run reads every run back from the cache: nothing is rerun, the same figures come out
    lines = cache.read_text().splitlines()
    assert len(lines) == 6
    again = main(argv)
    assert cache.read_text().splitlines() == lines
    assert again["summary"][ds]["tpe x4"]["regrets"] == summary["tpe x4"]["regrets"]


def test_bad_batches_stop_with_one_line() -> None:
    from benchmarks.fcnet_batch import main

    with pytest.raises(SystemExit, match="--batches must be comma-separated integers"):
        main(["--quick", "--batches", "8,x"])
    with pytest.raises(SystemExit, match="--batches must be >= 1, got 0"):
        main(["--quick", "--batches", "0,8"])
