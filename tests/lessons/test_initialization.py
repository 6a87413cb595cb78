"""The initialization lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tunekit.lessons._initialization import INITIALIZERS, figures, hidden_spread, verdict


def _frame(accuracy: dict[tuple[str, str], list[float]], *, constant_spread: float = 0.0) -> pd.DataFrame:
    """Trials of the grid: (activation, initializer) -> val_accuracy per seed; hidden layers'
    unit spread ``constant_spread`` for zeros/ones, 0.5 otherwise."""
    rows = []
    for (activation, init), values in accuracy.items():
        for seed, value in enumerate(values):
            spread = constant_spread if init in ("zeros", "ones") else 0.5
            rows.append({"state": "COMPLETE", "seed": seed, "params_activation": activation, "params_initializer": init,
                         "value": value, "health_epochs": [0, 1, 4, 8],
                         "health_unit_spread": [[spread, spread, 0.3]] * 4,
                         "health_symmetric": [[spread == 0, spread == 0, False]] * 4})
    return pd.DataFrame(rows)


def _grid(relu_he: list[float], relu_glorot: list[float], tanh_glorot: list[float], tanh_he: list[float]):
    acc = {(a, i): [0.5] * 4 for a in ("relu", "tanh") for i in INITIALIZERS}
    acc.update({("relu", "he_normal"): relu_he, ("relu", "glorot_uniform"): relu_glorot,
                ("tanh", "glorot_uniform"): tanh_glorot, ("tanh", "he_normal"): tanh_he})
    return acc


def test_all_three_claims_hold_is_reproduced() -> None:
    v = verdict(_frame(_grid([0.90, 0.91, 0.92, 0.90], [0.80, 0.82, 0.81, 0.80],
                             [0.93, 0.94, 0.92, 0.93], [0.85, 0.86, 0.84, 0.86])))
    assert v.outcome == "reproduced"
    assert [row["status"] for row in v.evidence] == ["holds", "holds", "holds"]
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table


def test_symmetry_holds_but_no_clear_difference_is_partly() -> None:
    v = verdict(_frame(_grid([0.90, 0.80, 0.92, 0.81], [0.85, 0.86, 0.84, 0.86],
                             [0.93, 0.94, 0.92, 0.93], [0.85, 0.86, 0.84, 0.86])))
    assert v.outcome == "partly"
    assert [row["status"] for row in v.evidence] == ["holds", "no clear difference", "holds"]
    assert "no clear difference" in v.summary


def test_glorot_clearly_better_for_relu_is_not_reproduced() -> None:
    v = verdict(_frame(_grid([0.80, 0.81, 0.80, 0.82], [0.90, 0.91, 0.92, 0.90],
                             [0.93, 0.94, 0.92, 0.93], [0.85, 0.86, 0.84, 0.86])))
    assert v.outcome == "not reproduced"
    assert v.evidence[1]["status"] == "contradicted"


def test_units_that_drift_apart_under_a_constant_init_are_not_reproduced() -> None:
    v = verdict(_frame(_grid([0.90, 0.91, 0.92, 0.90], [0.80, 0.82, 0.81, 0.80],
                             [0.93, 0.94, 0.92, 0.93], [0.85, 0.86, 0.84, 0.86]), constant_spread=0.2))
    assert v.outcome == "not reproduced"
    assert v.evidence[0]["status"] == "contradicted" and "did not keep" in v.summary


def test_an_all_zero_layer_counts_as_identical_units() -> None:
    row = {"health_unit_spread": [[None, 0.0, 0.4]], "health_symmetric": [[True, True, False]]}
    assert hidden_spread(row) == 0.0
    assert hidden_spread({"health_unit_spread": None}) != hidden_spread({"health_unit_spread": None})  # NaN


def test_figures_write_a_png(tmp_path: Path) -> None:
    frame = _frame(_grid([0.9] * 4, [0.8] * 4, [0.9] * 4, [0.8] * 4))
    (path,) = figures(frame, tmp_path)
    assert path.name == "initialization.png" and path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
