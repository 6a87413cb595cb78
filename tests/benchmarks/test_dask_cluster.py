"""``benchmarks.dask_cluster`` runs end to end on a tiny budget and writes its table (no timing asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def test_dask_cluster_quick(tmp_path: Path) -> None:
    from benchmarks import dask_cluster

    result = dask_cluster.main(["--quick", "--out", str(tmp_path), "--trials", "2", "--epochs", "1"])
    text = (tmp_path / "dask_cluster-quick.md").read_text()
    for setting in dask_cluster.SETTINGS:
        assert f"| {setting} | 2 |" in text  # every setting ran its trials
    assert f"**{result['speedup']:.2f}x**" in text and f"**{result['overhead']:.2f}x**" in text
    assert result["steady_per_hour"]["dask local:2"] > 0
