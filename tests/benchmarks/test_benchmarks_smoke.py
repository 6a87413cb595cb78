"""Every benchmark's ``main`` runs end to end on a tiny budget and writes its table.

No timing is asserted here (the machine is shared; benchmarks report ratios, not pass/fail).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the repository root, next to `tunekit`
    sys.path.insert(0, str(ROOT))


def _written(out: Path, name: str) -> str:
    path = out / f"{name}-quick.md"
    assert path.is_file(), f"{path} was not written"
    text = path.read_text()
    assert "Machine:" in text and "Versions:" in text and "| --- |" in text
    return text


def test_trial_speed(tmp_path: Path) -> None:
    from benchmarks.trial_speed import main

    summary = main(["--quick", "--repeats", "1", "--epochs", "2", "--out", str(tmp_path)])
    assert set(summary) == {"plain model.fit", "tunekit, before (no speed-ups)", "tunekit (default)"}
    assert "Target: tunekit ≥ 1.5×" in _written(tmp_path, "trial_speed")


def test_overhead(tmp_path: Path) -> None:
    from benchmarks.overhead import main

    summary = main(["--quick", "--repeats", "1", "--configs", "1", "--epochs", "1", "--out", str(tmp_path)])
    assert set(summary) == {"plain loop", "tunekit (SQLite)", "tunekit (SQLite), speed-ups off", "keras-tuner"}
    assert "Target: tunekit ≤ 1.05×" in _written(tmp_path, "overhead")


def test_pruning(tmp_path: Path) -> None:
    from benchmarks.pruning import CONTENDERS, main

    summary = main(["--quick", "--seeds", "1", "--epochs", "2", "--cap", "1", "--data", "digits", "--out", str(tmp_path)])
    assert set(summary["digits"]["medians"]) == set(CONTENDERS) == {
        "tunekit TPE + hyperband", "tunekit TPE + median", "tunekit TPE + hyperband, defaults first",
        "keras-tuner Hyperband", "keras-tuner BayesianOptimization"}
    text = _written(tmp_path, "pruning")
    assert "time-to-target" in text
    assert "Target, with declared defaults" in text and "Target, from a random start" in text


def test_memory(tmp_path: Path) -> None:
    from benchmarks.memory import main

    summary = main(["--quick", "--trials", "11", "--epochs", "1", "--models", "11", "--out", str(tmp_path)])
    assert set(summary["rss"]) == {10, 11}
    text = _written(tmp_path, "memory")
    assert "RSS after 11 trials" in text and "a plain Keras loop, side by side" in text
    # the cause, counted: every plain-loop model leaves its traced graphs registered, unless released
    assert summary["plain_loop"][False]["left"] >= 11
    assert summary["plain_loop"][True]["left"] == 0


def test_sampler_cost_covers_every_registered_strategy(tmp_path: Path) -> None:
    from benchmarks.sampler_cost import main
    from tunekit.strategies import STRATEGIES

    summary = main(["--quick", "--sizes", "12", "--repeats", "1", "--out", str(tmp_path)])
    assert set(summary["SQLite"]) == set(STRATEGIES)
    text = _written(tmp_path, "sampler_cost")
    assert all(f"| SQLite | {name} |" in text for name in STRATEGIES)


def test_runner_lists_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"trial_speed", "overhead", "pruning", "memory", "sampler_cost"} <= set(listed)
