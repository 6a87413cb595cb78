"""The course notes' lessons as runnable studies, each ending in figures and a computed verdict.

``tunekit lesson NAME`` (or ``run_lesson``) runs a lesson's studies into the study database,
then writes ``docs/lessons/NAME.md``: the claim quoted from the notes, the figures, the verdict
(``reproduced``, ``partly``, ``not reproduced``) computed from the trials, and the command.

Example:
    >>> from tunekit.lessons import LESSONS, get_lesson
    >>> list(LESSONS)[:2]
    ['activation_depth', 'initialization']
    >>> get_lesson("optimizers").sources[0]
    '001_3130d11437b28426.txt'
"""

from tunekit.lessons._lesson import OUTCOMES, Lesson, LessonStudy, Verdict
from tunekit.lessons._registry import LESSONS, get_lesson, lesson_spec
from tunekit.lessons._page import page_outputs, page_verdict, recorded_seconds
from tunekit.lessons._run import LessonResult, lesson_frame, run_lesson, study_name

__all__ = ["LESSONS", "page_outputs", "OUTCOMES", "Lesson", "LessonResult", "LessonStudy", "Verdict", "get_lesson", "lesson_frame",
           "lesson_spec", "page_verdict", "recorded_seconds", "run_lesson", "study_name"]
