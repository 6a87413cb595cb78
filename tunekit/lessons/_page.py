"""A lesson's page (``docs/lessons/NAME.md``) and the index of all pages (``README.md``)."""

from __future__ import annotations

import datetime as dt
import math
import platform
from pathlib import Path
from typing import Any, Mapping, Sequence

from tunekit._errors import ConfigError
from tunekit.lessons._lesson import Lesson, Verdict
from tunekit.lessons._registry import LESSONS, get_lesson

VERDICT_MARK = "**Verdict: "
#: How long a lesson's full run took, in its page (not written for a resumed run: partial).
SECONDS_MARK = "<!-- lesson-seconds:"
#: The first line of the index ``README.md`` of a folder of lesson pages.
INDEX_TITLE = "# The notes' lessons, reproduced"


def machine_line() -> str:
    """Cores, OS and Python of this machine, for a page."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def recorded_seconds(name: str, folder: str | Path = "docs/lessons") -> float | None:
    """How long the full run of lesson ``name`` took when its page in ``folder`` was written."""
    page = Path(folder) / f"{name}.md"
    try:
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith(SECONDS_MARK):
                return float(line[len(SECONDS_MARK):].strip().rstrip("->").strip())
    except (OSError, ValueError):
        return None
    return None


def _versions() -> str:
    from importlib import metadata

    found = []
    for name in ("tunekit", "tensorflow-cpu", "keras", "optuna"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """``rows`` (dicts with the same keys) as a markdown table; floats to 3 significant figures.

    >>> print("\\n".join(markdown_table([{"activation": "relu", "accuracy": 0.9612}])))
    | activation | accuracy |
    | --- | --- |
    | relu | 0.961 |
    """
    if not rows:
        return []
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    lines += ["| " + " | ".join(_cell(r.get(k, "")) for k in keys) + " |" for r in rows]
    return lines


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def write_page(lesson: Lesson, verdict: Verdict, figures: Sequence[Path], out: Path, *, command: str,
               seconds: float, quick: bool, trials: int, resumed: int, full_seconds: float | None = None) -> Path:
    """Write ``out/NAME.md`` (and refresh ``out/README.md``); return the page's path. ``resumed``:
    trials that had run before this run; ``full_seconds``: the time of the run that trained them
    all (None when no one run did)."""
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if full_seconds is not None and resumed:
        timing = f"{_minutes(full_seconds)} when its trials ran on {machine_line()} (this page was redrawn from them)"
    elif full_seconds is not None:
        timing = f"{_minutes(full_seconds)} on {machine_line()}"
    else:
        timing = (f"{_minutes(seconds)} on {machine_line()} (resumed: {resumed} of the {trials} trials had run "
                  "before, so this is not the whole time)")
    lines = [f"# {lesson.title}", ""]
    if full_seconds is not None:
        lines += [f"{SECONDS_MARK} {full_seconds:.1f} -->", ""]
    lines += [f"{VERDICT_MARK}{verdict.outcome}.** {verdict.summary}", ""]
    if quick:
        lines += ["*A `--quick` run (fewer seeds, epochs and sizes, for the tests): the verdict of a full run "
                  "can differ.*", ""]
    lines += ["## The claim", ""]
    lines += [f"> {line}" if line else ">" for line in lesson.claim.strip().splitlines()]
    lines += ["", "From the course notes: " + ", ".join(f"`{s}`" for s in lesson.sources) + ".", ""]
    lines += ["## What was run", "", lesson.method.strip(), "",
              f"{trials} trials; {timing}; {when}; {_versions()}.", "", "```", command, "```", ""]
    lines += ["## Figures", ""] + [f"![{f.stem}]({f.name})" for f in figures] + [""]
    lines += ["## The figures behind the verdict", ""] + markdown_table(verdict.evidence) + [""]
    lines += [f"- {note}" for note in verdict.notes]
    page = out / f"{lesson.name}.md"
    try:
        page.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
        write_index(out)
    except OSError as exc:
        raise ConfigError(f"cannot write '{page}': {exc.strerror or exc}") from None
    return page


def page_outputs(name: str, out: Path) -> list[Path]:
    """The files in ``out`` that a run of lesson ``name`` would overwrite: its page, its figures
    (``NAME*.png``) and a ``README.md`` that is not a lessons index (the index is rewritten)."""
    found = [p for p in (out / f"{name}.md", *sorted(out.glob(f"{name}*.png"))) if p.is_file()]
    index = out / "README.md"
    try:
        first = index.read_text(encoding="utf-8").splitlines()[:1] if index.is_file() else [INDEX_TITLE]
    except (OSError, UnicodeDecodeError):
        first = []
    return found if first == [INDEX_TITLE] else [*found, index]


def page_verdict(page: Path) -> str | None:
    """The verdict line of a written page (``reproduced.** ...``), or None."""
    try:
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith(VERDICT_MARK):
                return line[len(VERDICT_MARK):].split(".**", 1)[0]
    except OSError:
        return None
    return None


def write_index(out: Path) -> Path:
    """``out/README.md``: one line and a thumbnail per lesson that has a page in ``out``."""
    lines = [INDEX_TITLE, "",
             "Each lesson runs a claim of the course notes as tunekit studies and computes a verdict from "
             "the trials (`tunekit lesson NAME`; `tunekit lesson --list`).", "",
             "| lesson | verdict | figure |", "| --- | --- | --- |"]
    for name in LESSONS:
        page = out / f"{name}.md"
        if not page.exists():
            continue
        lesson = get_lesson(name)
        figure = next(iter(sorted(out.glob(f"{name}*.png"))), None)
        thumb = f'<img src="{figure.name}" width="240">' if figure is not None else ""
        lines.append(f"| [{lesson.title}]({page.name}) | {page_verdict(page) or 'not run'} | {thumb} |")
    index = out / "README.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index
