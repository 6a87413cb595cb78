"""The network-size lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tunekit.lessons._network_size import LAYERS, UNITS, figures, gap, train_loss, val_rise, verdict

EPOCHS = 10


def _frame(train: dict[int, list[float]], val: dict[int, list[float]], *, big_rise: list[float],
           seeds: int = 4) -> pd.DataFrame:
    """Trials of the grid for ``seeds`` seeds: units -> final training / validation loss per seed
    (the same at every depth); the validation curve of the 1025 x 4 network ends ``big_rise`` (per
    seed) above its minimum, every other one ends at its minimum."""
    rows = []
    for seed in range(seeds):
        for u in UNITS:
            for n in LAYERS:
                t, v = train[u][seed], val[u][seed]
                rise = big_rise[seed] if (u, n) == (1025, 4) else 0.0
                curve = [v + 1.0 - i / EPOCHS for i in range(EPOCHS - 1)] + [v]
                curve[EPOCHS // 2] = v - rise  # the lowest epoch
                rows.append({"state": "COMPLETE", "study": f"seed{seed}", "seed": seed, "params_units": u,
                             "params_n_layers": n, "value": v, "user_attrs_train_loss": t, "curve": curve,
                             "health_epoch_loss": [t + 1.0 - i / EPOCHS for i in range(EPOCHS - 1)] + [t]})
    return pd.DataFrame(rows)


def _units(one: list[float], fifty: list[float], mid: list[float], big: list[float]) -> dict[int, list[float]]:
    return {1: one, 50: fifty, 257: mid, 1025: big}


TRAIN = _units([0.9, 0.95, 0.92, 0.97], [0.2, 0.25, 0.22, 0.21], [0.05, 0.04, 0.06, 0.05], [0.01, 0.02, 0.01, 0.02])


def test_all_three_claims_hold_is_reproduced() -> None:
    val = _units([0.8, 0.85, 0.82, 0.86], [0.6, 0.62, 0.61, 0.6], [0.7, 0.72, 0.71, 0.7], [0.8, 0.83, 0.81, 0.8])
    v = verdict(_frame(TRAIN, val, big_rise=[0.2, 0.25, 0.22, 0.21]))
    assert v.outcome == "reproduced"
    assert [row["status"] for row in v.evidence] == ["holds", "holds", "holds"]
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table
    assert v.evidence[0]["claimed side"] == sum(TRAIN[1]) / 4 and v.evidence[0]["seeds"] == 4


def test_gap_no_longer_growing_beyond_mid_size_is_partly() -> None:
    # 1025-unit networks' gap no wider than 50-unit ones' (some seeds wider, some narrower)
    val = _units([0.8, 0.85, 0.82, 0.86], [0.8, 0.6, 0.81, 0.6], [0.7, 0.72, 0.71, 0.7], [0.6, 0.82, 0.6, 0.8])
    v = verdict(_frame(TRAIN, val, big_rise=[0.2, 0.25, 0.22, 0.21]))
    assert v.outcome == "partly"
    assert [row["status"] for row in v.evidence] == ["holds", "holds", "no clear difference"]
    assert "no clear difference" in v.summary


def test_gap_shrinking_with_size_still_partly_when_under_and_overfitting_hold() -> None:
    val = _units([0.8, 0.85, 0.82, 0.86], [0.9, 0.92, 0.91, 0.9], [0.7, 0.72, 0.71, 0.7], [0.5, 0.52, 0.51, 0.5])
    v = verdict(_frame(TRAIN, val, big_rise=[0.2, 0.25, 0.22, 0.21]))
    assert v.outcome == "partly"
    assert v.evidence[2]["status"] == "contradicted"


def test_big_network_that_does_not_overfit_is_not_reproduced() -> None:
    # the 1025 x 4 validation loss ends at its minimum, and the gap shrinks with size
    val = _units([0.8, 0.85, 0.82, 0.86], [0.9, 0.92, 0.91, 0.9], [0.7, 0.72, 0.71, 0.7], [0.5, 0.52, 0.51, 0.5])
    v = verdict(_frame(TRAIN, val, big_rise=[0.0, 0.0, 0.0, 0.0]))
    assert v.outcome == "not reproduced"
    assert [row["status"] for row in v.evidence][1:] == ["no clear difference", "contradicted"]


def test_small_networks_fitting_as_well_as_big_ones_is_not_reproduced() -> None:
    train = _units([0.01, 0.02, 0.01, 0.02], [0.2, 0.25, 0.22, 0.21], [0.05, 0.04, 0.06, 0.05], [0.3, 0.2, 0.3, 0.2])
    val = _units([0.8, 0.85, 0.82, 0.86], [0.9, 0.92, 0.91, 0.9], [0.7, 0.72, 0.71, 0.7], [0.5, 0.52, 0.51, 0.5])
    v = verdict(_frame(train, val, big_rise=[0.0, 0.0, 0.0, 0.0]))
    assert v.outcome == "not reproduced"
    assert v.evidence[0]["status"] == "contradicted"


def test_measures_of_one_trial() -> None:
    row = {"value": 0.7, "user_attrs_train_loss": 0.2, "curve": [0.9, 0.5, 0.7]}
    assert val_rise(row) == 0.2 and math.isclose(gap(row), 0.5)
    assert train_loss({"user_attrs_train_loss": None, "health_epoch_loss": [0.9, 0.3]}) == 0.3
    assert math.isnan(train_loss({"user_attrs_train_loss": float("nan"), "health_epoch_loss": None}))
    assert math.isnan(val_rise({"curve": float("nan")}))


def test_figures_write_pngs(tmp_path: Path) -> None:
    val = _units([0.8] * 4, [0.6] * 4, [0.7] * 4, [0.8] * 4)
    paths = figures(_frame(TRAIN, val, big_rise=[0.2] * 4), tmp_path)
    assert [p.name for p in paths] == ["network_size.png", "network_size_curves.png"]
    for path in paths:
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
