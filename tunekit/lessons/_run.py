"""Run a lesson: its studies into the study database, then its verdict, figures and page.

Every study of a lesson is an ordinary tunekit study (``lesson/NAME/KEY`` in the database), so
a lesson stopped half-way resumes where it stopped, and ``tunekit trials``, ``report`` and the
dashboard show it like any other.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from tunekit._errors import ConfigError
from tunekit.lessons._lesson import Lesson, LessonStudy, Verdict
from tunekit.lessons._page import write_page
from tunekit.lessons._registry import get_lesson

if TYPE_CHECKING:
    import optuna
    import pandas as pd

@dataclass(frozen=True)
class LessonResult:
    """What ``run_lesson`` wrote and found."""

    lesson: Lesson
    verdict: Verdict
    page: Path
    figures: list[Path]
    seconds: float
    n_trials: int


def study_name(lesson: str, key: str, *, quick: bool) -> str:
    """The database name of one study of a lesson."""
    return f"{'lesson-quick' if quick else 'lesson'}/{lesson}/{key}"


def lesson_frame(studies: Sequence[tuple[LessonStudy, "optuna.Study"]]) -> "pd.DataFrame":
    """The trials of a lesson's studies in one frame: ``tunekit.trials_frame(study, curves=True)``
    of each (``params_*``, ``value``, ``state``, ``curve``, ``health_*``, ``user_attrs_*``) with
    ``study`` (the study's key), ``seed`` and ``strategy`` columns in front."""
    import pandas as pd

    from tunekit.study import trials_frame

    frames = []
    for item, study in studies:
        df = trials_frame(study, curves=True)
        if df.empty:
            continue
        df.insert(0, "study", item.key)
        df.insert(1, "seed", item.seed)
        df.insert(2, "strategy", item.strategy)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _run_studies(lesson: Lesson, items: list[LessonStudy], *, quick: bool, storage: str | None,
                 show_progress: bool, bar: bool) -> list[tuple[LessonStudy, "optuna.Study"]]:
    from tunekit.study import run

    done = []
    for i, item in enumerate(items, 1):
        if show_progress:
            print(f"lesson {lesson.name}: study {i}/{len(items)} ({item.key}, {item.strategy}, "
                  f"{item.n_trials} trials)", file=sys.stderr, flush=True)
        study = run(item.spec, strategy=item.strategy, n_trials=item.n_trials, storage=storage,
                    study_name=study_name(lesson.name, item.key, quick=quick), seed=item.seed,
                    options=dict(item.options) or None, show_progress=bar)
        done.append((item, study))
    return done


def run_lesson(name: str, *, quick: bool = False, storage: str | None = None, out_dir: str | Path | None = None,
               show_progress: bool = False, progress_bar: bool | None = None) -> LessonResult:
    """Run lesson ``name`` (resuming its studies), then write ``out_dir/NAME.md`` and its figures.

    ``out_dir`` defaults to ``docs/lessons`` for a full run and ``lessons-quick`` for
    ``quick=True`` (so a quick run never overwrites a page made from a full run).
    ``show_progress`` prints a line per study; ``progress_bar`` (default: ``show_progress``)
    draws each study's progress bar.

    Example:
        >>> from tunekit.lessons import run_lesson
        >>> result = run_lesson("initialization", quick=True, storage="sqlite:///lessons.db")  # doctest: +SKIP
        >>> result.verdict.outcome  # doctest: +SKIP
        'reproduced'
    """
    lesson = get_lesson(name)
    out = Path(out_dir) if out_dir is not None else Path("lessons-quick" if quick else "docs/lessons")
    _check_out(out)
    items = lesson.studies(quick)
    began = datetime.datetime.now()  # the wall clock Optuna stamps trials with
    start = time.perf_counter()
    bar = show_progress if progress_bar is None else progress_bar
    studies = _run_studies(lesson, items, quick=quick, storage=storage, show_progress=show_progress, bar=bar)
    frame = lesson_frame(studies)
    if frame.empty:
        raise ConfigError(f"lesson {name}: no trial finished; nothing to judge")
    verdict = _inconclusive_on_one_seed(lesson.verdict(frame), frame)
    figures = lesson.figures(frame, out)
    seconds = time.perf_counter() - start
    resumed = _resumed_trials(studies, began)
    full = _full_run_seconds(studies, seconds, resumed=resumed, trials=len(frame))
    command = f"tunekit lesson {name}{' --quick' if quick else ''}"
    page = write_page(lesson, verdict, figures, out, command=command, seconds=seconds, quick=quick,
                      trials=len(frame), resumed=resumed, full_seconds=full)
    return LessonResult(lesson=lesson, verdict=verdict, page=page, figures=figures, seconds=seconds, n_trials=len(frame))


#: Study attribute: how long the lesson took when all its trials ran in one go.
FULL_SECONDS = "lesson_seconds"


def _inconclusive_on_one_seed(verdict: Verdict, frame: "pd.DataFrame") -> Verdict:
    """``not reproduced`` from a single seed becomes ``inconclusive``: with one seed no difference
    can be told from noise (every row's noise is infinite), so nothing was contradicted.

    >>> import pandas as pd
    >>> v = Verdict(outcome="not reproduced", summary="s")
    >>> _inconclusive_on_one_seed(v, pd.DataFrame({"seed": [0, 0]})).outcome
    'inconclusive'
    >>> _inconclusive_on_one_seed(v, pd.DataFrame({"seed": [0, 1]})).outcome
    'not reproduced'
    """
    if verdict.outcome != "not reproduced" or frame["seed"].nunique() > 1:
        return verdict
    note = "One seed only: no difference can be told from noise; run the lesson without --quick (more seeds) for a verdict."
    return dataclasses.replace(verdict, outcome="inconclusive", notes=(*verdict.notes, note))


def _full_run_seconds(studies: Sequence[tuple[LessonStudy, "optuna.Study"]], seconds: float, *, resumed: int,
                      trials: int) -> float | None:
    """The time of the lesson's full run: this run's when it trained every trial (then stored on
    its studies), the stored one when this run trained none (a page redrawn), else None."""
    if resumed == 0:
        for _, study in studies:
            study.set_user_attr(FULL_SECONDS, round(seconds, 1))
        return seconds
    stored = {study.user_attrs.get(FULL_SECONDS) for _, study in studies}
    if resumed == trials and len(stored) == 1 and isinstance(next(iter(stored)), (int, float)):
        return float(next(iter(stored)))
    return None


def _resumed_trials(studies: Sequence[tuple[LessonStudy, "optuna.Study"]], began: datetime.datetime) -> int:
    """Trials finished before this run began (a resumed lesson): its time is then partial.
    ``began`` is read from the wall clock, as Optuna's trial stamps are (never derived from the
    monotonic clock, which drifts from it)."""
    return sum(1 for _, s in studies for t in s.get_trials(deepcopy=False)
               if t.datetime_complete is not None and t.datetime_complete < began)


def _check_out(out: Path) -> None:
    """The output folder exists (or can be made) and is writable: checked before any trial."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".tunekit-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write lesson pages to '{out}': {exc.strerror or exc}; "
                          "pass --out with a writable folder") from None
