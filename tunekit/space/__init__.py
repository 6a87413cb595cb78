"""The search space: immutable, eagerly validated dimensions and the ordered Space.

Example:
    >>> from tunekit.space import Space, Float, Int, Choice, PerLayer
    >>> space = Space({
    ...     "learning_rate": Float(1e-4, 1e-1, log=True),
    ...     "optimizer": Choice(["adam", "sgd"]),
    ...     "momentum": Float(0.0, 0.9, when=("optimizer", "sgd")),
    ...     "n_layers": Int(1, 3),
    ...     "units": PerLayer(Choice([32, 64, 128])),
    ... })
    >>> len(space)
    7
"""

from __future__ import annotations

from tunekit.space._choice import Bool, Choice, Fixed, PerLayer
from tunekit.space._condition import Condition
from tunekit.space._dimension import Dimension
from tunekit.space._numeric import Float, Int
from tunekit.space._space import Space

__all__ = ["Bool", "Choice", "Condition", "Dimension", "Fixed", "Float", "Int", "PerLayer", "Space"]
