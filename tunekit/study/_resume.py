"""Resuming a study: what a second ``run`` keeps, refuses and says, and how trials count.

A study keeps its epochs (trials of different lengths do not compare): another ``--epochs``,
or a changed ``epochs=`` in the study file of a study started without ``--epochs``, is
refused. The same command resumes as it started: without ``--epochs`` or ``--seed`` a study
started with them goes on with them. Another strategy or seed is allowed, and said in one
``note:`` line; every trial records its own ``strategy``.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Mapping

import optuna

from tunekit._errors import ConfigError
from tunekit._spec import StudySpec


def _epochs_text(n: Any) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def check_epochs(attrs: Mapping[str, Any], spec: StudySpec, name: str, epochs: int | None) -> None:
    """Refuse epochs other than the study's (``attrs["epochs"]``). ``epochs`` is the
    ``--epochs`` in force (None: the study file's ``epochs=``)."""
    stored = attrs.get("epochs")
    if stored is None:
        return
    if epochs is not None and epochs != stored:
        raise ConfigError(
            f"study {name!r} has {_epochs_text(stored)} per trial; --epochs {epochs} would mix trial lengths in one "
            f"study: pass --epochs {stored} to resume, or --study-name NEW to start a new study"
        )
    if epochs is None and spec.epochs != stored:
        raise ConfigError(
            f"study {name!r} has {_epochs_text(stored)} per trial and the study file now says epochs={spec.epochs}, "
            f"which would mix trial lengths in one study: restore epochs={stored} (or pass --epochs {stored}) to resume, "
            "or pass --study-name NEW to start a new study"
        )


def resumed(attrs: Mapping[str, Any], config: Mapping[str, Any], spec: StudySpec, name: str, *, strategy: str,
            seed: int | None, epochs: int | None) -> tuple[int | None, int, bool, str | None]:
    """(``--epochs``, seed, whether the seed was chosen by ``--seed``, a note or None) for
    resuming a study with user attributes ``attrs`` last run with ``config`` (its ``run``
    attribute); ``seed`` and ``epochs`` as given now (None: not given)."""
    inherited = epochs is None and config.get("epochs") is not None
    if epochs is None:
        epochs = config.get("epochs")
    check_epochs(attrs, spec, name, epochs)
    seed_given = seed is not None or bool(config.get("seed_given"))
    if seed is None:
        seed = config["seed"] if config.get("seed_given") and "seed" in config else spec.seed
    changes = []
    if attrs.get("strategy") not in (None, strategy):
        changes.append(f"strategy {strategy} (was {attrs['strategy']})")
    if attrs.get("seed") not in (None, seed):
        changes.append(f"seed {seed} (was {attrs['seed']})")
    if inherited and epochs != spec.epochs:
        changes.append(f"{_epochs_text(epochs)} per trial as it started (--epochs {epochs}; the study file says {spec.epochs})")
    note = f"study {name!r} continues with {' and '.join(changes)}" if changes else None
    return epochs, seed, seed_given, note


def quietly(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``function`` with Optuna's log lines and experimental warnings off (tunekit says
    what matters), restoring the caller's logging verbosity and warning filters afterwards."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbosity = optuna.logging.get_verbosity()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.logging.set_verbosity(max(verbosity, optuna.logging.ERROR))
            try:
                return function(*args, **kwargs)
            finally:
                optuna.logging.set_verbosity(verbosity)

    return wrapper
