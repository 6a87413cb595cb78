"""A database server's storage is built retrying once, where it is opened; a worker's loop only
turns its retry on (no object's class is swapped). The outage itself: workers/test_db_outage.py."""

from __future__ import annotations

import pickle
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc

from tunekit.storage._storage import open_storage
from tunekit.storage._retry import DatabaseUnreachable, Retry, RetryingRDBStorage, retries_now
from tunekit.execution._resilient import retrying


def _lost() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_sqlite_is_opened_plain_and_never_retried(db_url: str) -> None:
    storage = open_storage(db_url, create=True, heartbeat_interval=1, grace_period=3)
    assert type(storage) is optuna.storages.RDBStorage
    with retrying(storage, 5) as retry:
        assert not retry.enabled and type(storage) is optuna.storages.RDBStorage


def test_a_worker_loop_turns_the_retry_on_and_off_without_touching_the_class(tmp_path: Path) -> None:
    storage = RetryingRDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    assert not retries_now(storage)
    with retrying(storage, 7, None) as retry:
        assert retry is storage.retry and retry.seconds == 7 and retries_now(storage)
        assert type(storage) is RetryingRDBStorage
    assert not retries_now(storage) and type(storage) is RetryingRDBStorage
    copy = pickle.loads(pickle.dumps(storage))
    assert type(copy) is RetryingRDBStorage and not retries_now(copy)


def test_retry_waits_out_a_lost_connection_then_gives_up_with_the_cause(capsys: pytest.CaptureFixture[str]) -> None:
    failures = iter([_lost(), _lost()])

    def flaky() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "answered"

    retry = Retry(5, "postgresql+psycopg://tunekit:secret@db/tunekit")
    assert retry.call(flaky) == "answered"
    assert "database unreachable, retrying for 5 s" in capsys.readouterr().err
    with pytest.raises(DatabaseUnreachable, match=r"for 0\.3 s: connection refused \(postgresql\+psycopg://tunekit:\*\*\*@db"):
        Retry(0.3, "postgresql+psycopg://tunekit:secret@db/tunekit").call(lambda: (_ for _ in ()).throw(_lost()))
    off = Retry(5, "x", enabled=False)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        off.call(lambda: (_ for _ in ()).throw(_lost()))


@pytest.mark.parametrize("error", [
    sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused")),
    sqlalchemy.exc.InvalidRequestError("Can't reconnect until invalid transaction is rolled back"),
    sqlalchemy.exc.DatabaseError("COMMIT", {}, Exception("server closed the connection unexpectedly")),
    sqlalchemy.exc.InternalError("SELECT 1", {}, Exception("terminating connection due to administrator command")),
])
def test_a_dropped_connection_is_an_outage_whatever_class_carries_it(error: Exception) -> None:
    from tunekit.storage._retry import connection_error
    from tunekit.execution._trial import one_line

    wrapped = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
    wrapped.__cause__ = error
    assert connection_error(wrapped) is error
    assert one_line(wrapped).endswith(f"({type(error).__name__}: {str(error).splitlines()[0]})")


def test_data_errors_are_not_outages() -> None:
    from tunekit.storage._retry import connection_error

    for error in (sqlalchemy.exc.DataError("INSERT", {}, Exception("value too long for type character varying(512)")),
                  sqlalchemy.exc.InvalidRequestError("Object is already attached to session 1")):
        wrapped = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
        wrapped.__cause__ = error
        assert connection_error(wrapped) is None


def test_every_call_a_study_makes_through_its_cache_is_retried() -> None:
    """A study wraps an RDBStorage in Optuna's _CachedStorage, which calls some private methods
    (``_set_trial_param`` for every ``suggest_*``): each must go through the retry, or an outage
    during a trial's sampling stops the run instead of being waited out."""
    import inspect
    import re

    from optuna.storages import _cached_storage

    called = set(re.findall(r"_backend\.(\w+)\(", inspect.getsource(_cached_storage)))
    assert "_set_trial_param" in called  # what the check is about is still there
    rdb = optuna.storages.RDBStorage
    unretried = sorted(name for name in called - {"create_new_study", "delete_study", "get_heartbeat_interval",
                                                      "get_heartbeat_stale_trial_callback"}
                       if getattr(RetryingRDBStorage, name) is getattr(rdb, name))
    assert unretried == []
