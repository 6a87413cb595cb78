"""The diagnosis rules on hand-made figures: each fires at its threshold and not below it, in order."""

from __future__ import annotations

import math

import pytest

from tunekit.health import DIAGNOSES, THRESHOLDS, HealthSeries, diagnose
from tunekit.health._rules import first_last_ratio


def series(probes: int = 4, *, grads=None, loss=None, train=None, dead=None, sat=None, sym=None,
           activation: str = "relu") -> HealthSeries:
    """Two hidden layers and an output, ``probes`` probes; every figure healthy unless given."""
    s = HealthSeries(layers=["dense_0", "dense_1", "output"], activations=[activation, activation, "softmax"],
                     units=[8, 8, 3])
    s.epoch_loss = list((train or [2.0 / (1 + t) for t in range(probes)])[1:])  # one probe per epoch here
    for t in range(probes):
        s.add(epoch=t, loss=(loss or [2.0 / (1 + t) for t in range(probes)])[t],
              grad_norm=(grads or [[0.5, 0.6, 1.0]] * probes)[t], weight_norm=[3.0, 3.0, 2.0],
              act_mean=[0.3, 0.3, 0.33], act_std=[0.5, 0.5, 0.1],
              dead=(dead or [[0.0, 0.0, None]] * probes)[t], saturated=(sat or [[None, None, None]] * probes)[t],
              symmetric=(sym or [[False, False, False]] * probes)[t])
    return s


def value(name: str) -> float:
    return THRESHOLDS[name].value


def test_healthy_figures_are_ok_and_every_threshold_has_a_reason() -> None:
    assert diagnose(series()).name == "ok"
    assert all(t.reason and len(t.reason) > 20 for t in THRESHOLDS.values())
    assert DIAGNOSES[-1] == "ok"


def test_exploding_on_nan_and_on_growth_from_at_least_the_floor() -> None:
    assert diagnose(series(loss=[2.0, math.nan, math.nan, math.nan])).name == "exploding"
    assert diagnose(series(train=[2.0, 1.0, math.inf, 1.0])).epoch == 2  # an epoch's training loss, probed or not
    growth, floor = value("exploding_growth"), value("exploding_floor")
    grown = [[0.5, 0.6, 1.0], [0.5, 0.6, 1.0], [0.5, 0.6, 1.0], [0.5, 0.6, growth * floor * 1.01]]
    found = diagnose(series(grads=grown))
    assert (found.name, found.layer, found.epoch) == ("exploding", "output", 3)
    small_start = [[1e-6, 0.6, 1.0]] + [[0.9 * growth * floor, 0.6, 1.0]] * 3  # from 1e-6, yet below floor x growth
    assert diagnose(series(grads=small_start)).name == "ok"


def test_symmetric_comes_before_the_stall_it_causes() -> None:
    flat = [2.3] * 4
    s = series(sym=[[True, True, False]] * 4, loss=flat, train=flat)
    assert (diagnose(s).name, diagnose(s).layer) == ("symmetric", "dense_0")
    assert diagnose(series(sym=[[False, False, True]] * 4)).name == "ok"  # the output layer is not a hidden layer


@pytest.mark.parametrize("figure,name,share", [("dead", "dead", "dead_share"), ("sat", "saturated", "saturated_share")])
def test_a_share_of_units_fires_above_its_threshold_only(figure: str, name: str, share: str) -> None:
    limit = value(share)
    above = {figure: [[0.0, 0.0, None]] * 3 + [[0.0, limit + 0.01, None]]}
    at = {figure: [[0.0, 0.0, None]] * 3 + [[0.0, limit, None]]}
    activation = "tanh" if figure == "sat" else "relu"
    found = diagnose(series(activation=activation, **above))
    assert (found.name, found.layer) == (name, "dense_1")
    assert diagnose(series(activation=activation, **at)).name == "ok"


def test_vanishing_by_the_median_ratio_and_by_a_smaller_gap_with_a_stalled_loss() -> None:
    limit, stalled_limit = value("vanishing_ratio"), value("vanishing_stalled_ratio")
    s = series(grads=[[0.5 * limit, 0.1, 1.0]] * 4)
    assert diagnose(s).name == "vanishing" and first_last_ratio(s) == pytest.approx(0.5 * limit)
    gap = [[0.5 * stalled_limit, 0.1, 1.0]] * 4
    assert diagnose(series(grads=gap)).name == "ok"  # learning: the gap alone is not enough
    flat = [2.3, 2.2, 2.2, 2.2]
    assert diagnose(series(grads=gap, loss=flat, train=flat)).name == "vanishing"


def test_stalled_needs_a_flat_second_half_a_high_loss_and_enough_epochs() -> None:
    fall = value("stall_decrease")
    flat = [2.4, 2.3, 2.3, 2.3 * (1 - fall / 2), 2.3 * (1 - fall / 2)]
    assert diagnose(series(5, loss=flat, train=flat)).name == "stalled"
    learned_early = [2.4, 0.3, 0.3, 0.3, 0.3]  # flat, but far below half the start: it had learned
    assert diagnose(series(5, loss=learned_early, train=learned_early)).name == "ok"
    short = [2.4, 2.3, 2.3]  # two epochs: too few to call flat
    assert int(value("stall_min_epochs")) > 2 and diagnose(series(3, loss=short, train=short)).name == "ok"
