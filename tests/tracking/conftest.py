"""A real MLflow tracking server (SQLite back end) on a free loopback port, started and stopped
here; its tests skip without MLflow, and fail in CI (TUNEKIT_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import need_service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real ``mlflow server`` (SQLite back end, artifacts in a temporary folder)."""
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    need_service("MLflow", exe is not None, "pip install 'tunekit[mlflow]' (make install does)")
    folder = tmp_path_factory.mktemp("mlflow")
    url = f"http://127.0.0.1:{(port := _free_port())}"
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen(
        [str(exe), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination",
         str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    try:
        deadline = time.monotonic() + 90
        while not _answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "server.log").read_text(errors="replace")[-600:]
                need_service("an MLflow server", False, f"`mlflow server` did not answer on {url}: {tail}")
            time.sleep(0.3)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker, started here
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on which nothing listens (an unreachable MLflow server)."""
    return f"http://127.0.0.1:{_free_port()}"
