"""`tunekit dashboard`: storage checks, bind errors and the no-authentication warning (no training)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit.report import dashboard_url, is_loopback, make_server

TUNEKIT = Path(sys.executable).parent / "tunekit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def study_db(db_url: str) -> str:
    """A study database with one study (no training needed to test the server)."""
    study = optuna.create_study(study_name="demo", storage=db_url, direction="maximize")
    study.set_user_attr("metric", "val_accuracy")
    study.add_trial(optuna.trial.create_trial(
        params={"units": 8}, distributions={"units": optuna.distributions.IntDistribution(4, 16)},
        value=0.9, intermediate_values={0: 0.8, 1: 0.9}, user_attrs={"train_seconds": 1.5},
    ))
    return db_url


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    line = one_error_line(invoke("dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}"))
    assert "no study database at" in line and "tunekit run" in line
    assert not (tmp_path / "none.db").exists()


def test_empty_file_and_foreign_database(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    line = one_error_line(invoke("dashboard", "--storage", f"sqlite:///{tmp_path / 'empty.db'}"))
    assert "empty file, not a study database" in line
    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE things (a)")
    con.commit()
    con.close()
    line = one_error_line(invoke("dashboard", "--storage", f"sqlite:///{tmp_path / 'other.db'}"))
    assert "not an Optuna study database" in line


def test_database_without_studies(db_url: str) -> None:
    optuna.storages.RDBStorage(db_url)  # Optuna's tables, no study
    line = one_error_line(invoke("dashboard", "--storage", db_url))
    assert "has no studies yet" in line


def test_port_in_use(study_db: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error_line(invoke("dashboard", "--storage", study_db, "--port", str(port)))
    assert line == f"error: port {port} on 127.0.0.1 is already in use (another dashboard?); pick another with --port"


def test_address_not_on_this_machine(study_db: str) -> None:
    line = one_error_line(invoke("dashboard", "--storage", study_db, "--host", "203.0.113.7", "--port", str(free_port())))
    assert "cannot listen on 203.0.113.7:" in line


def test_loopback_detection_and_urls() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "::", "example.org"))
    assert dashboard_url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert dashboard_url("::1", 8080) == "http://[::1]:8080/"


def test_in_process_server_serves_the_study_api(study_db: str) -> None:
    server = make_server(storage=study_db, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10) as resp:
            names = [s["study_name"] for s in json.load(resp)["study_summaries"]]
        assert names == ["demo"]
    finally:
        server.shutdown()
        server.server_close()


def test_other_address_warns_no_authentication(study_db: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([str(TUNEKIT), "dashboard", "--storage", study_db, "--host", "0.0.0.0", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url_line = proc.stdout.readline()  # printed once the port is bound
        assert f":{port}/" in url_line and "optuna-dashboard on" in url_line
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warning: the dashboard has no authentication" in err
