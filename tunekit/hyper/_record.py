"""Learn a ``build(hp)`` function's search space the way keras-tuner does: by calling it.

The first call gives every parameter keras-tuner's default; a ``conditional_scope`` that was
never active is then activated (its parents set to the scope's first values) and ``build`` is
called again, until every scope has been entered once. What ``build`` declares on the way is
the space, in declaration order, conditions as ``when=``. A parameter ``build`` only asks for
under values the recording did not try (``for i in range(hp.Int("layers", 1, 3))``) is met in
a later trial instead and extends the space there (``tunekit.execution`` notes it).
"""

from __future__ import annotations

from typing import Any, Callable

from tunekit._errors import ConfigError
from tunekit.hyper._hp import HyperParameters, Scope, check_same
from tunekit.space import Dimension, Space

#: At most this many calls of ``build`` while recording (keras-tuner has no limit).
MAX_CALLS = 32


def _call(build: Callable[[HyperParameters], Any], hp: HyperParameters, label: str) -> None:
    """Call ``build(hp)``; its failure is a ConfigError naming the function and the values."""
    try:
        build(hp)
    except ConfigError:
        raise
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(
            f"{label} failed while tunekit recorded its search space (called with {hp.values}): "
            f"{type(exc).__name__}: {text}"
        ) from exc
    finally:
        _clear_keras()


def _clear_keras() -> None:
    """Drop the models the recording calls built (only when Keras is already loaded)."""
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


def record_space(build: Callable[[HyperParameters], Any], *, label: str = "build(hp)") -> Space:
    """The search space ``build`` declares, recorded by calling it (once per conditional scope).

    Example:
        >>> def build(hp):
        ...     kind = hp.Choice("kind", ["mlp", "cnn"])
        ...     with hp.conditional_scope("kind", ["cnn"]):
        ...         if kind == "cnn":
        ...             hp.Int("filters", 8, 32, step=8)
        >>> record_space(build).names
        ('kind', 'filters')
    """
    declared: dict[str, Dimension] = {}
    entered: list[tuple[Scope, ...]] = []
    preset: dict[str, Any] = {}
    for _ in range(MAX_CALLS):
        hp = HyperParameters(preset)
        _call(build, hp, label)
        for name, dim in hp.declared.items():
            if name in declared:
                check_same(declared[name], dim)
            declared.setdefault(name, dim)
        entered += [s for s in hp.active_scopes if s not in entered]
        waiting = [s for s in hp.inactive_scopes if s not in entered]
        if not waiting:
            break
        preset = {parent: allowed[0] for parent, allowed in waiting[0]}
        entered.append(waiting[0])  # tried once: a scope build never enters under its own values stays unentered
    if not declared:
        raise ConfigError(f"{label} declares no hyperparameter (no hp.Int, hp.Float, hp.Choice, ...); "
                          "there is nothing to search")
    return Space(declared)
