"""A pytest plugin for measuring the suite (issue 27): CPU seconds per test, this process's and
its finished child processes' (a ``tunekit run`` subprocess, worker processes), and the time the
garbage collector spent in full (generation 2) collections. Run without xdist, e.g.::

    .venv/bin/python -m pytest -q -n 0 -p tests.cpu_report tests/study
    TUNEKIT_TEST_GC_FREEZE=0 .venv/bin/python -m pytest -q -n 0 -p tests.cpu_report tests/study

(the second without the heap frozen over each test: ``tests/conftest.py``'s ``_frozen_heap``).
``CPU_REPORT_TOP`` sets how many of the costliest tests are listed (default 15).
"""

from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any, Iterator

import pytest

_rows: list[tuple[float, float, str]] = []
_gc = {"start": 0.0, "full": 0.0, "count": 0}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc["start"] = time.process_time()
    elif info["generation"] == 2:
        _gc["full"] += time.process_time() - _gc["start"]
        _gc["count"] += 1


def pytest_configure(config: pytest.Config) -> None:
    gc.callbacks.append(_on_gc)  # only where this is the plugin (-p), not when doctest collection imports it


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, wall = _cpu(), time.monotonic()
    yield
    _rows.append((_cpu() - cpu, time.monotonic() - wall, item.nodeid))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write = terminalreporter.write_line
    write(f"cpu_report: {len(_rows)} tests, {sum(r[0] for r in _rows):.1f} CPU s, {sum(r[1] for r in _rows):.1f} s; "
          f"full collections: {_gc['count']}, {_gc['full']:.1f} CPU s")
    for cpu, wall, nodeid in sorted(_rows, reverse=True)[:int(os.environ.get("CPU_REPORT_TOP", "15"))]:
        write(f"cpu_report: {cpu:7.1f} CPU s {wall:7.1f} s  {nodeid}")
