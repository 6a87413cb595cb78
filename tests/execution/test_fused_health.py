"""Training health inside a fused group: each member's probe figures are the ones the unfused
probe (``HealthProbe``) takes on the member's own Keras fit fed the same batches, and they do not
depend on the member's neighbours."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from tests.factory.test_fused import EXACT, N_IN, N_TRAIN, SameOrder, data
from tunekit.execution._fused_health import FusedHealth
from tunekit.factory import build_model, fit_fused, resolve_params, training_callbacks
from tunekit.health import diagnose
from tunekit.health._probe import HealthProbe

pytestmark = pytest.mark.slow
TASK = "multiclass"
# 1 to 3 layers; prelu with batch norm before, tanh with batch norm after, gelu stopped early.
MEMBERS = [{"n_layers": 2, "batch_size": 16, **EXACT[TASK][i]} for i in (0, 1, 2, 4)]
SEEDS = [100, 101, 102, 104]
FIGURES = ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "dead", "saturated", "symmetric")


def fused_health(members: list[dict[str, Any]], seeds: list[int]) -> FusedHealth:
    xt, yt, xv, yv = data(TASK)
    params = [resolve_params(m, task=TASK) for m in members]
    health = FusedHealth(params, x_train=xt, y_train=yt)
    fit_fused(params, seeds=seeds, input_shape=(N_IN,), task=TASK, n_classes=3, x_train=xt, y_train=yt,
              x_val=xv, y_val=yv, shuffle_seed=11, watcher=health)
    return health


def keras_probe(member: dict[str, Any], seed: int) -> HealthProbe:
    xt, yt, xv, yv = data(TASK)
    p = resolve_params(member, task=TASK)
    keras.backend.clear_session(free_memory=False)  # Keras' state; its gc.collect() only frees memory, slowly
    keras.utils.set_random_seed(seed)
    model = build_model(p, input_shape=(N_IN,), task=TASK, n_classes=3, steps_per_epoch=-(-N_TRAIN // p["batch_size"]))
    probe = HealthProbe(xt, yt)  # before early stopping, as the runner orders its callbacks
    model.fit(SameOrder(xt, yt, p["batch_size"]), validation_data=(xv, yv), epochs=p["epochs"],
              callbacks=[probe, *training_callbacks(p, monitor="val_loss", mode="min")], verbose=0, shuffle=False)
    return probe


def close(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, bool):
        return a == b
    return bool(np.isclose(a, b, rtol=5e-3, atol=1e-6))


@pytest.fixture(scope="module")
def four() -> FusedHealth:
    """The four ``MEMBERS`` trained as one group, shared by the tests (which only read it)."""
    return fused_health(MEMBERS, SEEDS)


def test_each_member_s_health_is_its_own_keras_fit_s(four: FusedHealth) -> None:
    health = four
    for k, (member, seed) in enumerate(zip(MEMBERS, SEEDS)):
        mine, alone = health.members[k].series, keras_probe(member, seed).series
        assert (mine.layers, mine.activations, mine.units) == (alone.layers, alone.activations, alone.units)
        assert mine.epochs == alone.epochs and mine.epochs[0] == 0 and len(mine.epochs) >= 3, k
        assert (mine.baseline, mine.setup) == (alone.baseline, alone.setup), k
        for name in ("loss", "epoch_loss", "val_loss", *FIGURES):
            assert len(getattr(mine, name)) == len(getattr(alone, name)), (k, name)
        for name in ("loss", "epoch_loss", "val_loss"):
            assert all(close(a, b) for a, b in zip(getattr(mine, name), getattr(alone, name))), (k, name)
        for name in FIGURES:
            for probe, (a_row, b_row) in enumerate(zip(getattr(mine, name), getattr(alone, name))):
                assert all(close(a, b) for a, b in zip(a_row, b_row)), (k, name, probe, a_row, b_row)
        assert health.diagnosis(k).name == diagnose(alone).name


def test_a_member_s_health_does_not_depend_on_its_neighbours(four: FusedHealth) -> None:
    with_three = four.members[1].series  # member 1 beside members 0, 2 and 3 (1 and 3 layers, wider, narrower)
    with_one = fused_health([MEMBERS[3], MEMBERS[1]], [SEEDS[3], SEEDS[1]]).members[1].series  # beside 3 only
    assert with_three.epochs == with_one.epochs
    for name in ("loss", *FIGURES):
        assert np.allclose(np.array(getattr(with_three, name), dtype=float),
                           np.array(getattr(with_one, name), dtype=float), rtol=1e-3, equal_nan=True), name
