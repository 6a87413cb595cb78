"""Bad input for many workers: exit code 2, one line naming the problem, never a password."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line

SECRET = "not-the-real-pass"


def _one_line_error(result, *fragments: str) -> str:
    lines = [one_error_line(result)]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert SECRET not in result.output
    return lines[0]


def test_zero_workers(tiny_study_file: Path, db_url: str) -> None:
    _one_line_error(invoke("run", str(tiny_study_file), "--storage", db_url, "--workers", "0"), "--workers must be >= 1")
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


def test_worker_against_a_missing_study_lists_the_existing_ones(tiny_study_file: Path, db_url: str) -> None:
    optuna.create_study(storage=db_url, study_name="alpha")
    optuna.create_study(storage=db_url, study_name="beta")
    line = _one_line_error(invoke("worker", str(tiny_study_file), "--storage", db_url), "no study named 'tiny'")
    assert "studies there: alpha, beta" in line and "tunekit run STUDY_FILE --storage URL" in line


def test_worker_against_a_missing_sqlite_file(tiny_study_file: Path, tmp_path: Path) -> None:
    _one_line_error(invoke("worker", str(tiny_study_file), "--storage", f"sqlite:///{tmp_path / 'none.db'}"), "no study database at")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("command", ["run", "worker"])
def test_unreachable_server(tiny_study_file: Path, command: str) -> None:
    url = f"postgresql+psycopg://tunekit:{SECRET}@127.0.0.1:1/tunekit"
    _one_line_error(invoke(command, str(tiny_study_file), "--storage", url, "--workers" if command == "run" else "--quiet",
                           *(["2"] if command == "run" else [])),
                    "cannot open storage 'postgresql+psycopg://tunekit:***@127.0.0.1:1/tunekit'", "Connection refused")


@pytest.mark.parametrize("command", ["run", "worker"])
def test_wrong_credentials(tiny_study_file: Path, postgres_url: str, command: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)
    _one_line_error(invoke(command, str(tiny_study_file), "--storage", url), "password authentication failed", ":***@")


def test_database_without_optuna_tables(tiny_study_file: Path, postgres_url: str) -> None:
    _one_line_error(invoke("worker", str(tiny_study_file), "--storage", postgres_url), "has no Optuna tables", "tunekit run STUDY_FILE")


def test_mask_with_odd_passwords() -> None:
    from tunekit.storage._storage import mask

    assert mask("postgresql+psycopg://u:p@ss/w@db:5432/x") == "postgresql+psycopg://u:***@db:5432/x"
    assert mask("error for 'mysql://u:pw@h/x': refused") == "error for 'mysql://u:***@h/x': refused"


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(workers=0), r"workers must be an integer >= 1, got 0"),
    (dict(workers=2, heartbeat=0), r"heartbeat must be an integer >= 1, got 0"),
    (dict(heartbeat=5, grace_period=5), r"grace_period must be an integer > heartbeat \(5\), got 5"),
])
def test_library_run_checks_worker_arguments(tiny_study_file: Path, db_url: str, kwargs: dict, message: str) -> None:
    import tunekit

    with pytest.raises(tunekit.ConfigError, match=message):
        tunekit.run(tunekit.load_spec(tiny_study_file), storage=db_url, n_trials=2, **kwargs)
    assert not Path(db_url.removeprefix("sqlite:///")).exists()
