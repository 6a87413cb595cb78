"""Each fused update rule against Keras' own optimizer on the same gradients (item 5b)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from tunekit.factory import resolve_params
from tunekit.factory._build import OPTIMIZERS
from tunekit.factory._fused_optim import StackedOptimizer

# One member per row; several optimizers in one group, each with its own hyperparameters.
MEMBERS: list[dict[str, Any]] = [
    {"optimizer": "sgd", "learning_rate": 0.1},
    {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9},
    {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": True},
    {"optimizer": "adam", "learning_rate": 0.01},
    {"optimizer": "adam", "learning_rate": 0.003, "clipnorm": 0.5},
    {"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.05},
    {"optimizer": "nadam", "learning_rate": 0.02},
    {"optimizer": "rmsprop", "learning_rate": 0.01, "clipvalue": 0.3},
    {"optimizer": "adagrad", "learning_rate": 0.1},
    {"optimizer": "adadelta", "learning_rate": 1.0},
]
STEPS = 4


def keras_optimizer(p: Any) -> keras.optimizers.Optimizer:
    clip = {key: p[key] for key in ("clipnorm", "clipvalue") if p[key] is not None}
    return OPTIMIZERS[p["optimizer"]](p["learning_rate"], p, **clip)


def test_every_update_rule_matches_keras_on_the_same_gradients() -> None:
    params = [resolve_params(m, task="binary") for m in MEMBERS]
    k = len(params)
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]  # a kernel and a bias: clipnorm is per variable, as in Keras
    start = [rng.normal(size=(k, *s)).astype(np.float32) for s in shapes]
    grads = [[rng.normal(scale=2.0, size=(k, *s)).astype(np.float32) for s in shapes] for _ in range(STEPS)]
    stacked = [tf.Variable(w) for w in start]
    opt = StackedOptimizer(params, stacked)
    lr = tf.constant([p["learning_rate"] for p in params], tf.float32)
    for step in range(STEPS):
        opt.apply([tf.constant(g) for g in grads[step]], lr, tf.fill([k], tf.constant(step, tf.int64)),
                  tf.ones([k], tf.bool))
    for m, p in enumerate(params):
        own = [keras.Variable(w[m]) for w in start]
        reference = keras_optimizer(p)
        for step in range(STEPS):
            reference.apply_gradients([(tf.constant(g[m]), v) for g, v in zip(grads[step], own)])
        for v, s in zip(own, stacked):
            np.testing.assert_allclose(s.numpy()[m], np.asarray(v), rtol=2e-5, atol=2e-6,
                                       err_msg=f"member {m}: {MEMBERS[m]}")


def test_a_member_not_updated_keeps_its_weights_and_state() -> None:
    params = [resolve_params({"optimizer": "adam", "learning_rate": 0.1}, task="binary")] * 2
    w = tf.Variable(np.ones((2, 3), np.float32))
    opt = StackedOptimizer(params, [w])
    g = tf.constant(np.full((2, 3), np.nan, np.float32))  # member 1's gradient is NaN
    g = tf.tensor_scatter_nd_update(g, [[0]], [tf.ones([3])])
    opt.apply([g], tf.constant([0.1, 0.1]), tf.zeros([2], tf.int64), tf.constant([True, False]))
    assert np.all(w.numpy()[1] == 1.0), "the member left out must not move"
    assert np.all(w.numpy()[0] < 1.0)
    assert np.all(np.isfinite(opt.slot("adam", "m", 0).numpy()))


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_per_member_learning_rates_scale_the_step(name: str) -> None:
    params = [resolve_params({"optimizer": name}, task="binary")] * 2
    w = tf.Variable(np.zeros((2, 5), np.float32))
    opt = StackedOptimizer(params, [w])
    opt.apply([tf.ones([2, 5])], tf.constant([0.1, 0.01]), tf.zeros([2], tf.int64), tf.ones([2], tf.bool))
    np.testing.assert_allclose(w.numpy()[0], 10 * w.numpy()[1], rtol=1e-5)
