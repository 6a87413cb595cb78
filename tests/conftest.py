"""Shared fixtures: isolated working folders, temporary study databases, real services."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What a run of the model factory gives its process (tunekit/_quiet_tf.py), here before a test module
# imports TensorFlow itself: the tests and the CLI processes they start compute alike.
from tunekit._quiet_tf import TF_DEFAULTS  # noqa: E402 - a leaf module: loads no TensorFlow

for _name, _value in TF_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"


def services_required() -> bool:
    """True in CI (.ci/run sets TUNEKIT_REQUIRE_SERVICES=1): a missing service fails, not skips."""
    return os.environ.get("TUNEKIT_REQUIRE_SERVICES", "") not in ("", "0")


def need_service(what: str, available: bool, how: str) -> None:
    if available:
        return
    if services_required():
        pytest.fail(f"{what} is required (TUNEKIT_REQUIRE_SERVICES=1) but not available: {how}")
    pytest.skip(f"{what} not available: {how}")


#: A full collection before every this-many tests frees what earlier tests left in cycles.
_COLLECT_EVERY = 40
_tests_seen = 0


@pytest.fixture(autouse=True)
def _frozen_heap() -> Iterator[None]:
    """What lives before a test (TensorFlow, Keras, Optuna, earlier fixtures) is frozen over it
    (``gc.freeze``), so that the test's own collections (Keras' ``clear_session``, the runner's
    collection per trial, collections triggered by tracing) skip it: in a pytest worker holding
    every imported module they cost 0.1-0.5 s each, about a sixth of an in-process test's CPU.
    This is what ``tunekit.run`` does for a run (``Speedups.freeze_gc``); it leaves a freeze it did
    not make alone. What the test made and left in cycles is collected as it ends (a PostgreSQL
    transaction left open blocked the next test's DROP SCHEMA for 30 s in CI otherwise); what an
    earlier test left tied to older objects, before every 40th test (0.4 s each in a pytest worker).
    ``TUNEKIT_TEST_GC_FREEZE=0`` turns it off, to measure it (``tests/cpu_report.py``)."""
    global _tests_seen
    if gc.get_freeze_count() or os.environ.get("TUNEKIT_TEST_GC_FREEZE") == "0":  # a freeze not ours; or measuring
        yield
        return
    _tests_seen += 1
    if _tests_seen % _COLLECT_EVERY == 0:
        gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()  # the test's own garbage (an open transaction, a file), still frozen: only what it made
        gc.unfreeze()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test runs in its own folder and never sees the user's TUNEKIT_STORAGE."""
    monkeypatch.delenv("TUNEKIT_STORAGE", raising=False)
    monkeypatch.delenv("TUNEKIT_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite study database URL in the test's folder."""
    return f"sqlite:///{tmp_path / 'study.db'}"


def _worker_database(url: str, worker: str) -> str:
    """``url`` on a database of its own for the pytest-xdist worker ``worker`` (created once), so
    that tests running in parallel never drop each other's tables."""
    import sqlalchemy

    base = sqlalchemy.engine.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        if con.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is None:
            con.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def postgres_url(worker_id: str) -> str:
    """A real PostgreSQL database (TUNEKIT_PG_URL, started by .ci/run); each test gets clean tables
    (each pytest-xdist worker its own database)."""
    url = os.environ.get("TUNEKIT_PG_URL")
    need_service("PostgreSQL", bool(url), "set TUNEKIT_PG_URL=postgresql+psycopg://user:pass@127.0.0.1:PORT/db (.ci/run starts one)")
    import sqlalchemy

    if worker_id != "master":
        url = _worker_database(url, worker_id)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as con:
        con.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def chromium_path() -> str:
    """The system Chromium (Debian package `chromium`; installed by .ci/run)."""
    path = os.environ.get("TUNEKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    need_service("Chromium", bool(path), "apt-get install chromium chromium-driver (.ci/run installs it)")
    return str(path)


def _tiny_spec() -> dict:
    from tunekit import Choice, Float, Int

    return dict(
        data="iris",
        space={"units": Int(4, 32, log=True), "learning_rate": Float(1e-3, 1e-1, log=True),
               "activation": Choice(["relu", "tanh"])},
        fixed={"n_layers": 1, "batch_size": 32},
        epochs=2,
    )


#: The suite's one tiny study: ``StudySpec(**TINY_SPEC)`` in code, ``TINY_STUDY`` as a study
#: file's text (the ``tiny_study_file`` fixture writes it). Iris, three searched parameters, 2 epochs.
TINY_SPEC = _tiny_spec()
TINY_STUDY = "from tunekit import StudySpec, Int, Float, Choice\nspec = StudySpec(\n" + "".join(
    f"    {key}={value!r},\n" for key, value in TINY_SPEC.items()) + ")\n"


@pytest.fixture
def tiny_study_file(tmp_path: Path) -> Path:
    """A small, fast real study file: iris, two searched parameters, 2 epochs."""
    path = tmp_path / "tiny.py"
    path.write_text(TINY_STUDY)
    return path


def stored_study(db_url: str, name: str, space, trials: list[dict], **attrs):
    """A study ``name`` (maximize) in ``db_url`` made without training: the user attrs tunekit
    stores (``space``, ``metric`` val_accuracy, then ``attrs``) and ``trials``, each the keyword
    arguments of ``optuna.trial.create_trial`` (its ``distributions`` filled in from ``space``)."""
    import optuna
    from optuna.trial import create_trial

    study = optuna.create_study(study_name=name, storage=db_url, direction="maximize")
    for key, value in {"space": space.to_json(), "metric": "val_accuracy", **attrs}.items():
        study.set_user_attr(key, value)
    dists = space.distributions()
    for kwargs in trials:
        study.add_trial(create_trial(distributions={k: dists[k] for k in kwargs["params"]}, **kwargs))
    return study


def invoke(*args: str):
    """The tunekit CLI in-process (click's CliRunner)."""
    from click.testing import CliRunner

    from tunekit.cli import cli

    return CliRunner().invoke(cli, list(args))


@contextlib.contextmanager
def ctrl_c_when(check: Callable[[], object], timeout: float = 120.0) -> Iterator[threading.Event]:
    """A real SIGINT to this process, as a terminal's Ctrl-C sends it, once ``check()`` is truthy
    (polled from a thread every 0.1 s; an exception counts as not yet), for a command run in-process inside the block: the same
    handlers as in its own process, without the start of one. A SIGINT that reaches this process
    outside the command's own handlers is kept from pytest (it would end the session) and fails
    the test. The event: whether the signal was sent (the command's exit code 130 says it acted)."""
    stray: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stray.append(signum))
    sent, stop = threading.Event(), threading.Event()

    def watch() -> None:
        end = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < end:
            try:
                ready = check()
            except Exception:  # noqa: BLE001 - e.g. the command is making the database's tables just now
                ready = False
            if ready:
                sent.set()
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, name="ctrl-c", daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        stop.set()
        thread.join()
        time.sleep(0.05)  # a signal sent just now is handled by the guard, not by pytest
        signal.signal(signal.SIGINT, previous)
    assert not stray, "the Ctrl-C reached this process outside the command's own handlers"


def trials_reader(url: str, name: str) -> Callable[[], list]:
    """Study ``name``'s trials in ``url``, read through one kept storage that never makes tables (a
    command making them at the same moment would fail: "table ... already exists"); [] until the
    study is there."""
    import optuna

    kept: list[optuna.storages.RDBStorage] = []

    def read() -> list:
        try:
            if not kept:
                kept.append(optuna.storages.RDBStorage(url, skip_table_creation=True))
            return optuna.load_study(study_name=name, storage=kept[0]).get_trials(deepcopy=False)
        except Exception:  # noqa: BLE001 - no tables or no study yet
            return []

    return read


def one_error_line(result, code: int = 2) -> str:
    """Assert a bad-input result: exit ``code`` (2) and one line starting with 'error: '."""
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


class Tmpfs:
    """A tmpfs mounted at ``folder`` for one test; unmounted on teardown."""

    def __init__(self, folder: Path, size: str) -> None:
        self.folder = folder
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        need_service("a tmpfs mount (root with CAP_SYS_ADMIN, as in CI)", done.returncode == 0,
                     done.stderr.strip() or "mount -t tmpfs failed")

    def make_read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True, capture_output=True)

    def leave_free(self, free: int) -> None:
        """Fill the file system with one file so that ``free`` bytes stay free."""
        filler = self.folder / "filler"
        filler.unlink(missing_ok=True)
        gc.collect()  # connections of failed runs hold deleted files open
        size = shutil.disk_usage(self.folder).free - free
        with open(filler, "wb") as handle:
            handle.write(b"\0" * max(0, size))
        assert shutil.disk_usage(self.folder).free == free

    def unmount(self) -> None:
        gc.collect()
        if subprocess.run(["umount", str(self.folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.folder)], check=True)


def _mounted(folder: Path, size: str) -> Iterator[Tmpfs]:
    fs = Tmpfs(folder, size)
    try:
        yield fs
    finally:
        fs.unmount()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 4 MB tmpfs at ``tmp_path/fs`` (real read-only and full file systems: root, as in CI)."""
    yield from _mounted(tmp_path / "fs", "4m")


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 1 MB tmpfs at ``tmp_path/small``: a study database fills it in a few writes."""
    yield from _mounted(tmp_path / "small", "1m")


#: Fixtures that reach a PostgreSQL server: their tests get ``@pytest.mark.postgres``.
POSTGRES_FIXTURES = frozenset({"postgres_url", "private_postgres"})
#: Fixtures that train real models for several seconds or start worker processes: ``slow``.
SLOW_FIXTURES = frozenset({"results_db", "tiny_long_study", "trial_study", "private_postgres"})


def uses_postgres(item: pytest.Item) -> bool:
    """True when ``item`` needs a PostgreSQL server (a fixture, or ``any_url[postgres]``)."""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return bool(names & POSTGRES_FIXTURES) or params.get("any_url") == "postgres"


def _shared_fixture_keys(item: pytest.Item) -> list[str]:
    """What ``item`` shares with other tests through a fixture of the suite wider than one test:
    its file for a module (or class) fixture, the fixture's name for a session one."""
    keys = []
    info = getattr(item, "_fixtureinfo", None)
    for name, defs in (info.name2fixturedefs.items() if info is not None else ()):
        fixture = defs[-1]
        if fixture.scope == "function":
            continue
        code = getattr(fixture.func, "__code__", None)
        if code is None or ROOT / "tests" not in Path(code.co_filename).parents:  # pytest's own: tmp_path_factory, ...
            continue
        keys.append(f"session:{name}" if fixture.scope in ("session", "package") else item.nodeid.split("::")[0])
    return keys


def _group_shared_setup(items: list[pytest.Item]) -> None:
    """Put the tests that share a module or session fixture of the suite (a Dask cluster, a browser,
    a study trained once) in one ``xdist_group``, so that ``--dist loadgroup`` runs them on one
    worker and the fixture is set up once; every other test is scheduled on its own."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    keyed = [(item, _shared_fixture_keys(item)) for item in items]
    for _, keys in keyed:
        for key in keys[1:]:  # a test using two shared fixtures joins their groups
            parent[root(key)] = root(keys[0])
    for item, keys in keyed:
        if keys:
            item.add_marker(pytest.mark.xdist_group(root(keys[0])))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``postgres`` and ``slow`` tests from the fixtures they use, so that
    ``pytest -m "not slow and not postgres"`` is the fast local subset. Under pytest-xdist
    (``make test``: ``--dist loadgroup``) group the tests that share a fixture, and hand out the
    slow tests first, so that no worker is left with a long test at the end while the other idles."""
    for item in items:
        if uses_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if set(getattr(item, "fixturenames", ())) & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
    if not hasattr(config, "workerinput"):
        return
    _group_shared_setup(items)
    # Stable: xdist then queues the groups (largest first) and the single tests in this order.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker sends the tests' ids to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    """Make ``--dist loadgroup`` group again under pytest 9.2: pytest-xdist (3.8) marks a test's
    group by writing ``NODEID@GROUP`` to ``item._nodeid``, which pytest 9.2 no longer reads (a node's
    id lives in ``item._id``). Unfixed, no test is grouped: both workers set up every shared fixture
    (the Dask cluster, the browser, each study trained once), a module's again whenever its tests
    are split among others."""
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2 reads ``_nodeid`` itself
        return
    for item in session.items:
        written = item.__dict__.get("_nodeid")
        if isinstance(written, str) and written != item.nodeid:
            item._id = NodeId.parse(written)  # type: ignore[attr-defined]  # parse keeps the exact string


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """In CI (TUNEKIT_REQUIRE_SERVICES=1) a skipped test is a failed one: no `skip` or
    `importorskip` may hide a missing service or package there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and services_required() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, where every test must run (TUNEKIT_REQUIRE_SERVICES=1): {reason}"
