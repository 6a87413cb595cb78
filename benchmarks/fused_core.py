"""The fused core alone: K members as one stacked network against K separate Keras fits.

Two parts, both on scikit-learn's digits (64 inputs, 10 classes, 1,437 training rows):

- ``speed``: K = 8 and 32 members of the issue's reference (64 -> 128 -> 128 -> 10, Adam at
  K learning rates from 1e-4 to 3e-2, 5 epochs, batch 32), trained by one ``fit_fused`` and by
  K separate ``clear_session`` + ``build_model`` + ``fit`` + ``evaluate``, interleaved in one
  process. Reported: seconds, the ratio, mean validation accuracy on both sides.
- ``equivalence`` (issue 26, item 5): 12 fixed configurations mixing every knob, 5 seeds each,
  fused (one group per seed: the 12 configurations side by side, each replicate its own batch
  order) and unfused; per configuration the mean validation accuracy on both sides and
  whether they agree within 2 standard errors of the difference.

    python -m benchmarks.fused_core [--quick] [--part speed|equivalence|all] [--seeds N] [--configs 7,10]
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Sequence

from benchmarks import _util

NAME = "fused_core"
REFERENCE: dict[str, Any] = {"n_layers": 2, "units": 128, "epochs": 5, "batch_size": 32, "optimizer": "adam"}
CONFIGS: list[dict[str, Any]] = [
    {"n_layers": 2, "units": 64, "optimizer": "adam", "learning_rate": 3e-3},
    {"n_layers": 2, "units": 32, "activation": "tanh", "optimizer": "sgd", "momentum": 0.9, "nesterov": True,
     "learning_rate": 0.05},
    {"n_layers": 2, "units": 64, "shape": "funnel", "activation": "elu", "batch_norm": "before", "optimizer": "rmsprop",
     "learning_rate": 1e-3},
    {"n_layers": 2, "units": 48, "activation": "gelu", "batch_norm": "after", "dropout": 0.2, "optimizer": "adamw",
     "weight_decay": 1e-3, "learning_rate": 3e-3, "schedule": "cosine"},
    {"n_layers": 2, "units": 64, "activation": "leaky_relu", "leaky_alpha": 0.1, "l2": 1e-3, "optimizer": "nadam",
     "learning_rate": 2e-3, "schedule": "warmup", "warmup_epochs": 1},
    {"n_layers": 2, "units": 32, "activation": "prelu", "initializer": "he_normal", "optimizer": "adagrad",
     "learning_rate": 0.05, "schedule": "step", "decay_epochs": 2},
    {"n_layers": 2, "units": 64, "activation": "selu", "initializer": "lecun_normal", "optimizer": "adadelta",
     "learning_rate": 1.0, "clipnorm": 1.0},
    {"n_layers": 2, "units": 64, "activation": "swish", "l1": 1e-4, "dropout_0": 0.3, "optimizer": "adam",
     "learning_rate": 1e-3, "schedule": "exponential", "decay_rate": 0.8, "clipvalue": 0.5},
    {"n_layers": 2, "units": 16, "activation": "sigmoid", "initializer": "glorot_normal", "optimizer": "adam",
     "learning_rate": 1e-2, "schedule": "time"},
    {"n_layers": 2, "units": 64, "activation": "softplus", "optimizer": "sgd", "learning_rate": 0.1,
     "schedule": "plateau", "plateau_patience": 1},
    {"n_layers": 2, "units": 96, "initializer": "random_normal", "init_stddev": 0.1, "optimizer": "rmsprop",
     "learning_rate": 5e-4, "patience": 2, "epochs": 8},
    {"n_layers": 2, "units": 64, "batch_norm": "after", "dropout": 0.1, "optimizer": "sgd", "learning_rate": 0.02,
     "epochs": 3},
]


def digits() -> tuple[Any, ...]:
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = (x[order] / 16.0).astype("float32"), y[order].astype("int64")
    cut = int(0.8 * len(x))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def separate(members: Sequence[dict[str, Any]], seeds: Sequence[int], data: tuple[Any, ...]) -> list[float]:
    """Each member its own ``build_model`` + ``fit`` + ``evaluate``: validation accuracies."""
    import keras

    from tunekit.factory import build_model, resolve_params, training_callbacks

    xt, yt, xv, yv = data
    out = []
    for member, seed in zip(members, seeds):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        p = resolve_params(member, task="multiclass")
        model = build_model(p, input_shape=(64,), task="multiclass", n_classes=10,
                            steps_per_epoch=math.ceil(len(xt) / p["batch_size"]))
        model.fit(xt, yt, batch_size=p["batch_size"], epochs=p["epochs"], validation_data=(xv, yv), verbose=0,
                  callbacks=training_callbacks(p, monitor="val_accuracy", mode="max"))
        out.append(float(model.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"]))
    return out


def fused(members: Sequence[dict[str, Any]], seeds: Sequence[int], data: tuple[Any, ...]) -> list[float]:
    """The members grouped by ``fused_groups``, each group one ``fit_fused``: validation accuracies."""
    import keras

    from tunekit.factory import fit_fused, fused_groups, resolve_params

    xt, yt, xv, yv = data
    params = [resolve_params(m, task="multiclass") for m in members]
    out = [math.nan] * len(params)
    for group in fused_groups(params):
        keras.backend.clear_session()
        fit = fit_fused([params[i] for i in group], seeds=[seeds[i] for i in group], input_shape=(64,),
                        task="multiclass", n_classes=10, x_train=xt, y_train=yt, x_val=xv, y_val=yv,
                        shuffle_seed=seeds[group[0]], monitor="val_accuracy", mode="max")
        for i, result in zip(group, fit.members):
            out[i] = float(result.final["accuracy"])
    return out


def speed(quick: bool, rounds: int) -> list[str]:
    import numpy as np

    data = digits()
    lines = ["## Speed: one fused network against separate fits", "",
             "After a warm-up of both (TensorFlow's one-time start-up is not counted against either).", ""]
    warm = [{**REFERENCE, "epochs": 1}] * 2
    fused(warm, [0, 1], data), separate(warm[:1], [0], data)
    rows = []
    for k in (8,) if quick else (8, 32):
        members = [{**REFERENCE, "learning_rate": float(lr)} for lr in np.geomspace(1e-4, 3e-2, k)]
        seeds = list(range(k))

        def timed(fn: Any) -> Any:
            def run(_: int) -> tuple[float, float]:
                start = time.perf_counter()
                acc = fn(members, seeds, data)
                return time.perf_counter() - start, statistics.mean(acc)
            return run

        got = _util.interleaved({"fused": timed(fused), "separate": timed(separate)}, rounds)
        t_f, t_s = (_util.median([t for t, _ in got[n]]) for n in ("fused", "separate"))
        ratios = [s[0] / f[0] for f, s in zip(got["fused"], got["separate"])]
        rows.append((k, t_s, t_f, _util.median(ratios), _util.median([a for _, a in got["separate"]]),
                     _util.median([a for _, a in got["fused"]])))
    lines += _util.table(["K", "separate fits (s)", "fused (s)", "speed-up", "mean val acc separate",
                          "mean val acc fused"], rows)
    return lines + [""]


def equivalence(quick: bool, n_seeds: int, only: str | None = None) -> list[str]:
    data = digits()
    numbers = [int(n) for n in only.split(",")] if only else range(1, 5 if quick else len(CONFIGS) + 1)
    configs = [CONFIGS[n - 1] for n in numbers]
    members = [{**c, "epochs": c.get("epochs", 5)} for c in configs for _ in range(n_seeds)]
    seeds = [1000 + i for i in range(len(members))]
    # Fused: one group per replicate (the 12 configurations side by side), so each replicate of a
    # configuration has its own batch order, as its unfused twin has.
    acc_f = [math.nan] * len(members)
    for r in range(n_seeds):
        index = [c * n_seeds + r for c in range(len(configs))]
        for i, acc in zip(index, fused([members[i] for i in index], [seeds[i] for i in index], data)):
            acc_f[i] = acc
    acc_s = separate(members, seeds, data)
    rows, agree = [], 0
    for c, config in enumerate(configs):
        f, s = acc_f[c * n_seeds:(c + 1) * n_seeds], acc_s[c * n_seeds:(c + 1) * n_seeds]
        se = math.sqrt(statistics.variance(f) / n_seeds + statistics.variance(s) / n_seeds)
        diff = statistics.mean(f) - statistics.mean(s)
        ok = abs(diff) <= 2 * se + 1e-9
        agree += ok
        knobs = ", ".join(f"{k}={v}" for k, v in config.items() if k not in ("n_layers",))
        rows.append((numbers[c], knobs, statistics.mean(s), statistics.mean(f), diff, se, "yes" if ok else "NO"))
    lines = ["## Equivalence: fused vs unfused, mean validation accuracy over seeds", "",
             f"{n_seeds} seeds per configuration; agree = |difference| <= 2 standard errors of the difference. "
             f"{agree} of {len(configs)} agree.", ""]
    return lines + _util.table(["#", "configuration", "unfused", "fused", "difference", "SE", "agree"], rows) + [""]


def main(argv: Sequence[str] | None = None) -> int:
    args = _util.parse_args(argv, __doc__.splitlines()[0],
                            part={"choices": ["speed", "equivalence", "all"], "default": "all"},
                            configs={"default": None, "help": "equivalence: only these configurations, e.g. 7,10"})
    _util.quiet()
    rounds = args.repeats or 1
    seeds = args.seeds or (3 if args.quick else 5)
    lines = _util.header("Fused core: K members in one network", f"python -m benchmarks.{NAME} "
                         + ("--quick " if args.quick else "") + f"--part {args.part}"
                         + (f" --seeds {args.seeds}" if args.seeds else "")
                         + (f" --configs {args.configs}" if args.configs else ""))
    if args.part in ("speed", "all"):
        lines += speed(args.quick, rounds)
    if args.part in ("equivalence", "all"):
        lines += equivalence(args.quick, seeds, args.configs)
    name = NAME if args.part == "all" else f"{NAME}-{args.part}"
    _util.write(args.out, name + (f"-configs-{args.configs.replace(',', '-')}" if args.configs else ""), args.quick, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
