"""Study databases: connection (checked, hardened, retrying for a server), the study lock, settling.

URL resolution, parsing and masking are in ``tunekit.storage._url``, the retrying storage of a
database server in ``tunekit.storage._retry``; the names other modules use are imported here.
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import optuna

from tunekit._errors import ConfigError
from tunekit.storage._sqlite_fs import (
    DiskFullError,
    disk_full_cause,
    free_bytes,
    has_studies,
    read_only_connect,
    refuse_unwritable,
    undo_new_file,
    writable,
)
from tunekit.storage._create import made, new_sqlite_lock
from tunekit.storage._retry import RetryingRDBStorage
from tunekit.storage._url import (  # noqa: F401  (mask, no_study, resolve_url, sqlite_path re-exported)
    mask,
    missing_driver,
    no_study,
    parse_url,
    reason,
    resolve_url,
    sqlite_path,
)

_OPTUNA_TABLES = ("studies", "trials", "version_info")
SQLITE_BUSY_TIMEOUT_MS = 60_000
_LOCK_CLASS = zlib.crc32(b"tunekit") & 0x7FFFFFFF  # first key of the PostgreSQL advisory lock
_last_writer: list[str] = []  # the storage URL this process last opened for writing (for disk_full)


def _stale_callback_arg() -> str:
    """Optuna 4.9 renamed ``failed_trial_callback`` to ``heartbeat_stale_trial_callback``."""
    import inspect

    params = inspect.signature(optuna.storages.RDBStorage.__init__).parameters
    return "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else "failed_trial_callback"


_STALE_CALLBACK_ARG = _stale_callback_arg()


def _sqlite_has_optuna_tables(path: Path) -> bool:
    extras = [Path(f"{path}{end}") for end in ("-shm", "-wal")]
    made = [extra for extra in extras if not extra.exists()]  # what a failed read must not leave behind
    try:
        con = read_only_connect(path)()
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.OperationalError as exc:  # cannot read it (a lock, an I/O error): not "foreign"
        for extra in made:  # a -shm SQLite could not fill (a full disk) breaks every later reader
            with contextlib.suppress(OSError):
                if extra.name.endswith("-shm") or extra.stat().st_size == 0:
                    extra.unlink()
        full = disk_full(exc, f"sqlite:///{path.resolve()}")
        if full is not None:
            raise full from None
        raise ConfigError(f"cannot read the study database '{path}': {exc}") from None
    except sqlite3.DatabaseError as exc:
        if _sqlite_header(path):  # an SQLite file that cannot be read: cut short or overwritten
            raise ConfigError(
                f"the study database '{path}' is damaged ({exc}: truncated or corrupt); restore it from a backup, "
                "or pass another --storage"
            ) from None
        return False
    return all(t in names for t in _OPTUNA_TABLES)


def _sqlite_header(path: Path) -> bool:
    """Whether ``path`` starts as every SQLite database file does."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    magic = b"SQLite format 3\x00"
    return head == magic or (0 < len(head) < len(magic) and magic.startswith(head))  # or cut inside the header


def disk_full(exc: BaseException, url: str | None = None) -> DiskFullError | None:
    """A DiskFullError (``disk full (N bytes free at PATH)``) when ``exc`` comes from a full
    disk, else None. ``url`` defaults to the storage this process last opened for writing."""
    url = url or (_last_writer[-1] if _last_writer else None)
    try:
        path = sqlite_path(url) if url else None
    except ConfigError:
        path = None
    cause = disk_full_cause(exc, path)
    if cause is None:
        return None
    folder = path.resolve().parent if path is not None else None
    free = free_bytes(folder) if folder is not None else None
    if folder is None or free is None:
        return DiskFullError(f"disk full on the database server ({reason(cause)}); free space there and run again")
    return DiskFullError(
        f"disk full ({free} bytes free at {folder}); free some space there, "
        "or pass --storage sqlite:///OTHER/DISK/study.db, and run again"
    )


def _probe_server(url: str, parsed: Any, *, need_tables: bool) -> None:
    """Connect once with plain SQLAlchemy: clear messages for an unreachable server, wrong
    credentials, a missing database, or (``need_tables``) a database without Optuna's tables."""
    import sqlalchemy

    connect_args = {"connect_timeout": 10} if parsed.drivername.startswith("postgresql") else {}
    try:
        engine = sqlalchemy.create_engine(url, connect_args=connect_args)
    except ImportError as exc:
        raise missing_driver(url, parsed, exc.name) from None
    except Exception as exc:
        raise ConfigError(f"cannot open storage '{mask(url)}': {reason(exc)}") from None
    try:
        with engine.connect() as con:
            names = set(sqlalchemy.inspect(con).get_table_names())
    except Exception as exc:
        raise ConfigError(f"cannot open storage '{mask(url)}': {reason(exc)}") from None
    finally:
        engine.dispose()
    if need_tables and not all(t in names for t in _OPTUNA_TABLES):
        raise ConfigError(
            f"'{mask(url)}' has no Optuna tables (an empty or foreign database); "
            "create the study first with: tunekit run STUDY_FILE --storage URL"
        )


def _harden_sqlite(engine: Any) -> None:
    """Make an SQLite database safe for several writing processes.

    WAL lets readers (the dashboard, ``tunekit studies``) run beside a writer; every
    transaction starts with ``BEGIN IMMEDIATE``, so a writer waits for the lock (up to the
    busy timeout) when it starts instead of failing with "database is locked" when a read
    transaction tries to upgrade to a write.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below starts transactions
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the listeners existed are dropped


def check_storage(url: str | None = None, *, create: bool) -> None:
    """The checks of ``open_storage`` without connecting for good or creating anything: a
    ConfigError, before any work, for a database that cannot be used (a missing folder, a
    file that is not a study database, a read-only database for a writer)."""
    url = resolve_url(url)
    parsed = parse_url(url)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(path, create=create, writer=create)
    else:
        _probe_server(url, parsed, need_tables=not create)


def open_storage(
    url: str | None = None,
    *,
    create: bool,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    on_lost_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> optuna.storages.RDBStorage:
    """Connect to the study database at ``url``.

    With ``create=False`` (inspection commands, workers joining a study) nothing is created:
    a missing SQLite file or a database without Optuna's tables is a ConfigError instead of
    an empty new database. ``heartbeat_interval`` (seconds) makes running trials record a
    heartbeat; a trial whose heartbeat is older than ``grace_period`` is failed by the next
    worker that checks, and ``on_lost_trial`` is called for it (tunekit queues a retry).
    Writers (``create=True`` or a heartbeat) on SQLite use WAL and ``BEGIN IMMEDIATE``. A
    database server is opened as a ``RetryingRDBStorage`` (``tunekit.storage._retry``), whose
    calls a worker's loop retries through an outage.

    Example:
        >>> storage = open_storage("sqlite:///tunekit.db", create=True)
        >>> study_names(storage)
        []
    """
    url = resolve_url(url)
    with new_sqlite_lock(sqlite_path(url), create=create):  # two processes opening one new file at once
        return _open_storage(url, create=create, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                             on_lost_trial=on_lost_trial)


def _open_storage(url: str, *, create: bool, heartbeat_interval: int | None, grace_period: int | None,
                  on_lost_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None
                  ) -> optuna.storages.RDBStorage:
    parsed = parse_url(url)
    path = sqlite_path(url)
    writer = create or heartbeat_interval is not None
    size_before = path.stat().st_size if path is not None and path.is_file() else None
    if path is not None:
        _check_sqlite_file(path, create=create, writer=writer)
    else:
        _probe_server(url, parsed, need_tables=not create)
    engine_kwargs = _engine_kwargs(parsed, path, writer=writer)
    storage_class = optuna.storages.RDBStorage if parsed.drivername.startswith("sqlite") else RetryingRDBStorage
    try:
        heartbeat = _heartbeat_kwargs(heartbeat_interval, grace_period, on_lost_trial)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat arguments
            storage = made(storage_class, url, engine_kwargs=engine_kwargs, skip_table_creation=not create,
                          **heartbeat)
        if path is not None and writer:
            _harden_sqlite(storage.engine)
        if not create:
            storage.get_all_studies()  # raises when the tables are missing
    except ConfigError:
        raise
    except ImportError as exc:
        raise missing_driver(url, parsed, getattr(exc.__cause__, "name", None) or exc.name) from None
    except Exception as exc:
        full = disk_full(exc, url)
        if full is not None:
            if path is not None and create and not size_before and not has_studies(path):
                undo_new_file(path, size_before)
            raise full from None
        raise ConfigError(f"cannot open storage '{mask(url)}': {reason(exc)}") from None
    if writer:
        _last_writer[:] = [url]
    return storage


def _heartbeat_kwargs(
    interval: int | None, grace_period: int | None,
    on_lost_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None,
) -> dict[str, Any]:
    """RDBStorage's heartbeat arguments: none without ``interval``."""
    if interval is None:
        return {}
    heartbeat: dict[str, Any] = {"heartbeat_interval": interval, "grace_period": grace_period}
    if on_lost_trial is not None:
        heartbeat[_STALE_CALLBACK_ARG] = on_lost_trial
    return heartbeat


def _engine_kwargs(parsed: Any, path: Path | None, *, writer: bool) -> dict[str, Any]:
    """SQLAlchemy engine options: a read-only connection for readers of an SQLite file that
    cannot be written (a read-only file system or folder), timeouts, pre-ping for servers."""
    if path is not None and not writer and not writable(path):
        return {"creator": read_only_connect(path)}
    if parsed.drivername.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.drivername.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": 10}
    return kwargs


def _check_sqlite_file(path: Path, *, create: bool, writer: bool) -> None:
    """ConfigError for an SQLite database that cannot be used as asked: missing (readers),
    in a missing, read-only or unwritable folder (writers), empty or foreign."""
    if not create and not path.is_file():
        raise ConfigError(
            f"no study database at '{path}'; run `tunekit run STUDY_FILE` first or pass --storage"
        )
    if create and not path.parent.exists():
        raise ConfigError(f"cannot create the study database '{path}': folder '{path.parent}' does not exist")
    if writer:
        refuse_unwritable(path)
    if path.is_file() and not _sqlite_has_optuna_tables(path):
        if path.stat().st_size > 0:
            raise ConfigError(f"'{path}' is not an Optuna study database (no Optuna tables); pass another --storage")
        if not create:
            raise ConfigError(f"'{path}' is an empty file, not a study database; run `tunekit run` first")


def settle(storage: optuna.storages.RDBStorage) -> None:
    """Close pooled connections; on SQLite first fold the WAL back into the database file,
    so the ``.db`` file alone is complete (copies, backups) once a run returns. The storage
    stays usable: connections reopen on demand."""
    engine = storage.engine
    if engine.dialect.name == "sqlite":
        try:
            with engine.connect() as con:
                con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception:  # a reader holds the database: the WAL is folded in later
            pass
    engine.dispose()


@contextlib.contextmanager
def study_lock(storage: optuna.storages.RDBStorage, study_id: int) -> Iterator[None]:
    """Hold a lock that every tunekit worker of this study takes to count trials and claim one.

    PostgreSQL: a session advisory lock; MySQL: ``GET_LOCK``; SQLite: an exclusive ``flock``
    on ``<database>.tunekit-lock`` beside the file (the database itself is local). Each is
    released by the server or the kernel when the holder dies, so a killed worker never
    leaves it held. Other back-ends get no lock (counts can then overshoot by a few trials).

    Example:
        >>> with study_lock(storage, study._study_id):  # doctest: +SKIP
        ...     trial = study.ask()
    """
    import sqlalchemy

    engine = storage.engine
    dialect = engine.dialect.name
    if dialect == "sqlite":
        import fcntl

        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.tunekit-lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if dialect == "postgresql":
        acquire, release = "SELECT pg_advisory_lock(:a, :b)", "SELECT pg_advisory_unlock(:a, :b)"
        args = {"a": _LOCK_CLASS, "b": int(study_id)}
    elif dialect in ("mysql", "mariadb"):
        acquire, release = "SELECT GET_LOCK(:n, 600)", "SELECT RELEASE_LOCK(:n)"
        args = {"n": f"tunekit-study-{int(study_id)}"}
    else:
        yield
        return
    with engine.connect() as con:
        con.execute(sqlalchemy.text(acquire), args)
        con.commit()
        try:
            yield
        finally:
            con.execute(sqlalchemy.text(release), args)
            con.commit()


def delete_new_study(storage: optuna.storages.RDBStorage, name: str) -> bool:
    """Delete a study whose first writes failed; True when it is gone.

    On a full disk SQLite cannot grow the WAL for the delete, so the WAL is first copied into
    the database (a RESTART checkpoint): the delete then reuses the WAL's allocated space.
    """
    if storage.engine.dialect.name == "sqlite":
        with contextlib.suppress(Exception):
            raw = storage.engine.raw_connection()  # outside a transaction: a checkpoint cannot run in one
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(RESTART)")
            finally:
                raw.close()
    try:
        optuna.delete_study(study_name=name, storage=storage)
    except Exception:  # noqa: BLE001 - the caller reports the write's error
        return False
    return True


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in ``storage``, oldest first."""
    return [s.study_name for s in storage.get_all_studies()]


def load_study(name: str, storage: str | None = None) -> optuna.Study:
    """Load an existing study by name; a ConfigError lists the studies that do exist.

    Example:
        >>> import optuna
        >>> _ = optuna.create_study(study_name="digits", storage=open_storage("sqlite:///tunekit.db", create=True))
        >>> load_study("digits", "sqlite:///tunekit.db").study_name
        'digits'
        >>> load_study("digtis", "sqlite:///tunekit.db")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        tunekit._errors.ConfigError: no study named 'digtis' in 'sqlite:///tunekit.db'; studies there: digits...
    """
    st = open_storage(storage, create=False)
    names = study_names(st)
    if name not in names:
        raise no_study(name, resolve_url(storage), names, study_name_option=False)
    return optuna.load_study(study_name=name, storage=st)
