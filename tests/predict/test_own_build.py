"""Issue 28 item 5: a keras-tuner ``build(hp)`` study's model is the user's own, so its encoding is
whatever they did: `best --save-model` says so in one line and saves the model as built;
`tunekit predict` refuses it with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line

BUILD = '''
import keras

from tunekit import StudySpec


def build(hp):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


spec = StudySpec(data="digits", build=build, epochs=2, max_rows=300, fixed={"batch_size": 32})
'''


@pytest.mark.slow  # trains a tiny real study, retrains its best trial
def test_own_build_model_is_saved_as_built_with_a_one_line_note(db_url: str, tmp_path: Path) -> None:
    import keras
    import numpy as np

    (tmp_path / "own.py").write_text(BUILD)
    assert invoke("run", str(tmp_path / "own.py"), "--trials", "1", "--storage", db_url, "-q").exit_code == 0
    result = invoke("best", "own", "--storage", db_url, "--save-model", "best.keras")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "your own build(hp) model" in line]
    assert len(notes) == 1 and notes[0].startswith("note: this study trained your own build(hp) model: its inputs are")
    card = json.loads(Path("best.json").read_text())
    assert card["inputs"] is None and card["takes"].startswith("this study trained your own build(hp) model")
    model = keras.models.load_model("best.keras")
    assert model.input_shape == (None, 64) and model.predict(np.zeros((2, 64)), verbose=0).shape == (2, 10)  # as built
    Path("new.csv").write_text("a,b\n1,2\n")
    line = one_error_line(invoke("predict", "--model", "best.keras", "new.csv", "-o", "p.csv"))
    assert "is of your own build(hp) model, whose inputs tunekit does not know" in line and not Path("p.csv").exists()
    line = one_error_line(invoke("predict", "own", "new.csv", "-o", "p.csv", "--storage", db_url))  # refused before retraining
    assert "study 'own' trained your own build(hp) model, whose inputs tunekit does not know" in line
