"""Keras' update rules, vectorised over stacked members: each member its own optimizer and state.

A stacked variable has the members on axis 0 (``[K, ...]``). Every rule below is the
``update_step`` of the Keras optimizer of the same name (Keras 3, default constants:
``beta_1=0.9, beta_2=0.999, epsilon=1e-7``; RMSprop ``rho=0.9``; Adagrad
``initial_accumulator_value=0.1``; Adadelta ``rho=0.95``), written with per-member
hyperparameters as ``[K]`` tensors broadcast over the rest of the variable. Clipping is
per member and per variable, as Keras clips each variable's gradient (``clipnorm``:
``g * c / max(|g|, c)``; ``clipvalue``: ``clip(g, -c, c)``); AdamW's decoupled weight decay
(``w -= w * weight_decay * lr``) comes first, as in ``BaseOptimizer.apply``.

The optimizer sees the group's parameters as one ``[K, P]`` matrix: each variable's member
entries flattened and laid side by side (one ``concat`` of the gradients and one of the
weights per step, one ``split`` back), so an update rule is a handful of ops for the whole
group instead of a handful per variable: the graph stays small, which is what a step of a
small network costs (measured: the per-entry gather/scatter this replaced took 0.48 s an
epoch for 16 members of 64-128-128-10 on digits, 2 cores, this layout 0.08-0.10 s). A group
holding several optimizer kinds gathers each kind's members (rows: a contiguous copy),
applies that kind's rule to them and stitches the rows back, so each member's parameters pass
through its own rule once. Padding entries (``real`` False) are computed with the rest and
then kept as they were (one ``tf.where``).
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
    """Per-member optimizers over a list of stacked variables (members on axis 0).

    ``real`` (one bool array per variable, its shape) marks the entries that are a member's
    parameters; the rest is padding, which stays as it is. Each kind's slots are one
    ``[K_kind, P]`` variable over that kind's members (``slot`` shows a variable's part).
    """

    def __init__(self, members: Sequence[Mapping[str, Any]], variables: Sequence[tf.Variable],
                 real: Sequence[np.ndarray] | None = None) -> None:
        self.variables = list(variables)
        self.kinds = sorted({str(p["optimizer"]) for p in members})
        names = [str(p["optimizer"]) for p in members]
        f32 = lambda values: tf.constant(np.asarray(values, dtype=np.float32))  # noqa: E731
        self.momentum = f32([p["momentum"] for p in members])
        self.nesterov = tf.constant([bool(p["nesterov"]) for p in members])
        self.weight_decay = f32([p["weight_decay"] if p["optimizer"] == "adamw" else 0.0 for p in members])
        self.clipnorm = f32([p["clipnorm"] or 0.0 for p in members])
        self.clipvalue = f32([p["clipvalue"] or 0.0 for p in members])
        self.any_clip = any(p["clipnorm"] or p["clipvalue"] for p in members)
        self.is_nadam = tf.constant([n == "nadam" for n in names])
        self.k = len(members)
        self.shapes = [tuple(int(d) for d in v.shape) for v in self.variables]
        self.sizes = [int(np.prod(shape[1:], dtype=np.int64)) for shape in self.shapes]  # a member's entries
        self.offsets = [int(x) for x in np.cumsum([0, *self.sizes])]
        real = [np.ones(shape, bool) for shape in self.shapes] if real is None else [np.asarray(r, bool) for r in real]
        flat_real = np.concatenate([r.reshape(self.k, -1) for r in real], axis=1)
        # Per kind: its members (rows of the member axis), the real entries of their rows (None:
        # all real), and its slots over those rows.
        self.rows: dict[str, tf.Tensor] = {}
        self.real: dict[str, tf.Tensor | None] = {}
        self.slot_vars: dict[str, dict[str, tf.Variable]] = {}
        for kind in self.kinds:
            rows = np.array([m for m, n in enumerate(names) if n == kind], np.int32)
            self.rows[kind] = tf.constant(rows)
            self.real[kind] = None if flat_real[rows].all() else tf.constant(flat_real[rows])
            self.slot_vars[kind] = {s: tf.Variable(tf.fill([len(rows), self.offsets[-1]], _SLOT_INIT.get(s, 0.0)),
                                                   trainable=False) for s in _SLOTS[kind]}
        self.u_product = tf.Variable(tf.ones([self.k]), trainable=False)  # Nadam's running product

    def slot(self, kind: str, name: str, i: int) -> tf.Tensor:
        """Variable ``i``'s part of slot ``name`` of ``kind``, shaped as the variable (0 elsewhere)."""
        rows = self.rows[kind]
        part = self.slot_vars[kind][name][:, self.offsets[i]:self.offsets[i + 1]]
        part = tf.reshape(part, [tf.shape(rows)[0], *self.shapes[i][1:]])
        return tf.scatter_nd(rows[:, None], part, self.shapes[i])

    def load_slot(self, kind: str, name: str, parts: Sequence[tf.Tensor]) -> None:
        """Set slot ``name`` of ``kind`` from one tensor per variable (shaped as the variable)."""
        rows = self.rows[kind]
        self.slot_vars[kind][name].assign(self._flat([tf.gather(part, rows) for part in parts], tf.shape(rows)[0]))

    @staticmethod
    def _flat(tensors: Sequence[tf.Tensor], k: Any) -> tf.Tensor:
        """``[k, ...]`` tensors as one ``[k, P]`` matrix (members' entries side by side)."""
        return tf.concat([tf.reshape(t, [k, -1]) for t in tensors], axis=1)

    def apply(self, grads: Sequence[tf.Tensor], lr: tf.Tensor, step: tf.Tensor, update: tf.Tensor) -> None:
        """One step: ``lr`` [K] this step's learning rates, ``step`` [K] each member's updates so
        far (Keras' ``iterations``), ``update`` [K] bool: members to update (others untouched)."""
        step1 = tf.cast(step, tf.float32) + 1.0
        if "nadam" in self.kinds:
            u_t = _B1 * (1.0 - 0.5 * tf.pow(0.96, step1))
            new_u = self.u_product * u_t
            self.u_product.assign(tf.where(update & self.is_nadam, new_u, self.u_product))
        g_all = self._flat([self._clip(g, len(shape)) for g, shape in zip(grads, self.shapes)], self.k)
        w_all = self._flat([v.value() for v in self.variables], self.k)
        single = len(self.kinds) == 1
        rows, values = [], []
        for kind in self.kinds:
            index = self.rows[kind]
            e = ((lambda t: tf.expand_dims(t, 1)) if single  # [K] -> [K_kind, 1]
                 else (lambda t, ix=index: tf.expand_dims(tf.gather(t, ix), 1)))
            w, g = (w_all, g_all) if single else (tf.gather(w_all, index), tf.gather(g_all, index))
            slot_vars = self.slot_vars[kind]
            slots = {name: v.value() for name, v in slot_vars.items()}
            candidate, new_slots = _RULES[kind](self, w, g, e(lr), step1, slots, e)
            keep = e(update)
            for name, value in new_slots.items():
                slot_vars[name].assign(tf.where(keep, value, slots[name]))
            real = self.real[kind]
            rows.append(index)
            values.append(tf.where(keep if real is None else keep & real, candidate, w))
        new_all = values[0] if single else tf.dynamic_stitch(rows, values)
        for v, shape, part in zip(self.variables, self.shapes, tf.split(new_all, self.sizes, axis=1)):
            v.assign(tf.reshape(part, shape))

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


def _sgd(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    mom = e(o.momentum)
    m = slots["momentum"] * mom - g * lr
    with_momentum = tf.where(e(o.nesterov), w + (m * mom - g * lr), w + m)
    has_momentum = e(o.momentum > 0)
    return tf.where(has_momentum, with_momentum, w - g * lr), {"momentum": tf.where(has_momentum, m, slots["momentum"])}


def _adam(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    alpha = lr * e(tf.sqrt(1.0 - tf.pow(_B2, step1))) / e(1.0 - tf.pow(_B1, step1))
    m = slots["m"] + (g - slots["m"]) * (1.0 - _B1)
    v = slots["v"] + (tf.square(g) - slots["v"]) * (1.0 - _B2)
    return w - (m * alpha) / (tf.sqrt(v) + _EPS), {"m": m, "v": v}


def _adamw(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    decayed = w - w * e(o.weight_decay) * lr
    return _adam(o, decayed, g, lr, step1, slots, e)


def _nadam(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    u_t = _B1 * (1.0 - 0.5 * tf.pow(0.96, step1))
    u_t_1 = _B1 * (1.0 - 0.5 * tf.pow(0.96, step1 + 1.0))
    u_product_t = o.u_product.value()  # already this step's product (updated in apply)
    u_product_t_1 = u_product_t * u_t_1
    b2p = tf.pow(_B2, step1)
    m = slots["m"] + (g - slots["m"]) * (1.0 - _B1)
    v = slots["v"] + (tf.square(g) - slots["v"]) * (1.0 - _B2)
    m_hat = e(u_t_1) * m / e(1.0 - u_product_t_1) + e(1.0 - u_t) * g / e(1.0 - u_product_t)
    v_hat = v / e(1.0 - b2p)
    return w - (m_hat * lr) / (tf.sqrt(v_hat) + _EPS), {"m": m, "v": v}


def _rmsprop(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    v = 0.9 * slots["v"] + (1.0 - 0.9) * tf.square(g)
    return w - lr * g / tf.sqrt(v + _EPS), {"v": v}


def _adagrad(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    acc = slots["acc"] + tf.square(g)
    return w - lr * g / tf.sqrt(acc + _EPS), {"acc": acc}


def _adadelta(o: StackedOptimizer, w, g, lr, step1, slots, e) -> tuple[tf.Tensor, Slots]:
    rho = 0.95
    acc_grad = rho * slots["acc_grad"] + (1.0 - rho) * tf.square(g)
    delta = -(tf.sqrt(slots["acc_delta"] + _EPS) * g) / tf.sqrt(acc_grad + _EPS)
    acc_delta = rho * slots["acc_delta"] + (1.0 - rho) * tf.square(delta)
    return w + lr * delta, {"acc_grad": acc_grad, "acc_delta": acc_delta}


_RULES = {
    "sgd": _sgd, "adam": _adam, "adamw": _adamw, "nadam": _nadam,
    "rmsprop": _rmsprop, "adagrad": _adagrad, "adadelta": _adadelta,
}
