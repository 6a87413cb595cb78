"""The stacked network of a fused group: K factory MLPs as one set of ``[K, ...]`` variables.

Hidden layer ``i`` of every member is one ``einsum`` over a kernel ``[K, in, W_i]``, where
``W_i`` is the widest member's units at layer ``i``; a narrower member's extra units are
padding: their kernel columns, bias and batch-norm entries stay exactly zero (the layer's
output is multiplied by a ``[K, 1, W_i]`` unit mask, and the optimizer updates only the
entries ``real()`` marks), and the next layer's kernel rows for them are zero too. A member
with fewer layers than the group passes its last hidden output on unchanged (``_carried``)
through the layers it lacks, whose weights of it stay zero. Padding costs arithmetic only: a
group of widths 32 and 256 computes 256 for both. Activations are computed per run of members
sharing one (``GroupTrainer`` orders a group's members by activation): the layer's output split
on the member axis, each run's own activation, joined again. Batch-norm placement and losses
are computed once per distinct value for all members and selected per member (``tf.where`` on
the member axis): on such small tensors the extra ops of a split cost what they save. Dropout
draws each member's mask as its own Keras ``Dropout`` layer would (its seed, its step count),
so a member's randomness is its unfused trial's and does not depend on its neighbours.

Initial weights are the ones ``build_model`` would draw after ``keras.utils.set_random_seed
(seed)``: the same initializer class seeded, layer by layer, from ``random.Random(seed)``
in the order ``build_model`` constructs its layers (tested equal).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tunekit.factory._build import INITIALIZERS
from tunekit.factory._catalog import layer_dropout, layer_units

_BN_MOMENTUM, _BN_EPS = 0.99, 1e-3
# SplitMix64's constants (as signed int64): the dropout hash's mixing.
_GOLDEN, _M1, _M2 = -7046029254386353131, -4658895280553007687, -7723592293110705685
_C1, _C2, _C3 = 0x632BE59BD9B4E019 - 2**63, 0x27BB2EE687B0B0FD, 0x165667B19E3779F9
_KERAS_ACT = {"swish": "silu"}


def _runs(values: Sequence[Any]) -> list[tuple[Any, int, int]]:
    """Consecutive equal ``values`` as (value, first index, end index)."""
    out: list[tuple[Any, int, int]] = []
    for value, run in itertools.groupby(values):
        first = out[-1][2] if out else 0
        out.append((value, first, first + len(list(run))))
    return out


def _pad(arrays: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros((len(arrays), *shape), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[(k, *tuple(slice(0, n) for n in a.shape))] = a
    return out


def initial_weights(p: Mapping[str, Any], seed: int, n_in: int, n_out: int) -> dict[str, np.ndarray]:
    """Member weights as ``build_model(p)`` draws them after ``keras.utils.set_random_seed(seed)``:
    ``kernel_i``, ``bias_i``, ``alpha_i`` (PReLU), ``kernel_out``, ``bias_out``; and
    ``dropout_seed_i``, the seed of layer i's ``Dropout`` (where it has one)."""
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
        if layer_dropout(p, i) > 0:  # the Dropout layer's SeedGenerator draws its seed here
            out[f"dropout_seed_{i}"] = np.asarray(rng.randint(1, int(1e9)), np.int32)
        fan_in = units
    out["kernel_out"] = draw((fan_in, n_out))
    out["bias_out"] = np.zeros(n_out, np.float32)
    return out


class StackedNet:
    """The variables and the forward pass of K members (of any depths: see ``carry``)."""

    def __init__(self, members: Sequence[Mapping[str, Any]], seeds: Sequence[int], *, n_in: int,
                 n_out: int, out_activation: str, xla: bool = False) -> None:
        self.members, self.xla = list(members), xla
        self.k, self.n_in, self.n_out = len(members), n_in, n_out
        self.out_activation = out_activation
        self.depths = [int(p["n_layers"]) for p in members]
        self.n_layers = max(self.depths)
        self.units = [layer_units(p) for p in members]
        # A member shallower than the group carries its last hidden output (its input when it
        # has no hidden layer) through the layers it lacks: the carried width at layer i.
        carry = [[u[min(i, len(u) - 1)] if u else n_in for i in range(self.n_layers)] for u in self.units]
        self.widths = [max(c[i] for c in carry) for i in range(self.n_layers)]
        self.active = [[i < d for d in self.depths] for i in range(self.n_layers)]
        self.active_t = [tf.reshape(tf.constant(a), [-1, 1, 1]) for a in self.active]
        inits = [initial_weights(p, s, n_in, n_out) for p, s in zip(members, seeds)]
        none, none1 = np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
        f32 = lambda values: tf.constant(np.asarray(values, np.float32))  # noqa: E731
        fans = [n_in, *self.widths]
        self.kernels = [tf.Variable(_pad([w.get(f"kernel_{i}", none) for w in inits], (fans[i], fans[i + 1])))
                        for i in range(self.n_layers)]
        self.biases = [tf.Variable(_pad([w.get(f"bias_{i}", none1) for w in inits], (fans[i + 1],)))
                       for i in range(self.n_layers)]
        self.kernel_out = tf.Variable(_pad([w["kernel_out"] for w in inits], (fans[-1], n_out)))
        self.bias_out = tf.Variable(np.stack([w["bias_out"] for w in inits]))
        self.masks = [f32([[[1.0] * (u[i] if i < len(u) else 0) + [0.0] * (self.widths[i] - (u[i] if i < len(u) else 0))]
                           for u in self.units]) for i in range(self.n_layers)]
        bn = [p["batch_norm"] for p in members]
        self.bn_before, self.bn_after = tf.constant([b == "before" for b in bn]), tf.constant([b == "after" for b in bn])
        self.bn_kinds = sorted(set(bn) - {"none"})
        self.bn_at = {"before": tf.reshape(self.bn_before, [-1, 1, 1]), "after": tf.reshape(self.bn_after, [-1, 1, 1])}
        self.use_bias = f32([[0.0 if b == "before" else 1.0] for b in bn])
        self.bn_all = {kind: all(b == kind for b in bn) for kind in ("before", "after")}
        # Layers where an active member is narrower than the group: only there the mask is applied.
        self.narrow = [any(i < len(u) and u[i] < self.widths[i] for u in self.units) for i in range(self.n_layers)]
        self.gammas = [tf.Variable(tf.ones([self.k, w])) for w in self.widths]
        self.betas = [tf.Variable(tf.zeros([self.k, w])) for w in self.widths]
        self.moving_mean = [tf.Variable(tf.zeros([self.k, w]), trainable=False) for w in self.widths]
        self.moving_var = [tf.Variable(tf.ones([self.k, w]), trainable=False) for w in self.widths]
        acts = [str(p["activation"]) for p in members]
        self.acts = sorted(set(acts))
        # The members as runs of one activation each, (name, first, end): a group sorted by activation
        # (``GroupTrainer`` sorts it) applies each one to its own members' rows only.
        self.act_runs = _runs(acts)
        self.slope = tf.reshape(f32([p["leaky_alpha"] for p in members]), [-1, 1, 1])
        self.alphas = [tf.Variable(_pad([w.get(f"alpha_{i}", none1) for w in inits], (self.widths[i],)))
                       for i in range(self.n_layers)] if "prelu" in self.acts else []
        self.dropout = [[layer_dropout(p, i) if i < d else 0.0 for p, d in zip(members, self.depths)]
                        for i in range(self.n_layers)]
        # Each Dropout layer's seed (None without one), and the training seeds (XLA's hashed masks)
        self.drop_seeds = [[int(w[f"dropout_seed_{i}"]) if f"dropout_seed_{i}" in w else None for w in inits]
                           for i in range(self.n_layers)]
        self.train_seeds = [int(s) for s in seeds]  # below TRAINING_SEED_LIMIT, int64 as they are
        self.l1, self.l2 = f32([p["l1"] for p in members]), f32([p["l2"] for p in members])
        self.any_reg = any(p["l1"] > 0 or p["l2"] > 0 for p in members)

    def named(self, *, trainable_only: bool = False) -> dict[str, tf.Variable]:
        """The variables by name (``kernel_0``, ``gamma_1``, ...): a shrinking group copies by name."""
        out = {f"kernel_{i}": v for i, v in enumerate(self.kernels)}
        out.update((f"bias_{i}", v) for i, v in enumerate(self.biases))
        out.update(kernel_out=self.kernel_out, bias_out=self.bias_out)
        if self.bn_kinds:
            out.update((f"gamma_{i}", v) for i, v in enumerate(self.gammas))
            out.update((f"beta_{i}", v) for i, v in enumerate(self.betas))
        out.update((f"alpha_{i}", v) for i, v in enumerate(self.alphas))
        if not trainable_only:
            out.update((f"moving_mean_{i}", v) for i, v in enumerate(self.moving_mean))
            out.update((f"moving_var_{i}", v) for i, v in enumerate(self.moving_var))
        return out

    def real(self) -> list[np.ndarray]:
        """For each trained variable (``trainable``'s order), which entries are a member's own
        parameters (True) and which are padding: what the optimizer updates."""
        out = []
        for name, v in self.named(trainable_only=True).items():
            mask = np.zeros(v.shape, bool)
            kind, _, layer = name.rpartition("_")
            for k, (p, units) in enumerate(zip(self.members, self.units)):
                last = units[-1] if units else self.n_in
                if name == "kernel_out":
                    mask[k, :last] = True
                elif name == "bias_out":
                    mask[k] = True
                elif int(layer) < len(units):
                    i, fan_in = int(layer), (units[int(layer) - 1] if int(layer) else self.n_in)
                    used = {"kernel": True, "bias": p["batch_norm"] != "before", "gamma": p["batch_norm"] != "none",
                            "beta": p["batch_norm"] != "none", "alpha": p["activation"] == "prelu"}[kind]
                    if used and kind == "kernel":
                        mask[k, :fan_in, :units[i]] = True
                    elif used:
                        mask[k, :units[i]] = True
            out.append(mask)
        return out

    @property
    def trainable(self) -> list[tf.Variable]:
        """Every trained variable (the optimizer's list)."""
        return list(self.named(trainable_only=True).values())

    @property
    def state(self) -> list[tf.Variable]:
        """What a member's weights are: the trained variables and the batch-norm moving statistics."""
        return list(self.named().values())

    def forward(self, x: tf.Tensor, *, training: bool, step: tf.Tensor | None = None,
                capture: list[tf.Tensor] | None = None) -> tuple[tf.Tensor, list[tuple[tf.Tensor, tf.Tensor]]]:
        """``x`` [B, in] -> outputs [K, B, out] and, when training, each batch-norm layer's batch
        (mean, variance) [K, W] for the moving statistics. ``capture`` gets each hidden layer's
        activation output [K, B, W_i] (the health probe's ``act``)."""
        stats: list[tuple[tf.Tensor, tf.Tensor]] = []
        h = x
        for i in range(self.n_layers):
            z = tf.einsum("kbi,kio->kbo" if i else "bi,kio->kbo", h, self.kernels[i])
            bias = self.biases[i] * self.use_bias if "before" in self.bn_kinds else self.biases[i]
            z = z + tf.expand_dims(bias, 1)
            if "before" in self.bn_kinds:
                z = self._bn_where("before", z, i, training, stats)
            z = self._activate(z, i)
            if capture is not None:
                capture.append(z)
            if "after" in self.bn_kinds:
                z = self._bn_where("after", z, i, training, stats)
            if self.narrow[i]:
                z = z * self.masks[i]
            if training and any(r > 0 for r in self.dropout[i]):
                z = z * self._dropout_scale(i, tf.shape(x)[0], step)
            h = z if all(self.active[i]) else tf.where(self.active_t[i], z, self._carried(h, i))
        logits = tf.einsum("kbi,kio->kbo" if self.n_layers else "bi,kio->kbo", h, self.kernel_out) + tf.expand_dims(self.bias_out, 1)
        return keras.activations.get(self.out_activation)(logits), stats

    def _carried(self, h: tf.Tensor, i: int) -> tf.Tensor:
        """``h`` (layer i's input: [B, in] or [K, B, W_{i-1}]) at layer i's width [K, B, W_i]: what a
        member without layer i passes on. Its units beyond its carried width are zero, so cutting
        to a narrower W_i drops zeros only."""
        if i == 0:
            h = tf.broadcast_to(h[None], tf.stack([self.k, tf.shape(h)[0], self.n_in]))
        before, width = (self.widths[i - 1] if i else self.n_in), self.widths[i]
        return tf.pad(h, [[0, 0], [0, 0], [0, width - before]]) if width >= before else h[:, :, :width]

    def penalty(self) -> tf.Tensor:
        """Each member's L1/L2 kernel penalty [K] (Keras' ``L1L2`` on every Dense kernel)."""
        if not self.any_reg:
            return tf.zeros([self.k])
        total = tf.zeros([self.k])
        for w in [*self.kernels, self.kernel_out]:
            total += self.l1 * tf.reduce_sum(tf.abs(w), axis=[1, 2]) + self.l2 * tf.reduce_sum(tf.square(w), axis=[1, 2])
        return total

    def _activate(self, h: tf.Tensor, i: int) -> tf.Tensor:
        """Each member's own activation: one op per run of members sharing it (``act_runs``), on
        those members' rows (a ``split`` and a ``concat``: their gradients are each other)."""
        runs = self.act_runs
        parts = [h] if len(runs) == 1 else tf.split(h, [end - first for _, first, end in runs], axis=0)
        out = []
        for (name, first, end), part in zip(runs, parts):
            if name == "leaky_relu":
                out.append(tf.where(part > 0, part, self.slope[first:end] * part))
            elif name == "prelu":
                alpha = tf.expand_dims(self.alphas[i][first:end], 1)
                out.append(tf.nn.relu(part) - alpha * tf.nn.relu(-part))
            else:
                out.append(keras.activations.get(_KERAS_ACT.get(name, name))(part))
        return out[0] if len(out) == 1 else tf.concat(out, axis=0)

    def _bn_where(self, kind: str, z: tf.Tensor, i: int, training: bool, stats: list) -> tf.Tensor:
        """Batch norm at ``kind`` ("before"/"after" the activation) for the members placing it there."""
        if self.bn_all[kind]:
            return self._bn(z, i, training, stats)
        return tf.where(self.bn_at[kind], self._bn(z, i, training, stats), z)

    def _bn(self, h: tf.Tensor, i: int, training: bool, stats: list) -> tf.Tensor:
        if training:
            mean, var = tf.nn.moments(h, axes=[1], keepdims=True)  # [K, 1, W]
            stats.append((mean, var))
        else:
            mean, var = tf.expand_dims(self.moving_mean[i], 1), tf.expand_dims(self.moving_var[i], 1)
        scale = tf.expand_dims(self.gammas[i], 1) * tf.math.rsqrt(var + _BN_EPS)
        return (h - mean) * scale + tf.expand_dims(self.betas[i], 1)

    def update_moving(self, stats: list[tuple[tf.Tensor, tf.Tensor]], update: tf.Tensor) -> None:
        """Fold the batch statistics of ``forward(training=True)`` into the moving ones."""
        index = iter(stats)
        for i in range(self.n_layers):
            for kind, flag in (("before", self.bn_before), ("after", self.bn_after)):
                if kind not in self.bn_kinds:
                    continue
                mean, var = next(index)
                keep = tf.expand_dims(update & flag & tf.constant(self.active[i]), 1)
                for moving, batch in ((self.moving_mean[i], mean), (self.moving_var[i], var)):
                    new = moving * _BN_MOMENTUM + tf.squeeze(batch, 1) * (1.0 - _BN_MOMENTUM)
                    moving.assign(tf.where(keep, new, moving))

    def _dropout_scale(self, i: int, batch: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """[K, B, W]: 0 for a dropped unit, 1 / (1 - rate) for a kept one, 1 without dropout.

        Member k's mask is the one its own Keras ``Dropout`` layer draws at its ``step``-th
        training call: ``tf.nn.experimental.stateless_dropout``'s uniform numbers over [B, its
        units], seeded ``[layer seed, step]`` as Keras' ``SeedGenerator`` seeds it; so a member's
        masks are its unfused trial's and do not depend on its neighbours or the group's width.
        Compiled by XLA, the masks are a hash instead (``_hashed_scale``)."""
        if self.xla:
            return self._hashed_scale(i, batch, step)
        step32, width = tf.cast(step, tf.int32), self.widths[i]
        ones, rows = None, []
        for k, (rate, seed) in enumerate(zip(self.dropout[i], self.drop_seeds[i])):
            if rate <= 0 or seed is None:
                ones = tf.ones(tf.stack([batch, width])) if ones is None else ones
                rows.append(ones)
                continue
            units = self.units[k][i]
            u = tf.random.stateless_uniform(tf.stack([batch, units]), seed=tf.stack([tf.constant(seed), step32[k]]))
            scale = tf.where(u >= rate, tf.constant(1.0 / (1.0 - rate), tf.float32), 0.0)
            rows.append(tf.pad(scale, [[0, 0], [0, width - units]], constant_values=1.0) if units < width else scale)
        return tf.stack(rows)

    def _hashed_scale(self, i: int, batch: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """``_dropout_scale`` in an epoch compiled by XLA, whose random ops draw other numbers than
        TensorFlow's kernels from the same seed: each entry's uniform number is a hash
        (SplitMix64's finalizer) of the member's training seed, its own update count and depth,
        the layer, the row and the unit, so a member's masks still do not depend on its
        neighbours or the group's width (a few element-wise ops, which XLA fuses)."""
        rate = tf.constant([[[r]] for r in self.dropout[i]], tf.float32)
        seed = tf.constant([[[s]] for s in self.train_seeds], tf.int64)
        depth = tf.constant([[[d + 1]] for d in self.depths], tf.int64)
        counter = tf.reshape(tf.cast(step, tf.int64), [-1, 1, 1]) * depth + i
        rows = tf.reshape(tf.range(tf.cast(batch, tf.int64), dtype=tf.int64), [1, -1, 1])
        units = tf.reshape(tf.range(self.widths[i], dtype=tf.int64), [1, 1, -1])
        x = seed * _GOLDEN + counter * _C1 + rows * _C2 + units * _C3
        for shift, mult in ((30, _M1), (27, _M2)):
            x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, shift)) * mult
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 31))
        u = tf.cast(tf.bitwise.bitwise_and(x, 0xFFFFFF), tf.float32) * (1.0 / 2**24)
        keep = tf.where(rate > 0, tf.cast(u >= rate, tf.float32) / tf.maximum(1.0 - rate, 1e-7), 1.0)
        return keep

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
