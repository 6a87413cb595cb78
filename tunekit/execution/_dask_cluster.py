"""``run --dask ADDRESS``: connecting to the cluster (``connect``), before the study database is touched.

``local[:N]`` starts a ``LocalCluster`` whose workers (forked from tunekit's fork server where it
forks: ``_forked_workers``) leave Ctrl-C to this process; ``slurm``
(pbs, sge, lsf) a dask-jobqueue cluster; an address is asked who it is within
``CONNECT_TIMEOUT`` seconds (``_probe``) before Dask's own client connects. Every failure is one
line (ConfigError, exit 2). ``quiet_dask`` keeps Dask's log lines out of a run's output.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from typing import Any, Callable

from tunekit._errors import ConfigError
from tunekit.execution._trial import one_line

#: Seconds to wait for a scheduler to answer before the address is called unreachable.
CONNECT_TIMEOUT = 10
#: Seconds ``--dask slurm`` (pbs, sge, lsf) waits for the first batch job's worker.
JOB_WAIT = 600


#: Evaluated on every worker before the run: whether it can import tunekit.
_CAN_IMPORT = "__import__('importlib.util').util.find_spec('tunekit') is not None"
#: Run in each ``--dask local`` worker process as it starts (a Dask preload, given as code): a
#: Ctrl-C reaches the whole process group, and the client, not the worker, acts on it. A worker
#: forked from the fork server starts with SIGINT and SIGTERM blocked (``ensure_server``): unblocked
#: here, so that the cluster can stop it (SIGTERM).
_IGNORE_SIGINT = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                  "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})\n")
#: Dask's loggers in this process: its tracebacks on a lost scheduler would bury tunekit's one line.
_DASK_LOGGERS = ("distributed", "tornado")


def quiet_dask() -> Callable[[], None]:
    """Silence Dask's loggers in this process for a run; returns the function that restores them."""
    try:
        import distributed  # noqa: F401 - its logging set up first: it gives child loggers levels of their own
    except ImportError:  # connect says what to install
        return lambda: None

    names = [n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in _DASK_LOGGERS]
    previous = {name: logging.getLogger(name).level for name in {*_DASK_LOGGERS, *names}}
    for name in previous:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)

    def restore() -> None:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)

    return restore


def _probe(address: str) -> None:
    """Ask ``address`` who it is, within ``CONNECT_TIMEOUT`` seconds in all (Dask's own connect can
    wait minutes on a listener that never answers its handshake); ConfigError, one line, unless a
    Dask scheduler answers."""
    import asyncio
    import threading

    from distributed.comm import connect as open_comm

    async def identity() -> Any:
        comm = await open_comm(address, timeout=CONNECT_TIMEOUT)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome: dict[str, Any] = {}

    def ask() -> None:  # a thread of its own: this thread may already run an event loop (a notebook)
        try:
            outcome["answer"] = asyncio.run(asyncio.wait_for(identity(), CONNECT_TIMEOUT))
        except BaseException as exc:  # noqa: BLE001 - reported below as one line
            outcome["error"] = exc

    thread = threading.Thread(target=ask, name="tunekit-dask-probe", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5)
    error, answer = outcome.get("error"), outcome.get("answer")
    if isinstance(error, ValueError):
        raise ConfigError(f"--dask {address!r} is not a scheduler address ({one_line(error)}); write tcp://HOST:8786 "
                          "or local[:N]") from None
    if thread.is_alive() or isinstance(error, (OSError, TimeoutError)):
        why = f"no answer within {CONNECT_TIMEOUT} s" if thread.is_alive() or isinstance(error, TimeoutError) \
            else type(error).__name__
        raise ConfigError(f"cannot reach the Dask scheduler at {address} ({why}); start one (dask scheduler) or "
                          "pass --dask local") from None
    if error is not None or not isinstance(answer, dict) or "type" not in answer:
        raise ConfigError(f"what listens at {address} is not a Dask scheduler; pass the address `dask scheduler` "
                          "prints (tcp://HOST:8786) or --dask local") from None
    if answer["type"] == "Worker":
        raise ConfigError(f"{address} is a Dask worker, not its scheduler; pass the scheduler's address") from None


def is_local(address: str) -> bool:
    """``local`` or ``local:N``: a ``LocalCluster`` that ``connect`` starts on this machine."""
    return address == "local" or address.startswith("local:")


def spawns_here(address: str) -> bool:
    """Whether ``connect(address)`` starts worker processes that import this process's main module
    again: a ``LocalCluster`` that spawns them (Dask's default; one configured to fork does not)."""
    if not is_local(address):
        return False
    try:
        import dask
    except ImportError:  # connect says so
        return False
    return dask.config.get("distributed.worker.multiprocessing-method", "spawn") != "fork"


def _forked_workers() -> dict[str, str]:
    """The Dask setting that forks a local cluster's workers from tunekit's fork server (TensorFlow
    imported there once, as for ``run --workers``: ``context``), where workers would be spawned
    (Dask's default) and tunekit forks its own; {} where Dask is set otherwise, or tunekit spawns
    (off Linux, ``TUNEKIT_WORKER_START=spawn``, other ``TF_*`` settings than the server's)."""
    import dask

    from tunekit.execution._forkserver import context, ensure_server

    ctx = context()
    if dask.config.get("distributed.worker.multiprocessing-method", "spawn") != "spawn" or (
            ctx.get_start_method() != "forkserver"):
        return {}
    ensure_server(ctx)  # started now, with tunekit's preload: Dask would start it with its own
    return {"distributed.worker.multiprocessing-method": "forkserver"}


def connect(address: str, n_workers: int | None) -> tuple[Any, Any]:
    """(client, cluster or None) for ``--dask ADDRESS``: ``local`` or ``local:N`` starts a
    ``LocalCluster`` (N processes, one thread each; default ``n_workers`` or 1); ``slurm``, ``pbs``,
    ``sge`` or ``lsf`` a dask-jobqueue cluster of ``n_workers`` (or 1) batch jobs; else the scheduler at
    ``ADDRESS`` (``tcp://host:8786``). ConfigError, one line, when it cannot be reached or its
    workers cannot import tunekit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--dask needs Dask: pip install 'dask[distributed]'") from None
    cluster = None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by a local cluster's worker processes
    if is_local(address):
        count = address.partition(":")[2]
        if count and (not count.isdigit() or int(count) < 1):
            raise ConfigError(f"--dask {address}: write local or local:N with N >= 1 worker processes")
        import dask

        # allowed-failures 0: a dead worker takes our retry path, once. The worker's statistical
        # profiler (a stack sample every 10 ms) competes with Keras' Python loop for the GIL. The
        # active memory manager would keep one copy of the scattered plan (the data set), not one a worker.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0, "distributed.worker.profile.enabled": False,
                              "distributed.scheduler.active-memory-manager.start": False, **_forked_workers()}):
            cluster = LocalCluster(n_workers=int(count or n_workers or 1), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=50, preload=[_IGNORE_SIGINT],
                                   env=dict(os.environ))  # a forked worker's is the server's: this one's now
        client = Client(cluster)
    elif address in JOBQUEUES:
        cluster = _jobqueue(address, n_workers or 1)
        client = Client(cluster)
        try:
            client.wait_for_workers(1, timeout=JOB_WAIT)
        except TimeoutError:
            client.close()
            cluster.close()
            raise ConfigError(f"--dask {address}: no worker job started within {JOB_WAIT // 60} minutes; see the "
                              "queue (squeue, qstat, bjobs) and the jobs' logs") from None
    else:
        if "://" not in address:
            raise ConfigError(f"--dask {address!r} is not a scheduler address; write tcp://HOST:8786 or local[:N]")
        _probe(address)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}); start one "
                              "(dask scheduler) or pass --dask local") from None
    try:
        answers = client.run(eval, _CAN_IMPORT)  # a builtin: a worker without tunekit can still run it
    except Exception as exc:  # noqa: BLE001 - a worker that cannot even run the check
        client.close()
        raise ConfigError(f"the Dask workers at {address} cannot run tunekit's check ({exc})") from None
    missing = sorted(w for w, ok in answers.items() if not ok)
    if missing or not answers:
        client.close()
        if cluster is not None:
            cluster.close()
        what = f"workers {', '.join(missing)} cannot import tunekit" if missing else "the cluster has no worker"
        raise ConfigError(f"Dask at {address}: {what}; install tunekit in the workers' environment and start them")
    return client, cluster


#: ``--dask NAME`` -> the dask-jobqueue cluster class that submits the workers as batch jobs.
JOBQUEUES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}


def _jobqueue(name: str, n_workers: int) -> Any:
    """A dask-jobqueue cluster configured the ecosystem's way (``~/.config/dask/jobqueue.yaml``, or the
    file ``DASK_CONFIG`` points to), scaled to ``n_workers`` workers."""
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"--dask {name} needs dask-jobqueue: pip install 'tunekit[cluster]'") from None
    kind = getattr(dask_jobqueue, JOBQUEUES[name])
    try:
        cluster = kind()
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"--dask {name}: the jobqueue configuration is incomplete ({' '.join(str(exc).split())}); fill in "
                          f"jobqueue.{name} in ~/.config/dask/jobqueue.yaml") from None
    submit = kind.job_cls.submit_command
    if shutil.which(submit) is None:  # else every job submission fails in the background and we wait
        cluster.close()
        raise ConfigError(f"--dask {name}: {submit} is not on this machine's PATH; run tunekit where {name} jobs "
                          f"can be submitted (the cluster's login node)")
    cluster.scale(n_workers)
    print(f"dask: asked {name} for {n_workers} worker job(s); waiting for the first to start", file=sys.stderr,
          flush=True)
    return cluster


def announce(client: Any, asked: int | None) -> int:
    """Print where the cluster is and how many trials run on it at once: ``asked`` (``--workers``)
    when given, else one per worker it has now. That number."""
    info = client.scheduler_info()
    count = int(info.get("n_workers", len(info.get("workers", {}))))
    cap = asked or max(count, 1)
    why = "--workers" if asked else "one per worker; --workers N to change"
    print(f"dask: {count} workers at {client.scheduler.address}; its dashboard: {client.dashboard_link}; {cap} "
          f"trial{'s' if cap > 1 else ''} at a time ({why})", file=sys.stderr, flush=True)
    return cap
