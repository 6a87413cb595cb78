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


# Issue 27: judged against what the data allows (a constant predictor's loss), advice from the figures.

def test_a_flat_loss_well_under_the_constant_predictors_is_converged_not_stalled() -> None:
    floor = [0.70, 0.50, 0.47, 0.466, 0.465, 0.464]  # flat at the data's floor: log-loss 0.46 on a 0.65 prior
    s = series(6, loss=floor, train=floor)
    assert diagnose(s).name == "stalled"  # without the prior, the old rule: above half its start
    s.baseline = 0.65
    assert diagnose(s).name == "ok"
    near_prior = [0.70, 0.66, 0.64, 0.64, 0.64, 0.64]  # flat at the prior: it learned nothing
    s = series(6, loss=near_prior, train=near_prior)
    s.baseline = 0.65
    found = diagnose(s)
    assert found.name == "stalled" and "constant predictor" in found.reason and "0.65" in found.reason


def test_the_validation_loss_under_the_prior_also_shows_a_model_that_learned() -> None:
    train = [0.70, 0.64, 0.64, 0.64, 0.64, 0.64]  # dropout keeps the training loss up
    s = series(6, loss=train, train=train)
    s.baseline = 0.65
    s.val_loss = [0.60, 0.50, 0.48, 0.47, 0.47]
    assert diagnose(s).name == "ok"


def test_exploding_by_a_loss_far_above_the_constant_predictors() -> None:
    limit = value("exploding_loss")
    falling = [7e9, 5e9, 3e9, 2e9]  # huge and falling slowly: no growth, no NaN
    s = series(loss=falling, train=falling)
    assert diagnose(s).name != "exploding"
    s.baseline = 0.65
    found = diagnose(s)
    assert found.name == "exploding" and "constant predictor" in found.reason
    s = series(loss=[0.7] * 4, train=[0.7, 0.9 * limit * 0.65, 0.9 * limit * 0.65, 0.9 * limit * 0.65])
    s.baseline = 0.65
    assert diagnose(s).name != "exploding"  # below the limit


def test_exploding_by_gradients_far_above_the_weights_scale() -> None:
    ratio = value("exploding_grad_weight")
    big = [[0.5, 0.6, 1.0]] + [[0.5, 3.0 * ratio * 1.01, 1.0]] * 3  # weight norms are 3.0
    found = diagnose(series(grads=[[0.5, 2.0 * ratio, 1.0]] + big[1:]))  # large from the start: no growth
    assert (found.name, found.layer) == ("exploding", "dense_1")
    below = [[0.5, 2.0 * ratio, 1.0]] + [[0.5, 3.0 * ratio * 0.9, 1.0]] * 3
    assert diagnose(series(grads=below)).name == "ok"


def with_setup(s: HealthSeries, **setup: object) -> HealthSeries:
    s.setup = dict(setup)
    return s


def test_exploded_from_the_start_names_the_initializer_and_never_what_is_already_set() -> None:
    huge = [7e9, 5e9, 3e9, 2e9]
    s = with_setup(series(loss=huge, train=huge), initializer="random_normal", init_stddev=3.0, clipnorm=1.0,
                   learning_rate=0.01, optimizer="sgd")
    s.baseline = 0.65
    reason = diagnose(s).reason
    assert "init_stddev" in reason and "3" in reason and "clipnorm" not in reason
    grew = [[0.5, 0.6, 1.0]] * 3 + [[0.5, 0.6, 1.0e4]]
    s = with_setup(series(grads=grew), initializer="glorot_uniform", clipnorm=1.0, learning_rate=0.5)
    reason = diagnose(s).reason
    assert "lower the learning_rate" in reason and "clipnorm" not in reason and "glorot" not in reason
    assert "set clipnorm" in diagnose(with_setup(series(grads=grew), initializer="glorot_uniform")).reason


def test_units_dead_before_any_step_point_at_the_initializer_not_the_learning_rate() -> None:
    dead_from_start = [[0.9, 0.0, None]] * 4
    s = with_setup(series(dead=dead_from_start), initializer="random_normal", init_stddev=0.05)
    found = diagnose(s)
    assert found.name == "dead" and "learning_rate" not in found.reason and "start" in found.reason
    assert "he_normal" in found.reason
    died = [[0.0, 0.0, None]] * 3 + [[0.9, 0.0, None]]
    assert "lower the learning_rate" in diagnose(with_setup(series(dead=died), initializer="he_normal")).reason
    advice = diagnose(with_setup(series(dead=dead_from_start), initializer="he_normal")).reason.split("; use ")[-1]
    assert "he_normal" not in advice and "leaky_relu" in advice  # names the trial's initializer, never suggests it


def test_a_saturated_glorot_net_is_not_told_to_use_glorot_and_a_large_update_ratio_names_the_learning_rate() -> None:
    sat = [[0.0, 0.0, None]] + [[0.9, 0.0, None]] * 3  # saturated after training began
    s = with_setup(series(sat=sat, activation="sigmoid"), initializer="glorot_uniform")
    found = diagnose(s)
    assert found.name == "saturated" and "glorot" not in found.reason
    s.update_ratio = [[None, None, None]] + [[value("update_ratio_high") * 2, 0.01, 0.01]] * 3
    assert "lower the learning_rate" in diagnose(s).reason and "init" not in diagnose(s).reason
    from_start = [[0.9, 0.0, None]] * 4
    s = with_setup(series(sat=from_start, activation="tanh"), initializer="random_normal", init_stddev=2.0)
    assert "init_stddev" in diagnose(s).reason and "learning_rate" not in diagnose(s).reason


def test_vanishing_advice_leaves_out_what_the_trial_already_uses() -> None:
    limit = value("vanishing_ratio")
    s = with_setup(series(grads=[[0.5 * limit, 0.1, 1.0]] * 4), initializer="he_normal", batch_norm=True)
    reason = diagnose(s).reason
    assert diagnose(s).name == "vanishing" and "he_normal" not in reason and "batch_norm" not in reason
    assert "fewer layers" in reason
