"""Many trials, one network: train a group of factory models as one fused, stacked network.

The grouping rule (``fused_groups``): members of one group share ``batch_size`` (and so the
order of the batches); everything else may differ: depth (a shallower member carries its last
hidden output through the layers it lacks), units per layer (padded to the group's widest,
see ``_fused_net``), activation, initializer and seed, batch-norm placement, dropout, L1/L2,
loss, optimizer with its clipping, learning rate and schedule, epochs, early stopping and
plateau. What padding costs: a member computes at the width of the group's widest layer, so a
group of 16 and 256 units pays 256 for both (the optimizer touches only a member's own
parameters). Given the data's sizes, ``fused_groups`` splits a batch size's members where a
cost model says the padding saved pays for another group's trace.

One epoch of the whole group is one ``tf.function`` (a ``tf.while_loop`` over its batches,
the last one shorter, traced without AutoGraph; compiled by XLA when the training's steps pay
for the compile, ``_fused_cost.xla_pays``, as a loop over the full batches and one more step
for the shorter one, since XLA needs static shapes):
per step one ``einsum`` per layer for all members, the loss the sum of the members' own mean
losses (member k's weights see only member k's loss), and each member's own update rule
(``_fused_optim``). The learning rates of the epoch's steps come from each member's own
Keras schedule (``make_learning_rate``), evaluated once per epoch. After each epoch, in
Python: the validation metrics of every member, Keras' ``EarlyStopping``
(``restore_best_weights``) and ``ReduceLROnPlateau`` rules per member, the caller's
``on_epoch`` (pruning), and the bookkeeping of who still trains. A member whose loss turns
NaN or infinite stops updating at that step (status ``"diverged"``); the others go on.
When at most half of the members still train and the epochs left pay for a retrace, the
group shrinks to them (their state gathered, padding beyond their widths cut). A ``Watcher``
(the health probe, ``tunekit.execution._fused_health``) follows the training from outside and
inspects every member at once (``_fused_inspect``).

Equivalence, tested in ``tests/factory/test_fused*.py``: a member starts from the weights
``build_model`` draws after ``keras.utils.set_random_seed(seed)``, and, fed the same batches,
trains as its own Keras ``fit`` with ``training_callbacks`` to float rounding (every knob,
dropout included: a member's masks are the ones its own ``Dropout`` layer draws, except in an
epoch compiled by XLA, which hashes them); its results do not depend on its neighbours. Cost
of fusing: one trace per group (and per shrink) instead of one per trial; each distinct loss,
batch-norm placement and optimizer kind in a group is computed for all members and selected
(activations: each on its own members, see ``_fused_net``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunekit.factory._fused_cost import group_seconds
from tunekit.factory._fused_types import MemberResult, OnEpoch, Watcher


def fused_groups(members: Sequence[Mapping[str, Any]], *, n_in: int | None = None, n_out: int | None = None,
                 n_train: int | None = None) -> list[list[int]]:
    """Indices of resolved parameter sets grouped so that each group can train as one network:
    the same ``batch_size`` (any depths and widths); members ``unfusable_reason`` refuses are
    each a group of their own. Order kept (first appearance of a batch size orders the groups).

    Given the data's sizes (``n_in`` features, ``n_out`` outputs, ``n_train`` rows), the members
    of one batch size are further split where it pays: sorted by width, cut into runs so that
    the cost model's time (``group_seconds``: a trace per group against the padding a narrow
    member pays beside a wide one) is least.

    >>> from tunekit.factory import resolve_params
    >>> ps = [resolve_params(p, task="binary") for p in
    ...       ({"batch_size": 32}, {"batch_size": 64}, {"batch_size": 32, "units": 8})]
    >>> fused_groups(ps)
    [[0, 2], [1]]
    >>> wide = [resolve_params({"units": u, "epochs": 15}, task="binary") for u in (16, 512, 16, 512)]
    >>> fused_groups(wide, n_in=64, n_out=1, n_train=1400)
    [[0, 2], [1, 3]]
    """
    groups: dict[Any, list[int]] = {}
    for index, p in enumerate(members):
        key = ("alone", index) if unfusable_reason(p) else int(p["batch_size"])
        groups.setdefault(key, []).append(index)
    if n_in is None or n_out is None or n_train is None:
        return list(groups.values())
    out: list[list[int]] = []
    for key, group in groups.items():
        out += [group] if isinstance(key, tuple) else _split(members, group, n_in, n_out, n_train)
    return out


def _split(members: Sequence[Mapping[str, Any]], group: list[int], n_in: int, n_out: int, n_train: int) -> list[list[int]]:
    """``group`` cut into runs of similar width with the least total ``group_seconds``."""
    from tunekit.factory._catalog import layer_units

    order = sorted(group, key=lambda i: (max(layer_units(members[i]) or [0]), len(layer_units(members[i])), i))
    n = len(order)
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * n  # (cost of the first j members, cut)
    for j in range(1, n + 1):
        for i in range(j):
            run = [members[m] for m in order[i:j]]
            cost = best[i][0] + group_seconds(run, n_in=n_in, n_out=n_out, n_train=n_train)
            if cost < best[j][0]:
                best[j] = (cost, i)
    runs, j = [], n
    while j > 0:
        i = best[j][1]
        runs.append(sorted(order[i:j]))
        j = i
    return sorted(runs)


def unfusable_reason(params: Mapping[str, Any]) -> str | None:
    """None when these resolved parameters can join a fused group, else a short reason.

    Every knob of the factory's catalog fuses; what does not is a parameter set the core
    does not know (a key outside the catalog), which trains alone, the ordinary way.
    """
    from tunekit.factory._catalog import _PER_LAYER, DEFAULTS

    unknown = [k for k in params if k not in DEFAULTS and not _PER_LAYER.match(str(k))]
    if unknown:
        return f"parameter {unknown[0]!r} is not a model factory knob the fused core knows"
    return None


@dataclass
class FusedFit:
    """The members' results; ``member_model(k)`` rebuilds member k as an ordinary Keras model."""

    members: list[MemberResult]
    _weights: list[dict[str, list[np.ndarray]]] = field(default_factory=list, repr=False)
    _build: dict[str, Any] = field(default_factory=dict, repr=False)
    _params: list[Mapping[str, Any]] = field(default_factory=list, repr=False)

    def member_model(self, k: int) -> Any:
        """Member k as a compiled ``keras.Sequential`` (``build_model`` with its trained weights):
        evaluates to ``members[k].final`` on the validation rows."""
        from tunekit.factory._build import build_model

        model = build_model(self._params[k], **self._build)
        for name, values in self._weights[k].items():
            model.get_layer(name).set_weights(values)
        return model


def fit_fused(
    members: Sequence[Mapping[str, Any]],
    *,
    seeds: Sequence[int],
    input_shape: tuple[int, ...],
    task: str,
    n_classes: int | None,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    shuffle_seed: int,
    on_epoch: OnEpoch | None = None,
    monitor: str = "val_loss",
    mode: str = "min",
    watcher: Watcher | None = None,
) -> FusedFit:
    """Train the members (resolved parameters, one group of ``fused_groups``) as one network.

    After each epoch ``on_epoch(epoch, logs)`` gets one logs dict per member (keys as a Keras
    callback's logs; None for a member no longer training) and returns the indices of members
    to stop. ``monitor``/``mode`` are what early stopping and the plateau schedule watch, as
    ``training_callbacks(monitor=, mode=)``; ``val_rmse`` is read as ``sqrt(val_mse)``.
    ``watcher`` (``Watcher``: the health probe) follows the training from outside.
    """
    from tunekit.factory._catalog import resolve_params
    from tunekit.factory._fused_train import GroupTrainer

    if not members:
        return FusedFit([])
    if len(seeds) != len(members):
        raise ValueError(f"one seed per member: got {len(seeds)} seeds for {len(members)} members")
    params = [resolve_params(p, task=task) for p in members]
    groups = fused_groups(params)
    if len(groups) != 1:
        raise ValueError(f"members must form one fused group (the same batch_size), got {groups}")
    trainer = GroupTrainer(params, list(seeds), input_shape=tuple(input_shape), task=task, n_classes=n_classes,
                           data=(x_train, y_train, x_val, y_val), monitor=monitor, mode=mode, watcher=watcher)
    results = trainer.run(shuffle_seed, on_epoch)
    steps = max(1, math.ceil(len(x_train) / int(params[0]["batch_size"])))
    return FusedFit(results, trainer.final_weights,
                    {"input_shape": tuple(input_shape), "task": task, "n_classes": n_classes,
                     "steps_per_epoch": steps}, params)
