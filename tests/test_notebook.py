"""notebooks/quickstart.ipynb executes end to end with a tiny budget."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT


def test_quickstart_notebook_runs(tmp_path: Path) -> None:
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    db = tmp_path / "nb.db"
    env = {"TUNEKIT_TRIALS": "2", "TUNEKIT_EPOCHS": "1", "TUNEKIT_NOTEBOOK_STORAGE": f"sqlite:///{db}"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    import optuna

    assert len(optuna.load_study(study_name="quickstart", storage=f"sqlite:///{db}").trials) == 2
