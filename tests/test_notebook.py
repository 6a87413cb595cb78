"""notebooks/quickstart.ipynb executes end to end with a tiny budget."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT


@pytest.mark.slow  # executes the notebook (real training)
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
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # A user sees the plots inline: the last cell displays a PNG (not a figure drawn on 'Agg').
    plot_cell = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert any("image/png" in o.get("data", {}) for o in plot_cell.get("outputs", [])), plot_cell.get("outputs")
    # and nothing tunekit did not mean to say: no warnings, no Optuna log lines on stderr.
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert stderr == "", stderr
    import optuna

    assert len(optuna.load_study(study_name="quickstart", storage=f"sqlite:///{db}").trials) == 2


@pytest.mark.slow  # executes a notebook in a real kernel
def test_make_notebook_recipe_runs_nbconvert_without_warnings(tmp_path: Path) -> None:
    """`make notebook` executes the notebook to HTML with nbconvert, with the recipe's own flags: plots
    inline with their alt text, and no warning (cell ids, plain-TCP kernel, missing alt text)."""
    import re
    import subprocess
    import sys

    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter nbconvert --to html --execute quickstart.ipynb $(NBFLAGS)" in makefile
    flags = re.search(r"^NBFLAGS := (.*)$", makefile, re.M).group(1).split()
    quickstart = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    assert all(cell.get("id") for cell in quickstart.cells)  # nbformat's MissingIDFieldWarning otherwise
    plot = next(c.source for c in quickstart.cells if "plt.subplots" in c.source)
    assert "'alt'" in plot
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfig = plt.figure(); plt.plot([1, 2, 3])\n"
        "display(fig, metadata={'image/png': {'alt': 'a rising line'}}); plt.close(fig)")]
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    done = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--execute", "tiny.ipynb", *flags,
                           "--output", "tiny.html"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "Warning" not in done.stderr, done.stderr
    html = (tmp_path / "tiny.html").read_text()
    assert "data:image/png;base64," in html and 'alt="a rising line"' in html
