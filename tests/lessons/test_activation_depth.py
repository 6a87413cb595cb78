"""The activation x depth lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tunekit.lessons._activation_depth import ACTIVATIONS, DEPTHS, decades, figures, lost_share, verdict

LEARNS = ([0.95, 0.96, 0.94, 0.95], [0.94, 0.95, 0.95, 0.93], 1.3, 1.5)  # accuracy at 2 / 10 layers, grad ratios
STOPS = ([0.70, 0.72, 0.68, 0.71], [0.10, 0.11, 0.10, 0.10], 0.4, 2e-6)


def _frame(outcomes: dict[str, tuple[list[float], list[float], float, float]]) -> pd.DataFrame:
    """Trials of the grid: activation -> (val_accuracy per seed at 2 layers, at 10 layers, gradient
    ratio at 2 layers, at 10 layers); the depths between are interpolated."""
    rows = []
    for activation, (shallow, deep, g_shallow, g_deep) in outcomes.items():
        for seed, (a, b) in enumerate(zip(shallow, deep)):
            for depth in DEPTHS:
                t = (depth - DEPTHS[0]) / (DEPTHS[-1] - DEPTHS[0])
                ratio = math.exp((1 - t) * math.log(g_shallow) + t * math.log(g_deep)) * (1 + 0.05 * seed)
                rows.append({"study": f"seed{seed}", "seed": seed, "state": "COMPLETE", "params_activation": activation,
                             "params_n_layers": depth, "value": (1 - t) * a + t * b, "health_grad_ratio": ratio})
    return pd.DataFrame(rows)


def _statuses(v) -> dict[str, str]:
    return {row["claim"]: row["status"] for row in v.evidence}


def test_saturating_stop_and_relu_family_keeps_learning_is_reproduced() -> None:
    v = verdict(_frame({a: STOPS if a in ("sigmoid", "tanh") else LEARNS for a in ACTIVATIONS}))
    assert v.outcome == "reproduced"
    assert len(v.evidence) == 12 and all(row["status"] == "holds" for row in v.evidence)
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table
    assert v.summary.startswith("Sigmoid stopped learning") and "4 of the 4 ReLU-family" in v.summary


def test_tanh_that_keeps_learning_is_partly() -> None:
    v = verdict(_frame({a: STOPS if a == "sigmoid" else LEARNS for a in ACTIVATIONS}))
    assert v.outcome == "partly"
    statuses = _statuses(v)
    assert statuses["sigmoid stops learning at depth"] == "holds"
    assert statuses["sigmoid's first-layer gradient vanishes at depth"] == "holds"
    assert statuses["tanh stops learning at depth"] == "contradicted"
    assert statuses["tanh's first-layer gradient vanishes at depth"] == "contradicted"
    assert statuses["relu keeps learning at depth"] == "holds"
    assert "tanh kept learning" in v.summary


def test_sigmoid_that_keeps_learning_is_not_reproduced() -> None:
    v = verdict(_frame({a: LEARNS for a in ACTIVATIONS}))
    assert v.outcome == "not reproduced"
    assert _statuses(v)["sigmoid stops learning at depth"] == "contradicted"


def test_relu_that_stops_learning_is_not_reproduced() -> None:
    outcomes = {a: STOPS if a in ("sigmoid", "tanh") else LEARNS for a in ACTIVATIONS}
    outcomes["relu"] = STOPS
    v = verdict(_frame(outcomes))
    assert v.outcome == "not reproduced"
    assert _statuses(v)["relu keeps learning at depth"] == "contradicted"


def test_noisy_seeds_give_no_clear_difference() -> None:
    noisy = ([0.9, 0.9, 0.9, 0.9], [0.1, 0.9, 0.1, 0.9], 1.0, 1.0)  # lost share 1, 0, 1, 0: mean 0.5
    outcomes = {a: LEARNS for a in ACTIVATIONS}
    outcomes["sigmoid"] = noisy
    v = verdict(_frame(outcomes))
    statuses = _statuses(v)
    assert statuses["sigmoid stops learning at depth"] == "no clear difference"
    assert statuses["sigmoid's first-layer gradient vanishes at depth"] == "contradicted"  # 0 decades lost
    assert v.outcome == "not reproduced"


def test_a_quick_frame_with_fewer_activations_and_one_seed() -> None:
    frame = _frame({"sigmoid": STOPS, "tanh": LEARNS, "relu": LEARNS})
    frame = frame[(frame["seed"] == 0) & frame["params_n_layers"].isin([2, 6])]
    v = verdict(frame)
    assert {row["status"] for row in v.evidence} == {"no clear difference"}  # one seed: no standard error
    assert "6 layers" in v.evidence[0] and len(v.evidence) == 6


def test_lost_share_and_decades() -> None:
    assert lost_share(0.7, 0.1) == 1.0 and lost_share(0.9, 0.9) == 0.0
    assert math.isnan(lost_share(0.12, 0.1))  # nothing learned at the shallow depth: nothing to lose
    assert decades(1.0, 1e-5) == 5.0 and decades(1.0, 10.0) == -1.0
    assert math.isnan(decades(0.0, 1.0)) and math.isnan(decades(1.0, float("nan")))


def test_figures_write_a_png(tmp_path: Path) -> None:
    frame = _frame({a: STOPS if a == "sigmoid" else LEARNS for a in ACTIVATIONS})
    (path,) = figures(frame, tmp_path)
    assert path.name == "activation_depth.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert path.stat().st_size > 10_000
