"""``benchmarks.fused_target`` runs end to end on a tiny budget and its table holds the run's numbers.

No timing is asserted (the machine is shared): the target is lowered so that both contenders
reach it in their first results, and every cell of the table is checked against the summary
``main`` returns, the ratios recomputed from the per-seed times.
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


def _rows(text: str) -> dict[str, dict[str, str]]:
    """The results table: {contender: {column: cell}}."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(header, cells)) for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}


def test_median_interval_is_the_binomial_order_statistics() -> None:
    from benchmarks.fused_target import median_interval

    low, high, coverage = median_interval([float(v) for v in range(20, 0, -1)])  # unsorted input
    assert (low, high) == (6.0, 15.0) and coverage == pytest.approx(0.9586, abs=1e-4)
    assert median_interval([3.0, math.inf, 1.0])[:2] == (1.0, math.inf)  # too few seeds: the whole range


def test_fused_target_table_matches_the_run(tmp_path: Path) -> None:
    from benchmarks import _util
    from benchmarks.fused_target import (
        BASELINE,
        GOAL,
        fused_name,
        main,
        ratio_text,
        speedup,
    )

    summary = main(["--quick", "--seeds", "1", "--epochs", "2", "--cap", "600", "--fuse", "2", "--target", "0.5",
                    "--out", str(tmp_path)])
    assert set(summary) == {BASELINE, fused_name(2)}
    text = (tmp_path / "fused_target-quick.md").read_text()
    assert "Machine:" in text and "Versions:" in text and "val_accuracy ≥ 0.5" in text
    rows = _rows(text)
    assert set(rows) == set(summary)
    base = summary[BASELINE]
    assert base["reached"] == 1, "the lowered target is reached by the baseline's first trial"
    for name, s in summary.items():
        row, times = rows[name], s["times"]
        assert len(times) == s["runs"] == 1 and row["reached"] == f"{s['reached']}/1"
        assert s["reached"] == sum(math.isfinite(t) for t in times)
        assert row["per seed (s)"] == " ".join(_util.fmt(t) for t in times)
        assert row["median s to target"] == _util.fmt(s["median"]) and s["median"] == _util.median(times)
        assert row["interval"] == f"{_util.fmt(s['low'])}–{_util.fmt(s['high'])}"
        assert s["low"] <= s["median"] <= s["high"]
        assert s["speedup"] == speedup(base["median"], s["median"])
        assert row["speed-up"] == ratio_text(s["speedup"])
        paired = [speedup(b, t) for b, t in zip(base["times"], times)]
        assert row["paired speed-up"] == ratio_text(_util.median(p for p in paired if not math.isnan(p)))
        assert s["trials"] >= 1 and s["batch_s"] <= s["median"]  # the search stops after the batch that reached it
        assert s["group_s"] <= s["batch_s"] or not s["reached"]
    assert rows[BASELINE]["speed-up"] == "1.00×" and base["groups"] == 0
    assert summary[fused_name(2)]["groups"] >= 1, "the fused contender trained fused groups"
    verdict, figure = re.search(r"\*\*Goal: ≥ 3× [^—]*— (met|missed): .* ([0-9.]+)× ", text).groups()  # type: ignore[union-attr]
    assert float(figure) == pytest.approx(summary[fused_name(2)]["speedup"], abs=0.006)
    assert verdict == ("met" if summary[fused_name(2)]["speedup"] >= GOAL else "missed")
