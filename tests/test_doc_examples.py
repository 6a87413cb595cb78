"""The suite's own rules: doc examples run in `make test`, markers follow the fixtures a test
uses, one CLI helper and one tiny study."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_make_test_runs_every_doc_example() -> None:
    """`make test` (which .ci/run calls) runs the doctests of every module under tunekit/."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no `test:` recipe in the Makefile"
    pytest_line = next(line for line in recipe.group(1).splitlines() if "pytest" in line)
    assert "--doctest-modules" in pytest_line and re.search(r"\stunekit(\s|$)", pytest_line), pytest_line
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_the_first_public_example_is_right() -> None:
    """StudySpec's example (the first a user reads) runs and shows what the code returns."""
    import tunekit._spec

    result = doctest.testmod(tunekit._spec, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 4 and result.failed == 0, result


def _collected(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: every test deselected
    return {line for line in done.stdout.splitlines() if "::" in line}


WORKERS = "tests/execution/workers"


def test_postgres_and_slow_markers_follow_the_fixtures() -> None:
    """`-m postgres` selects the tests on a PostgreSQL fixture (postgres_url, any_url[postgres],
    the private server); `-m "not slow and not postgres"` leaves them and the worker-process tests out."""
    files = [f"{WORKERS}/test_workers_fast.py", f"{WORKERS}/test_db_outage.py", f"{WORKERS}/test_workers_bad_input.py"]
    on_postgres = _collected("-m", "postgres", *files)
    assert f"{WORKERS}/test_workers_fast.py::test_four_processes_reach_the_exact_count[postgres]" in on_postgres
    assert f"{WORKERS}/test_db_outage.py::test_workers_ride_out_an_outage_and_quick_restarts" in on_postgres
    assert f"{WORKERS}/test_workers_bad_input.py::test_database_without_optuna_tables" in on_postgres
    assert not [t for t in on_postgres if t.endswith("[sqlite]")]
    fast = _collected("-m", "not slow and not postgres", *files)
    assert fast and not fast & on_postgres
    assert not [t for t in fast if "test_workers_fast.py" in t or "outage" in t.split("::")[1]], fast


@pytest.mark.parametrize("pattern", [r"CliRunner\(", r"^def invoke\(", r"^TINY = dict\("])
def test_one_cli_helper_and_one_tiny_study(pattern: str) -> None:
    """The CLI tests share tests/conftest.py's `invoke`; the tiny study is TINY_SPEC / TINY_STUDY there."""
    copies = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
              if p.name != "conftest.py" or p.parent != ROOT / "tests"
              if p != ROOT / "tests" / "test_doc_examples.py" and re.search(pattern, p.read_text(), re.M)]
    assert copies == [], f"use tests/conftest.py instead of a copy in {copies}"
