"""The instruments: a Keras callback that probes a model's Dense layers while it trains.

At the start of training, after epochs 1, 4, 16, 64, ... and after the last epoch
(``probe_epochs``; an epoch's end is the first moment Python sees, as the runner runs a whole
epoch per ``tf.function`` call), the callback runs one forward and backward pass on a fixed
probe batch of training rows, in inference mode (Dropout off, BatchNormalization on its moving
statistics, nothing updated), with TensorFlow's ``GradientTape``, and records per Dense layer:
the kernel's gradient norm and weight norm, the update-to-weight ratio since the previous probe, the mean and standard
deviation of the layer's activation output, the share of dead units (ReLU: 0 on every probe
sample), the share of saturated units (sigmoid/tanh/softsign at a bound) and whether all of
the layer's units have identical weights. The training loss is recorded after every epoch, and
an epoch whose loss is not finite is probed at once. The pass calls each layer's ``call``
eagerly (no tracing, and none of Keras' per-call bookkeeping, which made a fresh model's first
probe several times slower). Cost (``benchmarks/health_cost.py``): a probe costs about as much
at epoch 100 as at epoch 1, so probes are log-spaced; on the 10-epoch reference trial (4 probes)
the instruments took 4.7% of the trial, and probing every epoch 11.5%.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np

from tunekit.health._baseline import constant_loss, finite_or_none, loss_name
from tunekit.health._rules import BOUNDED_ACTIVATIONS, DEAD_ACTIVATIONS, Diagnosis, HealthSeries, diagnose, threshold

if TYPE_CHECKING:
    import tensorflow as tf

#: Training rows in the probe batch (the first rows of the training set, the same every probe).
PROBE_ROWS = 256


def probe_epochs(epochs: int) -> list[int]:
    """The epochs after which a trial of ``epochs`` epochs is probed: 0 (the start), the powers of
    four below ``epochs`` (1, 4, 16, ...), and ``epochs``.

    >>> probe_epochs(10)
    [0, 1, 4, 10]
    >>> probe_epochs(100)
    [0, 1, 4, 16, 64, 100]
    """
    marks = {0, epochs}
    power = 1
    while power < epochs:
        marks.add(power)
        power *= 4
    return sorted(marks)


def _activation_name(layer: keras.layers.Layer) -> str:
    """The activation a layer applies: ``relu``, ``leaky_relu``, ``prelu``, ``sigmoid``, ..."""
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.PReLU):
        return "prelu"
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", "linear") if fn is not None else "linear"
    return "swish" if name == "silu" else name


def dense_layout(model: keras.Model) -> list[tuple[int, int, str]]:
    """For each Dense layer of ``model``: (its index, the index of the layer whose output is its
    activation, the activation's name). tunekit's factory puts a hidden layer's activation in its
    own layer (``act_i``, maybe after ``bn_i``); a Dense with a built-in activation is its own."""
    layers = model.layers
    out = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, keras.layers.Dense):
            continue
        name = _activation_name(layer)
        if name != "linear" or i + 1 == len(layers):
            out.append((i, i, name))
            continue
        j = i + 1
        while j < len(layers) and isinstance(layers[j], keras.layers.BatchNormalization):
            j += 1
        if j < len(layers) and not isinstance(layers[j], (keras.layers.Dense, keras.layers.Dropout)):
            out.append((i, j, _activation_name(layers[j])))
        else:
            out.append((i, i, name))
    return out


def _initializer_of(init: Any) -> tuple[str | None, float | None]:
    """A kernel initializer as a name (``glorot_uniform``) and its scale (the ``stddev`` of a
    normal one, the ``maxval`` of a uniform one), as tunekit's ``init_stddev``."""
    if init is None:
        return None, None
    name = loss_name(type(init).__name__)
    scale = getattr(init, "stddev", None) if hasattr(init, "stddev") else getattr(init, "maxval", None)
    return name, finite_or_none(float(scale)) if isinstance(scale, (int, float)) else None


def model_setup(model: keras.Model, layout: list[tuple[int, int, str]]) -> dict[str, Any]:
    """What the trial uses, for the advice (``HealthSeries.setup``): the first Dense layer's
    initializer and scale, the optimizer, its learning rate (when constant) and clipping, and
    whether any BatchNormalization layer is there."""
    return setup_of(model.layers[layout[0][0]].kernel_initializer if layout else None,
                    getattr(model, "optimizer", None),
                    any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers))


def setup_of(initializer: Any, opt: Any, batch_norm: bool) -> dict[str, Any]:
    """``HealthSeries.setup`` from a kernel initializer, an optimizer and whether batch norm is used
    (``model_setup`` reads them off a model; a fused member passes its own)."""
    name, scale = _initializer_of(initializer)
    lr: float | None = None
    try:
        lr = finite_or_none(float(np.asarray(opt.learning_rate)))
    except (AttributeError, TypeError, ValueError):  # a schedule: no one number
        lr = None
    clip = [getattr(opt, k, None) for k in ("clipnorm", "global_clipnorm", "clipvalue")]
    scaled = name is not None and name.startswith(("random_", "truncated_normal"))  # tunekit's init_stddev
    return {"initializer": name, "init_stddev": scale if scaled else None,
            "optimizer": loss_name(type(opt).__name__) if opt is not None else None, "learning_rate": lr,
            "clipnorm": next((float(c) for c in clip if c), None), "batch_norm": bool(batch_norm)}


def _unit_shares(act: np.ndarray, activation: str) -> tuple[float | None, float | None]:
    """(dead share, saturated share) of a layer's units from its outputs on the probe batch."""
    dead = float(np.mean(np.all(act == 0.0, axis=0))) if activation in DEAD_ACTIVATIONS else None
    bounds = BOUNDED_ACTIVATIONS.get(activation)
    if bounds is None:
        return dead, None
    low, high = bounds
    margin = threshold("saturation_margin") * (high - low)
    at_bound = (act <= low + margin) | (act >= high - margin)
    return dead, float(np.mean(np.mean(at_bound, axis=0) >= threshold("saturated_samples")))


def _symmetric(kernel: np.ndarray, bias: np.ndarray | None) -> tuple[bool, float | None]:
    """Whether all columns (units) of ``kernel`` are identical, and their biases too; and the
    units' spread: the largest difference between two units' weights on one input, relative to
    the largest weight (0 for identical units; None for an all-zero or non-finite layer)."""
    cols = kernel if bias is None else np.vstack([kernel, bias[None, :]])
    scale = float(np.max(np.abs(cols))) if cols.size else 0.0
    spread = float(np.max(np.ptp(cols, axis=1))) if cols.size else 0.0
    if not math.isfinite(spread):
        return False, None
    relative = spread / scale if scale > 0 and math.isfinite(scale) else None
    return bool(spread <= threshold("symmetry_tolerance") * scale), relative


def layer_figures(kernel: np.ndarray, bias: np.ndarray | None, grad: np.ndarray | None, act: np.ndarray,
                  activation: str, previous: np.ndarray | None) -> dict[str, Any]:
    """One Dense layer's figures at one probe: ``grad_norm``, ``weight_norm``, ``update_ratio``
    (against ``previous``, its kernel at the probe before), ``act_mean``, ``act_std``, ``dead``,
    ``saturated``, ``symmetric``, ``unit_spread``; ``act`` is its activation output [rows, units]."""
    dead, saturated = _unit_shares(act, activation)
    symmetric, spread = _symmetric(kernel, bias)
    ratio = None if previous is None else _round(
        float(np.linalg.norm(kernel - previous)) / max(float(np.linalg.norm(previous)), 1e-30))
    return {"grad_norm": _round(float(np.linalg.norm(grad)) if grad is not None else 0.0),
            "weight_norm": _round(float(np.linalg.norm(kernel))), "update_ratio": ratio,
            "act_mean": _round(float(np.mean(act))), "act_std": _round(float(np.std(act))),
            "dead": None if dead is None else round(dead, 4),
            "saturated": None if saturated is None else round(saturated, 4),
            "symmetric": symmetric if kernel.shape[1] > 1 else None,  # one unit: nothing to compare
            "unit_spread": _round(spread)}


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


class HealthProbe(keras.callbacks.Callback):
    """Probes the model at the start of training and after the epochs of ``probe_epochs`` (the training
    and validation loss after every epoch, and the constant predictor's loss on the training labels
    as ``series.baseline``); ``series`` holds the figures
    and ``diagnosis`` the latest verdict. ``on_diagnosis(diagnosis, epoch)``, when given, is called
    after each epoch's probe.

    Example:
        >>> probe = HealthProbe(x[:256], y[:256])  # doctest: +SKIP
        >>> model.fit(x, y, epochs=5, callbacks=[probe]); probe.diagnosis.name  # doctest: +SKIP
        'ok'
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *,
                 on_diagnosis: Callable[[Diagnosis, int], None] | None = None) -> None:
        super().__init__()
        self._x = np.asarray(x[:PROBE_ROWS])
        self._y = np.asarray(y[:PROBE_ROWS]).astype("float32")
        self._y_all = y
        self.on_diagnosis = on_diagnosis
        self.series: HealthSeries | None = None
        self.diagnosis: Diagnosis | None = None
        self._layout: list[tuple[int, int, str]] = []
        self._previous: list[np.ndarray] = []
        self._due: set[int] = set()
        self._onehot: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._layout = dense_layout(self.model)
        layers = self.model.layers
        self.series = HealthSeries(layers=[layers[i].name for i, _, _ in self._layout],
                                   activations=[a for _, _, a in self._layout],
                                   units=[int(layers[i].units) for i, _, _ in self._layout])
        self.series.baseline = finite_or_none(constant_loss(self.model.loss, np.asarray(self._y_all)))
        self.series.setup = model_setup(self.model, self._layout)
        self._due = set(probe_epochs(int((self.params or {}).get("epochs") or 1)))
        if 0 in self._due:
            self._probe(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        loss = None if loss is None else float(loss)
        self.series.epoch_loss.append(_round(loss))
        val = (logs or {}).get("val_loss")
        self.series.val_loss.append(None if val is None else _round(float(val)))
        if epoch + 1 in self._due or (loss is not None and not math.isfinite(loss)):
            self._probe(epoch + 1)
            self.diagnosis = diagnose(self.series)  # new figures: a new verdict (the last epoch is always probed)
        if self.on_diagnosis is not None and self.diagnosis is not None:
            self.on_diagnosis(self.diagnosis, epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Training stopped before its planned last epoch (early stopping): probe where it stopped."""
        done = len(self.series.epoch_loss) if self.series is not None else 0
        if done and self.series.epochs[-1] != done:
            self._probe(done)
            self.diagnosis = diagnose(self.series)

    def _forward(self) -> tuple["tf.Tensor", list[Any], list[np.ndarray]]:
        import tensorflow as tf

        model, layout = self.model, self._layout
        wanted = {j: n for n, (_, j, _) in enumerate(layout)}
        kernels = [model.layers[i].kernel for i, _, _ in layout]
        acts: list[Any] = [None] * len(layout)
        with tf.GradientTape() as tape:
            h = tf.convert_to_tensor(self._x, dtype="float32")
            for j, layer in enumerate(model.layers):
                if isinstance(layer, keras.layers.Dropout):
                    pass  # the identity in inference mode
                elif isinstance(layer, keras.layers.BatchNormalization):
                    h = layer.call(h, training=False)  # the moving statistics; nothing updated
                else:
                    h = layer.call(h)
                if j in wanted:
                    acts[wanted[j]] = h
            loss = tf.reduce_mean(self._loss_fn()(h))
        grads = tape.gradient(loss, kernels)
        return loss, grads, [np.reshape(np.asarray(a), (np.shape(a)[0], -1)) for a in acts]

    def _loss_fn(self) -> Callable[[Any], Any]:
        """The model's loss on the probe batch, per sample. Sparse categorical cross-entropy is taken
        on one-hot targets: the same value, without the batched gather whose gradient cost more
        than the rest of the probe together. Other losses: the loss function itself, without
        ``Loss.__call__``'s set-up."""
        import tensorflow as tf

        loss = self.model.loss
        if isinstance(loss, str):  # a model compiled with loss="..." (your own build(hp))
            loss = keras.losses.get(loss)
            if "sparse_categorical" in getattr(loss, "__name__", ""):
                loss = keras.losses.SparseCategoricalCrossentropy()
            else:
                return lambda h, fn=loss: fn(self._y, h)
        if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            if self._onehot is None:
                classes = getattr(self.model.layers[-1], "units", None) or self.model.outputs[0].shape[-1]
                self._onehot = tf.one_hot(tf.cast(self._y, "int32"), int(classes))
            logits = bool(loss.get_config().get("from_logits", False))
            return lambda h: keras.losses.categorical_crossentropy(self._onehot, h, from_logits=logits)
        return lambda h: loss.call(self._y, h)

    def _probe(self, epoch: int) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged model's norms are inf/nan: recorded as such
            self._measure(epoch)

    def _measure(self, epoch: int) -> None:
        loss, grads, acts = self._forward()
        layers = self.model.layers
        figures: dict[str, list[Any]] = {k: [] for k in ("grad_norm", "weight_norm", "act_mean", "act_std", "dead",
                                                         "saturated", "symmetric", "unit_spread")}
        ratios: list[float | None] = []
        current: list[np.ndarray] = []
        for n, ((i, _, activation), grad, act) in enumerate(zip(self._layout, grads, acts)):
            layer = layers[i]
            kernel = np.asarray(layer.kernel)
            current.append(kernel)
            one = layer_figures(kernel, np.asarray(layer.bias) if layer.use_bias else None,
                                None if grad is None else np.asarray(grad), act, activation,
                                self._previous[n] if self._previous else None)
            ratios.append(one.pop("update_ratio"))
            for key, value in one.items():
                figures[key].append(value)
        self._previous = current
        self.series.add(epoch=epoch, loss=_round(float(loss)), update_ratio=ratios, **figures)
