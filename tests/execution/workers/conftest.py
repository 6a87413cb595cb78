"""Worker tests run against SQLite and PostgreSQL (the ``postgres_url`` fixture: skipped
locally without a server, a failure in CI where TUNEKIT_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest) -> str:
    """A fresh study database URL: an SQLite file, then a real PostgreSQL database."""
    return request.getfixturevalue("db_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def long_study(tmp_path: Path) -> Callable[..., Path]:
    """Writes ``NAME.py``: a Keras study on iris whose trials last a few seconds (``epochs``
    epochs of batches of 8: long enough to be caught RUNNING); returns its path."""

    def write(name: str, *, epochs: int) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(
            "from tunekit import StudySpec, Int, Choice\n"
            "spec = StudySpec(\n"
            "    data='iris',\n"
            "    space={'units': Int(4, 16), 'activation': Choice(['relu', 'tanh'])},\n"
            "    fixed={'n_layers': 1, 'batch_size': 8},\n"
            f"    epochs={epochs},\n"
            ")\n"
        )
        return path

    return write


@pytest.fixture
def tiny_long_study(long_study: Callable[..., Path]) -> Path:
    """A Keras study on iris whose trials last a few seconds (long enough to be caught RUNNING)."""
    return long_study("tinylong", epochs=40)
