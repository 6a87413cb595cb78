"""The fused core against Keras itself: the same initial weights, the same training step by step
(members fed the same batches as a Keras ``fit``), neighbour independence, divergence, stopping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pytest

from tunekit.factory import build_model, fit_fused, fused_groups, resolve_params, training_callbacks, unfusable_reason
from tunekit.factory._fused_net import initial_weights
from tunekit.factory._fused_train import epoch_order

N_TRAIN, N_VAL, N_IN = 96, 48, 6


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    # Keras' state only: its gc.collect() (free_memory) took 0.5-1 s per test in a process full of TF objects.
    keras.backend.clear_session(free_memory=False)
    yield


def data(task: str, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_TRAIN + N_VAL, N_IN)).astype(np.float32)
    score = x @ rng.normal(size=N_IN) + 0.5 * np.sin(3 * x[:, 0])
    if task == "multiclass":
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    elif task == "binary":
        y = (score > np.median(score)).astype(np.float32)
    else:
        y = score.astype(np.float32)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def fused(members: list[dict[str, Any]], seeds: list[int], task: str, **kwargs: Any) -> Any:
    xt, yt, xv, yv = data(task)
    params = [resolve_params(m, task=task) for m in members]
    return fit_fused(params, seeds=seeds, input_shape=(N_IN,), task=task, n_classes=3 if task == "multiclass" else None,
                     x_train=xt, y_train=yt, x_val=xv, y_val=yv, shuffle_seed=11, **kwargs)


class SameOrder(keras.utils.PyDataset):
    """The fused group's batches, epoch by epoch, for a Keras ``fit`` of one member."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch: int) -> None:
        super().__init__()
        # Keras peeks at two batches and calls on_epoch_end once before the first epoch.
        self.x, self.y, self.batch, self.epoch = x, y, batch, -1
        self.order = epoch_order(11, 0, len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.order[i * self.batch:(i + 1) * self.batch]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = epoch_order(11, max(self.epoch, 0), len(self.x))


def keras_alone(member: dict[str, Any], seed: int, task: str, monitor: str = "val_loss",
                mode: str = "min") -> tuple[dict[str, list[float]], dict[str, float]]:
    xt, yt, xv, yv = data(task)
    p = resolve_params(member, task=task)
    keras.utils.set_random_seed(seed)
    model = build_model(p, input_shape=(N_IN,), task=task, n_classes=3 if task == "multiclass" else None,
                        steps_per_epoch=-(-N_TRAIN // p["batch_size"]))
    history = model.fit(SameOrder(xt, yt, p["batch_size"]), validation_data=(xv, yv), epochs=p["epochs"],
                        callbacks=training_callbacks(p, monitor=monitor, mode=mode), verbose=0, shuffle=False)
    return history.history, model.evaluate(xv, yv, verbose=0, return_dict=True)


@pytest.mark.parametrize("member", [
    {"dropout": 0.2, "initializer": "he_normal"},
    {"initializer": "random_normal", "init_stddev": 0.3, "shape": "funnel", "units": 16, "dropout_1": 0.5},
    {"activation": "prelu", "batch_norm": "before", "initializer": "lecun_uniform"},
])
def test_initial_weights_are_the_ones_build_model_draws(member: dict[str, Any]) -> None:
    p = resolve_params({"n_layers": 2, "units": 8, **member}, task="binary")
    keras.utils.set_random_seed(123)
    model = build_model(p, input_shape=(N_IN,), task="binary")
    mine = initial_weights(p, 123, N_IN, 1)
    for i in range(2):
        np.testing.assert_array_equal(model.get_layer(f"dense_{i}").get_weights()[0], mine[f"kernel_{i}"])
    np.testing.assert_array_equal(model.get_layer("output").get_weights()[0], mine["kernel_out"])


# Members of one group (batch 16; 0 to 3 layers, 2 unless said) that differ in every knob, dropout
# included; each trains exactly as its own Keras fit fed the same batches, up to float rounding.
EXACT: dict[str, list[dict[str, Any]]] = {
    "multiclass": [
        {"units": 8, "n_layers": 1, "optimizer": "adam", "learning_rate": 0.01, "epochs": 4, "dropout": 0.3},
        {"units": 12, "activation": "prelu", "batch_norm": "before", "optimizer": "sgd", "momentum": 0.9,
         "dropout_1": 0.5, "nesterov": True, "learning_rate": 0.05, "schedule": "step", "decay_epochs": 1, "epochs": 3},
        {"units": 6, "units_1": 10, "activation": "tanh", "batch_norm": "after", "l2": 0.01,
         "optimizer": "rmsprop", "learning_rate": 0.005, "clipnorm": 0.5, "schedule": "cosine", "epochs": 4},
        {"units": 8, "activation": "leaky_relu", "leaky_alpha": 0.1, "l1": 0.001, "optimizer": "adamw",
         "weight_decay": 0.01, "learning_rate": 0.01, "schedule": "warmup", "warmup_epochs": 1, "epochs": 4},
        {"units": 8, "n_layers": 3, "activation": "gelu", "initializer": "he_uniform", "optimizer": "nadam",
         "learning_rate": 0.01, "patience": 1, "epochs": 5},
        {"units": 8, "activation": "softplus", "optimizer": "adagrad", "learning_rate": 0.05,
         "schedule": "plateau", "plateau_patience": 1, "decay_rate": 0.5, "epochs": 5},
        {"units": 4, "n_layers": 0, "activation": "selu", "optimizer": "adadelta", "learning_rate": 1.0, "clipvalue": 0.1,
         "schedule": "time", "epochs": 3},
    ],
    "regression": [
        {"units": 8, "loss": "huber", "optimizer": "adam", "learning_rate": 0.01, "schedule": "exponential", "epochs": 3},
        {"units": 10, "n_layers": 3, "loss": "mae", "activation": "elu", "batch_norm": "after", "optimizer": "sgd",
         "dropout": 0.2, "learning_rate": 0.01, "epochs": 3},
    ],
    "binary": [
        {"units": 8, "loss": "hinge", "activation": "sigmoid", "optimizer": "adam", "learning_rate": 0.01, "epochs": 3},
        {"units": 5, "n_layers": 1, "activation": "swish", "optimizer": "rmsprop", "learning_rate": 0.003, "epochs": 3,
         "dropout": 0.1},
        {"units": 6, "optimizer": "sgd", "learning_rate": 1.0, "patience": 2, "schedule": "plateau",
         "plateau_patience": 1, "epochs": 10},  # the plateau halves its rate, then it stops early
    ],
}
# What early stopping and the plateau watch, per task (the runner passes the study's metric).
MONITOR = {"binary": ("val_accuracy", "max"), "multiclass": ("val_loss", "min"), "regression": ("val_loss", "min")}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(EXACT))
def test_each_member_trains_as_its_own_keras_fit(task: str) -> None:
    members = [{"n_layers": 2, "batch_size": 16, **m} for m in EXACT[task]]
    assert len({m["n_layers"] for m in members}) > 1  # depths mixed in one group
    seeds = [100 + i for i in range(len(members))]
    monitor, mode = MONITOR[task]
    fit = fused(members, seeds, task, monitor=monitor, mode=mode)
    for k, (member, seed) in enumerate(zip(members, seeds)):
        history, final = keras_alone(member, seed, task, monitor, mode)
        result = fit.members[k]
        assert result.status == "done" and result.epochs_run == len(history["loss"]), (k, result)
        for key, values in history.items():
            np.testing.assert_allclose(result.history[key], values, rtol=2e-3, atol=1e-4, err_msg=f"{k} {key}")
        for key, value in final.items():
            np.testing.assert_allclose(result.final[key], value, rtol=2e-3, atol=1e-4, err_msg=f"{k} {key}")
    if task == "binary":  # early stopping and the plateau did act, in "max" mode
        assert fit.members[2].epochs_run < 10 and fit.members[2].history["learning_rate"][-1] < 1.0


def test_a_member_does_not_depend_on_its_neighbours() -> None:
    me = {"n_layers": 2, "units": 8, "dropout": 0.3, "batch_norm": "after", "epochs": 2, "learning_rate": 0.01}
    alone = fused([me], [5], "multiclass").members[0]
    crowd = fused([{**me, "units": 32, "optimizer": "sgd", "n_layers": 3}, me,
                   {**me, "activation": "tanh", "dropout": 0.0, "n_layers": 1}], [9, 5, 6], "multiclass").members[1]
    np.testing.assert_allclose(crowd.history["loss"], alone.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(crowd.final["loss"], alone.final["loss"], rtol=1e-5)


def test_member_model_evaluates_to_the_members_final_metrics() -> None:
    members = [{"n_layers": 2, "units": 6, "batch_norm": "before", "activation": "prelu", "epochs": 2},
               {"n_layers": 2, "units": 12, "dropout": 0.2, "l2": 0.01, "epochs": 2}]
    fit = fused(members, [1, 2], "multiclass")
    _, _, xv, yv = data("multiclass")
    for k in range(2):
        model = fit.member_model(k)
        assert isinstance(model, keras.Sequential)
        evaluated = model.evaluate(xv, yv, verbose=0, return_dict=True)
        for key, value in fit.members[k].final.items():
            assert evaluated[key] == pytest.approx(value, rel=1e-4)


def test_a_diverging_member_fails_alone() -> None:
    calm = {"n_layers": 1, "units": 8, "epochs": 3, "optimizer": "sgd", "learning_rate": 0.01}
    wild = {**calm, "learning_rate": 1e12}
    fit = fused([wild, calm], [1, 2], "regression")
    alone = fused([calm], [2], "regression").members[0]
    assert fit.members[0].status == "diverged" and "learning_rate" in fit.members[0].reason
    assert fit.members[0].epochs_run == 1
    assert fit.members[1].status == "done" and fit.members[1].epochs_run == 3
    np.testing.assert_allclose(fit.members[1].history["loss"], alone.history["loss"], rtol=1e-5)


def test_on_epoch_stops_members_and_epochs_are_per_member() -> None:
    seen: list[list[bool]] = []

    def prune_first(epoch: int, logs: list[dict[str, float] | None]) -> list[int]:
        seen.append([log is not None for log in logs])
        assert all(log is None or {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(log) for log in logs)
        return [0] if epoch == 0 else []

    members = [{"n_layers": 1, "units": 4, "epochs": e} for e in (4, 2, 4)]
    fit = fused(members, [1, 2, 3], "binary", on_epoch=prune_first)
    assert [m.status for m in fit.members] == ["stopped", "done", "done"]
    assert [m.epochs_run for m in fit.members] == [1, 2, 4]
    assert seen == [[True, True, True], [False, True, True], [False, False, True], [False, False, True]]
    assert all(m.train_seconds > 0 for m in fit.members)
    assert fit.members[2].train_seconds > fit.members[0].train_seconds


def test_groups_share_the_batch_size_whatever_their_depths() -> None:
    ps = [resolve_params(p, task="binary") for p in (
        {"batch_size": 32, "n_layers": 2}, {"batch_size": 64}, {"batch_size": 32, "n_layers": 3},
        {"batch_size": 32, "units": 8, "optimizer": "sgd", "activation": "tanh", "n_layers": 0})]
    assert fused_groups(ps) == [[0, 2, 3], [1]]
    assert all(unfusable_reason(p) is None for p in ps)
    with pytest.raises(ValueError, match="one fused group"):
        fused([{"batch_size": 16}, {"batch_size": 32}], [1, 2], "binary")


@pytest.mark.slow
def test_a_shrinking_group_trains_its_members_as_before() -> None:
    from tunekit.factory._fused_train import GroupTrainer

    members = [{"n_layers": d, "units": u, "epochs": e, "batch_norm": "after", "optimizer": o, "dropout": 0.1,
                "activation": a} for u, e, o, d, a in ((16, 1, "adam", 3, "prelu"), (8, 3, "nadam", 2, "relu"),
                                                      (24, 1, "sgd", 2, "relu"), (6, 2, "adam", 1, "relu"))]
    params = [resolve_params(m, task="binary") for m in members]
    xt, yt, xv, yv = data("binary")

    def train(shrink: str) -> tuple[Any, list[Any]]:
        trainer = GroupTrainer(params, [1, 2, 3, 4], input_shape=(N_IN,), task="binary", n_classes=None,
                               data=(xt, yt, xv, yv), monitor="val_loss", mode="min", shrink=shrink)
        return trainer, trainer.run(11, None)

    shrunk, small = train("always")
    _, full = train("never")
    # 4 -> 2 members after epoch 1 (padding cut to 8 units, the third layer and PReLU's alphas
    # gone), then 2 -> 1 after epoch 2
    assert shrunk.slots == [1] and shrunk.net.widths == [8, 8]
    for a, b in zip(small, full):
        assert a.epochs_run == b.epochs_run
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(a.final["loss"], b.final["loss"], rtol=1e-5)


@pytest.mark.slow
def test_an_xla_compiled_group_trains_as_the_traced_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """``jit``: the epoch compiled by XLA gives the traced epoch's results to float rounding, and
    the same results again when run again (a seed is a result); "auto" compiles when the steps
    reach ``XLA_MIN_STEPS`` (here lowered to this training's). A last, shorter batch (rows not a
    multiple of the batch size) is a step of its own. Dropout's masks differ (XLA's random numbers are
    not TensorFlow's kernels': compiled, they are a hash), so the member with dropout is compared
    only with itself run again; its neighbours are the same either way."""
    from tunekit.factory import _fused_cost
    from tunekit.factory._fused_train import GroupTrainer

    members = [{"n_layers": d, "units": u, "epochs": 3, "batch_norm": bn, "optimizer": o, "dropout": r,
                "activation": a, "batch_size": 40} for u, o, d, a, bn, r in (
                    (16, "adam", 2, "relu", "after", 0.0), (8, "sgd", 1, "tanh", "before", 0.0),
                    (12, "adam", 2, "elu", "none", 0.3))]
    params = [resolve_params(m, task="binary") for m in members]
    xt, yt, xv, yv = data("binary")
    assert len(xt) % 40 != 0

    def train(jit: bool | str) -> tuple[Any, list[Any]]:
        trainer = GroupTrainer(params, [1, 2, 3], input_shape=(N_IN,), task="binary", n_classes=None,
                               data=(xt, yt, xv, yv), monitor="val_loss", mode="min", jit=jit)
        return trainer, trainer.run(5, None)

    compiled, xla = train(True)
    traced, graph = train(False)
    assert compiled._epoch_fn._jit_compile and not traced._epoch_fn._jit_compile
    assert not GroupTrainer(params, [1, 2, 3], input_shape=(N_IN,), task="binary", n_classes=None, data=(xt, yt, xv, yv),
                            monitor="val_loss", mode="min").xla  # "auto": 3 steps an epoch, far from paying
    monkeypatch.setattr(_fused_cost, "XLA_MIN_STEPS", 3 * 2)  # 3 steps x the 2 epochs after the first
    chosen, again = train("auto")  # now compiled: the XLA run run again
    assert chosen.xla and chosen._epoch_fn._jit_compile
    for k, (a, b, c) in enumerate(zip(xla, graph, again)):
        assert a.epochs_run == b.epochs_run == 3 and a.status == b.status == "done"
        assert a.history == c.history and a.final == c.final
        if members[k]["dropout"] == 0:
            np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-4)
            np.testing.assert_allclose(a.final["loss"], b.final["loss"], rtol=1e-4)


@pytest.mark.parametrize("training", [True, False])
def test_the_stacked_forward_pass_equals_keras_with_the_same_weights(training: bool) -> None:
    import tensorflow as tf

    from tunekit.factory._fused_net import StackedNet

    members = [{"n_layers": 2, "units": 5, "batch_norm": "before", "activation": "prelu"},
               {"n_layers": 3, "units": 9, "units_1": 3, "units_2": 4, "batch_norm": "after", "activation": "softplus"},
               {"n_layers": 1, "units": 7, "activation": "leaky_relu", "leaky_alpha": 0.3},
               {"n_layers": 0}]
    params = [resolve_params(m, task="multiclass") for m in members]
    net = StackedNet(params, [1, 2, 3, 4], n_in=N_IN, n_out=3, out_activation="softmax")
    rng = np.random.default_rng(4)
    for v in net.trainable:  # random values, padding entries too: the unit masks must hide them
        v.assign(v + tf.constant(rng.normal(scale=0.3, size=v.shape), tf.float32))
    for v in [*net.moving_mean, *net.moving_var]:
        v.assign(tf.constant(rng.uniform(0.5, 1.5, size=v.shape), tf.float32))
    x = data("multiclass")[0][:20]
    stacked, _ = net.forward(tf.constant(x), training=training, step=tf.zeros([4], tf.int64))
    for k, p in enumerate(params):
        model = build_model(p, input_shape=(N_IN,), task="multiclass", n_classes=3)
        for name, values in net.member_weights(k).items():
            model.get_layer(name).set_weights(values)
        np.testing.assert_allclose(stacked.numpy()[k], np.asarray(model(x, training=training)), rtol=1e-5, atol=1e-6)


def test_inputs_of_higher_rank_are_flattened_as_build_model_does() -> None:
    xt, yt, xv, yv = data("binary")
    shape = (2, N_IN // 2)
    fit = fit_fused([resolve_params({"n_layers": 1, "units": 4, "epochs": 1}, task="binary")], seeds=[3],
                    input_shape=shape, task="binary", n_classes=None, x_train=xt.reshape(-1, *shape), y_train=yt,
                    x_val=xv.reshape(-1, *shape), y_val=yv, shuffle_seed=1)
    evaluated = fit.member_model(0).evaluate(xv.reshape(-1, *shape), yv, verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(fit.members[0].final["loss"], rel=1e-5)


@pytest.mark.parametrize("warmup_epochs", [1, 2])
def test_the_vectorised_warmup_schedule_equals_keras_step_by_step(warmup_epochs: int) -> None:
    import tensorflow as tf

    from tunekit.factory._fused_train import _warmup_cosine
    from tunekit.factory._schedules import make_learning_rate

    p = resolve_params({"schedule": "warmup", "warmup_epochs": warmup_epochs, "epochs": 4, "learning_rate": 0.01},
                       task="binary")
    schedule = make_learning_rate(p, 7)
    steps = np.arange(35, dtype=np.float32)  # past the end too: Keras clamps
    expected = [float(schedule(tf.constant(s))) for s in steps]
    np.testing.assert_allclose(_warmup_cosine(schedule, tf.constant(steps)), expected, rtol=1e-6, atol=1e-9)

