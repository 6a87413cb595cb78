"""The input checks of ``run`` and ``join``: numbers in range, and an existing study that
agrees with the study file (space, data, metric, direction); all before any trial runs."""

from __future__ import annotations

from typing import Any, Mapping

from tunekit._errors import ConfigError
from tunekit._records import METRICS_BY_TASK
from tunekit._spec import StudySpec


def check_compatible(summary_attrs: Mapping[str, Any], spec: StudySpec, data_desc: str, metric: str, direction: str, name: str) -> None:
    """Refuse to resume a study whose space, data or metric differ from the spec's."""
    stored_space = summary_attrs.get("space")
    if stored_space is not None:
        from tunekit.space import Space

        differences = Space.from_json(stored_space).diff(spec.space)
        if differences:
            raise ConfigError(
                f"study {name!r} exists with another search space ({'; '.join(differences)}); "
                "pass --study-name NEW to start a new study, or restore the old space to resume"
            )
    for key, now in (("data", data_desc), ("metric", metric), ("direction", direction)):
        before = summary_attrs.get(key)
        if before is not None and before != now:
            raise ConfigError(
                f"study {name!r} exists with {key} {before!r}, the study file now says {now!r}; "
                "pass --study-name NEW to start a new study"
            )


def check_fixed(attrs: Mapping[str, Any], spec: StudySpec, name: str, *, trained: bool) -> None:
    """Refuse to resume a study whose trials trained with other fixed parameters than the study
    file now fixes; while no trial has trained (only stopped or interrupted ones) a corrected file
    may change them."""
    import json

    stored = attrs.get("fixed")
    if stored is None or not trained:
        return
    before, now = json.loads(stored), json.loads(json.dumps(spec.fixed, sort_keys=True, default=str))
    changed = [f"{k}: {before.get(k, '(unset)')!r} -> {now.get(k, '(unset)')!r}"
               for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    if changed:
        raise ConfigError(f"study {name!r} trained with other fixed parameters ({'; '.join(changed)}); restore "
                          "them to resume, or pass --study-name NEW to start a new study")


def stored_metric(attrs: Mapping[str, Any], spec: StudySpec, metric: str, direction: str) -> tuple[str, str]:
    """A study file that names no metric resumes with the metric its study was started with
    (the regression default became ``val_rmse``; a study started on ``val_loss`` goes on with it)."""
    before = attrs.get("metric")
    if spec.metric is None and before and before != metric and before in METRICS_BY_TASK.get(attrs.get("task", ""), ()):
        return before, str(attrs.get("direction") or direction)
    return metric, direction


def check_int(name: str, value: Any, low: int) -> None:
    """Refuse ``value`` unless it is an integer >= ``low``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")


def check_run_numbers(n_trials: int, workers: int, heartbeat: int, grace_period: int | None,
                      timeout: float | None, epochs: int | None) -> int:
    """Refuse numbers out of range; the grace period in force (default 3 x heartbeat)."""
    check_int("n_trials", n_trials, 1)
    check_int("workers", workers, 1)
    check_int("heartbeat", heartbeat, 1)
    if grace_period is not None and (not isinstance(grace_period, int) or grace_period <= heartbeat):
        raise ConfigError(f"grace_period must be an integer > heartbeat ({heartbeat}), got {grace_period!r}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
    return grace_period or 3 * heartbeat


def check_join_numbers(n_trials: int | None, threads: int | None, timeout: float | None) -> None:
    """Refuse ``join``'s numbers out of range."""
    if n_trials is not None:
        check_int("n_trials", n_trials, 1)
    if threads is not None:
        check_int("threads", threads, 1)
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")


def _file_identity(described: Any) -> dict[str, Any]:
    """The stored or current ``Dataset.describe()`` (JSON text or dict); {} without a file hash."""
    import json

    if isinstance(described, str):
        try:
            described = json.loads(described)
        except ValueError:
            return {}
    return dict(described) if isinstance(described, Mapping) and described.get("sha256") else {}


def data_file_changed(before: Any, now: Any) -> bool:
    """True when both describe a data file and its content hash differs."""
    old, new = _file_identity(before), _file_identity(now)
    return bool(old and new) and old["sha256"] != new["sha256"]


def check_data_file(attrs: Mapping[str, Any], described: Mapping[str, Any], name: str, *, trained: bool) -> str | None:
    """Refuse to resume a study whose data file (same path) changed since a trial trained on it:
    its trials would not compare. Before any trial trained, a corrected file is taken: the note
    to say so, or None when nothing changed."""
    from tunekit.data._identity import data_summary

    if not data_file_changed(attrs.get("dataset"), described):
        return None
    old, new = _file_identity(attrs.get("dataset")), _file_identity(described)
    before, now = data_summary(old, str(old.get("file"))), data_summary(new, str(new.get("file")))
    if trained:
        raise ConfigError(
            f"study {name!r} trained on {before} and the data file changed since: now {now}; trials on other data "
            "do not compare: restore the file to resume, or pass --study-name NEW to start a new study"
        )
    return f"study {name!r} continues on {now} (was {before}; no trial had trained on it)"


def check_study_name(name: str | None) -> None:
    """Refuse a blank ``--study-name`` (None: the study file's name)."""
    if name is not None and not str(name).strip():
        raise ConfigError(f"--study-name {name!r} is empty; give a name, or leave --study-name out to use the "
                          "study file's name")


def input_notes(spec: StudySpec, strategy: str, train_rows: int) -> list[str]:
    """What the run will do other than the input suggests, one ``note:`` line each: CMA-ES on a
    space it has no model of; a batch_size above the training rows (Keras then trains one step
    on all rows: allowed, not what the number says)."""
    from tunekit.space import Choice, Float, Int

    notes = []
    if strategy == "cmaes" and len(spec.space) and not any(isinstance(d, (Float, Int)) for d in spec.space.values()):
        notes.append(f"--strategy cmaes models Float and Int parameters and this space has none "
                     f"({', '.join(spec.space)}): its trials are random draws; --strategy tpe or grid "
                     "search choices")
    fixed = spec.fixed.get("batch_size")
    if isinstance(fixed, int) and not isinstance(fixed, bool) and fixed > train_rows:
        notes.append(f"batch_size {fixed} is more than the {train_rows} training rows: every epoch is one step "
                     f"on all {train_rows} rows")
    dim = spec.space.get("batch_size")
    values = list(dim.values) if isinstance(dim, Choice) else [dim.high] if isinstance(dim, Int) else []
    over = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v > train_rows]
    if over:
        text = ", ".join(str(v) for v in over) if isinstance(dim, Choice) else f"up to {dim.high}"  # type: ignore[union-attr]
        notes.append(f"batch_size values {text} are more than the {train_rows} training rows: they train as one "
                     f"step on all {train_rows} rows")
    return notes


def check_main_guard(what: str) -> None:
    """Refuse a script that starts processes (``what``: ``workers=2``, ``dask="local"``) from code
    outside ``if __name__ == "__main__":``: each new process imports the script again (Python's
    ``forkserver`` and ``spawn`` start methods, which TensorFlow needs) and would start processes
    of its own; multiprocessing stops every one of them with a long traceback. Said once here, before the database is touched. A
    notebook, ``python -c`` or a guarded call passes."""
    import ast
    import os
    import sys

    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not os.path.isfile(path):
        return
    frame, outer = sys._getframe(1), None
    while frame is not None:  # the script's own top-level code: its outermost frame
        if frame.f_globals.get("__name__") == "__main__" and frame.f_code.co_name == "<module>":
            outer = frame
        frame = frame.f_back
    if outer is None or os.path.abspath(outer.f_code.co_filename) != os.path.abspath(path):
        return
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return
    line = outer.f_lineno
    if not any(_is_main_test(node.test) and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)
               for node in ast.walk(tree) if isinstance(node, ast.If)):
        raise ConfigError(f"{what} starts processes that each import {path} again (line {line} would run in every "
                          "one of them): put that call under `if __name__ == \"__main__\":`")


def _is_main_test(test: Any) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    import ast

    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))
