"""The dashboard on a real tiny study: every record in its JSON API, and the page in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import TINY_STUDY, invoke

pytestmark = pytest.mark.slow  # a real tiny run (iris, 2 epochs)
TUNEKIT = Path(sys.executable).parent / "tunekit"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Every trial's loss explodes: the runner stores the reason as fail_reason.
BROKEN = """
from tunekit import StudySpec, Int
spec = StudySpec(data='iris', space={'units': Int(4, 8)},
                 fixed={'n_layers': 1, 'optimizer': 'sgd', 'learning_rate': 1e12}, epochs=2)
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the real tiny study (3 trials) and a study whose only trial failed."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'study.db'}"
    for name, text, trials in (("tiny", TINY_STUDY, "3"), ("broken", BROKEN, "1")):
        (folder / f"{name}.py").write_text(text)
        result = invoke("run", str(folder / f"{name}.py"), "--strategy", "random", "--trials", trials,
                        "--storage", url, "-q")
        if name == "broken":  # `run` exits 1 when no trial completed (a script can tell)
            assert result.exit_code == 1 and "error: no trial completed" in result.output, result.output
        else:
            assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module")
def dashboard(ran: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tunekit dashboard` as a real process on a free port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TUNEKIT_STORAGE", None)
    proc = subprocess.Popen([str(TUNEKIT), "dashboard", "--storage", ran, "--port", str(port)],
                            cwd=tmp_path_factory.mktemp("dash-cwd"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        assert url in line, (line, proc.poll())
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "api/meta", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "dashboard did not answer"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


def study_ids(base: str) -> dict[str, int]:
    return {s["study_name"]: s["study_id"] for s in get(base + "api/studies")["study_summaries"]}


def test_api_shows_everything_tunekit_records(dashboard: str) -> None:
    ids = study_ids(dashboard)
    assert set(ids) == {"tiny", "broken"}
    tiny = get(f"{dashboard}api/studies/{ids['tiny']}")
    study_attrs = {a["key"]: a["value"] for a in tiny["user_attrs"]}
    for key in ("space", "data", "dataset", "task", "metric", "direction", "strategy", "seed", "epochs", "fixed", "tunekit_version"):
        assert key in study_attrs, key
    assert study_attrs["data"] == "iris" and study_attrs["strategy"] == "random"
    assert '"learning_rate"' in study_attrs["space"]
    trials = tiny["trials"]
    assert len(trials) == 3
    for trial in trials:
        assert {p["name"] for p in trial["params"]} == {"units", "learning_rate", "activation"}
        assert [v["step"] for v in trial["intermediate_values"]] == [0, 1]  # the per-epoch curve
        attrs = {a["key"] for a in trial["user_attrs"]}
        assert {"val_accuracy", "val_loss", "train_loss", "epochs_run", "train_seconds", "param_count", "seed"} <= attrs
        health = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert health["health"] in ("ok", "vanishing", "dead", "saturated", "symmetric", "stalled", "exploding")
        assert '"grad_norm"' in health["health_series"]  # the per-layer figures, as JSON text
    broken = get(f"{dashboard}api/studies/{ids['broken']}")
    [failed] = broken["trials"]
    assert failed["state"] == "Fail"
    attrs = {a["key"]: a["value"] for a in failed["user_attrs"]}
    assert "loss became" in attrs["fail_reason"]
    assert attrs["health"] == "exploding" and "learning_rate" in attrs["health_reason"]


@pytest.mark.browser
def test_browser_shows_the_study(dashboard: str, chromium_path: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ids = study_ids(dashboard)
    shot = tmp_path / "dashboard.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{dashboard}dashboard/studies/{ids['tiny']}")
            page.get_by_text("tiny (id=").first.wait_for()  # the React app rendered the study
            page.get_by_text("learning_rate").first.wait_for()  # the parameter, e.g. in the importances
            page.get_by_text("Intermediate values").first.wait_for()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shot), full_page=True)
            body = page.inner_text("body")
            assert "tiny" in body and "learning_rate" in body and "Study User Attributes" in body

            page.goto(f"{dashboard}dashboard/studies/{ids['tiny']}/trials")
            page.get_by_text("3 Trials").wait_for()  # the number of trials
            assert "val_accuracy" in page.inner_text("body")  # user attributes of the selected trial

            page.goto(f"{dashboard}dashboard/studies/{ids['broken']}/trials")
            page.get_by_text("fail_reason").first.wait_for()
            body = page.inner_text("body")
            assert "loss became" in body
            assert "health_reason" in body and "exploding" in body  # why it failed, in the dashboard
        finally:
            browser.close()
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 1400 and height >= 900
    if os.environ.get("TUNEKIT_SCREENSHOT_DIR"):  # refresh the README's image: TUNEKIT_SCREENSHOT_DIR=docs/img
        shutil.copy(shot, Path(os.environ["TUNEKIT_SCREENSHOT_DIR"]) / "dashboard.png")
