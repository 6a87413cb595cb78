"""Dimension value objects: validation messages, `when` sugar, conversions, round trips."""

from __future__ import annotations

import dataclasses
import re

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tunekit._errors import ConfigError
from tunekit.space import Bool, Choice, Condition, Dimension, Fixed, Float, Int, PerLayer

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ----------------------------------------------------------------------------- validation

INVALID = [
    (lambda: Float(0.0, 1.0, log=True, name="lr"), "Float 'lr': log=True needs low > 0, got low=0.0"),
    (lambda: Float(-1, 1, log=True, name="lr"), "Float 'lr': log=True needs low > 0, got low=-1.0"),
    (lambda: Int(64, 16, name="units"), "Int 'units': low <= high must hold, got low=64, high=16"),
    (lambda: Float(0.5, 0.1, name="dropout"), "Float 'dropout': low <= high must hold, got low=0.5, high=0.1"),
    (lambda: Choice([], name="activation"), "Choice 'activation': needs at least one value, got []"),
    (
        lambda: Float(1e-3, 1.0, log=True, step=0.1, name="lr"),
        "Float 'lr': log=True and step are exclusive (Optuna rule), got log=True, step=0.1",
    ),
    (lambda: Int(1, 9, log=True, step=2, name="units"), "Int 'units': log=True needs step=1 (Optuna rule), got step=2"),
    (lambda: Int(0, 8, log=True, name="units"), "Int 'units': log=True needs low > 0, got low=0"),
    (lambda: Float(0.0, 1.0, step=0.0, name="d"), "Float 'd': step > 0 must hold, got step=0.0"),
    (lambda: Float(0.0, 1.0, step=-0.5, name="d"), "Float 'd': step > 0 must hold, got step=-0.5"),
    (
        lambda: Float(0.0, 1.0, step=0.3, name="d"),
        "Float 'd': (high - low) must be a multiple of step, got low=0.0, high=1.0, step=0.3",
    ),
    (lambda: Int(1, 10, step=0, name="u"), "Int 'u': step >= 1 must hold, got step=0"),
    (lambda: Int(1, 10, step=1.5, name="u"), "Int 'u': step >= 1 must hold, got step=1.5"),
    (
        lambda: Int(16, 100, step=16, name="u"),
        "Int 'u': (high - low) must be a multiple of step, got low=16, high=100, step=16",
    ),
    (lambda: Int(True, 3, name="u"), "Int 'u': low must be an int (not a bool or float), got low=True"),
    (lambda: Int(1, 3.0, name="u"), "Int 'u': high must be an int (not a bool or float), got high=3.0"),
    (lambda: Float(False, 1.0, name="d"), "Float 'd': low must be a finite number, got low=False"),
    (lambda: Float(0.0, float("inf"), name="d"), "Float 'd': high must be a finite number, got high=inf"),
    (lambda: Float(0.0, "1", name="d"), "Float 'd': high must be a finite number, got high='1'"),
    (lambda: Float(0.0, 1.0, log="yes", name="d"), "Float 'd': log must be True or False, got log='yes'"),
    (lambda: Float(0.1, 1.0, grid=[], name="d"), "Float 'd': grid= needs a non-empty list or tuple of values, got []"),
    (
        lambda: Float(1e-4, 1e-1, grid=[1e-3, 0.5], name="lr"),
        "Float 'lr': grid values must lie in [low, high], got 0.5 outside [0.0001, 0.1]",
    ),
    (
        lambda: Float(0.0, 0.5, step=0.1, grid=[0.15], name="d"),
        "Float 'd': grid values must be on the lattice low + k*step, got 0.15 with low=0.0, step=0.1",
    ),
    (lambda: Int(1, 8, grid=[2, 2], name="u"), "Int 'u': grid values must be unique, got 2 twice in [2, 2]"),
    (lambda: Int(1, 8, grid=[2.5], name="u"), "Int 'u': grid values must be an int (not a bool or float), got 2.5"),
    (lambda: Choice("relu", name="a"), "Choice 'a': values must be a list or tuple, got 'relu'"),
    (lambda: Choice(["relu", "relu"], name="a"), "Choice 'a': values must be unique, got 'relu' twice in ['relu', 'relu']"),
    (lambda: Choice([1, True], name="a"), "Choice 'a': values must be unique, got 1 and True (equal) in [1, True]"),
    (
        lambda: Choice([[1, 2]], name="a"),
        "Choice 'a': values must be str, int, float, bool or None (finite), got [1, 2] of type list",
    ),
    (
        lambda: Choice([float("nan")], name="a"),
        "Choice 'a': values must be str, int, float, bool or None (finite), got nan of type float",
    ),
    (lambda: Fixed({"a": 1}, name="f"), "Fixed 'f': value must be str, int, float, bool or None (finite), got {'a': 1}"),
    (lambda: Float(0.0, 1.0, name=""), "Float: name must be a non-empty str, got name=''"),
]


@pytest.mark.parametrize(("make", "message"), INVALID, ids=[m for _, m in INVALID])
def test_each_rule_has_a_one_line_message_naming_the_parameter(make, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        make()
    assert "\n" not in str(info.value)


def test_unnamed_dims_validate_only_when_named():
    dim = Float(0.0, 1.0, log=True)  # not validated yet: no name to put in the message
    with pytest.raises(ConfigError, match=re.escape("Float 'lr': log=True needs low > 0")):
        dataclasses.replace(dim, name="lr")
    with pytest.raises(ConfigError, match=re.escape("Float: log=True needs low > 0, got low=0.0")):
        dim.validate()


def test_valid_edges_are_accepted():
    Float(0.5, 0.5, name="a").validate()
    Int(3, 3, name="b").validate()
    Float(0.0, 0.3, step=0.1, name="c").validate()  # 0.3 / 0.1 is 2.9999999999999996
    Int(16, 128, step=16, name="d").validate()
    Int(1, 1024, log=True, name="e").validate()
    Choice([None, "x", 1, 2.5, False], name="f").validate()


def test_choice_rejects_values_optuna_cannot_tell_apart():
    with pytest.raises(ConfigError, match=re.escape("got 1 and 1.0 (equal)")):
        Choice([1, 1.0], name="x")
    with pytest.raises(ConfigError, match=re.escape("got 0 and False (equal)")):
        Choice([0, False], name="x")


# ----------------------------------------------------------------------------- normalisation


def test_inputs_are_normalised_to_canonical_types():
    f = Float(0, 1, step=1, grid=[0, 1], name="f")
    assert (type(f.low), type(f.high), type(f.step)) == (float, float, float)
    assert f.grid == (0.0, 1.0) and all(type(v) is float for v in f.grid)
    c = Choice(["a", "b"], name="c")
    assert c.values == ("a", "b")
    assert Int(1, 8, grid=[2, 4]).grid == (2, 4)


def test_dims_are_frozen_hashable_and_equal_by_value():
    a = Float(1e-4, 1e-1, log=True, name="lr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.low = 0.5  # type: ignore[misc]
    assert a == Float(0.0001, 0.1, log=True, name="lr")
    assert len({a, Float(0.0001, 0.1, log=True, name="lr"), Choice(["x"], when=("a", ["b", "c"]))}) == 2
    assert Bool() != Choice([False, True])
    assert isinstance(Bool(), Choice) and Bool().values == (False, True)


def test_keyword_only_after_bounds():
    with pytest.raises(TypeError):
        Float(0.0, 1.0, True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Bool(True)  # type: ignore[misc]


# ----------------------------------------------------------------------------- when


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (("optimizer", "sgd"), Condition("optimizer", "==", "sgd")),
        (("optimizer", ["sgd", "rmsprop"]), Condition("optimizer", "in", ("sgd", "rmsprop"))),
        (("optimizer", ("sgd",)), Condition("optimizer", "in", ("sgd",))),
        (("n_layers", ">", 1), Condition("n_layers", ">", 1)),
        (["n_layers", "<=", 2], Condition("n_layers", "<=", 2)),
        (("opt", "!=", "adam"), Condition("opt", "!=", "adam")),
        ({"param": "opt", "op": "in", "value": ["a"]}, Condition("opt", "in", ("a",))),
        (Condition("use_bn", "==", True), Condition("use_bn", "==", True)),
    ],
)
def test_when_sugar_is_normalised_to_a_condition(when, expected):
    dim = Float(0.0, 0.9, when=when, name="m")
    assert isinstance(dim.when, Condition)
    assert dim.when == expected
    if expected.op == "in":
        assert isinstance(dim.when.value, tuple)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("sgd", "Float 'm': when= must be (param, value), (param, op, value) or a Condition, got 'sgd'"),
        (("a", "b", "c", "d"), "Float 'm': when= must be (param, value), (param, op, value) or a Condition"),
        (("opt", "=~", "x"), "Float 'm': when op must be one of ['==', '!=', 'in', '>', '>=', '<', '<='], got '=~'"),
        (("n", ">", "2"), "Float 'm': when '>' needs a finite number, got '2'"),
        (("opt", []), "Float 'm': when 'in' needs a non-empty list or tuple of values, got []"),
        ((3, "x"), "Float 'm': when parent must be a parameter name (a non-empty str), got 3"),
    ],
)
def test_bad_when_is_reported_with_the_parameter(when, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Float(0.0, 0.9, when=when, name="m")


def test_condition_validates_itself():
    with pytest.raises(ConfigError, match=re.escape("Condition on 'x': op must be one of")):
        Condition("x", "~", 1)


def test_condition_holds():
    eq = Condition("optimizer", "==", "sgd")
    assert eq.holds({"optimizer": "sgd"}) and not eq.holds({"optimizer": "adam"})
    assert not eq.holds({})  # parent absent -> inactive
    assert not Condition("o", "!=", "sgd").holds({})
    assert Condition("o", "!=", "sgd").holds({"o": "adam"})
    assert Condition("o", "in", ["a", "b"]).holds({"o": "b"})
    gt = Condition("n_layers", ">", 1)
    assert [gt.holds({"n_layers": n}) for n in (0, 1, 2)] == [False, False, True]
    assert Condition("n", ">=", 2).holds({"n": 2}) and Condition("n", "<", 2).holds({"n": 1.5})
    assert not Condition("n", "<=", 2).holds({"n": 3})
    assert not gt.holds({"n_layers": None}) and not gt.holds({"n_layers": "3"})
    assert not Condition("flag", "==", 1).holds({"flag": True})  # True is not 1
    assert Condition("flag", "==", True).holds({"flag": True})
    assert str(Condition("o", "in", ("a",))) == "o in ['a']"


# ----------------------------------------------------------------------------- conversions


def test_to_distribution():
    assert Float(1e-4, 1e-1, log=True, name="lr").to_distribution() == FloatDistribution(1e-4, 1e-1, log=True)
    assert Float(0, 0.5, step=0.1).to_distribution() == FloatDistribution(0.0, 0.5, step=0.1)
    assert Int(16, 256, log=True).to_distribution() == IntDistribution(16, 256, log=True)
    assert Int(0, 10, step=2).to_distribution() == IntDistribution(0, 10, step=2)
    assert Choice(["a", "b"]).to_distribution() == CategoricalDistribution(("a", "b"))
    assert Bool().to_distribution() == CategoricalDistribution((False, True))
    assert Fixed(3).to_distribution() is None


def test_contains():
    f = Float(0.0, 0.5, step=0.1)
    assert f.contains(0.3) and f.contains(0) and not f.contains(0.35) and not f.contains(0.6)
    assert not f.contains(True) and not f.contains("0.1") and not f.contains(float("nan"))
    assert Float(1e-4, 1e-1, log=True).contains(0.05)
    i = Int(0, 10, step=2)
    assert i.contains(4) and not i.contains(5) and not i.contains(4.0) and not i.contains(True)
    c = Choice([1, "a", None])
    assert c.contains(1) and c.contains(None) and c.contains(1.0) and not c.contains(True) and not c.contains("b")
    assert Bool().contains(False) and not Bool().contains(0)
    assert Fixed(5).contains(5) and not Fixed(5).contains(6) and not Fixed(1).contains(True)


def test_suggest_uses_the_name_and_fixed_suggests_nothing():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    lr = Float(1e-4, 1e-1, log=True, name="lr").suggest(trial)
    units = Int(16, 64, step=16, name="units").suggest(trial)
    act = Choice(["relu", "tanh"], name="act").suggest(trial)
    flag = Bool(name="bn").suggest(trial)
    assert Fixed(20, name="epochs").suggest(trial) == 20
    assert set(trial.params) == {"lr", "units", "act", "bn"}
    assert type(lr) is float and 1e-4 <= lr <= 1e-1
    assert type(units) is int and units in (16, 32, 48, 64)
    assert act in ("relu", "tanh") and type(flag) is bool


ROUND_TRIP = [
    Float(1e-4, 1e-1, log=True),
    Float(0.0, 0.5, step=0.1, grid=[0.0, 0.2], when=("opt", "sgd"), name="d"),
    Int(1, 3),
    Int(16, 256, log=True, grid=[16, 64, 256], when=("n", ">", 1), name="u"),
    Choice(["relu", None, 3, 2.5, True], when=("o", ["a", "b"])),
    Bool(name="bn"),
    Fixed("adam"),
    Fixed(None, when=Condition("x", "<=", 3.5), name="f"),
]


@pytest.mark.parametrize("dim", ROUND_TRIP, ids=repr)
def test_to_dict_from_dict_round_trip(dim):
    import json

    d = dim.to_dict()
    assert json.loads(json.dumps(d)) == d  # JSON-able
    assert d["type"] in ("float", "int", "choice", "bool", "fixed")
    assert Dimension.from_dict(json.loads(json.dumps(d))) == dim


def test_from_dict_errors():
    with pytest.raises(ConfigError, match=re.escape("Dimension.from_dict needs a mapping with a 'type' in ['bool', 'choice'")):
        Dimension.from_dict({"type": "real", "low": 0})
    with pytest.raises(ConfigError, match=re.escape("Dimension.from_dict needs a mapping")):
        Dimension.from_dict({"type": ["float"]})
    with pytest.raises(ConfigError, match=re.escape("Float: unexpected keys ['q']")):
        Dimension.from_dict({"type": "float", "low": 0, "high": 1, "q": 2})
    with pytest.raises(ConfigError, match=re.escape("Int: log=True needs low > 0, got low=0")):
        Dimension.from_dict({"type": "int", "low": 0, "high": 4, "log": True})
    with pytest.raises(ConfigError, match=re.escape("Float: ")):
        Dimension.from_dict({"type": "float", "low": 0})


def test_repr_is_readable():
    assert repr(Float(1e-4, 0.1, log=True)) == "Float(0.0001, 0.1, log=True)"
    assert repr(Int(16, 64, step=16, name="u")) == "Int(16, 64, step=16, name='u')"
    assert repr(Choice(["a"], when=("o", "x"))) == "Choice(['a'], when=('o', '==', 'x'))"
    assert repr(Bool()) == "Bool()" and repr(Fixed(3)) == "Fixed(3)"
    assert repr(Float(0.0, 1.0, grid=[0.5])) == "Float(0.0, 1.0, grid=[0.5])"


def test_perlayer_defaults():
    per = PerLayer(Choice([32, 64]))
    assert per.count == "n_layers" and per.dim == Choice([32, 64])
    with pytest.raises(TypeError):
        PerLayer(Choice([1]), "n")  # type: ignore[misc]


def test_float_step_high_is_snapped_onto_the_decimal_lattice_optuna_uses(recwarn):
    dim = Float(0.0, 7 * 0.05, step=0.05, name="d")  # 0.35000000000000003
    assert dim.high == 0.35
    assert dim.to_distribution().high == 0.35
    assert not [w for w in recwarn if "divisible" in str(w.message)]
    assert Float(0.1, 0.1 + 3 * 0.1, step=0.1).high == 0.4


# ----------------------------------------------------------------------------- defaults

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Int(1, 3, default=5, name="n"), "Int 'n': default 5 is not a value of Int(1, 3); pick a default inside"),
        (lambda: Int(1, 3, default=1.5, name="n"), "Int 'n': default 1.5 is not a value of Int(1, 3)"),
        (lambda: Int(0, 10, step=5, default=3, name="n"), "Int 'n': default 3 is not a value of Int(0, 10, step=5)"),
        (lambda: Float(0, 1, default="x", name="f"), "Float 'f': default 'x' is not a value of Float(0.0, 1.0)"),
        (lambda: Choice(["a"], default="b", name="c"), "Choice 'c': default 'b' is not a value of Choice(['a'])"),
        (lambda: Fixed(3, default=3, name="e"), "Fixed 'e': a Fixed value takes no default= (it is always 3)"),
    ],
)
def test_a_default_outside_the_dimension_is_refused(make, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        make()


def test_defaults_are_coerced_kept_in_json_and_repr():
    assert Float(0, 1, default=1, name="f").default == 1.0 and isinstance(Float(0, 1, default=1).default, float)
    assert Choice([None, "x"], default=None, name="c").has_default  # None is a value, not "no default"
    assert not Choice([None, "x"], name="c").has_default
    dim = Int(16, 256, log=True, default=64, name="units")
    assert Dimension.from_dict(dim.to_dict()) == dim
    assert "default" not in Int(16, 256).to_dict()  # spaces stored before defaults existed read back equal
    assert repr(dim) == "Int(16, 256, log=True, default=64, name='units')"
    assert Dimension.from_dict(Choice([None, "x"], default=None).to_dict()).default is None
