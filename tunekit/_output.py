"""Output paths checked before any work is done: one clear ConfigError instead of a late traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from tunekit._errors import ConfigError


def check_output_file(path: str | os.PathLike[str], *, suffixes: Iterable[str] = (), what: str = "output") -> Path:
    """The path of a file about to be written; ConfigError when it cannot be.

    Checks the suffix (when ``suffixes`` is given), that the path is not a folder, that its
    folder exists and is a writable folder. Nothing is created.
    """
    out = Path(path)
    allowed = tuple(suffixes)
    if out.is_dir():
        raise ConfigError(f"cannot write {what} '{out}': it is a folder; pass a file name")
    if allowed and out.suffix.lower() not in allowed:
        raise ConfigError(f"cannot write {what} '{out}': use a file name ending {' or '.join(allowed)}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise ConfigError(f"cannot write {what} '{out}': folder '{parent}' does not exist")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {what} '{out}': '{parent}' is not a folder")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ConfigError(f"cannot write {what} '{out}': {unwritable_reason(parent)}")
    return out


def refuse_overwrite(paths: Iterable[str | os.PathLike[str]], *, force: bool, what: str = "output") -> None:
    """ConfigError naming the first of ``paths`` that already exists, unless ``force``: every
    command that writes a file calls this before any work, so that nothing is overwritten
    (a study's own data file, a page written by hand) and nothing is written when it refuses.

    Example:
        >>> refuse_overwrite([__file__], force=False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        tunekit._errors.ConfigError: cannot write output '...': it already exists; pass --force to overwrite it, ...
        >>> refuse_overwrite([__file__], force=True)
    """
    if force:
        return
    for path in paths:
        if Path(path).exists() and not Path(path).is_dir():  # a folder: check_output_file says so
            raise ConfigError(f"cannot write {what} '{path}': it already exists; pass --force to overwrite it, "
                              "or choose another path")


def unwritable_reason(path: str | os.PathLike[str]) -> str:
    """Why ``path`` cannot be written: ``read-only file system`` (EROFS) or ``permission denied`` (EACCES)."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return "read-only file system" if read_only else "permission denied"


def check_output_dir(path: str | os.PathLike[str], *, what: str = "output folder", create: bool = True) -> Path:
    """A folder to write files into; with ``create`` it is made when missing. ConfigError when
    it is a file, or cannot be created or written."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"cannot write the {what} '{out}': it is a file, not a folder")
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        why = f" ({unwritable_reason(existing)})" if existing.is_dir() else ""
        raise ConfigError(f"cannot write the {what} '{out}': '{existing}' is not a writable folder{why}")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the {what} '{out}': {exc.strerror or exc}") from None
    return out


def write_text(path: Path, text: str, *, what: str = "output") -> None:
    """Write ``text`` (UTF-8); an OSError becomes a one-line ConfigError."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {what} '{path}': {exc.strerror or exc}") from None
