"""SQLite study databases on real file systems: read-only mounts and folders, full disks."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from tunekit._errors import ConfigError, TunekitError

LOW_SPACE = 1 << 20  # an SQLite I/O error with less free space than this is a full disk
BUSY_TIMEOUT_S = 60.0


class DiskFullError(TunekitError):
    """The disk of the study database is full (exit code 1: the input was fine)."""


def _read_only_fs(path: Path) -> bool:
    """True when ``path`` (or its nearest existing folder) is on a file system mounted read-only."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def writable(path: Path) -> bool:
    """True when SQLite can write ``path``: the file (when it exists) and its folder (-wal, -shm)."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def refuse_unwritable(path: Path) -> None:
    """ConfigError, before anything is written, when SQLite cannot write (or create) ``path``."""
    if writable(path):
        return
    why = "on a read-only file system" if _read_only_fs(path) else "not writable by this user (permission denied)"
    if path.exists():
        raise ConfigError(
            f"the study database '{path}' is {why}; copy it to a writable folder and pass "
            "--storage sqlite:///PATH/TO/COPY.db (tunekit studies, trials, best and export read it where it is)"
        )
    raise ConfigError(
        f"cannot create the study database '{path}': folder '{path.parent}' is {why}; "
        "pass --storage sqlite:///WRITABLE/FOLDER/study.db"
    )


def read_only_connect(path: Path) -> Callable[[], sqlite3.Connection]:
    """A connect function that opens ``path`` read-only (``mode=ro``), or ``immutable=1`` when
    even that fails because SQLite cannot create the WAL's -shm file beside an unwritable file."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:
        if not writable(path):
            wal = Path(f"{path}-wal")
            if wal.is_file() and wal.stat().st_size > 0:  # immutable=1 would ignore it: stale results
                raise ConfigError(
                    f"the study database '{path}' cannot be written and its last changes are still in "
                    f"'{wal}', which SQLite reads only with a writable folder; copy both files to a "
                    "writable folder and pass --storage sqlite:///PATH/TO/COPY.db"
                ) from None
            uri += "&immutable=1"
    except sqlite3.DatabaseError:  # not a database at all: reported by the caller
        pass
    return functools.partial(sqlite3.connect, uri, uri=True, check_same_thread=False,
                             timeout=BUSY_TIMEOUT_S)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it (driver errors, causes, contexts)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [getattr(item, "orig", None), item.__cause__, item.__context__]


def free_bytes(folder: Path) -> int | None:
    """Bytes free for this user on the file system of ``folder`` (None when it cannot be read)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full_cause(exc: BaseException, path: Path | None) -> BaseException | None:
    """The error behind ``exc`` that says the disk is full, or None.

    Full means ENOSPC, SQLite's SQLITE_FULL, PostgreSQL's ``disk_full`` (53100), or an SQLite
    I/O error while the folder of the database ``path`` has under 1 MiB free (SQLite reports
    a -shm file that cannot grow as an I/O error).
    """
    free = free_bytes(path.resolve().parent) if path is not None else None
    low = free is not None and free < LOW_SPACE
    for item in _chain(exc):
        code = getattr(item, "sqlite_errorcode", None)
        if (
            (isinstance(item, OSError) and item.errno == errno.ENOSPC)
            or (code is not None and (code & 0xFF == sqlite3.SQLITE_FULL or (code & 0xFF == sqlite3.SQLITE_IOERR and low)))
            or getattr(item, "sqlstate", None) == "53100"
            or "database or disk is full" in str(item)
        ):
            return item
    return None


def has_studies(path: Path) -> bool:
    """True when the SQLite file holds at least one study (another process may have made one)."""
    try:
        con = read_only_connect(path)()
        try:
            return con.execute("SELECT count(*) FROM studies").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.Error:
        return False


def undo_new_file(path: Path, size_before: int | None) -> None:
    """Put a database file that a failed first write left behind back as it was: removed
    when it did not exist (``size_before`` None), emptied when it was an empty file."""
    for extra in ("-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{path}{extra}").unlink()
    with contextlib.suppress(OSError):
        if size_before is None:
            path.unlink()
        elif size_before == 0:
            os.truncate(path, 0)
