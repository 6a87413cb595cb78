"""Fused against unfused, statistically (issue 26, item 5): a member trains what its configuration
trains alone, and what it trains does not depend on its neighbours.

(a) For every configuration of ``CONFIGS`` (between them every knob of the factory's catalog), 5
seeds are trained twice on the same split for the same epochs: the ordinary way
(``TrialRunner.train``: ``build_model`` + ``model.fit`` on the runner's seeded ``tf.data`` pipeline)
and fused (``fit_fused``: one fit per seed and group of ``fused_groups``, cut to at most ``FUSE``
members; every member of a fit has that seed, and it seeds the batch order too, as ``run --fuse``
does). Same seed -> same initial weights and dropout masks; the batch order comes from a different
generator, so the two are compared as samples: ``|mean_fused - mean_unfused| <= 2 * sqrt(se_f**2 +
se_u**2)``, each standard error (``std(ddof=1) / sqrt(5)``) floored (``floor``: half a validation row
of accuracy, 0.5% of the mean RMSE), so that a configuration whose 5 values barely move is not held
to an exactness the batch order alone cannot promise. ``test_each_member_trains_as_its_own_keras_fit``
(``test_fused.py``) checks the exact equality, batch by batch.

(b) The same configuration and seeds trained fused among two different crowds (other widths,
depths, optimizers, activations, batch-norm placements, positions in the group): the same
first-epoch loss up to float rounding (``rtol=1e-4``), the same final metric within noise.

Tiny data: 500 rows of digits (400 train / 100 validation), breast_cancer (400 / 100), diabetes
(353 / 89); 3 to 5 epochs. Each configuration's test trains its 5 unfused models; the group's 5
fused fits are trained before, one seed a test (``test_a_task_s_fused_fits_train_every_member_and_differ_by_seed``),
and a module-level cache (``fused_members``) shares them with the group's configurations (before,
the first configuration's test trained all 5 and took 69 s in CI). One group per task (binary trains
at batch 64), and a task's tests share an ``xdist_group``: under ``--dist loadgroup`` one worker trains
a group's fits, not each worker that draws one of its tests (the multiclass group's 5 fits cost ~20 CPU s). The 5 fits of a group
stay 5 (one batch order each): trained as 5 members of one fit, a configuration's 5 seeds would share
one batch order, and its values stop being independent samples (measured: sigmoid-MSE regression,
fused 77.5 ± 3.7 against 64.7 ± 1.2 in one shared order, 67.4 ± 2.2 in five).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import optuna
import pytest

from tunekit import Choice, StudySpec
from tunekit.data import Dataset, load_data
from tunekit.execution import Speedups, TrialRunner, trial_seed
from tunekit.factory import default_metric, fit_fused, fused_groups, resolve_params

#: The training seeds: those of trials 0..4 of a study seeded 0 (what the runner derives).
SEEDS = [trial_seed(0, number) for number in range(5)]

#: task -> (built-in data set, max_rows)
DATA = {"multiclass": ("digits", 500), "binary": ("breast_cancer", 500), "regression": ("diabetes", None)}

#: name -> (task, parameters). Between them: n_layers 0-3, units / funnel / units_<i>, all 12
#: activations, all 9 initializers (+ init_stddev), batch_norm none / before / after, dropout and
#: dropout_<i>, L1, L2, all 7 optimizers (SGD plain / momentum / Nesterov, AdamW's weight_decay),
#: clipnorm, clipvalue, all 7 schedules (decay_rate, decay_epochs, warmup_epochs, staircase,
#: plateau_patience), early stopping (patience), batch_size 32 / 64, epochs 3-5, every loss
#: (sparse_ce, bce, hinge, mse, mae, huber).
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "nesterov-leaky-bn-before-step": ("multiclass", {
        "n_layers": 2, "units": 48, "shape": "funnel", "activation": "leaky_relu", "leaky_alpha": 0.1,
        "initializer": "he_normal", "batch_norm": "before", "optimizer": "sgd", "learning_rate": 0.05,
        "momentum": 0.9, "nesterov": True, "schedule": "step", "decay_epochs": 2, "decay_rate": 0.5, "epochs": 4}),
    "rmsprop-prelu-bn-after-dropout-cosine": ("multiclass", {
        "n_layers": 2, "units": 24, "units_1": 12, "activation": "prelu", "leaky_alpha": 0.25,
        "initializer": "lecun_uniform", "batch_norm": "after", "dropout": 0.2, "dropout_1": 0.1,
        "optimizer": "rmsprop", "learning_rate": 0.003, "schedule": "cosine", "epochs": 4}),
    "adagrad-elu-dropout-l2-time": ("multiclass", {
        "n_layers": 1, "units": 64, "activation": "elu", "initializer": "he_uniform", "dropout": 0.3,
        "l2": 1e-3, "optimizer": "adagrad", "learning_rate": 0.1, "schedule": "time", "decay_rate": 0.5,
        "epochs": 5}),
    "adamw-selu-l1-warmup": ("multiclass", {
        "n_layers": 1, "units": 32, "activation": "selu", "initializer": "lecun_normal", "l1": 1e-4,
        "optimizer": "adamw", "weight_decay": 0.01, "learning_rate": 0.01, "schedule": "warmup",
        "warmup_epochs": 1, "epochs": 4}),
    "nadam-gelu-clipnorm-exponential": ("multiclass", {
        "n_layers": 3, "units": 32, "activation": "gelu", "initializer": "glorot_normal",
        "optimizer": "nadam", "learning_rate": 0.005, "clipnorm": 1.0, "schedule": "exponential",
        "decay_rate": 0.8, "staircase": True, "epochs": 4}),
    "momentum-swish-plateau-patience": ("multiclass", {
        "n_layers": 3, "units": 32, "activation": "swish", "initializer": "random_normal", "init_stddev": 0.1,
        "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.8, "schedule": "plateau", "decay_rate": 0.5,
        "plateau_patience": 1, "patience": 2, "epochs": 5}),
    "adadelta-tanh-clipvalue": ("multiclass", {
        "n_layers": 2, "units": 32, "activation": "tanh", "initializer": "glorot_uniform",
        "optimizer": "adadelta", "learning_rate": 1.0, "clipvalue": 0.5, "epochs": 5}),
    "softplus-funnel-bn-after-adam": ("multiclass", {
        "n_layers": 2, "units": 64, "shape": "funnel", "activation": "softplus", "initializer": "he_normal",
        "batch_norm": "after", "optimizer": "adam", "learning_rate": 0.003, "epochs": 3}),
    "zeros-linear-model-sgd": ("multiclass", {
        "n_layers": 0, "initializer": "zeros", "optimizer": "sgd", "learning_rate": 0.1, "epochs": 3}),
    "binary-ones-bce-sgd-b64": ("binary", {
        "n_layers": 0, "initializer": "ones", "loss": "bce", "optimizer": "sgd", "learning_rate": 0.2,
        "batch_size": 64, "epochs": 3}),
    "binary-hinge-silu-adam-b64": ("binary", {
        "n_layers": 1, "units": 16, "activation": "silu", "initializer": "he_uniform", "loss": "hinge",
        "optimizer": "adam", "learning_rate": 0.01, "batch_size": 64, "epochs": 3}),
    "regression-huber-relu-adam": ("regression", {
        "n_layers": 2, "units": 32, "activation": "relu", "loss": "huber", "optimizer": "adam",
        "learning_rate": 0.01, "epochs": 5}),
    "regression-mae-linear-rmsprop": ("regression", {
        "n_layers": 1, "units": 16, "activation": "linear", "loss": "mae", "optimizer": "rmsprop",
        "learning_rate": 0.01, "epochs": 5}),
    "regression-mse-sigmoid-momentum": ("regression", {
        "n_layers": 2, "units": 16, "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "momentum": 0.9,
        "learning_rate": 0.01, "epochs": 4}),
}
#: The most members of one fused fit in (a): 9 leaves every group of ``fused_groups`` whole (one per task:
#: multiclass batch 32 has 9), as ``run --fuse 9`` would train it. One trace of 9 members costs less than three
#: of 3 (measured on 2 cores: the multiclass fits of one seed took 4.2 CPU s as 2 fits, 6.3 s as 4).
FUSE = 9


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"batch_size": 32, **params}


@cache
def dataset(task: str) -> Dataset:
    name, rows = DATA[task]
    return load_data(name, seed=0, max_rows=rows)


class _Trial:
    """A ``RunnerTrial`` that records and never prunes (as ``tunekit best --save-model``'s)."""

    def __init__(self, number: int, direction: optuna.study.StudyDirection) -> None:
        self.number, self.study = number, SimpleNamespace(direction=direction)
        self.user_attrs: dict[str, Any] = {}

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def report(self, value: float, step: int) -> None:
        pass

    def should_prune(self) -> bool:
        return False


def _metric(task: str) -> tuple[str, str]:
    metric, direction = default_metric(task)
    return metric, "max" if direction == "maximize" else "min"


@cache
def unfused(name: str, number: int) -> float:
    """Configuration ``name`` trained the ordinary way as trial ``number`` of a study seeded 0: its metric."""
    from tunekit.execution._tf import released_custom_gradients

    task, params = CONFIGS[name]
    metric, mode = _metric(task)
    spec = StudySpec(data=DATA[task][0], space={"units": Choice([8])}, epochs=3)  # train() gets every parameter
    runner = TrialRunner(spec=spec, dataset=dataset(task), metric=metric, seed=0, health=False,
                         speedups=Speedups(freeze_gc=False))
    direction = optuna.study.StudyDirection.MAXIMIZE if mode == "max" else optuna.study.StudyDirection.MINIMIZE
    trial = _Trial(number, direction)
    with released_custom_gradients():
        value = runner.train(trial, _params(params))
    assert trial.user_attrs["seed"] == SEEDS[number]
    return float(value)


def fused_fit(task: str, members: list[dict[str, Any]], seeds: list[int], shuffle_seed: int) -> Any:
    """``fit_fused`` as ``run --fuse`` calls it (fresh session, the trial's process state, the study metric)."""
    import keras

    from tunekit.execution._tf import released_custom_gradients, trial_process_state

    ds = dataset(task)
    metric, mode = _metric(task)
    params = [resolve_params(m, task=task) for m in members]
    keras.backend.clear_session(free_memory=False)  # its gc.collect() only frees memory, at ~0.5 s a call here
    with released_custom_gradients(), trial_process_state():
        return fit_fused(params, seeds=seeds, input_shape=ds.input_shape, task=task, n_classes=ds.n_classes,
                         x_train=ds.x_train, y_train=ds.y_train, x_val=ds.x_val, y_val=ds.y_val,
                         shuffle_seed=shuffle_seed, monitor=metric, mode=mode)


def study_metric(task: str, final: Mapping[str, float]) -> float:
    """A fused member's final value of the study metric, in the units the runner reports."""
    if task == "regression":
        return math.sqrt(max(final["mse"], 0.0)) * dataset(task).target_scale[1]
    return final["accuracy"]


def group_of(name: str) -> tuple[str, ...]:
    """The configurations trained in one fused fit with ``name``: its group of ``fused_groups`` (among
    the configurations of its task), cut into balanced parts of at most ``FUSE``, as ``run --fuse FUSE``
    would claim them."""
    task = CONFIGS[name][0]
    names = [n for n, (t, _) in CONFIGS.items() if t == task]
    params = [resolve_params(_params(CONFIGS[n][1]), task=task) for n in names]
    for group in fused_groups(params):
        for part in np.array_split(np.asarray(group), math.ceil(len(group) / FUSE)):
            if names.index(name) in part:
                return tuple(names[int(i)] for i in part)
    raise AssertionError(f"{name} is in no group")


@cache
def fused_members(group: tuple[str, ...], number: int) -> dict[str, Any]:
    """The configurations of ``group`` trained as one fused fit, all with seed ``SEEDS[number]``: their
    results (``MemberResult``)."""
    task = CONFIGS[group[0]][0]
    seed = SEEDS[number]
    fit = fused_fit(task, [_params(CONFIGS[n][1]) for n in group], [seed] * len(group), seed)
    for name, member in zip(group, fit.members):
        assert member.status == "done", (name, member.status, member.reason)
    return dict(zip(group, fit.members))


def fused(group: tuple[str, ...], number: int) -> dict[str, float]:
    """``fused_members``' final values of the study metric."""
    task = CONFIGS[group[0]][0]
    return {name: study_metric(task, member.final) for name, member in fused_members(group, number).items()}


def mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, np.float64)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def within_noise(a: list[float], b: list[float], floor: float) -> tuple[bool, str]:
    """Whether the means of ``a`` and ``b`` agree within 2 standard errors (each at least ``floor``),
    and the figures."""
    (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
    bound = 2 * math.hypot(max(sa, floor), max(sb, floor))
    figures = f"{ma:.4f} ± {sa:.4f} vs {mb:.4f} ± {sb:.4f} (|diff| {abs(ma - mb):.4f}, bound {bound:.4f})"
    return abs(ma - mb) <= bound, figures


def floor(task: str, values: list[float]) -> float:
    """The standard-error floor: half a validation row of accuracy; 0.5% of the mean RMSE."""
    if task == "regression":
        return 0.005 * abs(float(np.mean(values)))
    return 0.5 / dataset(task).n_val


def test_the_configurations_cover_every_knob() -> None:
    from tunekit.factory._catalog import CATALOG, DEFAULTS

    used: dict[str, set[Any]] = {}
    given: set[str] = set()
    for task, params in CONFIGS.values():
        given |= set(params)
        for key, value in resolve_params(_params(params), task=task).items():
            used.setdefault(key, set()).add(value)
    for key in ("activation", "initializer", "optimizer", "schedule", "batch_norm", "shape", "loss"):
        missing = set(CATALOG[key]) - used[key]
        assert not missing, f"no configuration uses {key} {sorted(missing)}"
    unset = set(DEFAULTS) - given
    assert not unset, f"no configuration sets {sorted(unset)}"
    assert {"units_1", "dropout_1"} <= given and {0, 1, 2, 3} <= used["n_layers"]
    assert True in used["nesterov"] and {32, 64} <= used["batch_size"] and len(used["epochs"]) >= 3


def _groups(task: str) -> list[tuple[str, ...]]:
    """The fused fits of ``task``'s configurations (``group_of`` each), each once, in order."""
    return list(dict.fromkeys(group_of(n) for n, (t, _) in CONFIGS.items() if t == task))


@pytest.mark.slow
@pytest.mark.parametrize(("task", "number"), [
    pytest.param(task, number, marks=pytest.mark.xdist_group(f"fused-equivalence-{task}"))
    for task in DATA for number in range(len(SEEDS))])
def test_a_task_s_fused_fits_train_every_member_and_differ_by_seed(task: str, number: int) -> None:
    """The fused fits that (a) compares (the ``fused_members`` cache: trained here, one seed a test,
    first on their group's worker, not all inside the first configuration's test): every member
    trains its epochs (or stops early: ``patience``), and a configuration's final loss differs from
    its loss under the earlier seeds (each fit has its own seed and batch order: 5 samples, not one)."""
    for group in _groups(task):
        runs = [fused_members(group, n) for n in range(number + 1)]
        for name in group:
            epochs, patience = CONFIGS[name][1]["epochs"], CONFIGS[name][1].get("patience")
            done = runs[-1][name].epochs_run
            assert done == epochs or (patience and patience < done < epochs), (name, done)
            losses = [run[name].final["loss"] for run in runs]
            assert math.isfinite(losses[-1]) and losses[-1] not in losses[:-1], (name, losses)


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xdist_group(f"fused-equivalence-{task}"))
                                  for name, (task, _) in CONFIGS.items()])
def test_a_member_trains_what_its_configuration_trains_alone(name: str) -> None:
    task = CONFIGS[name][0]
    group = group_of(name)
    fused_values = [fused(group, n)[name] for n in range(len(SEEDS))]
    unfused_values = [unfused(name, n) for n in range(len(SEEDS))]
    ok, figures = within_noise(fused_values, unfused_values, floor(task, unfused_values))
    print(f"{name}: fused {figures} unfused; fused {np.round(fused_values, 4)} unfused {np.round(unfused_values, 4)}")
    assert ok, f"{name} ({task}): fused {figures} unfused\nfused {fused_values}\nunfused {unfused_values}"


# (b) One configuration, five seeds, two crowds.
ME: dict[str, Any] = {
    "n_layers": 2, "units": 16, "activation": "elu", "batch_norm": "after", "dropout": 0.2, "l2": 1e-3,
    "optimizer": "adam", "learning_rate": 0.01, "epochs": 3, "batch_size": 32}
CROWD_A: list[dict[str, Any]] = [
    {**ME, "units": 48, "activation": "tanh", "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "dropout": 0.0},
    {**ME, "units": 8, "activation": "prelu", "batch_norm": "before", "optimizer": "rmsprop", "dropout": 0.5},
]
CROWD_B: list[dict[str, Any]] = [
    {**ME, "n_layers": 1, "units": 64, "optimizer": "adagrad", "learning_rate": 0.1},
    {**ME, "n_layers": 3, "units": 32, "optimizer": "nadam", "activation": "gelu"},
    {**ME, "units": 32, "units_1": 4, "batch_norm": "before", "optimizer": "adamw", "clipnorm": 0.1},
    {**ME, "units": 24, "activation": "sigmoid", "optimizer": "adadelta", "learning_rate": 1.0, "dropout": 0.4,
     "l2": 0.0, "l1": 1e-3, "schedule": "cosine", "epochs": 2},
]


def crowd_fit(members: list[dict[str, Any]], seeds: list[int], mine: list[int]) -> list[Any]:
    """Train the group of ``fused_groups`` that holds the members ``mine``; their results, in order."""
    params = [resolve_params(m, task="multiclass") for m in members]
    group = next(g for g in fused_groups(params) if mine[0] in g)
    assert set(mine) <= set(group) and len(group) > len(mine), "ME must share its group with neighbours"
    fit = fused_fit("multiclass", [members[i] for i in group], [seeds[i] for i in group], shuffle_seed=7)
    return [fit.members[group.index(i)] for i in mine]


@pytest.mark.slow
def test_a_member_does_not_depend_on_its_neighbours() -> None:
    n, others = len(SEEDS), len(CROWD_B)
    # crowd A: ME's five seeds first; crowd B: the neighbours first, ME's seeds in reverse order
    a = crowd_fit([ME] * n + CROWD_A, [*SEEDS, 1, 2], list(range(n)))
    b = crowd_fit(CROWD_B + [ME] * n, [3, 4, 5, 6, *SEEDS[::-1]], [others + n - 1 - i for i in range(n)])
    first_a, first_b = [m.history["loss"][0] for m in a], [m.history["loss"][0] for m in b]
    np.testing.assert_allclose(first_b, first_a, rtol=1e-4, err_msg="first-epoch training loss")
    np.testing.assert_allclose([m.history["val_loss"][0] for m in b], [m.history["val_loss"][0] for m in a],
                               rtol=1e-4, err_msg="first-epoch validation loss")
    acc_a, acc_b = [m.final["accuracy"] for m in a], [m.final["accuracy"] for m in b]
    ok, figures = within_noise(acc_a, acc_b, floor("multiclass", acc_a))
    drift = max(abs(x - y) / abs(y) for ma, mb in zip(a, b) for x, y in zip(ma.history["loss"], mb.history["loss"]))
    print(f"neighbours: first-epoch loss A {np.round(first_a, 6)} B {np.round(first_b, 6)}; largest relative "
          f"difference of an epoch's loss {drift:.2e}; final accuracy {figures}")
    assert ok, f"final val accuracy among crowd A vs crowd B: {figures}"
