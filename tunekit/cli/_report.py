"""``tunekit report``: a study as one self-contained HTML file, and its main plots as PNGs."""

from __future__ import annotations

import click

from pathlib import Path

from tunekit.cli._common import force_option, storage_option


@click.command("report")
@click.argument("studies", nargs=-1, required=True, metavar="STUDY [STUDY...]")
@storage_option
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(),
              help="The HTML file to write (self-contained: opens offline).")
@click.option("--png", "png_dir", default=None, type=click.Path(), metavar="DIR",
              help="Also write the main plots as PNG files into DIR (created when missing).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Rows of the top-trials table.")
@force_option
def report_command(studies: tuple[str, ...], storage: str | None, output: str, png_dir: str | None, top: int,
                   force: bool) -> None:
    """Write a report of STUDY: optimization history, parameter importances, parallel
    coordinates, slice plots, learning curves and the top trials.

    With several studies (for example the strategies and seeds of a comparison), the report
    compares them instead: best-so-far curves with each strategy's median, and each study's best.

    \b
    Examples:
      tunekit report digits -o digits.html --png plots/
      tunekit report digits-random digits-tpe -o compare.html
    """
    from tunekit.report import write_comparison, write_report
    from tunekit.study import load_study

    names = list(dict.fromkeys(studies))
    from tunekit.study import refuse_overwrite
    refuse_overwrite([output, *_png_paths(png_dir, comparison=len(names) > 1)], force=force, what="the report")
    loaded = [load_study(name, storage) for name in names]
    if len(loaded) == 1:
        result = write_report(loaded[0], output, png_dir=png_dir, top=top)
    else:
        result = write_comparison(loaded, output, png_dir=png_dir)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.html is not None:
        click.echo(f"wrote {result.html}")
    for path in result.pngs:
        click.echo(f"wrote {path}")


def _png_paths(png_dir: str | None, *, comparison: bool) -> list[Path]:
    """The PNG files ``report --png DIR`` may write."""
    if png_dir is None:
        return []
    from tunekit.report import PNG_SIZES

    names = ["best_so_far"] if comparison else list(PNG_SIZES)
    return [Path(png_dir) / f"{name}.png" for name in names]


COMMANDS = [report_command]
