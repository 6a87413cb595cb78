"""Issue 11, items 2 and 4: resuming with other epochs, strategy or seed; a quiet library.

Real studies on iris (1-2 epochs, 1-3 trials) in real SQLite files.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from pathlib import Path

import optuna
import pytest

import tunekit
from tests.conftest import ROOT, TINY_SPEC
from tunekit import ConfigError, StudySpec

TINY = TINY_SPEC  # the suite's one tiny study (tests/conftest.py)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


@pytest.mark.slow  # trains several real models
def test_resume_with_other_epochs_is_refused_and_nothing_written(db_url: str, tmp_path: Path) -> None:
    spec = StudySpec(**TINY, name="ep")
    tunekit.run(spec, strategy="random", n_trials=1, storage=db_url, epochs=1)
    before = _digest(tmp_path / "study.db")
    with pytest.raises(ConfigError) as refused:
        tunekit.run(spec, strategy="random", n_trials=2, storage=db_url, epochs=3)
    message = str(refused.value)
    assert "study 'ep'" in message and "1 epoch" in message and "--epochs 3" in message, message
    assert "--study-name NEW" in message and "\n" not in message, message
    assert _digest(tmp_path / "study.db") == before


@pytest.mark.slow  # trains several real models
def test_changed_epochs_in_the_study_file_is_refused(db_url: str, tmp_path: Path) -> None:
    tunekit.run(StudySpec(**TINY, name="ep"), strategy="random", n_trials=1, storage=db_url)
    before = _digest(tmp_path / "study.db")
    with pytest.raises(ConfigError, match=r"study 'ep' .*2 epochs.*epochs=3.*--study-name NEW"):
        tunekit.run(StudySpec(**dict(TINY, epochs=3), name="ep"), strategy="random", n_trials=2, storage=db_url)
    assert _digest(tmp_path / "study.db") == before


@pytest.mark.slow  # trains several real models
def test_resume_without_epochs_continues_with_the_epochs_the_study_started_with(
    db_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = StudySpec(**TINY, name="ep")  # the study file says 2 epochs
    tunekit.run(spec, strategy="random", n_trials=1, storage=db_url, epochs=1)
    capfd.readouterr()
    study = tunekit.run(spec, strategy="random", n_trials=2, storage=db_url)  # the same command without --epochs
    assert _notes(capfd.readouterr().err) == [
        "note: study 'ep' continues with 1 epoch per trial as it started (--epochs 1; the study file says 2)"
    ]
    assert [t.user_attrs["epochs_run"] for t in study.trials] == [1, 1]
    assert study.user_attrs["epochs"] == 1


@pytest.mark.slow  # trains several real models
def test_changed_strategy_and_seed_print_one_note_and_each_trial_records_its_strategy(
    db_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = StudySpec(**TINY, name="mix")
    tunekit.run(spec, strategy="random", n_trials=1, storage=db_url, seed=1, epochs=1)
    assert _notes(capfd.readouterr().err) == []
    study = tunekit.run(spec, strategy="tpe", n_trials=2, storage=db_url, seed=2, epochs=1)
    assert _notes(capfd.readouterr().err) == ["note: study 'mix' continues with strategy tpe (was random) and seed 2 (was 1)"]
    assert [t.user_attrs["strategy"] for t in study.trials] == ["random", "tpe"]
    assert study.user_attrs["seed"] == 2 and study.user_attrs["strategy"] == "tpe"
    again = tunekit.run(spec, strategy="tpe", n_trials=3, storage=db_url, epochs=1)  # no seed given: the study's seed goes on
    assert _notes(capfd.readouterr().err) == []
    assert again.user_attrs["seed"] == 2 and again.trials[-1].user_attrs["strategy"] == "tpe"


def test_tpe_sampler_is_built_without_experimental_warnings() -> None:
    from tunekit.strategies import make_sampler

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_sampler("tpe", space=tunekit.Space(TINY["space"]), seed=0)
    assert [str(w.message) for w in caught] == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.slow  # trains several real models
def test_library_run_prints_only_what_tunekit_means_and_restores_logging(db_url: str) -> None:
    """A notebook user's Optuna logging (INFO by default) and warning filters, untouched after."""
    logger = logging.getLogger("optuna")
    handler = _Records()
    logger.addHandler(handler)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    filters = list(warnings.filters)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tunekit.run(StudySpec(**TINY, name="quiet"), strategy="tpe", n_trials=1, storage=db_url, epochs=1)
            inner_filters = list(warnings.filters)
        assert [str(w.message) for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)] == []
        assert [r.getMessage() for r in handler.records if r.levelno < logging.ERROR] == []
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        assert inner_filters[0][0] == "always" and list(warnings.filters) == filters
    finally:
        logger.removeHandler(handler)


def _fenced_block_after(markdown: str, heading: str) -> str:
    section = markdown.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_the_readme_study_block_is_the_shipped_digits_study() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = _fenced_block_after(readme, "## A study file\n")
    assert block == (ROOT / "studies" / "digits.py").read_text(encoding="utf-8")


def test_make_demo_and_the_readme_run_the_digits_study_with_the_same_epochs() -> None:
    """`make demo`, then the README's `tunekit run studies/digits.py ...`: one study, one epoch count."""
    import shlex

    demo = [line for line in (ROOT / "Makefile").read_text().splitlines() if "tunekit run studies/digits.py" in line]
    assert len(demo) == 1, demo
    args = shlex.split(demo[0])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"^tunekit run studies/digits\.py .*$", readme, re.M)
    assert first, "the README shows no `tunekit run studies/digits.py` command"
    readme_args = shlex.split(first.group(0))

    def epochs(argv: list[str]) -> str | None:
        return argv[argv.index("--epochs") + 1] if "--epochs" in argv else None

    assert epochs(args) == epochs(readme_args), (demo[0], first.group(0))
    assert "--study-name" not in args and "--study-name" not in readme_args
