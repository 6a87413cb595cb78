"""Issue 27 item 26: memory over repeated ``tunekit.run`` calls in one process.

The growth itself is measured by ``python -m benchmarks.memory --runs 4`` (minutes); here: the
C heap's freed pages really go back to the system, the benchmark's C-heap gauge sees what malloc
hands out, its ``--space fixed`` trains one architecture, and the repeated-runs benchmark runs."""

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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2: Linux only")
def test_heap_gauge_sees_what_malloc_hands_out() -> None:
    from benchmarks.memory import heap_in_use_mb

    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = heap_in_use_mb()
    blocks = [libc.malloc(4000) for _ in range(5_000)]  # ~20 MB
    during = heap_in_use_mb()
    for block in blocks:
        libc.free(block)
    after = heap_in_use_mb()
    assert during - before > 15 and during - after > 15, (before, during, after)


def test_fixed_space_is_one_architecture() -> None:
    from benchmarks.memory import _fixed, _space
    from tunekit import StudySpec

    space, fixed = _space("fixed"), _fixed("fixed")
    assert list(space) == ["learning_rate"]  # a value, not a tensor shape
    assert {"n_layers", "units", "batch_size", "batch_norm"} <= set(fixed) and not set(space) & set(fixed)
    StudySpec(data="digits", space=space, fixed=fixed, epochs=1, name="memory")  # a valid study
    assert _fixed("search") == {} and "units" in _space("search")


def test_breakdown_splits_heap_and_second_half() -> None:
    from benchmarks.memory import _breakdown

    lines = _breakdown({10: 700.0, 50: 708.0, 100: 713.0}, {10: 100.0, 50: 103.0, 100: 104.0}, [10, 50, 100])
    assert lines[0].startswith("Of it, C heap in use: +4.0 MB")
    assert lines[1].startswith("From 50 to 100 trials: +102 kB per trial (+30.0 MB per 300 trials")
    assert len(_breakdown({10: 1.0, 12: 2.0}, {10: 1.0, 12: 1.0}, [10, 12])) == 1  # no second half to speak of


@pytest.mark.slow
def test_memory_benchmark_over_repeated_runs(tmp_path: Path) -> None:
    from benchmarks.memory import main

    # growth from the end of the first run (trial 1) to the end of the second (trial 2): counted over both runs
    summary = main(["--quick", "--trials", "2", "--first", "1", "--runs", "2", "--epochs", "1", "--models", "0",
                    "--out", str(tmp_path)])
    text = (tmp_path / "memory-repeated-quick.md").read_text()
    assert "2 trials over 2 repeated `tunekit.run` calls (1, 1 trials, a study each)" in text
    assert set(summary["rss"]) == {1, 2} and all(math.isfinite(v) and v > 0 for v in summary["rss"].values())
    assert set(summary["heap"]) == {1, 2} and "C heap in use (MB)" in text
    assert summary["growth_mb"] == summary["rss"][2] - summary["rss"][1] and summary["plain_loop"] == {}
    assert "Target: RSS after 2 trials − after 1 < 20 MB" in text
