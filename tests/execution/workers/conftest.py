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


#: A study file whose trials train iris (real Keras, the user's own model) and idle 0.3 s after
#: each epoch until the test writes ``{marker}``: then each trial ends after its current epoch,
#: and a trial that starts later trains one epoch. Long enough to be caught RUNNING on a loaded
#: machine (the test decides when they end), cheap in CPU while the test waits. Keras is loaded
#: with ``importlib`` inside the methods: a study file with an ``import keras`` line has TensorFlow
#: imported by every process that loads it (``tunekit.load_spec``), the ``run --workers`` parent
#: too (5 CPU seconds it never uses); the workers load it to train.
MARKED_STUDY = """import importlib
import os
import time

from tunekit import Choice, Int, StudySpec

MARKER = {marker!r}


class Waits:
    def build(self, hp):
        keras = importlib.import_module('keras')
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int('units', 4, 16),
                                  activation=hp.Choice('activation', ['relu', 'tanh'])),
                                  keras.layers.Dense(3, activation='softmax')])
        model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        return model

    def fit(self, hp, model, *args, callbacks=(), **kwargs):
        keras = importlib.import_module('keras')

        class UntilMarker(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if os.path.exists(MARKER):
                    self.model.stop_training = True
                else:
                    time.sleep(0.3)

        return model.fit(*args, callbacks=[*callbacks, UntilMarker()], **kwargs)


spec = StudySpec(data='iris', hypermodel=Waits(), space={{'units': Int(4, 16), 'activation': Choice(['relu', 'tanh'])}},
                 fixed={{'batch_size': 8}}, epochs={epochs})
"""


@pytest.fixture
def marked_study(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """Writes ``NAME.py`` (``MARKED_STUDY``: trials that last until the test writes the marker,
    at most ``epochs`` epochs of about 0.3 s); returns (the study file, the marker to write)."""

    def write(name: str, *, epochs: int = 600) -> tuple[Path, Path]:
        path, marker = tmp_path / f"{name}.py", tmp_path / f"{name}.done"
        path.write_text(MARKED_STUDY.format(marker=str(marker), epochs=epochs))
        return path, marker

    return write


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
