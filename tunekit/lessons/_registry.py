"""The lessons by name, in the order of the notes' course (each in its own module)."""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    from tunekit._spec import StudySpec
    from tunekit.lessons._lesson import Lesson

#: name -> module (``tunekit.lessons._<module>``), in the order ``tunekit lesson --list`` shows.
LESSONS = {
    "activation_depth": "_activation_depth",
    "initialization": "_initialization",
    "optimizers": "_optimizers",
    "network_size": "_network_size",
    "schedules": "_schedules",
    "regularization": "_regularization",
    "search_methods": "_search_methods",
}


def get_lesson(name: str) -> "Lesson":
    """The lesson called ``name``; ``ConfigError`` naming the lessons when there is none.

    >>> get_lesson("initialization").name
    'initialization'
    >>> get_lesson("optimiser")
    Traceback (most recent call last):
    ...
    tunekit._errors.ConfigError: no lesson 'optimiser' (did you mean 'optimizers'?); lessons: activation_depth, initialization, optimizers, network_size, schedules, regularization, search_methods
    """
    if name not in LESSONS:
        close = difflib.get_close_matches(name, list(LESSONS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"no lesson '{name}'{hint}; lessons: {', '.join(LESSONS)}")
    module = importlib.import_module(f"tunekit.lessons.{LESSONS[name]}")
    return module.LESSON


def lesson_spec(name: str, *, quick: bool = False) -> "StudySpec":
    """The study of lesson ``name`` that a study file runs with ``tunekit run`` (its first study:
    the grid with seed 0); ``tunekit lesson NAME`` runs all of them and judges the claim.

    >>> spec = lesson_spec("initialization", quick=True)
    >>> sorted(spec.space.names)
    ['activation', 'initializer']
    """
    return get_lesson(name).studies(quick)[0].spec
