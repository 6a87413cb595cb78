"""One error root for tunekit.

``ConfigError`` stops a run before any trial with a one-line message (exit code 2 in
the CLI). ``TrialError`` fails one trial (its reason is stored) and the study goes on.
"""

from __future__ import annotations


class TunekitError(Exception):
    """Root of every error tunekit raises on purpose."""


class ConfigError(TunekitError, ValueError):
    """Bad input: a study file, a search space, a data set, a storage URL, a CLI option.

    The message is one line that names what is wrong and how to fix it.
    """


class TrialError(TunekitError):
    """A failure inside one trial (NaN loss, a model that cannot be built, out of memory).

    The trial is marked FAILED with this message as its reason; the study goes on.
    """
