"""What a lesson is: the studies it runs, the verdict it computes and the figures it draws.

A lesson sets a claim of the course notes (``../shared/seeds/``) against a measurement. It
declares its studies (``LessonStudy``: a ``StudySpec``, a strategy, a trial budget and a seed;
usually a grid over the knobs the claim names, once per seed), a ``verdict`` function from the
trials (one ``pandas.DataFrame``, see ``lesson_frame``) to a ``Verdict``, and a ``figures``
function that draws PNG files from the same frame. ``run_lesson`` runs the studies and writes
the page; the verdict functions are plain functions of a frame, so they are tested on
hand-made frames too.

Example:
    >>> v = Verdict(outcome="partly", summary="sigmoid stops learning at depth 6; tanh does not.")
    >>> v.outcome
    'partly'
    >>> Verdict(outcome="maybe", summary="?")
    Traceback (most recent call last):
    ...
    tunekit._errors.ConfigError: verdict outcome must be one of reproduced, partly, not reproduced, inconclusive; got 'maybe'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from tunekit._spec import StudySpec

OUTCOMES = ("reproduced", "partly", "not reproduced", "inconclusive")


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """A lesson's computed verdict: ``outcome`` (one of ``OUTCOMES``), a ``summary`` in a few
    sentences that say what was measured, and ``evidence``: the figures behind it as rows of a
    table (a list of dicts, one column per key), shown on the lesson's page."""

    outcome: str
    summary: str
    evidence: Sequence[Mapping[str, Any]] = ()
    notes: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ConfigError(f"verdict outcome must be one of {', '.join(OUTCOMES)}; got {self.outcome!r}")


@dataclass(frozen=True, kw_only=True)
class LessonStudy:
    """One study of a lesson: ``spec`` run with ``strategy`` for ``n_trials`` trials with
    ``seed``; stored as ``lesson/NAME/KEY`` (``lesson-quick/NAME/KEY`` for ``--quick``)."""

    key: str
    spec: "StudySpec"
    n_trials: int
    strategy: str = "grid"
    seed: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Lesson:
    """A claim of the notes, the studies that test it, its verdict and its figures.

    ``studies(quick)`` returns the studies (``quick``: the small version the tests run);
    ``verdict(frame)`` and ``figures(frame, folder)`` read the trials of all of them (see
    ``tunekit.lessons.lesson_frame``); ``figures`` returns the PNG paths it wrote.
    """

    name: str
    title: str
    sources: Sequence[str]
    claim: str
    method: str
    studies: Callable[[bool], list[LessonStudy]]
    verdict: Callable[["pd.DataFrame"], Verdict]
    figures: Callable[["pd.DataFrame", Path], list[Path]]


def grid_study(spec: "StudySpec", *, key: str, seed: int) -> LessonStudy:
    """A study that trains every point of ``spec``'s grid once with ``seed``."""
    from dataclasses import replace

    return LessonStudy(key=key, spec=replace(spec, seed=seed), n_trials=spec.space.grid_size(), seed=seed)


def seeded_grids(spec: "StudySpec", seeds: int) -> list[LessonStudy]:
    """``spec``'s grid once per seed 0 .. seeds-1, keyed ``seed0``, ``seed1``, ..."""
    return [grid_study(spec, key=f"seed{s}", seed=s) for s in range(seeds)]
