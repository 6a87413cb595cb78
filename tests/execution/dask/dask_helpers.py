"""The Dask tests' cluster: a real ``dask scheduler`` and ``dask worker`` processes on loopback
(``Cluster``), and a run in this process while a thread acts on the cluster (``run_while``)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workers"))
from workers_helpers import env, wait_for  # noqa: E402

from tests.conftest import invoke  # noqa: E402

DASK = str(Path(sys.executable).with_name("dask"))
#: Dask's statistical profiler off in the tests' workers: it samples each task's stack every
#: 10 ms (a deep TensorFlow stack while a trial trains), CPU that none of the tests looks at.
#: (Dask's housekeeping intervals stay Dask's own: polled less often, a fresh cluster once put all
#: of a test's concurrent trials on one worker.)
NO_PROFILER_CONFIG = {"distributed.worker.profile.enabled": False}
#: The same as environment variables (what a ``dask`` command or a spawned worker process reads).
NO_PROFILER = {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
               for key, value in NO_PROFILER_CONFIG.items()}


class Cluster:
    """A scheduler and ``n`` workers (no nanny: a killed worker stays dead), each its own process.
    All start at once: a worker waits for the scheduler file (``--scheduler-file``) after its imports."""

    def __init__(self, folder: Path, n: int) -> None:
        self.file = folder / "scheduler.json"
        assert not self.file.exists(), self.file  # a stale file would send the workers to a dead scheduler
        environment = {**env(), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0", "TF_CPP_MIN_LOG_LEVEL": "3",
                       **NO_PROFILER}
        self.quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": environment}
        self.scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                           "--scheduler-file", str(self.file)], **self.quiet)
        self.workers: list[subprocess.Popen] = []
        for _ in range(n):
            self._add_worker()
        try:
            wait_for("the scheduler file", lambda: self.file.exists() and self.file.stat().st_size, timeout=60,
                     procs=[self.scheduler])
            self.address = json.loads(self.file.read_text())["address"]
            from distributed import Client

            with Client(self.address, timeout=30) as client:
                if n:
                    client.wait_for_workers(n, timeout=90)
        except BaseException:
            self.stop()
            raise

    def _add_worker(self) -> None:
        self.workers.append(subprocess.Popen([DASK, "worker", "--scheduler-file", str(self.file), "--nthreads", "1",
                                              "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name",
                                              f"w{len(self.workers)}"], **self.quiet))

    def ensure(self, n: int) -> None:
        """At least ``n`` live workers: a test that kills one of a shared cluster's workers leaves it one
        short, and this starts a replacement (none where the killing tests come after the others)."""
        alive = sum(proc.poll() is None for proc in self.workers)
        if alive >= n:
            return
        for _ in range(n - alive):
            self._add_worker()
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=90)

    def stop(self) -> None:
        """Kill the workers (one that trained a model takes 5-20 s to exit on SIGTERM: TensorFlow's
        teardown), then stop the scheduler."""
        for proc in self.workers:
            proc.kill()
        for proc in [*self.workers, self.scheduler]:
            if proc is self.scheduler and proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Ongoing:
    """A run in this process as ``wait_for``'s ``procs`` see one: ``poll()`` is None until it ended."""

    def __init__(self) -> None:
        self.ended = threading.Event()

    def poll(self) -> int | None:
        return 0 if self.ended.is_set() else None

    @property
    def returncode(self) -> int | None:  # what ``wait_for`` says of a process that ended
        return self.poll()

    def communicate(self) -> tuple[str, str]:
        return "(the run in this process)", ""


def run_while(args: list[str], action: Callable[[Ongoing], object], cluster: Cluster, timeout: float = 180) -> tuple:
    """``tunekit *args`` in this process (its main thread, where a run handles Ctrl-C) while
    ``action(run)`` runs in a thread (``wait_for(..., procs=[run])`` stops when the run ended): (the
    run's click result, what ``action`` returned). An action that fails, or a run that outlasts
    ``timeout``, kills the cluster's scheduler: the run then stops (lost scheduler) and the test
    fails with the action's error, instead of waiting for ever."""
    outcome: dict[str, object] = {}
    run = Ongoing()

    def act() -> None:
        try:
            outcome["value"] = action(run)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc
            cluster.scheduler.kill()
            return
        if not run.ended.wait(timeout):
            outcome["error"] = AssertionError(f"the run still going after {timeout} s")
            cluster.scheduler.kill()

    thread = threading.Thread(target=act, name="run_while", daemon=True)
    thread.start()
    try:
        result = invoke(*args)
    finally:
        run.ended.set()
        thread.join(60)
    if "error" in outcome:
        raise AssertionError(f"{outcome['error']!r}; the run: {result.exit_code} {result.output}") from outcome["error"]
    return result, outcome.get("value")
