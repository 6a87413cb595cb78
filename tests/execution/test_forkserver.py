"""The workers of ``run(..., workers=N)`` and of ``--dask local`` are forked from a server that imported
TensorFlow once (``tunekit/execution/_forkserver.py``), and each still gets what a fresh process would: the
parent's environment (and, for ``workers=N``, stdout/stderr) as they are at the run, not as they were
when the server started, and a way to see that the parent is gone. Real processes, real pipes."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import pytest

from tunekit.execution import _forkserver
from tunekit.execution._forkserver import ParentWatch, adopt, context, parent_state

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="off Linux workers are spawned")


def _echo(environ: dict[str, str], stdio: list[Any], parent: Any, out: Any) -> None:
    preloaded = "tensorflow" in sys.modules  # before anything of the worker's own ran
    adopt(environ, stdio)
    print("worker says hello", flush=True)
    alive_before = ParentWatch.alive(parent)
    # the server knew itself as the server: it leaves without TensorFlow's teardown (``_preload``)
    server = getattr(sys.modules.get("tunekit.execution._preload"), "SERVER", None)
    out.send((preloaded and server == os.getppid(), os.environ.get("TUNEKIT_FORKSERVER_PROBE"),
              os.environ.get("TF_CPP_MIN_LOG_LEVEL"), alive_before))
    parent.poll(60)  # until the parent closes its end
    out.send(ParentWatch.alive(parent))


def test_a_forked_worker_has_tensorflow_and_the_parents_environment_and_output_of_now(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    ctx = context()
    assert ctx.get_start_method() == "forkserver"
    for value in ("first", "second"):  # the second worker comes from the same server, started by the first
        monkeypatch.setenv("TUNEKIT_FORKSERVER_PROBE", value)  # set after the server started: passed along
        watch = ParentWatch(ctx)
        reader, writer = ctx.Pipe(duplex=False)
        environ, stdio = parent_state()
        proc = ctx.Process(target=_echo, args=(environ, stdio, watch.for_child(), writer))
        proc.start()
        preloaded, probe, level, alive = reader.recv()
        assert preloaded, "the fork server (this worker's parent) should have imported TensorFlow before the fork"
        assert probe == value
        assert level == os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")  # the quiet import's level where none is set
        assert alive is True
        watch.close()  # as the parent's exit would
        assert reader.recv() is False  # the worker sees the parent gone
        proc.join(60)
        assert proc.exitcode == 0
        assert "worker says hello" in capfd.readouterr().out  # this test's stdout, not the server's


def test_the_preload_imported_elsewhere_is_no_server() -> None:
    from tunekit.execution import _preload

    assert _preload.SERVER is None and not _preload._in_fork_server()


def test_other_tensorflow_settings_than_the_servers_spawn_fresh_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorFlow reads TF_* variables such as TF_ENABLE_ONEDNN_OPTS once, at import: a server that
    imported it under other values cannot give a worker this run's."""
    monkeypatch.setattr(_forkserver, "_server_environment", None)
    assert context().get_start_method() == "forkserver"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "0")
    assert context().get_start_method() == "spawn"


def test_the_environment_can_ask_for_spawned_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEKIT_WORKER_START", "spawn")
    assert context().get_start_method() == "spawn"


#: Evaluated in a Dask worker (``client.run(eval, ...)``: a builtin, nothing of this module to unpickle
#: there): whether TensorFlow was imported before any task, the probe variable, SIGTERM blocked.
_DASK_FACTS = ("(__import__('sys').modules.get('tensorflow') is not None, "
               "__import__('os').environ.get('TUNEKIT_FORKSERVER_PROBE'), "
               "__import__('signal').SIGTERM in __import__('signal').pthread_sigmask(__import__('signal').SIG_BLOCK, set()))")


@pytest.mark.parametrize("start", ["", "spawn"])
def test_a_local_dask_cluster_s_workers_are_forked_too(monkeypatch: pytest.MonkeyPatch, start: str) -> None:
    """``--dask local``: its worker comes from the same server (TensorFlow there before any task), with
    this process's environment of now and SIGTERM unblocked, so that the cluster can stop it; with
    ``TUNEKIT_WORKER_START=spawn`` a fresh interpreter, as Dask starts it by default."""
    from tunekit.execution._dask_cluster import connect

    monkeypatch.setenv("TUNEKIT_WORKER_START", start)
    monkeypatch.setenv("TUNEKIT_FORKSERVER_PROBE", f"dask {start}")
    client, cluster = connect("local:1", None)
    try:
        [(preloaded, probe, sigterm_blocked)] = client.run(eval, _DASK_FACTS).values()
    finally:
        client.close()
        cluster.close()
    assert preloaded is (start != "spawn") and probe == f"dask {start}" and not sigterm_blocked


#: The start of the scripts below: an exit handler registered before tunekit's (so it runs after them)
#: that prints whether the fork server ``pid`` (set by the script) still runs.
_SERVER_LEFT_AT_EXIT = """
import atexit, os

def server_left():
    try:
        print("left" if os.waitpid(pid, os.WNOHANG)[0] == 0 else "ended", flush=True)
    except ChildProcessError:  # already reaped
        print("ended", flush=True)

atexit.register(server_left)
"""

#: Run in a fresh process: ``tunekit.run`` with 2 workers on a file that is no study database. Prints the pid
#: of the fork server that was running when the run stopped on the bad storage (found after the data loaded),
#: then, at exit after tunekit's own exit handlers, whether it still runs.
_BAD_STORAGE_RUN = _SERVER_LEFT_AT_EXIT + """
import multiprocessing.forkserver, sys, tunekit

spec = tunekit.StudySpec(data="iris", space={"units": tunekit.Int(4, 8)}, epochs=1)
try:
    tunekit.run(spec, n_trials=1, workers=2, storage="sqlite:///" + sys.argv[1])
except tunekit.TunekitError as exc:
    pid = multiprocessing.forkserver._forkserver._forkserver_pid
    print(pid, "|", exc, flush=True)
"""


def test_the_server_starts_with_the_run_and_a_run_that_stops_on_a_bad_input_leaves_none(tmp_path: Any) -> None:
    """``run(workers=2)`` starts the server before it loads the data and opens the database (its
    TensorFlow import overlaps them); a run that then stops on a bad ``--storage`` stops it at exit,
    instead of leaving it importing TensorFlow (it blocks SIGTERM) after the error was printed."""
    import subprocess

    bad = tmp_path / "notes.db"
    bad.write_text("not a database")
    done = subprocess.run([sys.executable, "-c", _BAD_STORAGE_RUN, str(bad)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    (pid, _, message), left = (line.partition(" | ") for line in done.stdout.splitlines())
    assert done.returncode == 0 and "not an Optuna study database" in message, done.stdout + done.stderr
    assert pid != "None", "the fork server should be running by the time the storage is opened"
    assert left == ("ended", "", ""), "the unused fork server outlived the run"
    assert bad.read_text() == "not a database"


#: Run in a fresh process: ``start_early`` interrupted by a Ctrl-C that lands as the server has just
#: started (where ``ensure_server`` unblocks the signals again: put in by hand, as the moment cannot be
#: timed from outside). At exit, after tunekit's exit handlers, whether the server still runs.
_INTERRUPTED_START = _SERVER_LEFT_AT_EXIT + """
import multiprocessing.forkserver as f
from tunekit.execution import _forkserver as s

started = f.ensure_running

def ensure_running():
    started()
    raise KeyboardInterrupt  # the Ctrl-C, as the signals are unblocked

f.ensure_running = ensure_running
try:
    s.start_early()
except KeyboardInterrupt:
    pid = f._forkserver._forkserver_pid
    print(pid, flush=True)
"""


def test_a_ctrl_c_as_the_server_starts_stops_it_at_exit(tmp_path: Any) -> None:
    """The server a Ctrl-C interrupted ``start_early`` after starting is stopped at exit too: left
    running, it held the run's stdout and stderr until its TensorFlow import ended (10 s under load,
    seen once in 30 signalled runs)."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_START], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    pid, left = (done.stdout.splitlines() + ["", ""])[:2]
    assert done.returncode == 0 and pid.isdigit(), done.stdout + done.stderr
    assert left == "ended", "the fork server outlived the interrupted start"


def test_a_server_a_worker_was_forked_from_is_not_stopped_as_unused() -> None:
    import subprocess

    code = ("import multiprocessing.forkserver as f, os\n"
            "from tunekit.execution import _forkserver as s\n"
            "s.start_early(); pid = f._forkserver._forkserver_pid\n"
            "s.ensure_server(s.context())  # as before the first fork\n"
            "s._stop_unused()\n"
            "try:\n"
            "    print(pid, 'left' if os.waitpid(pid, os.WNOHANG)[0] == 0 else 'ended')\n"
            "except ChildProcessError:\n"
            "    print(pid, 'ended')\n")
    # the server keeps the pipe of the process's stdout open: its line is read, not the pipe to its end
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    with proc.stdout:
        pid, state = (proc.stdout.readline().split() + ["", ""])[:2]
        try:
            assert proc.wait(60) == 0 and state == "left"
        finally:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
