"""The 'where the gain ends' benchmark (issue 26) runs end to end on a tiny budget and writes
tables that hold the run's own numbers.

No time is asserted (the machine is shared); what is asserted could fail: the members are the
same configurations for every K, the ratios are fused / unfused of the figures printed beside
them, the pivot table repeats the main one, and the plot is a PNG.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest


def _table(text: str, column: str) -> list[dict[str, str]]:
    """Every row of the markdown table whose header has ``column``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and f"| {column} |" in f"{line} ")
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")))))
    return rows


def test_members_and_budget() -> None:
    from benchmarks.fused_scaling import budget, members

    eight, two = members(8, epochs=2, batch_size=128), members(2, epochs=2, batch_size=128)
    assert eight[:2] == two  # member i is the same configuration whatever K is
    assert [m["optimizer"] for m in eight[:4]] == ["adam", "sgd", "rmsprop", "adam"]
    assert all(m["units"] == 64 and "units_0" not in m and 1e-4 <= m["learning_rate"] <= 1e-1 for m in eight)
    assert len({m["learning_rate"] for m in eight}) == 8
    mixed = members(8, epochs=2, batch_size=128, mixed=True)
    assert all(16 <= m[f"units_{j}"] <= 256 for m in mixed for j in (0, 1))
    assert len({m["units_0"] for m in mixed}) > 1
    assert budget(300_000, False, 6) == (1, 3) and budget(100_000, False, 6) == (2, 4)
    assert budget(1_000, False, 6) == (2, 6) and budget(1_000, True, 6) == (1, 2)


@pytest.mark.slow  # trains real Keras models
def test_quick_run_writes_its_own_numbers(tmp_path: Path) -> None:
    from benchmarks.fused_scaling import main

    out = main(["--quick", "--sizes", "300", "--ks", "1,2", "--out", str(tmp_path)])
    (r,) = out["results"]
    assert out["ks"] == [1, 2] and r["rows"] == 300 and r["epochs"] == 1 and not out["extras"]
    assert [u["member"] for u in r["unfused"]] == [0, 1]  # two plain trials, members 0 and 1
    assert r["unfused_rate"] == pytest.approx(r["epochs"] / statistics.median(u["seconds"] for u in r["unfused"]))
    for k, f in r["fused"].items():
        assert f["rate"] == pytest.approx(k * r["epochs"] / f["seconds"])
        assert f["ratio"] == pytest.approx(f["rate"] / r["unfused_rate"])
        assert len(f["accs"]) == k and all(0.0 <= a <= 1.0 for a in f["accs"]) and f["groups"] == 1
    assert r["fused"][1]["accs"][0] == pytest.approx(r["fused"][2]["accs"][0], abs=0.05)  # same member 0
    text = out["path"].read_text()
    assert out["path"].name == "fused_scaling-quick.md" and "Machine:" in text and "load average" in text
    rows = _table(text, "ratio")
    assert [(row["rows"], row["K"]) for row in rows] == [("300", "1"), ("300", "2")]
    for row in rows:
        fused, unfused, ratio = (float(row[c]) for c in ("fused member-epochs/s", "unfused member-epochs/s", "ratio"))
        assert ratio == pytest.approx(fused / unfused, rel=0.015)  # cells rounded to 3 digits
        assert fused == pytest.approx(int(row["K"]) * int(row["epochs"]) / float(row["fused (s)"]), rel=0.015)
        assert ratio == pytest.approx(r["fused"][int(row["K"])]["ratio"], rel=0.006)
    (pivot,) = _table(text, "K=2")
    assert [pivot["K=1"], pivot["K=2"]] == [row["ratio"] for row in rows]
    (plain,) = _table(text, "plain trials timed")
    assert plain["plain trials timed"] == "2" and "→" in plain["load average (1 min) start → end"]
    assert float(plain["s per trial (median)"]) == pytest.approx(1 / float(rows[0]["unfused member-epochs/s"]), rel=0.015)
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
