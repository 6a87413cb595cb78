"""Options shared by several commands."""

from __future__ import annotations

import click

storage_option = click.option(
    "--storage",
    envvar="TUNEKIT_STORAGE",
    default=None,
    metavar="URL",
    help="SQLAlchemy URL of the study database [default: sqlite:///tunekit.db; env TUNEKIT_STORAGE].",
)

force_option = click.option(
    "--force", is_flag=True,
    help="Overwrite output files that already exist (by default an existing file is refused and nothing is written).",
)

