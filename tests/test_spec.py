"""StudySpec validation and study-file loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit import Choice, ConfigError, Float, Int, StudySpec
from tunekit._spec import load_spec
from tests.conftest import STUDIES


def test_defaults_and_direction() -> None:
    spec = StudySpec(data="iris", space={"units": Int(4, 8)}, metric="val_loss")
    assert spec.direction == "minimize"
    assert StudySpec(data="iris", space={}, metric="val_accuracy").direction == "maximize"
    assert StudySpec(data="iris", space={}).resolved_metric("regression") == ("val_rmse", "minimize")


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"activation": Choice(["relu", "relux"])}, r"unknown activation 'relux'; valid: .*relu"),
        ({"initializer": Choice(["he_normal", "xavier"])}, r"unknown initializer 'xavier'; valid: .*glorot_uniform"),
        ({"optimizer": Choice(["adam", "adamm"])}, r"unknown optimizer 'adamm'; valid: .*sgd"),
        ({"learning_rat": Float(1e-4, 1e-1, log=True)}, r"unknown parameter 'learning_rat' \(did you mean 'learning_rate'\?\)"),
        ({"lr": Float(0.0, 1.0, log=True)}, r"Float 'lr': log=True needs low > 0, got low=0.0"),
        ({"units": Int(64, 16)}, r"Int 'units': .*low=64, high=16"),
        ({"activation": Choice([])}, r"Choice 'activation': .*at least one"),
    ],
)
def test_bad_spaces_are_refused_at_declaration(space: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StudySpec(data="iris", space=space)


def test_fixed_values_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"unknown optimizer 'sgdd'"):
        StudySpec(data="iris", space={}, fixed={"optimizer": "sgdd"})
    with pytest.raises(ConfigError, match=r"both searched and fixed"):
        StudySpec(data="iris", space={"units": Int(4, 8)}, fixed={"units": 4})


def test_bad_epochs_and_metric() -> None:
    with pytest.raises(ConfigError, match=r"epochs must be an integer >= 1, got 0"):
        StudySpec(data="iris", space={}, epochs=0)
    with pytest.raises(ConfigError, match=r"direction must be 'minimize' or 'maximize'"):
        StudySpec(data="iris", space={}, direction="up")


def test_load_spec_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"study file 'nope.py' does not exist"):
        load_spec("nope.py")
    broken = tmp_path / "broken.py"
    broken.write_text("spec = StudySpec(\n")
    with pytest.raises(ConfigError, match=r"study file '.*broken.py' line \d+: .*fix the syntax error"):
        load_spec(broken)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"defines no StudySpec named 'spec'"):
        load_spec(empty)
    crashing = tmp_path / "crash.py"
    crashing.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"failed while loading: RuntimeError: boom"):
        load_spec(crashing)


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "diabetes", "wine_csv", "activation_init"])
def test_shipped_studies_load(name: str) -> None:
    spec = load_spec(STUDIES / f"{name}.py")
    assert spec.name == name
    assert Path(spec.base_dir) == STUDIES
    assert len(spec.space) >= 2
