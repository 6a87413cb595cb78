"""The search-methods lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tunekit.lessons._search_methods import PAIRS, at, best_so_far, curves, figures, verdict

SEEDS = 4
TRIALS = 12


def _frame(levels: dict[str, list[float]], *, early: dict[str, int] | None = None) -> pd.DataFrame:
    """Trials of every (strategy, seed): validation accuracy 0.3 until trial ``early[strategy]``
    (default 9), then ``levels[strategy][seed]``; one failed trial per study."""
    rows = []
    for strategy, per_seed in levels.items():
        reach = (early or {}).get(strategy, 9)
        for seed, level in enumerate(per_seed):
            for number in range(TRIALS):
                state = "FAIL" if number == 1 else "COMPLETE"
                value = None if state == "FAIL" else (level if number + 1 >= reach else 0.3)
                rows.append({"study": f"{strategy}/seed{seed}", "seed": seed, "strategy": strategy, "number": number,
                             "state": state, "value": value})
    return pd.DataFrame(rows)


def _levels(grid: float, random: float, tpe: float, gp: float, metropolis: float | None = None) -> dict[str, list[float]]:
    """Per-seed levels around each base; Metropolis as TPE unless given."""
    jitter = [0.0, 0.01, -0.01, 0.005]
    bases = (("grid", grid), ("random", random), ("tpe", tpe), ("gp", gp), ("metropolis", tpe if metropolis is None
                                                                             else metropolis))
    return {name: [base + j for j in jitter] for name, base in bases}


def _statuses(v) -> list[str]:
    return [row["status"] for row in v.evidence]


def test_bayesian_better_at_budget_and_half_is_reproduced() -> None:
    frame = _frame(_levels(0.85, 0.90, 0.96, 0.95), early={"tpe": 5, "gp": 5})
    v = verdict(frame)
    assert v.outcome == "reproduced"
    assert _statuses(v) == ["holds"] * (len(PAIRS) + 2)
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table
    assert [row["after trials"] for row in v.evidence] == [12.0] * len(PAIRS) + [6.0, 6.0]
    assert v.evidence[0]["claimed side"] == sum(0.96 + j for j in [0.0, 0.01, -0.01, 0.005]) / 4


def test_bayesian_better_only_at_the_budget_is_partly() -> None:
    v = verdict(_frame(_levels(0.85, 0.90, 0.96, 0.95)))  # everyone at 0.3 until trial 9
    assert v.outcome == "partly"
    assert _statuses(v) == ["holds"] * len(PAIRS) + ["no clear difference"] * 2


def test_no_clear_difference_anywhere_is_not_reproduced() -> None:
    levels = {"grid": [0.9, 0.95, 0.9, 0.95], "random": [0.95, 0.9, 0.95, 0.9], "tpe": [0.9, 0.95, 0.95, 0.9],
              "gp": [0.95, 0.9, 0.9, 0.95], "metropolis": [0.9, 0.95, 0.9, 0.95]}
    v = verdict(_frame(levels))
    assert v.outcome == "not reproduced"
    assert set(_statuses(v)) == {"no clear difference"}
    assert f"in 0 of the {len(PAIRS) + 2} comparisons" in v.summary and "includes 0" in v.summary


def test_random_clearly_better_than_bayesian_is_not_reproduced() -> None:
    v = verdict(_frame(_levels(0.85, 0.96, 0.90, 0.95)))
    assert v.outcome == "not reproduced"
    assert _statuses(v)[:len(PAIRS)] == ["holds", "contradicted", "holds", "contradicted", "holds",
                                             "contradicted"]


def test_best_so_far_follows_the_comparison_rule() -> None:
    rows = pd.DataFrame({"number": [2, 0, 1, 3], "state": ["COMPLETE", "FAIL", "COMPLETE", "RUNNING"],
                         "value": [0.7, None, 0.8, None]})
    c = best_so_far(rows)
    assert math.isnan(c[0]) and c[1:] == [0.8, 0.8]  # a failed trial first; a running one is no point
    assert best_so_far(rows, "minimize")[1:] == [0.8, 0.7]
    assert at([0.1, 0.5, 0.6], 2) == 0.5 and at([0.1, 0.5], 12) == 0.5 and math.isnan(at([], 3))
    by = curves(_frame(_levels(0.85, 0.90, 0.96, 0.95)))
    assert sorted(by) == ["gp", "grid", "metropolis", "random", "tpe"] and len(by["tpe"][0]) == TRIALS


def test_figures_write_a_png(tmp_path: Path) -> None:
    (path,) = figures(_frame(_levels(0.85, 0.90, 0.96, 0.95), early={"tpe": 5}), tmp_path)
    assert path.name == "search_methods.png" and path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
