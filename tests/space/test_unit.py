"""Property tests of the unit-box encoding (tunekit.space._unit).

Each property is checked on a few hundred distributions drawn at random (seeded), plus the
edge cases named in the tests; no Hypothesis dependency, so failures print the case.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tunekit.space import Bool, Choice, Float, Int
from tunekit.space._unit import decode, encode, is_numeric, n_levels

# the random lattices include ranges Optuna cuts to the lattice, with a warning
pytestmark = pytest.mark.filterwarnings("ignore:The distribution is specified by")


def _random_dist(rng: np.random.Generator):
    kind = rng.integers(6)
    if kind == 0:  # plain float
        low = float(rng.uniform(-1e3, 1e3))
        return FloatDistribution(low, low + float(rng.choice([1e-6, 1e-2, 1.0, 1e4])) * float(rng.uniform(0.1, 10)))
    if kind == 1:  # log float
        low = float(10 ** rng.uniform(-8, 2))
        return FloatDistribution(low, low * float(10 ** rng.uniform(0.01, 8)), log=True)
    if kind == 2:  # float on a lattice (high may be cut to the lattice by Optuna)
        low = float(np.round(rng.uniform(-10, 10), 3))
        step = float(rng.choice([0.001, 0.05, 0.1, 0.25, 0.3, 1.0, 2.5]))
        return FloatDistribution(low, low + step * int(rng.integers(0, 60)) + float(rng.uniform(0, step)), step=step)
    if kind == 3:  # int with a step
        low = int(rng.integers(-100, 100))
        return IntDistribution(low, low + int(rng.integers(0, 500)), step=int(rng.integers(1, 9)))
    if kind == 4:  # log int
        low = int(rng.integers(1, 64))
        return IntDistribution(low, low + int(rng.integers(0, 5000)), log=True)
    choices = [["a", "b", "c"], [1, 2, 4, 8], [False, True], [None, "x", 0.5], ["only"]][int(rng.integers(5))]
    return CategoricalDistribution(choices)


def _random_value(dist, rng: np.random.Generator):
    """A value the distribution contains (Optuna's own external representation)."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    n = n_levels(dist)
    if isinstance(dist, IntDistribution):
        return int(dist.low + dist.step * rng.integers(n))
    if dist.step is not None:
        return float(dist.low + dist.step * rng.integers(n))
    if dist.log:
        return float(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
    return float(rng.uniform(dist.low, dist.high))


def _contains(dist, value) -> bool:
    return dist._contains(dist.to_internal_repr(value))


CASES = [pytest.param(seed, id=f"seed{seed}") for seed in range(8)]


@pytest.mark.parametrize("seed", CASES)
def test_value_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        dist = _random_dist(rng)
        for _ in range(10):
            value = _random_value(dist, rng)
            u = encode(dist, value)
            back = decode(dist, u)
            assert type(back) is type(value), (dist, value, back)
            if isinstance(dist, FloatDistribution):  # lattice floats decode to the clean decimal
                assert back == pytest.approx(value, rel=1e-9, abs=1e-12), (dist, value, u, back)
            else:
                assert back == value, (dist, value, u, back)
            if is_numeric(dist):
                assert 0.0 <= u <= 1.0, (dist, value, u)
            else:
                assert u == float(dist.choices.index(value))


@pytest.mark.parametrize("seed", CASES)
def test_unit_round_trip_stays_in_bounds_and_in_cell(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(200):
        dist = _random_dist(rng)
        if not is_numeric(dist):
            continue
        us = np.concatenate([[0.0, 1.0, 0.5, 1 - 1e-12], rng.uniform(0, 1, 20)])
        n = n_levels(dist)
        for u in us:
            value = decode(dist, float(u))
            assert isinstance(value, int if isinstance(dist, IntDistribution) else float)
            assert not isinstance(value, bool)
            assert _contains(dist, value), (dist, u, value)
            again = encode(dist, value)
            if isinstance(dist, IntDistribution) and dist.log:
                # the log cells are uneven; u lies inside the cell of its value
                assert decode(dist, again) == value
            elif n is not None:
                assert abs(again - u) <= 0.5 / n + 1e-9, (dist, u, value, again)
            else:  # exact up to the float resolution of the range
                ulp = np.spacing(max(abs(dist.low), abs(dist.high)))
                tol = 1e-9 + 4 * ulp / (math.log(dist.high / dist.low) if dist.log else dist.high - dist.low)
                assert again == pytest.approx(u, abs=tol), (dist, u, value, again)


@pytest.mark.parametrize("seed", CASES[:3])
def test_decode_is_monotone(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    for _ in range(100):
        dist = _random_dist(rng)
        if not is_numeric(dist):
            continue
        values = [decode(dist, u) for u in np.sort(rng.uniform(-0.1, 1.1, 50))]
        assert values == sorted(values), dist


@pytest.mark.parametrize(
    "dist",
    [
        IntDistribution(0, 4),
        IntDistribution(3, 21, step=6),
        FloatDistribution(0.0, 0.6, step=0.3),
        FloatDistribution(0.1, 1.0, step=0.1),
    ],
    ids=repr,
)
def test_uniform_u_gives_every_lattice_point_its_share(dist) -> None:
    n = n_levels(dist)
    draws = [decode(dist, u) for u in (np.arange(20000) + 0.5) / 20000]
    counts = {v: draws.count(v) for v in set(draws)}
    assert len(counts) == n
    assert all(abs(c - 20000 / n) <= 1 for c in counts.values()), counts


def test_log_int_matches_a_log_uniform_law() -> None:
    dist = IntDistribution(1, 1000, log=True)
    draws = np.array([decode(dist, u) for u in (np.arange(10000) + 0.5) / 10000])
    assert draws.min() == 1 and draws.max() == 1000
    # about half of the mass below sqrt(1000) ~ 31.6 (log-uniform), not 3% (uniform)
    assert 0.45 < (draws <= 31).mean() < 0.55


def test_log_float_is_linear_in_log_space() -> None:
    dist = FloatDistribution(1e-4, 1.0, log=True)
    assert encode(dist, 1e-2) == pytest.approx(0.5)
    assert decode(dist, 0.25) == pytest.approx(1e-3)
    assert decode(dist, 0.0) == 1e-4 and decode(dist, 1.0) == 1.0


def test_out_of_box_is_clipped_and_nan_rejected() -> None:
    dist = FloatDistribution(2.0, 3.0)
    assert decode(dist, -5.0) == 2.0 and decode(dist, 7.0) == 3.0
    assert decode(IntDistribution(1, 3), 1.5) == 3
    with pytest.raises(ValueError, match="NaN"):
        decode(dist, float("nan"))


def test_single_point_distributions() -> None:
    for dist, value in [
        (FloatDistribution(0.5, 0.5), 0.5),
        (FloatDistribution(1e-3, 1e-3, log=True), 1e-3),
        (FloatDistribution(0.0, 0.05, step=0.1), 0.0),
        (IntDistribution(7, 7), 7),
        (IntDistribution(4, 4, log=True), 4),
        (IntDistribution(0, 3, step=5), 0),
    ]:
        assert n_levels(dist) == 1
        assert encode(dist, value) == 0.5
        assert [decode(dist, u) for u in (0.0, 0.3, 1.0)] == [value] * 3


def test_categorical_index_encoding() -> None:
    dist = CategoricalDistribution(["relu", "tanh", None])
    assert not is_numeric(dist)
    assert [encode(dist, v) for v in ["relu", "tanh", None]] == [0.0, 1.0, 2.0]
    assert decode(dist, 2) is None and decode(dist, 1.0) == "tanh"
    for bad in (0.5, -1, 3, float("nan")):
        with pytest.raises(ValueError, match="index in 0..2"):
            decode(dist, bad)
    with pytest.raises(ValueError, match="not one of the choices"):
        encode(dist, "gelu")


def test_bool_and_int_choices_keep_their_type() -> None:
    b = CategoricalDistribution([False, True])
    assert decode(b, encode(b, True)) is True
    c = CategoricalDistribution([16, 32, 64])
    assert decode(c, encode(c, 64)) == 64 and type(decode(c, 2)) is int


def test_arrays() -> None:
    dist = IntDistribution(0, 9)
    u = encode(dist, np.array([0, 5, 9]))
    assert isinstance(u, np.ndarray) and u.shape == (3,)
    assert decode(dist, u) == [0, 5, 9]


def test_space_dimensions_round_trip() -> None:
    """The distributions the search space hands Optuna are the ones encoded."""
    dims = {
        "lr": Float(1e-5, 1e-1, log=True),
        "dropout": Float(0.0, 0.5, step=0.1),
        "units": Int(16, 512, log=True),
        "layers": Int(1, 7, step=2),
        "act": Choice(["relu", "tanh"]),
        "bn": Bool(),
    }
    rng = np.random.default_rng(0)
    for name, dim in dims.items():
        dist = dim.to_distribution()
        for _ in range(50):
            value = _random_value(dist, rng)
            back = decode(dist, encode(dist, value))
            assert back == (pytest.approx(value) if is_numeric(dist) else value), name
            assert dim.contains(back), name


def test_unsupported_distribution() -> None:
    with pytest.raises(TypeError):
        is_numeric(object())  # type: ignore[arg-type]
