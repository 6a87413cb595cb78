"""A model's size computed from its parameters, without building it (pure Python, no Keras).

The runner records ``param_count`` before building, so a trial that runs out of memory
still has it, and names the largest layer in its failure reason.

>>> count_params({"n_layers": 2, "units": 4194304}, input_shape=(4,), task="multiclass", n_classes=3)
17592223793155
>>> out_of_memory_message({"n_layers": 2, "units": 4194304}, input_shape=(4,), task="multiclass", n_classes=3)
'out of memory building a 4194304 x 4194304 layer (17.6e12 parameters); reduce units or batch_size'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tunekit.factory._catalog import layer_units, resolve_params


def _outputs(task: str, n_classes: int | None) -> int:
    return int(n_classes) if task == "multiclass" and n_classes else 1


def dense_shapes(params: Mapping[str, Any], *, input_shape: tuple[int, ...], task: str,
                 n_classes: int | None = None) -> list[tuple[int, int]]:
    """``(inputs, units)`` of every Dense layer ``build_model`` makes, the output layer last."""
    p = resolve_params(params, task=task)
    fan_in = math.prod(int(d) for d in input_shape)
    shapes = []
    for units in [*layer_units(p), _outputs(task, n_classes)]:
        shapes.append((fan_in, int(units)))
        fan_in = int(units)
    return shapes


def count_params(params: Mapping[str, Any], *, input_shape: tuple[int, ...], task: str,
                 n_classes: int | None = None) -> int:
    """What ``build_model(params, ...).count_params()`` returns: kernels, biases (none before a
    BatchNormalization), BatchNormalization's 4 vectors and PReLU's slopes."""
    p = resolve_params(params, task=task)
    shapes = dense_shapes(p, input_shape=input_shape, task=task, n_classes=n_classes)
    total = 0
    for fan_in, units in shapes[:-1]:
        total += fan_in * units + (0 if p["batch_norm"] == "before" else units)
        total += 4 * units if p["batch_norm"] != "none" else 0
        total += units if p["activation"] == "prelu" else 0
    fan_in, n_out = shapes[-1]
    return total + fan_in * n_out + n_out


def engineering(n: float) -> str:
    """``17592215404547`` -> ``'17.6e12'``; numbers below 1000 as they are."""
    if abs(n) < 1000:
        return f"{n:g}"
    exponent = 3 * int(math.floor(math.log10(abs(n)) / 3))
    return f"{n / 10**exponent:.3g}e{exponent}"


def out_of_memory_message(params: Mapping[str, Any], *, input_shape: tuple[int, ...], task: str,
                          n_classes: int | None = None) -> str:
    """The failure reason of a trial whose model does not fit in memory: its largest layer
    and its parameter count, and what to change."""
    shapes = dense_shapes(params, input_shape=input_shape, task=task, n_classes=n_classes)
    fan_in, units = max(shapes, key=lambda s: s[0] * s[1])
    count = count_params(params, input_shape=input_shape, task=task, n_classes=n_classes)
    return (f"out of memory building a {fan_in} x {units} layer ({engineering(count)} parameters); "
            "reduce units or batch_size")
