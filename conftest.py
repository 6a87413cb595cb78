"""Doctest set-up for ``pytest --doctest-modules tunekit`` (``make test``): each module's
examples run in a fresh temporary folder, so an example that writes ``tunekit.db`` or a
report leaves nothing behind and never reads the user's files or ``$TUNEKIT_STORAGE``.
Without the ``gp`` extra (PyTorch) the ``gp`` strategy's module is not collected: it imports
torch on purpose (the registry turns that ImportError into "install tunekit[gp]"), and the
other modules' examples still run."""

from __future__ import annotations

from pathlib import Path

import importlib.util

import pytest

#: Modules ``--doctest-modules`` skips when an optional dependency they need is missing.
collect_ignore = [] if importlib.util.find_spec("torch") else ["tunekit/strategies/_gp.py"]


@pytest.fixture(autouse=True)
def _doctest_in_tmp_folder(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctests only: run in ``tmp_path`` with no ``TUNEKIT_STORAGE``."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("TUNEKIT_STORAGE", raising=False)
