"""Every benchmark's ``main`` runs end to end on a tiny budget and writes its table.

No timing is asserted here (the machine is shared; benchmarks report ratios, not pass/fail),
but every table must hold the numbers of the run: each contender's row, finite measurements,
the ratio columns equal to the ratios recomputed from the run's summary, and a target line
whose verdict agrees with its figure.
"""

from __future__ import annotations

import math
import re
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


def _rows(text: str, column: str) -> dict[str, dict[str, str]]:
    """The markdown table whose header has ``column``: {first cell: {column: cell}}."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and f"| {column} |" in f"{line} ")
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def _number(cell: str) -> float:
    """A finite positive number at the start of a table cell ("1.23", "2.27× (2.14–2.43)")."""
    value = float(re.match(r"[0-9.e+-]+", cell).group())  # type: ignore[union-attr]
    assert math.isfinite(value) and value > 0, cell
    return value


def _target(text: str) -> tuple[str, float]:
    """The verdict (met/missed) and figure of the results file's bold target line."""
    found = re.search(r"\*\*Target[^*]*— (met|missed): ([+-]?[0-9.]+)", text)
    assert found, text
    return found.group(1), float(found.group(2))


def test_trial_speed(tmp_path: Path) -> None:
    from benchmarks.trial_speed import main

    # no untimed warm-up trial (it only keeps the first-time set-up out of the figures)
    summary = main(["--quick", "--repeats", "1", "--epochs", "2", "--batch-size", "256", "--no-warm-up",
                    "--out", str(tmp_path)])
    assert set(summary) == {"plain model.fit", "tunekit, before (no speed-ups)", "tunekit (default)"}
    text = _written(tmp_path, "trial_speed")
    assert "Target: tunekit ≥ 1.5×" in text
    assert "`python -m benchmarks.trial_speed --quick --epochs 2 --batch-size 256 --repeats 1 --no-warm-up`" in text
    assert "batch 256, 2 epochs: 6 optimizer steps an epoch, 12 in all." in text  # 1,437 rows / 256
    rows = _rows(text, "speed-up vs plain (range)")
    assert set(rows) == set(summary)
    for label, facts in summary.items():
        row = rows[label]
        assert _number(row["s / trial (median)"]) == pytest.approx(facts["median_s"], rel=6e-3)  # 3 digits
        assert row["speed-up vs plain (range)"].startswith(f"{facts['speedup']:.2f}×")
        assert 0 < facts["acc_mean"] <= 1 and row["val accuracy (mean ± std)"].startswith(f"{facts['acc_mean']:.4f}")
    assert summary["plain model.fit"]["speedup"] == 1.0  # the plain trial against itself
    verdict, figure = _target(text)
    assert figure == pytest.approx(summary["tunekit (default)"]["speedup"], abs=0.006)
    assert verdict == ("met" if summary["tunekit (default)"]["speedup"] >= 1.5 else "missed")


def test_overhead(tmp_path: Path) -> None:
    from benchmarks.overhead import main

    summary = main(["--quick", "--repeats", "1", "--configs", "1", "--epochs", "1", "--no-warm-up", "--out", str(tmp_path)])
    assert set(summary) == {"plain loop", "tunekit (SQLite)", "tunekit (SQLite), speed-ups off", "keras-tuner"}
    text = _written(tmp_path, "overhead")
    assert "Target: tunekit ≤ 1.05×" in text and "`python -m benchmarks.overhead --quick --repeats 1 --configs 1 --epochs 1 --no-warm-up`" in text
    rows = _rows(text, "ratio to plain loop (median)")
    assert set(rows) == set(summary)
    for label, ratio in summary.items():
        assert math.isfinite(ratio) and ratio > 0, (label, ratio)
        assert rows[label]["ratio to plain loop (median)"] == f"{ratio:.3f}×"
        # one configuration per round: seconds per trial = seconds per round
        assert _number(rows[label]["s / trial"]) == _number(rows[label]["s / round (median)"])
    assert summary["plain loop"] == 1.0  # the plain loop against itself
    verdict, figure = _target(text)
    assert figure == pytest.approx(summary["tunekit (SQLite)"], abs=6e-4)
    assert verdict == ("met" if summary["tunekit (SQLite)"] <= 1.05 else "missed")


def test_pruning(tmp_path: Path) -> None:
    from benchmarks.pruning import CONTENDERS, main

    summary = main(["--quick", "--seeds", "1", "--epochs", "2", "--cap", "1", "--data", "digits", "--out", str(tmp_path)])
    assert set(summary["digits"]["medians"]) == set(CONTENDERS) == {
        "tunekit TPE + hyperband", "tunekit TPE + median", "tunekit TPE + hyperband, defaults first",
        "keras-tuner Hyperband", "keras-tuner BayesianOptimization"}
    text = _written(tmp_path, "pruning")
    assert "time-to-target" in text
    assert "Target, with declared defaults" in text and "Target, from a random start" in text
    rows = _rows(text, "median s to target")
    assert set(rows) == set(CONTENDERS)
    for name, median in summary["digits"]["medians"].items():
        row = rows[name]
        reached = row["reached"]
        assert reached in ("0/1", "1/1"), row  # one seed: reached or not, and the row says which
        # one seed: the median is that seed's time ("not reached" when it missed the target)
        assert row["per seed (s)"] == row["median s to target"]
        assert (reached == "1/1") == math.isfinite(median)
        if reached == "1/1":
            assert _number(row["median s to target"]) > 0
        assert _number(row["trials (median)"]) >= 1 and _number(row["epochs trained (median)"]) >= 1
    for key in ("best_tunekit", "best_tunekit_random_start"):
        assert summary["digits"][key] in CONTENDERS


def test_memory(tmp_path: Path) -> None:
    from benchmarks.memory import main

    # the fewest that still count growth: 2 trials (growth after the 1st), 2 plain-loop models (after the 1st)
    summary = main(["--quick", "--trials", "2", "--first", "1", "--epochs", "1", "--models", "2", "--out", str(tmp_path)])
    assert set(summary["rss"]) == {1, 2}
    text = _written(tmp_path, "memory")
    assert "RSS after 2 trials − after 1" in text and "a plain Keras loop, side by side" in text
    rss = summary["rss"]
    assert all(math.isfinite(mb) and mb > 0 for mb in rss.values()), rss
    assert summary["growth_mb"] == rss[2] - rss[1]
    rows = _rows(text, "RSS (MB)")
    assert set(rows) == {"1", "2"} and rows["1"]["change since 1 trials (MB)"] in ("0", "0.0")
    verdict, figure = _target(text)
    assert figure == pytest.approx(summary["growth_mb"], abs=0.06)
    # the cause, counted: every plain-loop model leaves its traced graphs registered, unless released
    assert summary["plain_loop"][False]["left"] >= 2
    assert summary["plain_loop"][True]["left"] == 0
    for loop in summary["plain_loop"].values():  # growth per model: of the model after the first, from its own RSS
        assert loop["per_model"] == loop["rss_end"] - loop["rss10"]


def test_sampler_cost_covers_every_registered_strategy(tmp_path: Path) -> None:
    from benchmarks.sampler_cost import main
    from tunekit.strategies import STRATEGIES

    summary = main(["--quick", "--sizes", "12", "--repeats", "1", "--out", str(tmp_path)])
    assert set(summary["SQLite"]) == set(STRATEGIES)
    text = _written(tmp_path, "sampler_cost")
    assert all(f"| SQLite | {name} |" in text for name in STRATEGIES)
    for name, by_size in summary["SQLite"].items():  # a cell may hold "error: ..." instead of a time
        seconds = by_size[12]
        assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0, (name, seconds)


def test_runner_lists_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"trial_speed", "overhead", "pruning", "memory", "sampler_cost"} <= set(listed)


def test_fused(tmp_path: Path) -> None:
    from benchmarks.fused import KT, UNFUSED, main

    summary = main(["--quick", "--trials", "2", "--epochs", "1", "--fuse", "2", "--in-process", "--out", str(tmp_path)])
    assert set(summary) == {"tunekit --fuse 2", UNFUSED, KT}
    text = _written(tmp_path, "fused")
    rows = _rows(text, "trials / min")
    assert set(rows) == set(summary)
    for label, facts in summary.items():
        assert rows[label]["trials / min"] == f"{facts['trials_per_min']:.1f}"
        assert rows[label]["vs unfused"] == f"{facts['vs_unfused']:.2f}×"
        assert rows[label]["vs keras-tuner"] == f"{facts['vs_keras_tuner']:.2f}×"
        assert 0 < facts["best"] <= 1
    assert summary[UNFUSED]["vs_unfused"] == 1.0 and summary[KT]["vs_keras_tuner"] == 1.0
    verdict, figure = _target(text)
    fused = summary["tunekit --fuse 2"]
    assert figure == pytest.approx(fused["vs_unfused"], abs=0.006)
    assert verdict == ("met" if fused["vs_unfused"] >= 4 and fused["vs_keras_tuner"] >= 8 else "missed")


def test_worker_start_measures_a_whole_process_tree() -> None:
    """The worker start-up benchmark's own measures, on a real tree of processes (its full run, two
    ``tunekit run --workers`` commands per round, is ``make bench``'s): every descendant found, their
    memory summed."""
    import os
    import signal
    import subprocess

    from benchmarks.worker_start import _descendants, _pss_mb

    # the grandchild says when it is up: found at once after its fork, it has no memory of its own yet
    grandchild = "import time; print('up', flush=True); time.sleep(30)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        (child,) = _descendants(proc.pid)
        assert _pss_mb([child]) > 1 and _pss_mb([proc.pid, child]) > _pss_mb([child])
        assert _pss_mb([]) == 0
    finally:
        for pid in _descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
