"""tunekit's ``hp`` answers as keras-tuner's own ``HyperParameters`` does, and records a Space."""

from __future__ import annotations

import re

import pytest

from tunekit._errors import ConfigError
from tunekit.hyper import HyperParameters, record_space
from tunekit.space import Bool, Choice, Condition, Fixed, Float, Int, Space

kt = pytest.importorskip("keras_tuner")  # the bench extra installs it (make test does)


def getting_started(hp, out: list) -> None:
    """keras-tuner's getting-started declarations, every value kept in ``out``."""
    out.append(hp.Int("num_layers", 1, 3))
    for i in range(out[-1]):
        out.append(hp.Int(f"units_{i}", min_value=32, max_value=512, step=32))
    out.append(hp.Choice("activation", ["relu", "tanh"]))
    out.append(hp.Boolean("dropout"))
    out.append(hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log"))
    out.append(hp.Fixed("epochs_note", 3))
    kind = hp.Choice("model_type", ["mlp", "cnn"], default="cnn")
    out.append(kind)
    with hp.conditional_scope("model_type", ["mlp"]):
        out.append(hp.Int("mlp_units", 8, 64, step=8))
    with hp.conditional_scope("model_type", ["cnn"]):
        out.append(hp.Int("filters", 4, 32, step=4, default=8))
        out.append(hp.Float("conv_dropout", 0.0, 0.5, step=0.1))
    out.append(hp.Float("momentum", 0.0, 0.9, parent_name="model_type", parent_values=["mlp"]))


@pytest.mark.parametrize("values", [{}, {"num_layers": 2, "model_type": "mlp", "mlp_units": 16}])
def test_values_and_inactive_parameters_match_keras_tuner(values: dict) -> None:
    ours, theirs = HyperParameters(values), kt.HyperParameters()
    theirs.values.update(values)
    got, expected = [], []
    getting_started(ours, got)
    getting_started(theirs, expected)
    assert got == expected
    assert ours.values == {k: v for k, v in theirs.values.items()}
    for name in ("num_layers", "lr", "model_type"):
        assert ours.get(name) == theirs.get(name) and ours[name] == theirs[name] and name in ours
    inactive = "filters" if values else "mlp_units"
    for hp in (ours, theirs):
        with pytest.raises(ValueError):
            hp.get(inactive)
        with pytest.raises(KeyError):
            hp.get("never_declared")
        assert inactive not in hp


def test_recorded_space_has_every_scope_and_keras_tuner_rules() -> None:
    space = record_space(lambda hp: getting_started(hp, []))
    assert space.names == ("num_layers", "units_0", "activation", "dropout", "lr", "epochs_note", "model_type",
                           "mlp_units", "filters", "conv_dropout", "momentum")
    assert space["units_0"] == Int(32, 512, step=32, name="units_0")
    assert space["lr"] == Float(1e-4, 1e-2, log=True, name="lr")
    assert space["dropout"] == Bool(name="dropout")
    assert space["epochs_note"] == Fixed(3, name="epochs_note")
    assert space["mlp_units"].when == Condition("model_type", "in", ("mlp",))
    assert space["filters"].when == Condition("model_type", "in", ("cnn",)) and space["filters"].default == 8
    assert space["conv_dropout"].high == pytest.approx(0.5) and space["conv_dropout"].step == pytest.approx(0.1)
    assert space.defaults() == {"model_type": "cnn", "filters": 8}  # only what default= declared
    assert Space.from_json(space.to_json()) == space  # stored with the study as any space


def test_scopes_only_entered_under_other_values_are_recorded() -> None:
    """keras-tuner's _activate_all_conditions: a branch taken only for another parent value is
    recorded by calling build again with that value."""
    calls = []

    def build(hp):
        calls.append(dict(hp.values))
        kind = hp.Choice("kind", ["a", "b", "c"])
        for value, child in (("b", "beta"), ("c", "gamma")):
            with hp.conditional_scope("kind", [value]):
                if kind == value:
                    hp.Int(child, 1, 4)

    assert record_space(build).names == ("kind", "beta", "gamma")
    assert [c.get("kind") for c in calls] == [None, "b", "c"]


def test_keras_tuner_steps_and_samplings() -> None:
    hp = HyperParameters()
    hp.Int("u", 16, 100, step=16)
    hp.Int("geo", 16, 256, step=2, sampling="log")
    hp.Float("rev", 1e-3, 1.0, sampling="reverse_log")
    hp.Choice("ordered", [1, 2, 4], ordered=True)
    assert hp.declared["u"].high == 96  # keras-tuner's last reachable value
    assert hp.declared["geo"] == Choice([16, 32, 64, 128, 256], name="geo")
    assert hp.declared["rev"].log is True
    assert hp.values == {"u": 16, "geo": 16, "rev": 1e-3, "ordered": 1}


def test_name_scope_prefixes_names() -> None:
    hp = HyperParameters({"block/units": 64})
    with hp.name_scope("block"):
        assert hp.Int("units", 32, 128, step=32) == 64
    assert "block/units" in hp.declared


def test_asked_values_come_from_the_caller() -> None:
    asked = []
    hp = HyperParameters({"a": 2}, ask=lambda dim: asked.append(dim.name) or dim.high)
    assert hp.Int("a", 1, 3) == 2 and hp.Int("b", 1, 5) == 5
    assert asked == ["b"] and hp.asked == ["b"]


@pytest.mark.parametrize("build, message", [
    (lambda hp: hp.Int("n", 5, 1), "low <= high"),
    (lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "log=True needs low > 0"),
    (lambda hp: hp.Float("lr", 1e-3, 1.0, sampling="logarithmic"), "sampling must be one of"),
    (lambda hp: hp.Choice("act", "relu"), "values must be a list"),
    (lambda hp: hp.Int("n", 1, 3, default=7), "default 7 is not one of its values"),
    (lambda hp: hp.conditional_scope("missing", [1]).__enter__(), "parent 'missing' is not declared yet"),
    (lambda hp: None, "declares no hyperparameter"),
    (lambda hp: 1 / 0, "build(hp) failed while tunekit recorded its search space"),
    (lambda hp: (hp.Int("u", 8, 64), hp.Int("u", 16, 32)),
     "hp 'u' is declared twice, as Int(8, 64) then as Int(16, 32)"),
    (lambda hp: (hp.Choice("act", ["relu", "tanh"]), hp.Choice("act", ["relu", "elu"])),
     "hp 'act' is declared twice, as Choice(['relu', 'tanh']) then as Choice(['relu', 'elu'])"),
    (lambda hp: (hp.Int("u", 8, 64), hp.Float("u", 8, 64)), "hp 'u' is declared twice, as Int(8, 64) then as Float"),
])
def test_bad_declarations_are_one_clear_line(build, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        record_space(build)
    assert "\n" not in str(info.value)


def test_a_name_declared_twice_alike_is_one_parameter_and_differently_is_refused() -> None:
    def same(hp):
        for _ in range(3):  # a layer loop: the same declaration each time, as keras-tuner's examples do
            hp.Choice("act", ["relu", "tanh"])
        hp.Fixed("c", 3), hp.Fixed("c", 3)

    assert record_space(same).names == ("act", "c")

    def range_by_kind(hp):
        kind = hp.Choice("kind", ["a", "b"])
        with hp.conditional_scope("kind", ["b"]):
            hp.Int("width", 1, 2)
        hp.Int("u", 8, 64 if kind == "a" else 32)  # the second recording call (kind b) declares another range

    with pytest.raises(ConfigError, match=re.escape("hp 'u' is declared twice, as Int(8, 64) then as Int(8, 32)")):
        record_space(range_by_kind)
