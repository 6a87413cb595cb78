"""The training loop of a fused group: one ``tf.function`` per epoch, per-member rules after it.

See ``tunekit.factory._fused`` for the design. Early stopping and the plateau schedule follow
Keras' ``EarlyStopping`` (``min_delta=0``, ``restore_best_weights=True``: the best epoch's
weights come back when the member ends) and ``ReduceLROnPlateau`` (``min_delta=1e-4``,
``cooldown=0``, ``min_lr=0``) as ``training_callbacks`` configures them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tunekit.factory._fused_cost import xla_pays
from tunekit.factory._fused_net import StackedNet
from tunekit.factory._fused_optim import StackedOptimizer
from tunekit.factory._fused_types import (
    Logs,
    MemberResult,
    MemberState,
    OnEpoch,
    Watcher,
)
from tunekit.factory._schedules import make_learning_rate

_LOSSES = {
    "bce": keras.losses.binary_crossentropy, "hinge": keras.losses.hinge,
    "sparse_ce": keras.losses.sparse_categorical_crossentropy, "mse": keras.losses.mean_squared_error,
    "mae": keras.losses.mean_absolute_error, "huber": keras.losses.huber,
}
_VAL_BYTES = 256 * 2**20  # activations of one validation chunk, all members


def _warmup_cosine(schedule: keras.optimizers.schedules.CosineDecay, steps: tf.Tensor) -> np.ndarray:
    """``CosineDecay.__call__`` with a warm-up, for a vector of steps: its own two pieces, its own
    clamp, ``where`` for its scalar ``cond`` (the exact test of ``schedule="warmup"`` covers it)."""
    decay, warmup = float(schedule.decay_steps), float(schedule.warmup_steps)
    target, start = tf.constant(schedule.warmup_target, tf.float32), tf.constant(schedule.initial_learning_rate, tf.float32)
    s = tf.minimum(tf.cast(steps, tf.float32), decay + warmup)
    up = schedule._warmup_function(s, tf.constant(warmup), target, start)
    down = schedule._decay_function(s - warmup, tf.constant(decay), target, tf.float32)
    return np.asarray(tf.where(s < warmup, up, down), np.float32)


def epoch_order(shuffle_seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the training rows in ``epoch``: shared by the group, fixed by ``shuffle_seed``."""
    return np.random.default_rng([int(shuffle_seed) % 2**63, epoch]).permutation(n).astype(np.int32)


class GroupTrainer:
    """Trains one fused group; ``run`` returns one ``MemberResult`` per member."""

    def __init__(self, params: Sequence[Mapping[str, Any]], seeds: Sequence[int], *, input_shape: tuple[int, ...],
                 task: str, n_classes: int | None, data: tuple[np.ndarray, ...], monitor: str, mode: str,
                 shrink: str = "auto", jit: str | bool = "auto", watcher: Watcher | None = None) -> None:
        x_train, y_train, x_val, y_val = data
        self.members, self.seeds, self.task = list(params), list(seeds), task
        self.n_in = int(np.prod(input_shape))
        self.x_train = tf.constant(np.asarray(x_train, np.float32).reshape(len(x_train), self.n_in))
        self.x_val = tf.constant(np.asarray(x_val, np.float32).reshape(len(x_val), self.n_in))
        self.y_train, self.y_val = self._labels(y_train), self._labels(y_val)
        self.n_out, self.out_act = ((int(n_classes), "softmax") if task == "multiclass"
                                    else (1, "sigmoid" if task == "binary" else "linear"))
        self.metric_names = ["mae", "mse"] if task == "regression" else ["accuracy"]
        self.batch = int(params[0]["batch_size"])
        self.n_train = len(x_train)
        self.steps = max(1, math.ceil(self.n_train / self.batch))
        self.schedules = [make_learning_rate(p, self.steps) for p in params]
        self.lr_now = [float(p["learning_rate"]) for p in params]  # constant / plateau members
        self.monitor, self.maximize = monitor, mode in ("max", "maximize")
        self.final_weights: list[dict[str, list[np.ndarray]]] = [{} for _ in params]
        self.final: list[Logs] = [{} for _ in params]
        self._vector_schedules: dict[int, Any] = {}
        self.shrink = shrink  # "auto": when it pays for its retrace; "always" / "never" (tests)
        # XLA: True / False; "auto": when the training's steps pay for the compile (``xla_pays``:
        # decided from the sizes alone, so the same seed still gives the same result).
        self.xla = jit if isinstance(jit, bool) else xla_pays(self.steps, max(int(p["epochs"]) for p in params))
        self.watcher = watcher
        # Slots ordered by activation: each one is computed on its own members, a contiguous run
        # of them (``StackedNet.act_runs``)
        self._build(sorted(range(len(params)), key=lambda m: (str(params[m]["activation"]), m)))

    def _build(self, slots: list[int]) -> None:
        """The stacked network, optimizer and traced functions of the members ``slots`` (original
        indices); a shrinking group calls it again and copies the kept members' state over."""
        self.slots, self.k = slots, len(slots)
        self.params = params = [self.members[i] for i in slots]
        self.net = StackedNet(params, [self.seeds[i] for i in slots], n_in=self.n_in, n_out=self.n_out,
                              out_activation=self.out_act, xla=self.xla)
        self.opt = StackedOptimizer(params, self.net.trainable, self.net.real())
        self.losses = sorted({str(p["loss"]) for p in params})
        self.loss_is = {n: tf.constant([p["loss"] == n for p in params]) for n in self.losses}
        self.iterations = tf.Variable(tf.zeros([self.k], tf.int64), trainable=False)
        self.training = tf.Variable(tf.ones([self.k], tf.bool), trainable=False)
        self.best = {name: tf.Variable(v) for name, v in self.net.named().items()}
        widest = max([*self.net.widths, self.n_out, 1])
        self.val_chunk = max(1, min(int(self.x_val.shape[0]), _VAL_BYTES // (4 * self.k * widest)))
        self._epoch_fn = tf.function(self._train_epoch, reduce_retracing=True, autograph=False,
                                     jit_compile=self.xla)
        self._eval_fn = tf.function(self._evaluate, autograph=False)
        self._keep_fn = tf.function(self._keep, autograph=False)

    def _shrink(self, keep: list[int]) -> None:
        """Carry on with the slots ``keep`` only: gather their weights, optimizer state and best
        weights into a smaller network (padding beyond the kept members' widths dropped)."""
        index = tf.constant(keep, tf.int32)

        def copy(old: tf.Variable, new: tf.Variable) -> None:
            taken = tf.gather(old, index)
            new.assign(taken[tuple(slice(0, n) for n in new.shape)])

        old_state, old_best, old_opt, old_iter = self.net.named(), self.best, self.opt, self.iterations
        old_names = list(self.net.named(trainable_only=True))
        self._build([self.slots[s] for s in keep])
        pairs = [(old_iter, self.iterations), (old_opt.u_product, self.opt.u_product)]
        pairs += [(old_state[name], new) for name, new in self.net.named().items() if name in old_state]
        pairs += [(old_best[name], new) for name, new in self.best.items() if name in old_best]
        for old, new in pairs:
            copy(old, new)
        # The kept members' variables all were in the old group: each new slot part is the old one's.
        where = [old_names.index(name) for name in self.net.named(trainable_only=True)]
        for kind, slots in self.opt.slot_vars.items():
            for slot in slots:
                self.opt.load_slot(kind, slot, [
                    tf.gather(old_opt.slot(kind, slot, i), index)[tuple(slice(0, n) for n in shape)]
                    for i, shape in zip(where, self.opt.shapes)])

    def _labels(self, y: np.ndarray) -> tf.Tensor:
        if self.task == "multiclass":
            return tf.constant(np.asarray(y).reshape(-1).astype(np.int32))
        return tf.constant(np.asarray(y, np.float32).reshape(-1, 1))

    # -- inside the graph -------------------------------------------------------------------
    def _member_losses(self, y: tf.Tensor, pred: tf.Tensor, penalty: bool = True) -> tf.Tensor:
        """Each member's mean loss on the batch, plus its L1/L2 penalty (unless not ``penalty``): [K]."""
        y_k = tf.broadcast_to(tf.expand_dims(y, 0), tf.concat([[self.k], tf.shape(y)], 0))
        out = None
        for name in self.losses:
            value = tf.reduce_mean(_LOSSES[name](y_k, pred), axis=1)
            out = value if out is None else tf.where(self.loss_is[name], value, out)
        return out + self.net.penalty() if penalty else out

    def _metrics(self, y: tf.Tensor, pred: tf.Tensor) -> tf.Tensor:
        """Per-member sums over the batch of each metric: [K, M]."""
        if self.task == "multiclass":
            hit = tf.cast(tf.equal(tf.argmax(pred, axis=-1, output_type=tf.int32), tf.expand_dims(y, 0)), tf.float32)
            return tf.reduce_sum(hit, axis=1, keepdims=True)
        if self.task == "binary":
            hit = tf.cast(tf.equal(tf.cast(pred > 0.5, tf.float32), tf.expand_dims(y, 0)), tf.float32)
            return tf.reshape(tf.reduce_sum(hit, axis=[1, 2]), [-1, 1])
        err = pred - tf.expand_dims(y, 0)
        return tf.stack([tf.reduce_sum(tf.abs(err), axis=[1, 2]), tf.reduce_sum(tf.square(err), axis=[1, 2])], 1)

    def _train_epoch(self, perm: tf.Tensor, lr_table: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One epoch of every member still training: (loss sums [K], metric sums [K, M], rows [K]).
        Traced without AutoGraph (its source transformation cost seconds per group): the batches
        are an explicit ``tf.while_loop``. Compiled by XLA (``jit``), which needs static shapes,
        the loop covers the full batches and the last, shorter batch is one more step."""
        def step(size: int | None) -> Any:  # None: the batch's size is computed in the graph
            def body(s: tf.Tensor, loss_sum: tf.Tensor, metric_sum: tf.Tensor, rows: tf.Tensor) -> tuple[tf.Tensor, ...]:
                rows_now = size if size is not None else tf.minimum(self.batch, self.n_train - s * self.batch)
                n = float(size) if size is not None else tf.cast(rows_now, tf.float32)
                idx = tf.slice(perm, tf.reshape(s * self.batch, [1]), tf.reshape(rows_now, [1]))
                xb, yb = tf.gather(self.x_train, idx), tf.gather(self.y_train, idx)
                live = self.training.value()
                with tf.GradientTape() as tape:
                    pred, stats = self.net.forward(xb, training=True, step=self.iterations.value())
                    losses = self._member_losses(yb, pred)
                    total = tf.reduce_sum(tf.where(live, losses, 0.0))
                grads = tape.gradient(total, self.net.trainable)
                finite = tf.math.is_finite(losses)
                update = live & finite
                self.opt.apply(grads, tf.gather(lr_table, s), self.iterations.value(), update)
                self.net.update_moving(stats, update)
                self.iterations.assign_add(tf.cast(update, tf.int64))
                self.training.assign(update)
                return (s + 1, loss_sum + tf.where(live, losses * n, 0.0),
                        metric_sum + tf.where(tf.expand_dims(live, 1), self._metrics(yb, pred), 0.0),
                        rows + tf.cast(live, tf.float32) * n)
            return body

        state = (tf.constant(0), tf.zeros([self.k]), tf.zeros([self.k, len(self.metric_names)]), tf.zeros([self.k]))
        if not self.xla:  # one loop whose last batch is shorter: half the graph to build and optimise
            state = tf.while_loop(lambda s, *_: s < self.steps, step(None), state)
            return state[1], state[2], state[3]
        full, tail = divmod(self.n_train, self.batch)
        if full:
            state = tf.while_loop(lambda s, *_: s < full, step(self.batch), state)
        if tail:
            state = step(tail)(*state)
        return state[1], state[2], state[3]

    def _evaluate(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Validation (inference mode): (mean loss [K], mean metrics [K, M])."""
        n_val, chunk = int(self.x_val.shape[0]), self.val_chunk

        def part(c: tf.Tensor, loss_sum: tf.Tensor, metric_sum: tf.Tensor) -> tuple[tf.Tensor, ...]:
            xb, yb = self.x_val[c * chunk:(c + 1) * chunk], self.y_val[c * chunk:(c + 1) * chunk]
            pred, _ = self.net.forward(xb, training=False)
            n = tf.cast(tf.shape(xb)[0], tf.float32)
            return c + 1, loss_sum + self._member_losses(yb, pred) * n, metric_sum + self._metrics(yb, pred)

        zeros = (tf.zeros([self.k]), tf.zeros([self.k, len(self.metric_names)]))
        if n_val <= chunk:  # one chunk (most tabular validation sets): no loop to trace
            _, loss_sum, metric_sum = part(tf.constant(0), *zeros)
        else:
            _, loss_sum, metric_sum = tf.while_loop(lambda c, *_: c < -(-n_val // chunk), part, (tf.constant(0), *zeros))
        return loss_sum / n_val, metric_sum / n_val

    def _keep(self, mask: tf.Tensor, to_best: bool) -> None:
        """``to_best``: copy the current weights of ``mask``'s members into ``best``; else restore them."""
        for cur, best in zip(self.net.state, self.best.values()):
            m = tf.reshape(mask, [-1] + [1] * (len(cur.shape) - 1))
            if to_best:
                best.assign(tf.where(m, cur, best))
            else:
                cur.assign(tf.where(m, best, cur))

    # -- in Python, once per epoch: lists indexed by member (original index) unless named slot ---
    def _lr_table(self, live: list[bool]) -> tf.Tensor:
        """[steps, K]: each slot's learning rate at each step of the coming epoch."""
        start = self.iterations.numpy().astype(np.float32)
        table = np.zeros((self.steps, self.k), np.float32)
        steps = np.arange(self.steps, dtype=np.float32)
        for slot, m in enumerate(self.slots):
            if not live[m]:
                continue
            if isinstance(self.schedules[m], float):
                table[:, slot] = self.lr_now[m]
            else:
                table[:, slot] = self._schedule_values(m, tf.constant(start[slot] + steps))
        return tf.constant(table)

    def _schedule_values(self, m: int, steps: tf.Tensor) -> np.ndarray:
        """Member m's Keras schedule at ``steps`` (a vector: one call, else one traced ``map_fn``)."""
        schedule = self.schedules[m]
        if isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.warmup_target is not None:
            return _warmup_cosine(schedule, steps)
        if m not in self._vector_schedules:
            try:
                values = np.asarray(schedule(steps), np.float32)
                if values.shape == tuple(steps.shape):
                    self._vector_schedules[m] = schedule
                    return values
            except (ValueError, TypeError, tf.errors.InvalidArgumentError):
                pass
            self._vector_schedules[m] = tf.function(lambda s, f=schedule: tf.map_fn(f, s))
        return np.asarray(self._vector_schedules[m](steps), np.float32)

    def _metric_logs(self, loss: np.ndarray, metrics: np.ndarray, slot: int, prefix: str = "") -> Logs:
        logs = {f"{prefix}loss": float(loss[slot])}
        logs.update((f"{prefix}{name}", float(metrics[slot, j])) for j, name in enumerate(self.metric_names))
        return logs

    def run(self, shuffle_seed: int, on_epoch: OnEpoch | None) -> list[MemberResult]:
        """Train until every member has stopped; the members' results."""
        n = len(self.members)
        live, status, reasons = [True] * n, ["done"] * n, [None] * n
        history: list[dict[str, list[float]]] = [{} for _ in range(n)]
        seconds = [0.0] * n
        watch = [{"es": None, "es_wait": 0, "lr": None, "lr_wait": 0} for _ in range(n)]
        epoch, first_epoch = 0, math.inf
        if self.watcher is not None:
            self.watcher.start(self)
        while any(live):
            start = time.perf_counter()
            self.training.assign([live[m] for m in self.slots])
            sums = self._epoch_fn(tf.constant(epoch_order(shuffle_seed, epoch, self.n_train)), self._lr_table(live))
            loss_sum, metric_sum, rows = (t.numpy() for t in sums)
            val_loss, val_metrics = (t.numpy() for t in self._eval_fn())
            still = self.training.numpy()
            rows = np.maximum(rows, 1.0)
            train_loss, train_metrics = loss_sum / rows, metric_sum / rows[:, None]
            logs: list[Logs | None] = [None] * n
            for slot, m in enumerate(self.slots):
                if not live[m]:
                    continue
                logs[m] = {**self._metric_logs(train_loss, train_metrics, slot),
                           **self._metric_logs(val_loss, val_metrics, slot, "val_")}
                if self.members[m]["schedule"] == "plateau":
                    logs[m]["learning_rate"] = self.lr_now[m]
                for key, value in logs[m].items():
                    history[m].setdefault(key, []).append(value)
                if not still[slot] or not math.isfinite(logs[m]["loss"]):
                    live[m], status[m] = False, "diverged"
                    reasons[m] = (f"the training loss became {logs[m]['loss']} in epoch {epoch + 1}; "
                                  "lower learning_rate or set clipnorm")
            if self.watcher is not None:
                self.watcher.after_epoch(self, epoch, logs)
            stop = set(on_epoch(epoch, logs)) if on_epoch is not None else set()
            self._after_epoch(epoch, logs, live, status, stop, watch)
            took = time.perf_counter() - start
            share = took / max(1, sum(log is not None for log in logs))
            for m in range(n):
                seconds[m] += share if logs[m] is not None else 0.0
            epoch += 1
            first_epoch = took if epoch == 1 else first_epoch  # the first epoch includes the trace
            kept = [slot for slot, m in enumerate(self.slots) if live[m]]
            if kept and len(kept) <= self.k // 2 and self._pays(kept, epoch, took, first_epoch):
                self._record_final([m for m in self.slots if not live[m]])
                self._shrink(kept)
        self._record_final(self.slots)
        return [MemberResult(history[m], self.final[m], len(history[m].get("loss", [])), status[m], reasons[m],
                             seconds[m]) for m in range(n)]

    def inspect(self, members: Sequence[int], x: np.ndarray, y: np.ndarray) -> dict[int, MemberState]:
        """``members`` (original indices) seen from inside on the rows ``x``/``y`` (``_fused_inspect``)."""
        from tunekit.factory._fused_inspect import inspect_members

        return inspect_members(self, members, x, y)

    def _pays(self, kept: list[int], epochs_done: int, epoch_seconds: float, first_seconds: float) -> bool:
        """Whether shrinking to ``kept`` saves more compute than the retrace it costs."""
        if self.shrink != "auto":
            return self.shrink == "always"
        left = max(int(self.params[s]["epochs"]) for s in kept) - epochs_done
        saving = left * epoch_seconds * (1 - len(kept) / self.k)
        retrace = first_seconds / 2 if epochs_done == 1 else max(first_seconds - epoch_seconds, 0.0)
        return saving > retrace

    def _record_final(self, members: list[int]) -> None:
        """The final validation metrics and weights of ``members`` (all in the current group)."""
        val_loss, val_metrics = (t.numpy() for t in self._eval_fn())
        for slot, m in enumerate(self.slots):
            if m in members:
                self.final[m] = self._metric_logs(val_loss, val_metrics, slot)
                self.final_weights[m] = self.net.member_weights(slot)

    def _after_epoch(self, epoch: int, logs: list[Logs | None], live: list[bool], status: list[str], stop: set[int],
                     watch: list[dict[str, Any]]) -> None:
        """Pruning, early stopping, plateau and the epoch budget; best weights kept and restored."""
        improved, restore = [False] * self.k, [False] * self.k
        for slot, m in enumerate(self.slots):
            if logs[m] is None or not live[m]:
                continue
            if m in stop:
                live[m], status[m] = False, "stopped"
                continue
            p, current, w = self.members[m], self._monitored(logs[m]), watch[m]
            if p["patience"] > 0 and current is not None:
                w["es_wait"] += 1
                if self._better(current, w["es"], 0.0):
                    w["es"], w["es_wait"], improved[slot] = current, 0, True
                elif w["es_wait"] >= p["patience"] and epoch > 0:
                    live[m] = False
            if p["schedule"] == "plateau" and current is not None:
                if self._better(current, w["lr"], 1e-4):
                    w["lr"], w["lr_wait"] = current, 0
                else:
                    w["lr_wait"] += 1
                    if w["lr_wait"] >= p["plateau_patience"] and self.lr_now[m] > 0:
                        self.lr_now[m] *= float(p["decay_rate"])
                        w["lr_wait"] = 0
            if epoch + 1 >= int(p["epochs"]):
                live[m] = False
            restore[slot] = not live[m] and p["patience"] > 0 and w["es"] is not None and not improved[slot]
        ended = [m for slot, m in enumerate(self.slots) if restore[slot] and epoch + 1 < int(self.members[m]["epochs"])]
        if ended and self.watcher is not None:  # early stopping: probed where it stopped, as on_train_end
            self.watcher.early_stopped(self, epoch, ended)
        if any(improved):
            self._keep_fn(tf.constant(improved), True)
        if any(restore):
            self._keep_fn(tf.constant(restore), False)

    def _monitored(self, logs: Logs) -> float | None:
        if self.monitor in logs:
            return logs[self.monitor]
        if self.monitor == "val_rmse" and "val_mse" in logs:
            return math.sqrt(logs["val_mse"]) if logs["val_mse"] >= 0 else None
        return None

    def _better(self, current: float, best: float | None, delta: float) -> bool:
        if best is None:
            return True
        return current > best + delta if self.maximize else current < best - delta
