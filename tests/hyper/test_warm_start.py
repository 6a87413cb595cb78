"""One ``build(hp)`` under keras-tuner, then under tunekit: import the keras-tuner search and warm-start from it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line
from tunekit._records import WARM_START, kind_counts
from tunekit._spec import load_spec
from tunekit.data import load_data
from tunekit.study import import_keras_tuner

pytestmark = pytest.mark.slow

STUDY = '''
import keras

from tunekit import StudySpec


def build(hp):
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation=hp.Choice("act", ["relu", "tanh"])),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


spec = StudySpec(data="digits", build=build, epochs=1, max_rows=300)
'''


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The study file, and a database holding study 'old': keras-tuner's RandomSearch of the very
    same build function (4 trials), imported."""
    import keras_tuner as kt

    folder = tmp_path_factory.mktemp("warm")
    path = folder / "mine.py"
    path.write_text(STUDY)
    spec = load_spec(path)
    ds = load_data("digits", max_rows=300)
    tuner = kt.RandomSearch(spec.build, objective="val_accuracy", max_trials=4, directory=str(folder),
                            project_name="search", seed=5, overwrite=True)
    tuner.search(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val), epochs=1, verbose=0)
    url = f"sqlite:///{folder / 'study.db'}"
    import_keras_tuner(folder / "search", study_name="old", storage=url)
    with closing(sqlite3.connect(folder / "study.db")) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every write in the file itself: copies are whole
    return path, url


def _copy_db(searched: tuple[Path, str], tmp_path: Path) -> str:
    target = tmp_path / "study.db"
    target.write_bytes(Path(searched[1].removeprefix("sqlite:///")).read_bytes())
    return f"sqlite:///{target}"


def test_the_imported_search_seeds_a_tunekit_study_once(searched: tuple[Path, str], tmp_path: Path) -> None:
    path, url = searched[0], _copy_db(searched, tmp_path)
    old = optuna.load_study(study_name="old", storage=url)
    result = invoke("run", str(path), "--storage", url, "--trials", "2", "--strategy", "tpe", "--warm-start", "old")
    assert result.exit_code == 0, result.output
    assert "note: warm start: 4 complete trials of 'old' copied into this study to seed the strategy" in result.output
    assert "2 finished trials count toward --trials (2 complete; not counted: 4 warm-start)" in result.output
    study = optuna.load_study(study_name="mine", storage=url)
    warm = [t for t in study.trials if t.user_attrs.get(WARM_START) == "old"]
    assert sorted((t.params["units"], t.value) for t in warm) == sorted((t.params["units"], t.value) for t in old.trials)
    space = load_spec(path).space.distributions()
    for t in warm:  # the space's own distributions: to TPE they are trials like its own
        assert t.distributions == {n: space[n] for n in t.params}
    again = invoke("run", str(path), "--storage", url, "--trials", "3", "--warm-start", "old")
    assert again.exit_code == 0, again.output
    assert "warm start" not in again.output  # copied once; the resumed run only adds its trial
    counts = kind_counts(optuna.load_study(study_name="mine", storage=url).trials)
    assert (counts["warm-start"], counts["complete"]) == (4, 3)


@pytest.mark.parametrize("args, message", [
    (["--warm-start", "nope"], "--warm-start: no study named 'nope' in this database; its studies: old"),
    (["--warm-start", "mine"], "--warm-start 'mine' names the study being run"),
    (["--warm-start", "old", "--study-name", "other"], None),
])
def test_a_bad_warm_start_changes_nothing(searched: tuple[Path, str], tmp_path: Path, args: list[str],
                                          message: str | None) -> None:
    path, url = searched[0], _copy_db(searched, tmp_path)
    if message is None:  # the source was scored on another metric
        path = tmp_path / "loss.py"
        path.write_text(STUDY.replace("max_rows=300)", "max_rows=300, metric='val_loss')"))
        message = "--warm-start: study 'old' was scored on val_accuracy, this study on val_loss"
    before = _content(url)
    result = invoke("run", str(path), "--storage", url, "--trials", "1", *args)
    assert message in one_error_line(result)
    assert _content(url) == before


def _content(url: str) -> list[tuple]:
    """Every study with its attributes and trials (what a run could change)."""
    out = []
    for summary in optuna.get_all_study_summaries(url):
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        out.append((summary.study_name, sorted(study.user_attrs.items(), key=str),
                    [(t.number, t.state, t.params, t.value) for t in study.trials]))
    return out
