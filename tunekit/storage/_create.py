"""Making a new study database's tables while another process makes them too: workers started
at the same moment on one new SQLite file or one empty PostgreSQL database (a job array, a
shell loop). Without care the second one fails ("table studies already exists"), or sees a
half-made SQLite file and calls it "not an Optuna study database".
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator

import optuna

#: Tries at making the tables where another process's table or row shows up in the making.
CREATE_TRIES = 5


@contextlib.contextmanager
def new_sqlite_lock(path: Path | None, *, create: bool) -> Iterator[None]:
    """While a writer opens the SQLite database ``path`` (checks it, makes its tables): an exclusive
    ``flock`` on ``<path>.tunekit-lock`` beside it (the file the study lock uses), so that a second
    process waits for the first one's tables instead of meeting them half made. Nothing to do for
    a database server (``path`` None), a reader, or where the lock file cannot be opened (an
    unwritable folder: the open that follows says so)."""
    if path is None or not create:
        yield
        return
    lock = Path(f"{path}.tunekit-lock")
    new = not lock.exists()
    try:
        import fcntl

        handle = open(lock, "a+b")
    except (ImportError, OSError):
        yield
        return
    try:
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            yield
    finally:
        if new and not path.exists():  # no database made (a full disk): no file of ours left either
            lock.unlink(missing_ok=True)


def made(storage_class: type[optuna.storages.RDBStorage], url: str, **kwargs: Any) -> optuna.storages.RDBStorage:
    """``storage_class(url, **kwargs)``; where it makes the tables and another process's table or row
    shows up meanwhile ("already exists", a duplicate key: a database server has no file to lock),
    tried again, up to ``CREATE_TRIES`` times, on what that process made."""
    import sqlalchemy.exc

    for attempt in range(CREATE_TRIES):
        try:
            return storage_class(url, **kwargs)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError) as exc:
            raced = isinstance(exc, sqlalchemy.exc.IntegrityError) or "already exists" in str(exc.orig)
            if kwargs.get("skip_table_creation") or not raced or attempt == CREATE_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
