"""Issue 13, "shown where users look": ``tunekit health`` and the ``health`` column of ``tunekit
trials``, on a real study (``health_db``) and on studies without health figures."""

from __future__ import annotations

import json

import pytest

from tests.conftest import invoke, one_error_line

pytestmark = pytest.mark.slow


def health(url: str, *args: str) -> list[str]:
    result = invoke("health", *args, "--storage", url)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_health_counts_the_diagnoses_and_lists_the_unhealthy_trials(health_db: str) -> None:
    lines = health(health_db, "h")
    assert lines[0] == "study 'h': 8 of 8 trials probed for training health"
    counts = {line.split()[0]: (int(line.split()[1]), line.split()[2]) for line in lines[2:5]}
    assert counts == {"ok": (3, "38%"), "symmetric": (4, "50%"), "vanishing": (1, "12%")}
    assert lines[5] == "unhealthy trials (5):"
    rows = [line.split(maxsplit=4) for line in lines[7:12]]
    assert [r[2] for r in rows].count("symmetric") == 4 and [r[2] for r in rows].count("vanishing") == 1
    assert all(r[3] == "dense_0" for r in rows)
    vanishing = next(r for r in rows if r[2] == "vanishing")
    assert "gradient norm" in vanishing[4] and "rule: below 0.001" in vanishing[4]
    assert lines[-2].startswith("best trial ") and lines[-2].endswith(": ok")
    assert lines[-1].startswith(f"see one trial's layers: tunekit health h --storage {health_db} --trial N")


def test_health_of_one_trial_shows_its_layers_and_diagnosis(health_db: str) -> None:
    summary = json.loads(invoke("health", "h", "--storage", health_db, "--json").output)
    number = next(t["trial"] for t in summary["unhealthy"] if t["diagnosis"] == "vanishing")
    lines = health(health_db, "h", "--trial", str(number))
    assert lines[0].startswith(f"study 'h', trial {number} (complete, val_accuracy ")
    assert "layers at epoch 3" in lines[0]
    assert lines[1].split() == ["layer", "activation", "units", "grad", "norm", "weight", "norm", "update", "ratio",
                                "dead", "saturated", "symmetric"]
    layers = [line.split() for line in lines[2:11]]
    assert [r[0] for r in layers] == [f"dense_{i}" for i in range(8)] + ["output"]
    assert [r[1] for r in layers] == ["sigmoid"] * 8 + ["softmax"]
    assert [r[2] for r in layers] == ["64"] * 8 + ["10"]
    assert float(layers[0][3]) < 1e-3 * float(layers[-1][3])  # the first layer's gradient vanished
    assert layers[0][6] == "-"  # no dead share for sigmoid
    assert lines[11].startswith("probe batch loss: ") and "training loss" in lines[11]
    assert lines[12].startswith("diagnosis: vanishing (dense_0): dense_0's gradient norm is")


def test_health_best_trial_and_json(health_db: str) -> None:
    report = json.loads(invoke("health", "h", "--storage", health_db, "--trial", "best", "--json").output)
    assert report["diagnosis"] == "ok" and report["layer"] is None and report["state"] == "complete"
    assert report["epoch"] == 3 and report["epochs"] == [0, 1, 3] and len(report["loss"]) == 3
    assert report["layers"][-1]["layer"] == "output" and report["layers"][0]["symmetric"] is False
    assert isinstance(report["layers"][0]["grad_norm"], float)
    summary = json.loads(invoke("health", "h", "--storage", health_db, "--json").output)
    assert summary["counts"] == {"ok": 3, "symmetric": 4, "vanishing": 1}
    assert summary["best"] == {"trial": report["trial"], "diagnosis": "ok"}


def test_a_pruned_unhealthy_trial_shows_why_it_was_pruned(health_db: str) -> None:
    lines = health(health_db, "mixed")
    assert lines[0] == "study 'mixed': 1 of 2 trials probed for training health"
    assert any(line.split()[:3] == ["not", "probed", "1"] for line in lines)
    assert any(line.split()[1:3] == ["pruned", "symmetric"] for line in lines)
    trial = health(health_db, "mixed", "--trial", "0")
    assert trial[0].startswith("study 'mixed', trial 0 (pruned): layers at epoch 3")
    assert trial[-1].startswith("pruned: unhealthy at epoch 1: symmetric: all 64 units")


@pytest.mark.parametrize("args, expected", [
    (("nope",), "no study named 'nope'"),
    (("h", "--trial", "99"), "study 'h' has no trial 99: trial numbers are 0 to 7"),
    (("h", "--trial", "first"), "--trial must be a trial number or 'best', got 'first'"),
    (("plain",), "no trial of study 'plain' has health figures: the study ran with --no-health"),
    (("plain", "--trial", "1"), "trial 1 of study 'plain' (complete) has no health figures: the study ran with --no-health"),
    (("plain", "--trial", "best"), "trial 1 of study 'plain' (complete) has no health figures"),
    (("mixed", "--trial", "1"), "trial 1 of study 'mixed' (complete) has no health figures"),
])
def test_bad_input_is_one_error_line(health_db: str, args: tuple[str, ...], expected: str) -> None:
    line = one_error_line(invoke("health", *args, "--storage", health_db))
    assert expected in line


def test_trials_shows_the_diagnosis_and_a_dash_when_not_probed(health_db: str) -> None:
    rows = [line.split() for line in invoke("trials", "h", "--storage", health_db).output.splitlines()]
    assert rows[0][-1] == "health"
    assert sorted(r[-1] for r in rows[1:]) == ["ok"] * 3 + ["symmetric"] * 4 + ["vanishing"]
    plain = invoke("trials", "plain", "--storage", health_db).output.splitlines()
    assert plain[0].split()[-1] == "health" and all(line.split()[-1] == "-" for line in plain[1:])
    mixed = [line.split() for line in invoke("trials", "mixed", "--storage", health_db).output.splitlines()]
    assert [r[mixed[0].index("health")] for r in mixed[1:]] == ["symmetric", "-"]
