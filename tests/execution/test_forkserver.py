"""The workers of ``run(..., workers=N)`` and of ``--dask local`` are forked from a server that imported
TensorFlow once (``tunekit/execution/_forkserver.py``), and each still gets what a fresh process would: the
parent's environment (and, for ``workers=N``, stdout/stderr) as they are at the run, not as they were
when the server started, and a way to see that the parent is gone. Real processes, real pipes."""

from __future__ import annotations

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
    out.send((preloaded, os.environ.get("TUNEKIT_FORKSERVER_PROBE"), os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
              alive_before))
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
        assert preloaded, "the fork server should have imported TensorFlow before the fork"
        assert probe == value
        assert level == os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")  # the quiet import's level where none is set
        assert alive is True
        watch.close()  # as the parent's exit would
        assert reader.recv() is False  # the worker sees the parent gone
        proc.join(60)
        assert proc.exitcode == 0
        assert "worker says hello" in capfd.readouterr().out  # this test's stdout, not the server's


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
