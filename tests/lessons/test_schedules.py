"""The schedules lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tunekit.lessons._schedules import DIVERGED, RATES, SCHEDULES, figures, final_loss, reference_rate, verdict

JITTER = (0.0, 0.01, -0.01, 0.005)


def _curve(end: float) -> list[float]:
    """A training-loss curve over 10 epochs from 2.3 down to ``end`` (NaN stays NaN)."""
    return [2.3 - (2.3 - end) * i / 9 for i in range(10)] if math.isfinite(end) else [2.3] * 9 + [end]


def _frame(losses: dict[float, float], accuracy: dict[str, float]) -> pd.DataFrame:
    """Trials of both studies over 4 seeds: final training loss per constant rate, final
    val_accuracy per schedule (each with a small per-seed jitter)."""
    rows = []
    for seed, jit in enumerate(JITTER):
        for rate, end in losses.items():
            rows.append({"study": f"rates/seed{seed}", "seed": seed, "state": "COMPLETE", "params_learning_rate": rate,
                         "params_schedule": None, "value": 0.9, "health_epoch_loss": _curve(end + jit)})
        for sched, acc in accuracy.items():
            rows.append({"study": f"schedules/seed{seed}", "seed": seed, "state": "COMPLETE",
                         "params_learning_rate": None, "params_schedule": sched, "value": acc + jit / 2,
                         "health_epoch_loss": _curve(0.05 + abs(jit))})
    rows.append({"study": "rates/seed0", "seed": 0, "state": "FAIL", "params_learning_rate": 0.1,
                 "params_schedule": None, "value": None, "health_epoch_loss": None})
    return pd.DataFrame(rows)


def _accuracy(**changes: float) -> dict[str, float]:
    """Final val_accuracy per schedule: 0.95, plus ``changes`` (schedule -> change)."""
    return {s: 0.95 + changes.get(s, 0.0) for s in SCHEDULES}


def _statuses(v) -> list[str]:
    return [row["status"] for row in v.evidence]


def test_both_rate_claims_and_a_better_schedule_is_reproduced() -> None:
    v = verdict(_frame({0.001: 1.5, 0.01: 0.3, 0.1: 0.05, 1.0: math.nan}, _accuracy(cosine=0.02)))
    assert v.outcome == "reproduced"
    statuses = _statuses(v)
    assert statuses[:2] == ["holds", "holds"]
    assert statuses[2 + SCHEDULES.index("cosine") - 1] == "holds"
    assert "contradicted" not in statuses
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table
    assert "diverged" in v.summary and "cosine" in v.summary


def test_rate_claims_hold_but_schedules_worse_is_partly() -> None:
    v = verdict(_frame({0.001: 1.5, 0.01: 0.3, 0.1: 0.05, 1.0: 0.8},
                       _accuracy(**{s: -0.03 for s in SCHEDULES if s != "constant"})))
    assert v.outcome == "partly"
    assert _statuses(v) == ["holds", "holds"] + ["contradicted"] * (len(SCHEDULES) - 1)


def test_large_rate_clearly_better_is_not_reproduced() -> None:
    v = verdict(_frame({0.001: 1.5, 0.01: 0.3, 0.1: 0.2, 1.0: 0.05}, _accuracy(step=0.02)))
    assert v.outcome == "not reproduced"
    assert _statuses(v)[:2] == ["holds", "contradicted"]


def test_no_clear_differences_anywhere_is_not_reproduced() -> None:
    v = verdict(_frame({0.001: 0.05, 0.01: 0.05, 0.1: 0.05, 1.0: 0.05}, _accuracy()))
    assert v.outcome == "not reproduced"
    assert set(_statuses(v)) == {"no clear difference"}


def test_reference_rate_is_the_best_middle_rate() -> None:
    frame = _frame({0.001: 1.5, 0.01: 0.04, 0.1: 0.05, 1.0: 0.01}, _accuracy())
    assert reference_rate(frame) == 0.01  # 1.0 is lower but is an extreme of the grid


def test_final_loss_counts_a_diverged_run_as_a_uniform_guess() -> None:
    assert final_loss({"health_epoch_loss": [2.0, float("inf")]}) == DIVERGED
    assert final_loss({"health_epoch_loss": [2.0, None]}) == DIVERGED
    assert final_loss({"health_epoch_loss": [2.0, 0.25]}) == 0.25
    assert math.isnan(final_loss({"health_epoch_loss": []}))


def test_figures_write_a_png(tmp_path: Path) -> None:
    paths = figures(_frame({r: 0.05 * (1 + abs(math.log10(r / 0.1))) for r in RATES}, _accuracy(step=0.01)),
                    tmp_path)
    assert [p.name for p in paths] == ["schedules.png"]
    assert paths[0].stat().st_size > 10_000


def test_late_stage_note_names_the_schedules_that_descend_more_slowly() -> None:
    frame = _frame({0.001: 1.5, 0.01: 0.3, 0.1: 0.05, 1.0: 0.8}, _accuracy())
    step = frame["study"].str.startswith("schedules/") & (frame["params_schedule"] == "step")
    frame.loc[step, "health_epoch_loss"] = pd.Series([_curve(0.2 + 0.01 * i) for i in range(step.sum())],
                                                     index=frame.index[step])
    note = verdict(frame).notes[-1]
    assert note.startswith("Late stage:") and "still falling" in note and note.endswith(": step.")
    flat = frame["study"].str.startswith("schedules/")
    frame.loc[flat, "health_epoch_loss"] = pd.Series([[0.5] * 8 + [0.05, 0.049]] * flat.sum(), index=frame.index[flat])
    note = verdict(frame).notes[-1]
    assert "levelled off" in note and note.endswith(": none.")
