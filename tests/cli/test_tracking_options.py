"""``run --mlflow/--tensorboard`` and ``export --to``: bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line, stored_study


def test_a_bad_mlflow_uri_is_one_line_with_the_password_masked(tiny_study_file: Path) -> None:
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", "sqlite:///s.db", "--trials", "1",
                                 "--mlflow", "ftp://me:s3cret@host/x"))
    assert "is not an MLflow tracking URI" in line and "http://HOST:PORT" in line and "s3cret" not in line
    assert not Path("s.db").exists()


def test_tunekit_mlflow_is_read_from_the_environment(tiny_study_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEKIT_MLFLOW", "nowhere")
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", "sqlite:///s.db", "--trials", "1"))
    assert "--mlflow 'nowhere' is not an MLflow tracking URI" in line and not Path("s.db").exists()


def test_without_mlflow_installed_the_line_names_the_extra(tiny_study_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` fails as when it is not installed
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", "sqlite:///s.db", "--trials", "1",
                                 "--mlflow", "http://127.0.0.1:5000"))
    assert line.endswith("install it with: pip install 'tunekit[mlflow]'") and not Path("s.db").exists()


def test_a_tensorboard_path_that_is_a_file_is_refused(tiny_study_file: Path) -> None:
    Path("tb").write_text("not a folder")
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", "sqlite:///s.db", "--trials", "1",
                                 "--tensorboard", "tb"))
    assert "is a file, not a folder" in line and not Path("s.db").exists()


def test_export_needs_exactly_one_destination(db_url: str) -> None:
    import tunekit
    from tests.conftest import TINY_SPEC

    stored_study(db_url, "s", tunekit.Space(TINY_SPEC["space"]), [])
    assert "give one of -o FILE" in one_error_line(invoke("export", "s", "--storage", db_url))
    both = invoke("export", "s", "--storage", db_url, "-o", "out.csv", "--to", "tensorboard", "tb")
    assert "give one of -o FILE" in one_error_line(both) and not Path("out.csv").exists() and not Path("tb").exists()
    line = one_error_line(invoke("export", "s", "--storage", db_url, "--to", "mlflow", "ftp://x"))
    assert "is not an MLflow tracking URI" in line
    assert "'wandb' is not one of" in one_error_line(invoke("export", "s", "--storage", db_url, "--to", "wandb", "x"))
