"""Private names of other libraries that tunekit relies on: looked up in one place, and a
missing one is said once (a warning naming what is lost), never silently skipped.

``tests/strategies/test_private_internals.py`` fails loudly when a new Optuna or
scikit-optimize release moves one of them.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

_SAID: set[str] = set()


class PrivateNameMissing(UserWarning):
    """A private name tunekit patches is missing from this library version."""


def warn_once(key: str, message: str) -> None:
    """Warn ``message`` the first time ``key`` is seen in this process."""
    if key not in _SAID:
        _SAID.add(key)
        warnings.warn(message, PrivateNameMissing, stacklevel=3)


def has_private(obj: Any, name: str, lost: str) -> bool:
    """Whether ``obj`` has the private attribute ``name``; when not, a one-time warning says
    what is ``lost`` without it (the caller then goes on without its patch).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as said:
        ...     warnings.simplefilter("always")
        ...     has_private(object(), "_rng", "resumable suggestions")
        False
        >>> print(said[0].message)  # doctest: +ELLIPSIS
        object has no private attribute '_rng' in this version: resumable suggestions are lost; ...
    """
    if hasattr(obj, name):
        return True
    owner = obj.__name__ if isinstance(obj, types.ModuleType) else type(obj).__name__
    warn_once(f"{owner}.{name}", f"{owner} has no private attribute {name!r} in this version: {lost} are lost; "
              "please report it to tunekit with your Optuna and scikit-optimize versions")
    return False
