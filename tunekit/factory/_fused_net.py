"""The stacked network of a fused group: K factory MLPs as one set of ``[K, ...]`` variables.

Hidden layer ``i`` of every member is one ``einsum`` over a kernel ``[K, in, W_i]``, where
``W_i`` is the widest member's units at layer ``i``; a narrower member's extra units are
padding: their kernel columns, bias and batch-norm entries stay exactly zero (the layer's
output is multiplied by a ``[K, 1, W_i]`` unit mask, so no gradient reaches them and every
update rule leaves a zero with zero gradient at zero), and the next layer's kernel rows for
them are zero too. Padding costs arithmetic only: a group of widths 32 and 256 computes
256 for both. Each knob that differs between members is computed once per distinct value
and selected per member (``tf.where`` on the member axis): activations, batch-norm
placement, losses. Dropout draws each member's mask from its own stateless seed and its own
step count, so a member's randomness does not depend on its neighbours.

Initial weights are the ones ``build_model`` would draw after ``keras.utils.set_random_seed
(seed)``: the same initializer class seeded, layer by layer, from ``random.Random(seed)``
in the order ``build_model`` constructs its layers (tested equal).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tunekit.factory._build import INITIALIZERS
from tunekit.factory._catalog import layer_dropout, layer_units

_BN_MOMENTUM, _BN_EPS = 0.99, 1e-3
_KERAS_ACT = {"swish": "silu"}


def _pad(arrays: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros((len(arrays), *shape), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[(k, *tuple(slice(0, n) for n in a.shape))] = a
    return out


def initial_weights(p: Mapping[str, Any], seed: int, n_in: int, n_out: int) -> dict[str, np.ndarray]:
    """Member weights as ``build_model(p)`` draws them after ``keras.utils.set_random_seed(seed)``:
    ``kernel_i``, ``bias_i``, ``alpha_i`` (PReLU), ``kernel_out``, ``bias_out``."""
    rng = random.Random(seed)

    def draw(shape: tuple[int, int]) -> np.ndarray:
        init = INITIALIZERS[p["initializer"]](p)
        config = init.get_config()
        if "seed" in config:
            init = type(init).from_config({**config, "seed": rng.randint(1, int(1e9))})
        return np.asarray(init(shape, dtype="float32"))

    out: dict[str, np.ndarray] = {}
    fan_in = n_in
    for i, units in enumerate(layer_units(p)):
        out[f"kernel_{i}"] = draw((fan_in, units))
        out[f"bias_{i}"] = np.zeros(units, np.float32)
        out[f"alpha_{i}"] = np.full(units, p["leaky_alpha"], np.float32)
        if layer_dropout(p, i) > 0:
            rng.randint(1, int(1e9))  # the Dropout layer's SeedGenerator draws its seed here
        fan_in = units
    out["kernel_out"] = draw((fan_in, n_out))
    out["bias_out"] = np.zeros(n_out, np.float32)
    return out


class StackedNet:
    """The variables and the forward pass of K members sharing ``n_layers``."""

    def __init__(self, members: Sequence[Mapping[str, Any]], seeds: Sequence[int], *, n_in: int,
                 n_out: int, out_activation: str) -> None:
        self.members = list(members)
        self.k, self.n_in, self.n_out = len(members), n_in, n_out
        self.out_activation = out_activation
        self.n_layers = int(members[0]["n_layers"])
        self.units = [layer_units(p) for p in members]
        self.widths = [max(u[i] for u in self.units) for i in range(self.n_layers)]
        inits = [initial_weights(p, s, n_in, n_out) for p, s in zip(members, seeds)]
        f32 = lambda values: tf.constant(np.asarray(values, np.float32))  # noqa: E731
        fans = [n_in, *self.widths]
        self.kernels = [tf.Variable(_pad([w[f"kernel_{i}"] for w in inits], (fans[i], fans[i + 1])))
                        for i in range(self.n_layers)]
        self.biases = [tf.Variable(_pad([w[f"bias_{i}"] for w in inits], (fans[i + 1],)))
                       for i in range(self.n_layers)]
        self.kernel_out = tf.Variable(_pad([w["kernel_out"] for w in inits], (fans[-1], n_out)))
        self.bias_out = tf.Variable(np.stack([w["bias_out"] for w in inits]))
        self.masks = [f32([[[1.0] * u[i] + [0.0] * (self.widths[i] - u[i])] for u in self.units])
                      for i in range(self.n_layers)]
        bn = [p["batch_norm"] for p in members]
        self.bn_before, self.bn_after = tf.constant([b == "before" for b in bn]), tf.constant([b == "after" for b in bn])
        self.bn_kinds = sorted(set(bn) - {"none"})
        self.use_bias = f32([[0.0 if b == "before" else 1.0] for b in bn])
        self.gammas = [tf.Variable(tf.ones([self.k, w])) for w in self.widths]
        self.betas = [tf.Variable(tf.zeros([self.k, w])) for w in self.widths]
        self.moving_mean = [tf.Variable(tf.zeros([self.k, w]), trainable=False) for w in self.widths]
        self.moving_var = [tf.Variable(tf.ones([self.k, w]), trainable=False) for w in self.widths]
        acts = [str(p["activation"]) for p in members]
        self.acts = sorted(set(acts))
        self.act_is = {a: tf.reshape(tf.constant([x == a for x in acts]), [-1, 1, 1]) for a in self.acts}
        self.slope = tf.reshape(f32([p["leaky_alpha"] for p in members]), [-1, 1, 1])
        self.alphas = [tf.Variable(_pad([w[f"alpha_{i}"] for w in inits], (self.widths[i],)))
                       for i in range(self.n_layers)] if "prelu" in self.acts else []
        self.dropout = [[layer_dropout(p, i) for p in members] for i in range(self.n_layers)]
        self.drop_seeds = [int(s) for s in seeds]  # training seeds: below TRAINING_SEED_LIMIT, int64 as they are
        self.l1, self.l2 = f32([p["l1"] for p in members]), f32([p["l2"] for p in members])
        self.any_reg = any(p["l1"] > 0 or p["l2"] > 0 for p in members)

    @property
    def trainable(self) -> list[tf.Variable]:
        """Every trained variable (the optimizer's list)."""
        bn = [*self.gammas, *self.betas] if self.bn_kinds else []
        return [*self.kernels, *self.biases, self.kernel_out, self.bias_out, *bn, *self.alphas]

    @property
    def state(self) -> list[tf.Variable]:
        """What a member's weights are: the trained variables and the batch-norm moving statistics."""
        return [*self.trainable, *self.moving_mean, *self.moving_var]

    def forward(self, x: tf.Tensor, *, training: bool, step: tf.Tensor | None = None
                ) -> tuple[tf.Tensor, list[tuple[tf.Tensor, tf.Tensor]]]:
        """``x`` [B, in] -> outputs [K, B, out] and, when training, each batch-norm layer's batch
        (mean, variance) [K, W] for the moving statistics."""
        stats: list[tuple[tf.Tensor, tf.Tensor]] = []
        h = tf.einsum("bi,kio->kbo", x, self.kernels[0]) if self.n_layers else None
        for i in range(self.n_layers):
            if i:
                h = tf.einsum("kbi,kio->kbo", h, self.kernels[i])
            h = h + (self.biases[i] * self.use_bias)[:, None, :]
            if "before" in self.bn_kinds:
                h = tf.where(self.bn_before[:, None, None], self._bn(h, i, training, stats), h)
            h = self._activate(h, i)
            if "after" in self.bn_kinds:
                h = tf.where(self.bn_after[:, None, None], self._bn(h, i, training, stats), h)
            h = h * self.masks[i]
            if training and any(r > 0 for r in self.dropout[i]):
                h = h * self._dropout_scale(i, tf.shape(x)[0], step)
        logits = (tf.einsum("kbi,kio->kbo", h, self.kernel_out) if self.n_layers
                  else tf.einsum("bi,kio->kbo", x, self.kernel_out)) + self.bias_out[:, None, :]
        return keras.activations.get(self.out_activation)(logits), stats

    def penalty(self) -> tf.Tensor:
        """Each member's L1/L2 kernel penalty [K] (Keras' ``L1L2`` on every Dense kernel)."""
        if not self.any_reg:
            return tf.zeros([self.k])
        total = tf.zeros([self.k])
        for w in [*self.kernels, self.kernel_out]:
            total += self.l1 * tf.reduce_sum(tf.abs(w), axis=[1, 2]) + self.l2 * tf.reduce_sum(tf.square(w), axis=[1, 2])
        return total

    def _activate(self, h: tf.Tensor, i: int) -> tf.Tensor:
        out = None
        for name in self.acts:
            if name == "leaky_relu":
                value = tf.where(h > 0, h, self.slope * h)
            elif name == "prelu":
                alpha = self.alphas[i][:, None, :]
                value = tf.nn.relu(h) - alpha * tf.nn.relu(-h)
            else:
                value = keras.activations.get(_KERAS_ACT.get(name, name))(h)
            out = value if out is None else tf.where(self.act_is[name], value, out)
        return out

    def _bn(self, h: tf.Tensor, i: int, training: bool, stats: list) -> tf.Tensor:
        if training:
            mean, var = tf.nn.moments(h, axes=[1])
            stats.append((mean, var))
        else:
            mean, var = self.moving_mean[i].value(), self.moving_var[i].value()
        scale = self.gammas[i] * tf.math.rsqrt(var + _BN_EPS)
        return (h - mean[:, None, :]) * scale[:, None, :] + self.betas[i][:, None, :]

    def update_moving(self, stats: list[tuple[tf.Tensor, tf.Tensor]], update: tf.Tensor) -> None:
        """Fold the batch statistics of ``forward(training=True)`` into the moving ones."""
        index = iter(stats)
        for i in range(self.n_layers):
            for kind, flag in (("before", self.bn_before), ("after", self.bn_after)):
                if kind not in self.bn_kinds:
                    continue
                mean, var = next(index)
                keep = (update & flag)[:, None]
                for moving, batch in ((self.moving_mean[i], mean), (self.moving_var[i], var)):
                    new = moving * _BN_MOMENTUM + batch * (1.0 - _BN_MOMENTUM)
                    moving.assign(tf.where(keep, new, moving))

    def _dropout_scale(self, i: int, batch: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """[K, B, W]: 0 for a dropped unit, 1 / (1 - rate) for a kept one, 1 without dropout."""
        width = self.widths[i]
        scales = []
        for k, rate in enumerate(self.dropout[i]):
            if rate <= 0:
                scales.append(tf.ones([batch, width]))
                continue
            seed = tf.stack([tf.constant(self.drop_seeds[k], tf.int64),
                             tf.cast(step[k], tf.int64) * (self.n_layers + 1) + i])
            u = tf.transpose(tf.random.stateless_uniform([width, batch], seed=seed))  # prefix-stable in width
            scales.append(tf.cast(u >= rate, tf.float32) / (1.0 - rate))
        return tf.stack(scales)

    def member_weights(self, k: int) -> dict[str, list[np.ndarray]]:
        """Member ``k``'s weights by ``build_model`` layer name, padding removed, in Keras' order."""
        out: dict[str, list[np.ndarray]] = {}
        units = self.units[k]
        fan_in = self.n_in
        p = self.members[k]
        for i, u in enumerate(units):
            kernel = self.kernels[i][k, :fan_in, :u].numpy()
            out[f"dense_{i}"] = [kernel] if p["batch_norm"] == "before" else [kernel, self.biases[i][k, :u].numpy()]
            if p["batch_norm"] != "none":
                out[f"bn_{i}"] = [v[k, :u].numpy() for v in (self.gammas[i], self.betas[i],
                                                               self.moving_mean[i], self.moving_var[i])]
            if p["activation"] == "prelu":
                out[f"act_{i}"] = [self.alphas[i][k, :u].numpy()]
            fan_in = u
        out["output"] = [self.kernel_out[k, :fan_in, :].numpy(), self.bias_out[k].numpy()]
        return out
