"""A fused group seen from inside at one moment: each member's Dense layers on a probe batch.

What the unfused health probe (``tunekit.health.HealthProbe``) measures on one model, taken on
every member of a group at once: one forward pass in inference mode (Dropout off, batch norm on
its moving statistics, nothing updated) and one backward pass under ``GradientTape``; a
member's loss depends on its own slice of each stacked variable only, so the gradient of the
members' summed loss is, slice by slice, each member's own gradient. Padding is cut off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tunekit.factory._fused_types import LayerState, MemberState


def activation_name(name: str) -> str:
    """A hidden activation as the health probe names it (``silu`` is ``swish``)."""
    return "swish" if name == "silu" else name


def inspect_members(trainer: Any, members: Sequence[int], x: np.ndarray, y: np.ndarray
                    ) -> dict[int, MemberState]:
    """``members`` (original indices, still in the group) of ``trainer`` (a ``GroupTrainer``) at this
    moment, on the rows ``x``/``y``."""
    net = trainer.net
    slots = {m: trainer.slots.index(m) for m in members if m in trainer.slots}
    if not slots:
        return {}
    xb = tf.constant(np.asarray(x, np.float32).reshape(len(x), trainer.n_in))
    yb = trainer._labels(np.asarray(y))
    kernels = [*net.kernels, net.kernel_out]
    captured: list[tf.Tensor] = []
    with tf.GradientTape() as tape:
        pred, _ = net.forward(xb, training=False, capture=captured)
        losses = trainer._member_losses(yb, pred, penalty=False)
        total = tf.reduce_sum(losses)
    grads = [g.numpy() for g in tape.gradient(total, kernels)]
    weights = [k.numpy() for k in kernels]
    biases = [b.numpy() for b in (*net.biases, net.bias_out)]
    acts, out, loss = [a.numpy() for a in captured], pred.numpy(), losses.numpy()
    states: dict[int, MemberState] = {}
    for m, k in slots.items():
        p, layers, fan_in = trainer.members[m], [], net.n_in
        for i, units in enumerate(net.units[k]):
            bias = None if p["batch_norm"] == "before" else biases[i][k, :units]
            layers.append(LayerState(f"dense_{i}", activation_name(str(p["activation"])), weights[i][k, :fan_in, :units],
                                     bias, grads[i][k, :fan_in, :units], acts[i][k, :, :units]))
            fan_in = units
        layers.append(LayerState("output", net.out_activation, weights[-1][k, :fan_in, :], biases[-1][k],
                                 grads[-1][k, :fan_in, :], out[k]))
        states[m] = MemberState(float(loss[k]), layers)
    return states
