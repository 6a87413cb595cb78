"""Keras' update rules, vectorised over stacked members: each member its own optimizer and state.

A stacked variable has the members on axis 0 (``[K, ...]``). Every rule below is the
``update_step`` of the Keras optimizer of the same name (Keras 3, default constants:
``beta_1=0.9, beta_2=0.999, epsilon=1e-7``; RMSprop ``rho=0.9``; Adagrad
``initial_accumulator_value=0.1``; Adadelta ``rho=0.95``), written with per-member
hyperparameters as ``[K]`` tensors broadcast over the rest of the variable. Clipping is
per member and per variable, as Keras clips each variable's gradient (``clipnorm``:
``g * c / max(|g|, c)``; ``clipvalue``: ``clip(g, -c, c)``); AdamW's decoupled weight decay
(``w -= w * weight_decay * lr``) comes first, as in ``BaseOptimizer.apply``.

A group holding several optimizer kinds computes each kind's rule for every member and keeps
a member's own (``tf.where`` on the member axis): the cost of mixing kinds is one extra
element-wise update per kind, small next to the matrix products. ``tests/factory/
test_fused_optim.py`` checks every rule against Keras' own optimizer on the same gradients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

_SLOTS: Mapping[str, tuple[str, ...]] = {
    "sgd": ("momentum",),
    "adam": ("m", "v"),
    "adamw": ("m", "v"),
    "nadam": ("m", "v"),
    "rmsprop": ("v",),
    "adagrad": ("acc",),
    "adadelta": ("acc_grad", "acc_delta"),
}
_SLOT_INIT = {"acc": 0.1}
_B1, _B2, _EPS = 0.9, 0.999, 1e-7


def _bcast(t: tf.Tensor, rank: int) -> tf.Tensor:
    """A ``[K]`` tensor shaped to broadcast over a rank-``rank`` stacked variable."""
    return tf.reshape(t, [-1] + [1] * (rank - 1))


class StackedOptimizer:
    """Per-member optimizers over a list of stacked variables (members on axis 0)."""

    def __init__(self, members: Sequence[Mapping[str, Any]], variables: Sequence[tf.Variable]) -> None:
        self.variables = list(variables)
        self.kinds = sorted({str(p["optimizer"]) for p in members})
        names = [str(p["optimizer"]) for p in members]
        self.is_kind = {kind: tf.constant([n == kind for n in names]) for kind in self.kinds}
        f32 = lambda values: tf.constant(np.asarray(values, dtype=np.float32))  # noqa: E731
        self.momentum = f32([p["momentum"] for p in members])
        self.nesterov = tf.constant([bool(p["nesterov"]) for p in members])
        self.weight_decay = f32([p["weight_decay"] if p["optimizer"] == "adamw" else 0.0 for p in members])
        self.clipnorm = f32([p["clipnorm"] or 0.0 for p in members])
        self.clipvalue = f32([p["clipvalue"] or 0.0 for p in members])
        self.any_clip = any(p["clipnorm"] or p["clipvalue"] for p in members)
        k = len(members)
        self.slots: dict[str, list[dict[str, tf.Variable]]] = {}
        for kind in self.kinds:
            self.slots[kind] = [
                {s: tf.Variable(tf.fill(tf.shape(v), _SLOT_INIT.get(s, 0.0)), trainable=False)
                 for s in _SLOTS[kind]}
                for v in self.variables
            ]
        self.u_product = tf.Variable(tf.ones([k]), trainable=False)  # Nadam's running product

    def apply(self, grads: Sequence[tf.Tensor], lr: tf.Tensor, step: tf.Tensor, update: tf.Tensor) -> None:
        """One step: ``lr`` [K] this step's learning rates, ``step`` [K] each member's updates so
        far (Keras' ``iterations``), ``update`` [K] bool: members to update (others untouched)."""
        step1 = tf.cast(step, tf.float32) + 1.0
        if "nadam" in self.kinds:
            u_t = _B1 * (1.0 - 0.5 * tf.pow(0.96, step1))
            new_u = self.u_product * u_t
            self.u_product.assign(tf.where(update & self.is_kind["nadam"], new_u, self.u_product))
        for i, (g, w) in enumerate(zip(grads, self.variables)):
            rank = len(w.shape)
            g = self._clip(g, rank)
            lr_b = _bcast(lr, rank)
            new_w = w.value()
            for kind in self.kinds:
                candidate, slots = _RULES[kind](self, w.value(), g, lr_b, step1, self.slots[kind][i], rank)
                single = len(self.kinds) == 1
                new_w = candidate if single else tf.where(_bcast(self.is_kind[kind], rank), candidate, new_w)
                keep = _bcast(update & self.is_kind[kind], rank)
                for name, value in slots.items():
                    slot = self.slots[kind][i][name]
                    slot.assign(tf.where(keep, value, slot))
            w.assign(tf.where(_bcast(update, rank), new_w, w))

    def _clip(self, g: tf.Tensor, rank: int) -> tf.Tensor:
        if not self.any_clip:
            return g
        axes = list(range(1, rank))
        cn = _bcast(self.clipnorm, rank)
        l2sum = tf.reduce_sum(tf.square(g), axis=axes, keepdims=True) if axes else tf.square(g)
        safe = tf.where(l2sum > 0, l2sum, tf.ones_like(l2sum))
        norm = tf.where(l2sum > 0, tf.sqrt(safe), l2sum)
        g = tf.where(cn > 0, g * cn / tf.maximum(norm, cn), g)
        cv = _bcast(self.clipvalue, rank)
        return tf.where(cv > 0, tf.clip_by_value(g, -cv, cv), g)


Slots = dict[str, tf.Tensor]


def _sgd(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    mom = _bcast(o.momentum, rank)
    m = slots["momentum"] * mom - g * lr
    with_momentum = tf.where(_bcast(o.nesterov, rank), w + (m * mom - g * lr), w + m)
    has_momentum = _bcast(o.momentum > 0, rank)
    return tf.where(has_momentum, with_momentum, w - g * lr), {"momentum": tf.where(has_momentum, m, slots["momentum"])}


def _adam(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    b1p, b2p = _bcast(tf.pow(_B1, step1), rank), _bcast(tf.pow(_B2, step1), rank)
    alpha = lr * tf.sqrt(1.0 - b2p) / (1.0 - b1p)
    m = slots["m"] + (g - slots["m"]) * (1.0 - _B1)
    v = slots["v"] + (tf.square(g) - slots["v"]) * (1.0 - _B2)
    return w - (m * alpha) / (tf.sqrt(v) + _EPS), {"m": m, "v": v}


def _adamw(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    decayed = w - w * _bcast(o.weight_decay, rank) * lr
    return _adam(o, decayed, g, lr, step1, slots, rank)


def _nadam(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    u_t = _bcast(_B1 * (1.0 - 0.5 * tf.pow(0.96, step1)), rank)
    u_t_1 = _bcast(_B1 * (1.0 - 0.5 * tf.pow(0.96, step1 + 1.0)), rank)
    u_product_t = _bcast(o.u_product, rank)  # already this step's product (updated in apply)
    u_product_t_1 = u_product_t * u_t_1
    b2p = _bcast(tf.pow(_B2, step1), rank)
    m = slots["m"] + (g - slots["m"]) * (1.0 - _B1)
    v = slots["v"] + (tf.square(g) - slots["v"]) * (1.0 - _B2)
    m_hat = u_t_1 * m / (1.0 - u_product_t_1) + (1.0 - u_t) * g / (1.0 - u_product_t)
    v_hat = v / (1.0 - b2p)
    return w - (m_hat * lr) / (tf.sqrt(v_hat) + _EPS), {"m": m, "v": v}


def _rmsprop(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    v = 0.9 * slots["v"] + (1.0 - 0.9) * tf.square(g)
    return w - lr * g / tf.sqrt(v + _EPS), {"v": v}


def _adagrad(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    acc = slots["acc"] + tf.square(g)
    return w - lr * g / tf.sqrt(acc + _EPS), {"acc": acc}


def _adadelta(o: StackedOptimizer, w, g, lr, step1, slots, rank) -> tuple[tf.Tensor, Slots]:
    rho = 0.95
    acc_grad = rho * slots["acc_grad"] + (1.0 - rho) * tf.square(g)
    delta = -(tf.sqrt(slots["acc_delta"] + _EPS) * g) / tf.sqrt(acc_grad + _EPS)
    acc_delta = rho * slots["acc_delta"] + (1.0 - rho) * tf.square(delta)
    return w + lr * delta, {"acc_grad": acc_grad, "acc_delta": acc_delta}


_RULES = {
    "sgd": _sgd, "adam": _adam, "adamw": _adamw, "nadam": _nadam,
    "rmsprop": _rmsprop, "adagrad": _adagrad, "adadelta": _adadelta,
}
