"""Seeds: one derivation (``tunekit._seeds.derive_seed``), the same seeds as before it existed.

The pinned values below were computed with the code before the derivation was shared: the
same seed must still give the same parameters and the same training seed.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import optuna
import pytest

from tunekit.execution import trial_seed, worker_seed
from tunekit.space import Bool, Choice, Float, Int, Space
from tunekit.strategies import make_sampler

PACKAGE = Path(__file__).resolve().parents[1] / "tunekit"
SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "u": Int(4, 64), "a": Choice(["relu", "tanh"]), "b": Bool()})
#: sha256[:16] of the 8 suggested parameter sets (floats to 6 significant digits), seed 11.
SEQUENCES = {"grid": "14bd75a9698e5fd7", "random": "b8937846513dca98", "tpe": "ee42d42c327e1996",
             "skopt": "3c05ef0b68a5bd76", "metropolis": "68bd9a3b3a7ef018", "anneal": "6e8a315aa79375a8"}


def test_no_seed_is_derived_outside_the_seeds_module() -> None:
    pattern = re.compile(r"SeedSequence|crc32\(|% \(2\s*\*\*\s*31")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_seeds.py" or path.name == "_storage.py":  # _storage: a lock key, not a seed
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not offenders, "derive seeds with tunekit._seeds.derive_seed:\n" + "\n".join(offenders)


def test_training_seeds_are_the_ones_studies_got_before() -> None:
    got = [trial_seed(s, n) for s in (0, 5, 2**33 + 3) for n in range(4)]
    assert got == [821328063, 1817441349, 993632896, 465539300, 16823399, 1649007021, 1078640118, 727168946,
                   1576890651, 457190280, 960329833, 2105776028]


def test_worker_seeds_are_the_ones_workers_got_before() -> None:
    model = [0, 1817441349, 993632896, 1094635675, 7, 369571992, 1009178997, 847125140]
    for strategy in ("tpe", "skopt"):
        assert [worker_seed(strategy, s, *salt) for s in (0, 7) for salt in ((), (1,), (2,), (123, 456))] == model
    for strategy in ("grid", "random"):  # their points depend on the trial, not on the worker
        assert [worker_seed(strategy, s, *salt) for s in (0, 7) for salt in ((), (1,), (123, 456))] == [0] * 3 + [7] * 3


def test_derive_seed_forms() -> None:
    from tunekit._seeds import TRAINING_SEED_LIMIT, derive_seed

    assert derive_seed(5, 0, below=TRAINING_SEED_LIMIT) == trial_seed(5, 0)
    assert derive_seed(5, 0, bits=31) == derive_seed(5, 0) >> 1
    assert derive_seed(5, "lr") != derive_seed(5, "units")
    assert derive_seed(5 + 2**32, 1) == derive_seed(5, 1)  # the base enters as 32 bits


def _digest(study: optuna.Study) -> str:
    params = [{k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in sorted(t.params.items())}
              for t in study.trials]
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_same_seed_same_parameters_as_before(name: str) -> None:
    startup = {"skopt": {"n_initial_points": 3}, "tpe": {"n_startup_trials": 3},
               "metropolis": {"n_startup_trials": 3}, "anneal": {"n_startup_trials": 3}}.get(name, {})
    study = optuna.create_study(sampler=make_sampler(name, space=SPACE, seed=11, options=startup))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda t: (SPACE.sample(t)["lr"] - 0.01) ** 2 + t.params["u"] / 100, n_trials=8)
    assert _digest(study) == SEQUENCES[name]
