"""``tunekit lesson NAME`` and ``tunekit lesson --list``: the notes' lessons as studies."""

from __future__ import annotations

from pathlib import Path

import click

from tunekit.cli._common import force_option, storage_option

DOCS = Path("docs/lessons")


def _list(out: Path | None) -> None:
    from tunekit.lessons import LESSONS, get_lesson, page_verdict, recorded_seconds

    folder = out or DOCS
    width = max(len(n) for n in LESSONS)
    for name in LESSONS:
        lesson = get_lesson(name)
        seconds = recorded_seconds(name, folder)
        took = f"{seconds / 60:.1f} min" if seconds is not None else "not run here"
        verdict = page_verdict(folder / f"{name}.md") or "-"
        click.echo(f"{name:<{width}}  {took:>12}  {verdict:<14}  {lesson.title}")
    click.echo(f"(time and verdict of the full run whose page is in {folder}/; "
               "run one with: tunekit lesson NAME)")


@click.command("lesson")
@click.argument("name", required=False)
@click.option("--list", "show_list", is_flag=True, help="List the lessons with their full-run time and verdict.")
@click.option("--quick", is_flag=True, help="A small version (fewer seeds, epochs and sizes), as the tests run it.")
@storage_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the page and figures [default: docs/lessons; lessons-quick with --quick].")
@force_option
def lesson_command(name: str | None, show_list: bool, quick: bool, storage: str | None, out: Path | None,
                   force: bool) -> None:
    """Run lesson NAME of the course notes, then write its page: the claim, the figures and a
    verdict (reproduced, partly, not reproduced) computed from the trials.

    Each lesson is a set of ordinary studies (lesson/NAME/...) in the study database, so a
    lesson stopped half-way resumes where it stopped.

    \b
    Examples:
      tunekit lesson --list
      tunekit lesson initialization
      tunekit lesson activation_depth --quick --out /tmp/lessons
    """
    if show_list:
        _list(out)
        return
    if not name:
        raise click.UsageError("name a lesson (tunekit lesson --list shows them)")
    import sys

    from tunekit.study import refuse_overwrite
    from tunekit.study import check_storage
    from tunekit.lessons import get_lesson, run_lesson
    from tunekit.lessons import page_outputs

    get_lesson(name)  # an unknown name is one error line before anything runs
    folder = out or Path("lessons-quick" if quick else "docs/lessons")
    refuse_overwrite(page_outputs(name, folder), force=force, what="lesson output")
    check_storage(storage, create=True)  # a bad --storage is one error line, before any progress line
    result = run_lesson(name, quick=quick, storage=storage, out_dir=folder, show_progress=True,
                        progress_bar=sys.stderr.isatty())
    v = result.verdict
    click.echo(f"{name}: {v.outcome}. {v.summary}")
    click.echo(f"page: {result.page} ({len(result.figures)} figure(s)); {result.n_trials} trials in "
               f"{result.seconds / 60:.1f} min")


COMMANDS = [lesson_command]
