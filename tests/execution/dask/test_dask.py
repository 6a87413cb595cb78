"""``run --dask``: a real ``dask scheduler`` and real ``dask worker`` processes on loopback, started
and stopped by the tests; the study database stays in the client (an SQLite file)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke, one_error_line
from tunekit._records import FAIL_REASON, budget
from tunekit.execution._dask import RECONNECT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workers"))
from workers_helpers import TUNEKIT, env, finish, start, trials, wait_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dask_helpers import NO_PROFILER, NO_PROFILER_CONFIG, Cluster, Ongoing, run_while  # noqa: E402

pytestmark = pytest.mark.slow
#: The connect bound in the tests that wait it out (the README's 10 s is ``CONNECT_TIMEOUT``'s default):
#: the same code path and message, a shorter wait.
SHORT_CONNECT = 3


@pytest.fixture(autouse=True)
def no_profiler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dask's profiler off in the workers of ``--dask local`` clusters
    too (``NO_PROFILER``): in a ``tunekit run`` process's environment, and in this process's Dask
    configuration, which a local cluster's workers inherit."""
    import dask
    import distributed  # noqa: F401  (its defaults in dask.config first: leaving ``set`` would drop them)

    for key, value in NO_PROFILER.items():
        monkeypatch.setenv(key, value)
    with dask.config.set(NO_PROFILER_CONFIG):
        yield


@pytest.fixture
def short_connect(monkeypatch: pytest.MonkeyPatch) -> int:
    """``CONNECT_TIMEOUT`` at ``SHORT_CONNECT`` seconds for this test (read by ``_probe`` and ``connect``
    when they run, in this process)."""
    import tunekit.execution._dask_cluster as connecting

    monkeypatch.setattr(connecting, "CONNECT_TIMEOUT", SHORT_CONNECT)
    return SHORT_CONNECT


def tunekit_lines(err: str) -> list[str]:
    """stderr without the "dask: N workers at ..." line and notes: what went wrong, and nothing else."""
    return [line for line in err.strip().splitlines() if not line.startswith(("dask: ", "note: "))]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The module's cluster of three workers, started once; the tests that kill one of its workers
    (``mortal``) come last in this file."""
    cluster = Cluster(tmp_path_factory.mktemp("dask3"), 3)
    yield cluster
    cluster.stop()


@pytest.fixture
def three(shared: Cluster) -> Cluster:
    """The shared cluster with three live workers (one that a test before this one killed, where the
    tests run in another order than this file's, is replaced)."""
    shared.ensure(3)
    return shared


@pytest.fixture
def mortal(shared: Cluster) -> Cluster:
    """The shared cluster for a test that kills one of its workers: two or more alive, so that the
    trials on the dead worker run again on another. In this file's order the first such test finds
    three and leaves two, the second leaves one; no worker is started again."""
    shared.ensure(2)
    return shared


def study_file(tmp_path: Path, name: str, epochs: int, space: str = "{'units': Int(4, 16), 'activation': "
               "Choice(['relu', 'tanh'])}") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text("from tunekit import StudySpec, Int, Choice, Float\n"
                    f"spec = StudySpec(data='iris', space={space}, fixed={{'n_layers': 1, 'batch_size': 8}}, "
                    f"epochs={epochs})\n")
    return path


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_trials_run_as_tasks_on_every_worker(three: Cluster, tmp_path: Path, database: str,
                                             request: pytest.FixtureRequest) -> None:
    db_url = request.getfixturevalue("db_url" if database == "sqlite" else "postgres_url")
    path = study_file(tmp_path, "spread", epochs=3)
    result = invoke("run", str(path), "--storage", db_url, "--trials", "6", "--workers", "3", "--strategy", "random",
                    "--dask", three.address)  # the client in this process: the trials run on the cluster's workers
    assert result.exit_code == 0, result.output
    assert f"workers at {three.address}; its dashboard:" in result.stderr
    done = trials(db_url, "spread")
    assert budget(done).counted == 6 and all(t.state == TrialState.COMPLETE for t in done)
    where = {t.user_attrs["worker"] for t in done}
    assert all(w.startswith("dask tcp://127.0.0.1:") for w in where) and len(where) >= 2, where
    assert all(t.user_attrs["epochs_run"] == 3 and t.intermediate_values for t in done)


def test_grid_on_three_workers_takes_every_point_once(three: Cluster, tmp_path: Path, db_url: str) -> None:
    path = study_file(tmp_path, "grid", epochs=1, space="{'units': Choice([4, 8]), 'activation': "
                      "Choice(['relu', 'tanh'])}")
    result = invoke("run", str(path), "--storage", db_url, "--trials", "20", "--workers", "3", "--strategy", "grid",
                    "--dask", three.address)
    assert result.exit_code == 0, result.output
    points = [tuple(sorted(t.params.items())) for t in trials(db_url, "grid") if t.state == TrialState.COMPLETE]
    assert len(points) == len(set(points)) == 4  # more points than workers: a second round claims the last


def test_fused_batches_run_as_one_task_each(three: Cluster, tmp_path: Path, db_url: str) -> None:
    """--dask with --fuse 4: each batch of 4 trials is one task, trained on one worker as one fused
    group (each member its own trial, curve and seed), no "trains unfused" note."""
    path = study_file(tmp_path, "fusedtasks", epochs=3)
    result = invoke("run", str(path), "--storage", db_url, "--trials", "8", "--workers", "2", "--strategy", "random",
                    "--fuse", "4", "--dask", three.address)
    assert result.exit_code == 0, result.output
    assert "unfused" not in result.stderr and "fused: 8 of 8 trials trained in 2 fused groups" in result.output
    done = trials(db_url, "fusedtasks")
    assert budget(done).counted == 8 and all(t.state == TrialState.COMPLETE for t in done)
    groups: dict[int, list] = {}
    for t in done:
        groups.setdefault(t.user_attrs["fused_group"], []).append(t)
    assert sorted(groups) == [0, 4], sorted(groups)
    for first, members in groups.items():
        assert sorted(t.user_attrs["fused_member"] for t in members) == [0, 1, 2, 3]
        assert len({t.user_attrs["worker"] for t in members}) == 1  # one task, one worker
        assert all(t.user_attrs["worker"].startswith("dask tcp://") for t in members)
    assert len({t.user_attrs["seed"] for t in done}) == 8 and all(len(t.intermediate_values) == 3 for t in done)


def test_pruning_happens_on_the_cluster(three: Cluster, tmp_path: Path, db_url: str) -> None:
    import tunekit
    from tunekit._spec import load_spec

    path = study_file(tmp_path, "prune", epochs=8, space="{'learning_rate': Choice([0.05, 1e-7]), "
                      "'units': Choice([4, 6, 8, 10, 12, 14])}")
    # 8 of the 12 grid points, in the order seed 0 draws them: 5 complete (the median pruner's
    # start-up), 2 of them at the useless learning rate; then 3 that the pruner judges
    study = tunekit.run(load_spec(path), strategy="grid", n_trials=8, storage=db_url, pruner="median",
                        dask=three.address, workers=1, seed=0)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, [(t.params, t.value) for t in study.trials]
    for t in pruned:  # stopped before the last epoch, on a worker, with the pruner's reason
        assert len(t.intermediate_values) < 8 and t.user_attrs["pruned_reason"].startswith("pruned at epoch")
        assert t.user_attrs["worker"].startswith("dask tcp://")


def test_a_lost_scheduler_stops_the_run_and_a_rerun_resumes(three: Cluster, tmp_path: Path, db_url: str) -> None:
    (tmp_path / "first").mkdir()
    cluster = Cluster(tmp_path / "first", 1)
    path = study_file(tmp_path, "gone", epochs=20)  # long enough to be seen running; the rerun trains 2 of them
    command = [*TUNEKIT, "run", str(path), "--storage", db_url, "--trials", "2", "--strategy", "random"]
    try:
        proc = start([*command, "--dask", cluster.address])
        wait_for("a running trial", lambda: [t for t in trials(db_url, "gone") if t.state == TrialState.RUNNING],
                 procs=[proc], timeout=120)
        os.kill(cluster.scheduler.pid, signal.SIGKILL)
        killed = time.monotonic()
        code, out, err = finish(proc)
        took = time.monotonic() - killed
    finally:
        cluster.stop()
    assert code == 1, err
    assert tunekit_lines(err) == [err.strip().splitlines()[-1]], err  # no Dask traceback before it
    assert err.strip().splitlines()[-1].startswith("error: lost the Dask scheduler")
    assert took < RECONNECT + 15, took  # the README's bound, and some time to close
    assert "run the same command again to resume" in err
    assert not [t for t in trials(db_url, "gone") if t.state == TrialState.RUNNING]  # interrupted, not counted
    resumed = invoke(*command[1:], "--dask", three.address)  # the rerun in this process, on another cluster
    assert resumed.exit_code == 0, resumed.output
    assert budget(trials(db_url, "gone")).counted == 2


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
    ("tcp://127.0.0.1:", "--dask 'tcp://127.0.0.1:' is not a scheduler address ("),
    ("127.0.0.1:8786", "is not a scheduler address; write tcp://HOST:8786 or local[:N]"),
    ("local:0", "write local or local:N with N >= 1"),
])
def test_a_bad_address_is_one_line_and_writes_nothing(tiny_study_file: Path, db_url: str, address: str,
                                                      message: str, short_connect: int) -> None:
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--trials", "2", "--dask", address)
    assert message in one_error_line(result)
    assert not Path(db_url.removeprefix("sqlite:///")).exists() or optuna.get_all_study_names(db_url) == []


@pytest.mark.parametrize("case, message", [
    ("no extra", "--dask slurm needs dask-jobqueue: pip install 'tunekit[cluster]'"),
    ("no configuration", "--dask slurm: the jobqueue configuration is incomplete (You must specify how much cores and memory per job"),
    ("no sbatch", "--dask slurm: sbatch is not on this machine's PATH; run tunekit where slurm jobs can be submitted"),
])
def test_a_jobqueue_cluster_that_cannot_start_is_one_line(tiny_study_file: Path, db_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, case: str, message: str) -> None:
    """dask-jobqueue (the `cluster` extra, installed for the tests): without it, with
    jobqueue.slurm left at its empty defaults, and on a machine that cannot submit jobs."""
    import dask

    if case == "no extra":
        monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # what `import dask_jobqueue` meets when absent
    settings = {} if case != "no sbatch" else {"jobqueue.slurm.cores": 1, "jobqueue.slurm.memory": "1GB"}
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{Path(sys.executable).parent}")  # no sbatch here
    with dask.config.set(settings):
        result = invoke("run", str(tiny_study_file), "--storage", db_url, "--trials", "2", "--dask", "slurm")
    assert message in one_error_line(result)
    assert result.exit_code == 2
    assert not Path(db_url.removeprefix("sqlite:///")).exists() or optuna.get_all_study_names(db_url) == []


def test_ctrl_c_cancels_the_tasks_and_a_rerun_resumes(three: Cluster, tmp_path: Path, db_url: str) -> None:
    # trials of some 2-3 s on an idle machine: the signal (sent as soon as one is claimed, acted on
    # within the client's 0.5 s poll) lands mid-trial, and the rerun's two trials stay short
    path = study_file(tmp_path, "stopped", epochs=100)
    command = [*TUNEKIT, "run", str(path), "--storage", db_url, "--trials", "2", "--workers", "2", "--strategy",
               "random", "--dask", three.address]
    proc = start(command)
    wait_for("a running trial", lambda: [t for t in trials(db_url, "stopped") if t.state == TrialState.RUNNING],
             procs=[proc], timeout=120)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    everything = trials(db_url, "stopped")
    assert not [t for t in everything if t.state == TrialState.RUNNING]
    assert all(t.user_attrs.get(FAIL_REASON) == "interrupted" for t in everything if t.state == TrialState.FAIL)
    resumed = invoke(*command[1:])  # the rerun in this process: it resumes from what the database holds
    assert resumed.exit_code == 0, resumed.output
    assert budget(trials(db_url, "stopped")).counted == 2


def test_workers_without_tunekit_are_one_line_and_write_nothing(tmp_path: Path, tiny_study_file: Path,
                                                                 db_url: str) -> None:
    """A worker whose Python cannot import tunekit: started without the site module (no .pth files,
    so not the editable install) and with only the virtualenv's site-packages on its path."""
    import site

    cluster = Cluster(tmp_path, 0)
    packages = [p for p in site.getsitepackages() if p.endswith("site-packages")][0]
    bare = subprocess.Popen([sys.executable, "-S", "-m", "distributed.cli.dask_worker", cluster.address, "--nthreads",
                             "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path,
                            env={**env(), "PYTHONPATH": packages}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster.workers.append(bare)
    try:
        from distributed import Client

        with Client(cluster.address, timeout=30) as client:
            client.wait_for_workers(1, timeout=90)
        result = invoke("run", str(tiny_study_file), "--storage", db_url, "--trials", "2", "--dask", cluster.address)
    finally:
        cluster.stop()
    line = one_error_line(result)
    assert f"Dask at {cluster.address}: workers tcp://127.0.0.1:" in line and "cannot import tunekit" in line
    assert not Path(db_url.removeprefix("sqlite:///")).exists() or optuna.get_all_study_names(db_url) == []


def test_a_parameter_first_met_on_a_worker_joins_the_study_space(three: Cluster, tmp_path: Path, db_url: str,
                                                                 capfd: pytest.CaptureFixture) -> None:
    """A keras-tuner HyperModel whose fit asks for the batch size: met on the Dask worker, it is
    stored with each trial and in the study's ``space_added``, as on a local run."""
    pytest.importorskip("keras_tuner")
    import tunekit
    from tunekit._spec import load_spec

    path = tmp_path / "conv.py"
    path.write_text(
        "import keras\nimport keras_tuner as kt\nfrom tunekit import StudySpec\n\n\n"
        "class Small(kt.HyperModel):\n"
        "    def build(self, hp):\n"
        "        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int('units', 4, 8, step=4)),\n"
        "                                  keras.layers.Dense(3, activation='softmax')])\n"
        "        model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "        return model\n\n"
        "    def fit(self, hp, model, *args, **kwargs):\n"
        "        return model.fit(*args, batch_size=hp.Choice('batch_size', [8, 16]), **kwargs)\n\n\n"
        "spec = StudySpec(data='iris', hypermodel=Small(), epochs=2)\n")
    study = tunekit.run(load_spec(path), strategy="random", n_trials=3, storage=db_url, dask=three.address,
                        workers=2, seed=0)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3 and all(t.params["batch_size"] in (8, 16) for t in done)
    assert all(t.user_attrs["worker"].startswith("dask tcp://") for t in done)
    assert json.loads(study.user_attrs["space_added"]) == {"batch_size": {"type": "choice", "values": [8, 16],
                                                                         "when": None}}
    assert capfd.readouterr().err.count("(on a Dask worker) asked for 'batch_size'") == 1


def test_something_that_is_not_dask_at_the_address_is_one_line_within_the_bound(tiny_study_file: Path, db_url: str,
                                                                                 short_connect: int) -> None:
    """A real TCP listener on loopback that accepts and never answers (Dask's handshake alone would
    wait minutes): one line, exit 2, within CONNECT_TIMEOUT (here ``short_connect``), nothing written."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        began = time.monotonic()
        result = invoke("run", str(tiny_study_file), "--storage", db_url, "--trials", "2", "--dask", address)
        took = time.monotonic() - began
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert f"cannot reach the Dask scheduler at {address} (no answer within {short_connect} s)" in one_error_line(result)
    assert accepted and took < short_connect + 10, took
    assert not Path(db_url.removeprefix("sqlite:///")).exists() or optuna.get_all_study_names(db_url) == []


def test_ctrl_c_on_a_local_cluster_is_one_line(tmp_path: Path, db_url: str) -> None:
    """--dask local:2 without --workers: 2 trials at a time (both running at once), and the first
    line says so. Ctrl-C in a terminal reaches the whole process group, the local cluster's workers
    with it: exit 130 with tunekit's one line, no worker's traceback, each trial marked interrupted."""
    path = study_file(tmp_path, "ctrlc", epochs=600)
    proc = start([*TUNEKIT, "run", str(path), "--storage", db_url, "--trials", "2", "--strategy", "random",
                  "--dask", "local:2"], start_new_session=True)

    def both_running() -> bool:  # one trial at a time would leave the second unclaimed for 600 epochs
        return len([t for t in trials(db_url, "ctrlc") if t.state == TrialState.RUNNING]) == 2

    wait_for("two running trials", both_running, procs=[proc], timeout=120)
    time.sleep(1)  # the tasks have reached the workers
    os.killpg(proc.pid, signal.SIGINT)
    pressed = time.monotonic()
    code, _, err = finish(proc)
    assert code == 130, err
    assert "2 trials at a time (one per worker; --workers N to change)" in err
    assert "Traceback" not in err and tunekit_lines(err) == ["interrupted: run the same command to resume"], err
    assert time.monotonic() - pressed < 30
    assert [t.user_attrs.get(FAIL_REASON) for t in trials(db_url, "ctrlc")] == ["interrupted", "interrupted"]


HYPERMODEL = """import keras
import keras_tuner as kt
from tunekit import StudySpec


class Small(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int('units', 4, 8, step=4)),
                                  keras.layers.Dense(3, activation='softmax')])
        model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Int('batch_size', 4, 120), **kwargs)


spec = StudySpec(data='iris', hypermodel=Small(), epochs=1)
"""


def test_a_parameter_met_on_a_worker_is_drawn_by_the_study_strategy_and_seed(tmp_path: Path, db_url: str,
                                                                             capfd: pytest.CaptureFixture) -> None:
    """The batch size, first asked for in HyperModel.fit on a local cluster's worker: the random
    strategy draws exactly what it draws in a local run with the same seed (the first trial on the
    worker, the next ones on the client before dispatch), not a draw seeded by the trial number
    alone; and the note, printed once, says what happens. The Dask run also writes TensorBoard: the
    trials train on the cluster and the process that called ``run`` writes each one's events."""
    pytest.importorskip("keras_tuner")
    pytest.importorskip("tensorboard")
    import tunekit
    from tunekit._spec import load_spec

    path = tmp_path / "fitted.py"
    path.write_text(HYPERMODEL)
    sizes, err, board = {}, "", tmp_path / "tb"
    for where in ("dask", "local"):
        study = tunekit.run(load_spec(path), strategy="random", n_trials=3, storage=f"{db_url}.{where}", seed=11,
                            workers=1, study_name=where, dask="local:1" if where == "dask" else None,
                            tensorboard=str(board) if where == "dask" else None)
        sizes[where] = [t.params["batch_size"] for t in sorted(study.trials, key=lambda t: t.number)]
        err = err or capfd.readouterr().err  # the Dask run's: its worker's stderr is this process's
        if where == "dask":
            assert all(t.user_attrs["worker"].startswith("dask") for t in study.trials)  # trained on the cluster
    assert sizes["dask"] == sizes["local"], sizes
    assert err.count("asked for 'batch_size'") == 1 and "trial 0 (on a Dask worker) asked for 'batch_size'" in err, err
    assert "from now on this process draws it with the study's strategy before each task" in err
    assert sorted(p.name for p in board.iterdir() if p.is_dir()) == ["trial-0000", "trial-0001", "trial-0002"]
    assert all(any(p.name.startswith("events.out.tfevents.") for p in (board / f"trial-000{n}").iterdir())
               for n in range(3))


def test_a_killed_worker_loses_no_finished_trial(mortal: Cluster, tmp_path: Path, db_url: str) -> None:
    """--fuse 2 on 2 workers' trials at a time, 3 trials: a task of trials 0 and 1 (one fused batch)
    and one of trial 2. The worker running the batch dies: the trials of its tasks fail ``worker
    lost`` and are retried once with their parameters; a task on another worker is not touched.
    (Dask may queue both tasks on one worker, 2 slots per 1-thread worker: then all three are lost.)"""
    # a fused pair of iris members trains an epoch in ~5 ms when idle (the lone trial 2, unfused, in ~30 ms):
    # 450 epochs leave the kill a few seconds (300 left it 1.6 s, and once in CI the batch ended first)
    path = study_file(tmp_path, "killed", epochs=450)

    def on(keys) -> set[int]:  # a task's key names its first trial: tunekit-killed-<first>-<ns>
        firsts = {int(str(k).split("-")[2]) for k in keys if str(k).startswith("tunekit-killed-")}
        return {n for f in firsts for n in ((0, 1) if f == 0 else (f,))}

    def kill_the_batch_worker(run: Ongoing) -> set[int]:  # in a thread; the run (not what is tested) here
        from distributed import Client

        def three_running():
            return len([t for t in trials(db_url, "killed") if t.state == TrialState.RUNNING]) == 3

        wait_for("three running trials", three_running, procs=[run], timeout=120)
        with Client(mortal.address, timeout=30, set_as_default=False) as client:
            def batch_worker():  # the worker executing the batch's task (a task can wait on a busy worker)
                executing = client.run(lambda dask_worker: [str(t.key) for t in dask_worker.state.executing])
                return next((w for w, keys in executing.items() if 0 in on(keys)), None)

            def apart():  # both tasks seen, each on its own worker (what Dask does on an idle cluster)
                return sorted(len(on(keys)) for keys in client.processing().values() if on(keys)) == [1, 2]

            wait_for("the batch's task running on a worker", batch_worker, procs=[run], timeout=60)
            deadline = time.monotonic() + 0.5  # the fused pair's epochs take ~5 ms: the kill comes at once
            while not apart() and time.monotonic() < deadline:
                time.sleep(0.05)
            # what the batch's worker holds, in one reading of the scheduler's, just before it dies: a
            # running task stays on its worker (only a waiting one can move), so the worker is found again
            worker, held = wait_for("the batch's task on its worker", lambda: next(
                ((w, on(keys)) for w, keys in client.processing().items() if 0 in on(keys)), None), procs=[run],
                timeout=60)
            os.kill(client.run(os.getpid)[worker], signal.SIGKILL)
            return held

    trials(db_url, "killed")  # the database's tables made here: the thread's polls never race the run to it
    result, held = run_while(["run", str(path), "--storage", db_url, "--trials", "3", "--workers", "2",
                              "--strategy", "random", "--fuse", "2", "--dask", mortal.address],
                             kill_the_batch_worker, mortal)
    out = result.output
    assert result.exit_code == 0, out
    everything = trials(db_url, "killed")
    assert budget(everything).counted == 3
    lost = [t for t in everything if str(t.user_attrs.get(FAIL_REASON, "")).startswith("worker lost (dask worker")]
    assert {0, 1} <= held and sorted(t.number for t in lost) == sorted(held), (
        held, [(t.number, t.state, t.user_attrs.get(FAIL_REASON)) for t in everything])
    for gone in lost:
        retry = [t for t in everything if gone.number in t.system_attrs.get("retry_history", [])]
        assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE and retry[0].params == gone.params
    for kept in (t for t in everything if t.number < 3 and t.number not in held):  # the other worker's task
        assert kept.state == TrialState.COMPLETE and not kept.system_attrs.get("retry_history")
    if held == {0, 1}:
        assert "fused: 2 of 3 trials trained in 1 fused group" in out, out  # the two retries, again one batch


def test_a_recorded_trial_is_not_computed_again_when_its_worker_dies(mortal: Cluster, tmp_path: Path,
                                                                     db_url: str) -> None:
    """The worker that ran trial 0 dies while trial 1 runs: Dask must not run trial 0's task again
    (the client let go of its result once recorded)."""
    from distributed import Client

    path = study_file(tmp_path, "again", epochs=20)

    def kill_trial_0s_worker(run: Ongoing) -> None:  # in a thread; the run (not what is tested) here
        def first_recorded():
            done = {t.number: t for t in trials(db_url, "again")}
            return done.get(1) is not None and done[0].state == TrialState.COMPLETE and done[0]

        first = wait_for("trial 0 recorded, trial 1 running", first_recorded, procs=[run], timeout=180)
        with Client(mortal.address, timeout=30, set_as_default=False) as client:
            pids = client.run(os.getpid)
            os.kill(pids[first.user_attrs["worker"].removeprefix("dask ")], signal.SIGKILL)

    trials(db_url, "again")  # the database's tables made here: the thread's polls never race the run to it
    result, _ = run_while(["run", str(path), "--storage", db_url, "--trials", "2", "--workers", "1", "--strategy",
                           "random", "--dask", mortal.address], kill_trial_0s_worker, mortal)
    assert result.exit_code == 0, result.output
    with Client(mortal.address, timeout=30, set_as_default=False) as client:
        starts = client.run_on_scheduler(lambda dask_scheduler: [
            str(t[0]) for t in dask_scheduler.transition_log if t[2] == "processing"])
    assert len([k for k in starts if k.startswith("tunekit-again-0-")]) == 1, starts
    assert budget(trials(db_url, "again")).counted == 2
