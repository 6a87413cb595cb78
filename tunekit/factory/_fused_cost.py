"""The fused core's cost model: how long a group trains, where a batch is split, when XLA pays.

Measured on 2 CPU cores (``benchmarks/fused.py``'s and ``benchmarks/fused_phases.py``'s digits
space); ``fused_groups`` (``tunekit.factory._fused``) and ``GroupTrainer`` (``_fused_train``) use it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: The cost model that splits a batch into groups (``fused_groups`` with the data's sizes),
#: measured on 2 CPU cores (``benchmarks/fused.py``'s digits space): the first epoch's extra
#: time of a group (its trace), the fixed time of one fused step, and the time of one padded
#: parameter for one training row (forward and backward passes, about 6 flops, at ~10 GFLOPS).
TRACE_SECONDS, STEP_SECONDS, PARAM_ROW_SECONDS = 1.0, 1e-3, 6e-10


def padded_params(members: Sequence[Mapping[str, Any]], n_in: int, n_out: int) -> int:
    """The weights a group of ``members`` computes, padding included: every member at the
    group's widest units per layer and its deepest depth (``_fused_net``'s layout)."""
    from tunekit.factory._catalog import layer_units

    units = [layer_units(p) for p in members]
    depth = max(len(u) for u in units)
    widths = [max(u[min(i, len(u) - 1)] if u else n_in for u in units) for i in range(depth)]
    fans = [n_in, *widths, n_out]
    return len(members) * sum(a * b for a, b in itertools.pairwise(fans))


def group_seconds(members: Sequence[Mapping[str, Any]], *, n_in: int, n_out: int, n_train: int) -> float:
    """The cost model's training time of ``members`` as one group (they share the batch size)."""
    epochs = max(int(p["epochs"]) for p in members)
    steps = max(1, math.ceil(n_train / int(members[0]["batch_size"])))
    padded = padded_params(members, n_in, n_out)
    return TRACE_SECONDS + epochs * (steps * STEP_SECONDS + n_train * padded * PARAM_ROW_SECONDS)


#: ``xla_pays``: the training steps after the first epoch from which XLA pays for its compile.
#: Compiling an epoch costs about as much more than tracing it as the graph is large, and each
#: compiled step saves about as much as the graph is large (the per-op overhead of a traced step),
#: so the size cancels and the count of steps decides. Measured on demo-space groups (2 CPU
#: cores, ``python -m benchmarks.fused_phases --xla``): 5,600 later steps 2.2x faster, 2,800
#: 1.3-1.4x, 1,400 1.06x; digits' 168 to 630 0.44-0.79x (slower).
XLA_MIN_STEPS = 2_000


def xla_pays(steps_per_epoch: int, epochs: int) -> bool:
    """Whether a group's epoch is compiled by XLA (``GroupTrainer(jit="auto")``): when its steps
    after the first epoch reach ``XLA_MIN_STEPS``. Decided from the sizes alone, never from a
    measured time, so that a seed gives the same result on any machine.

    >>> xla_pays(45, 15), xla_pays(625, 10), xla_pays(782, 2)  # digits; 20k rows; 100k rows, 2 epochs
    (False, True, False)
    """
    return steps_per_epoch * (epochs - 1) >= XLA_MIN_STEPS
