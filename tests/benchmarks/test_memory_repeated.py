"""Issue 27 item 26: memory over repeated ``tunekit.run`` calls in one process.

The growth itself is measured by ``python -m benchmarks.memory --runs 4`` (minutes); here: the
C heap's freed pages really go back to the system, and the repeated-runs benchmark runs."""

from __future__ import annotations

import ctypes
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the repository root, next to `tunekit`
    sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc: Linux only")
def test_freed_heap_pages_go_back_to_the_system() -> None:
    from tunekit.execution._tf import release_free_memory

    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4000) for _ in range(25_000)]  # ~100 MB of small blocks, below the mmap threshold
    for block in blocks:
        ctypes.memset(block, 1, 4000)  # resident
    for block in blocks[:-1]:  # the last one stays: the freed space is not at the heap's top, so free keeps it
        libc.free(block)
    resident = _rss_mb()
    assert release_free_memory() is True
    released = resident - _rss_mb()
    libc.free(blocks[-1])
    assert released > 50, f"only {released:.1f} MB went back to the system"


@pytest.mark.slow
def test_memory_benchmark_over_repeated_runs(tmp_path: Path) -> None:
    from benchmarks.memory import main

    summary = main(["--quick", "--trials", "12", "--runs", "2", "--epochs", "1", "--models", "0", "--out", str(tmp_path)])
    text = (tmp_path / "memory-repeated-quick.md").read_text()
    assert "12 trials over 2 repeated `tunekit.run` calls (6, 6 trials, a study each)" in text
    assert set(summary["rss"]) == {10, 12} and all(math.isfinite(v) and v > 0 for v in summary["rss"].values())
    assert summary["growth_mb"] == summary["rss"][12] - summary["rss"][10] and summary["plain_loop"] == {}
    assert "Target: RSS after 12 trials" in text and "< 20 MB" in text
