"""Fused throughput: the same configurations of the demo space, fused vs unfused tunekit vs keras-tuner.

``--trials`` configurations (64) are drawn once from ``studies/digits.py``'s space (Optuna's
random sampler, seed 0; the first is the space's defaults, as a new study's first trial) and
trained by every contender, each run in a fresh Python process with its libraries imported
before the clock starts, the contenders interleaved (rotated from round to round):

- ``tunekit --fuse K`` (K = 16 and 32): ``tunekit.run(spec, n_trials=N, fuse=K)`` on a SQLite study
  with the configurations queued (``enqueue_trial``), so the loop claims them K at a time;
- ``tunekit unfused``: the same, ``fuse=1`` (one ``model.fit`` per trial, today's path);
- ``keras-tuner RandomSearch``: a ``keras_tuner.Tuner`` whose oracle replays the same
  configurations (``benchmarks/_kt.py``) and whose ``build(hp)`` is tunekit's model factory.

tunekit runs with ``health=False`` on both paths unless ``--health`` is given (then both probe
every trial, as ``tunekit run`` does by default). Measured: wall time from the
study's (tuner's) creation to the last trial, trials per minute, the ratios, and the best and
mean final val_accuracy, so that speed is not bought with quality.

    python -m benchmarks.fused [--quick] [--trials N] [--epochs N] [--fuse 16,32] [--repeats R] [--health]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util

NAME = "fused"
STUDY = Path(__file__).resolve().parent.parent / "studies" / "digits.py"
UNFUSED, KT = "tunekit unfused", "keras-tuner RandomSearch"


def configurations(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` parameter sets of the digits space: its defaults, then random draws."""
    import optuna

    import tunekit

    space = tunekit.load_spec(str(STUDY)).space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = [dict(space.defaults())] if space.defaults() else []
    while len(out) < n:
        trial = study.ask()
        space.sample(trial)
        out.append(dict(trial.params))
        study.tell(trial, 0.0)
    return out[:n]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "fused throughput: fused vs unfused tunekit vs keras-tuner on the same configurations",
                            trials={"type": int, "default": None, "help": "configurations (64; quick 8)"},
                            epochs={"type": int, "default": None, "help": "epochs per trial (the study's 15; quick 2)"},
                            fuse={"default": None, "help": "K values, comma-separated (16,32; quick 4)"},
                            health={"action": "store_true", "help": "probe training health on both paths (run's default)"},
                            in_process={"action": "store_true", "help": "run every contender in this process instead of "
                                        "each in a fresh one (smoke tests: one TensorFlow start; the figures then "
                                        "include the first contender's warm-up)"})
    _util.quiet()
    trials = args.trials or (8 if args.quick else 64)
    epochs = args.epochs or (2 if args.quick else 15)
    ks = [int(k) for k in (args.fuse or ("4" if args.quick else "16,32")).split(",")]
    rounds = args.repeats or 1
    names = [*(f"tunekit --fuse {k}" for k in ks), UNFUSED, KT]
    configs = configurations(trials)
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-fused-"))
    (workdir / "configs.json").write_text(json.dumps(configs))
    _util.log(f"{NAME}: {len(names)} contenders x {rounds} round(s), {trials} configurations of {epochs} epochs")
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    start = time.perf_counter()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                job = {"name": name, "round": r, "epochs": epochs, "workdir": str(workdir), "health": bool(args.health)}
                out = _contender(job) if args.in_process else _in_child(job)
                _util.log(f"  round {r} {name}: {out['wall']:.1f} s, {60 * out['trials'] / out['wall']:.1f} trials/min, "
                          f"best {out['best']:.3f}")
                results[name].append(out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(results, args, trials=trials, epochs=epochs, rounds=rounds, total=time.perf_counter() - start)


def _in_child(job: dict[str, Any]) -> dict[str, Any]:
    """``_contender(job)`` in a fresh Python process; its figures back as JSON."""
    result = Path(job["workdir"]) / f"{job['round']}-{job['name'].replace(' ', '_')}.json"
    code = "import sys; from benchmarks.fused import child; child(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, json.dumps({**job, "result": str(result)})],
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0 or not result.is_file():
        raise RuntimeError(f"{job['name']}, round {job['round']}: the child process failed (exit {done.returncode})")
    return json.loads(result.read_text())


def child(argv: Sequence[str]) -> None:
    """The child process of ``_in_child``: import everything, run ``_contender``, write its figures."""
    job = json.loads(argv[0])
    _util.quiet()
    from benchmarks._kt import ensure_tensorboard_importable

    ensure_tensorboard_importable()
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401

    import tunekit  # noqa: F401
    from tunekit.data import load_data  # noqa: F401

    Path(job["result"]).write_text(json.dumps(_contender(job)))


def _contender(job: dict[str, Any]) -> dict[str, Any]:
    """One contender's run: time the search over the queued configurations."""
    workdir = Path(job["workdir"])
    configs = json.loads((workdir / "configs.json").read_text())
    folder = workdir / f"{job['round']}-{job['name'].replace(' ', '_')}"
    folder.mkdir()
    name = job["name"]
    start = time.perf_counter()
    if name == KT:
        values = _keras_tuner(configs, job["epochs"], folder)
    else:
        fuse = 1 if name == UNFUSED else int(name.rsplit(" ", 1)[1])
        values = _tunekit(configs, job["epochs"], folder, fuse, bool(job.get("health")))
    wall = time.perf_counter() - start
    finite = [v for v in values if v is not None and v == v]
    return {"wall": wall, "trials": len(values), "best": max(finite) if finite else float("nan"),
            "mean": statistics.fmean(finite) if finite else float("nan"), "failed": len(values) - len(finite)}


def _tunekit(configs: list[dict[str, Any]], epochs: int, folder: Path, fuse: int, health: bool) -> list[float | None]:
    import optuna

    import tunekit

    url = f"sqlite:///{folder / 'study.db'}"
    spec = tunekit.load_spec(str(STUDY))
    queued = optuna.create_study(storage=url, study_name="digits", direction="maximize")
    for cfg in configs:
        queued.enqueue_trial(cfg)
    study = tunekit.run(spec, strategy="random", n_trials=len(configs), storage=url, seed=0, epochs=epochs,
                        health=health, fuse=fuse)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.params for t in trials] == configs, "tunekit did not train the queued configurations"
    return [t.value for t in trials]


def _keras_tuner(configs: list[dict[str, Any]], epochs: int, folder: Path) -> list[float | None]:
    import math

    import keras_tuner as kt

    from benchmarks._kt import replay_oracle
    from tunekit.data import load_data
    from tunekit.factory import build_model, resolve_params

    ds = load_data("digits", seed=0)

    class Replay(kt.HyperModel):
        """Configuration number ``config`` of the list, built by tunekit's factory."""

        def build(self, hp: Any) -> Any:
            p = resolve_params({**configs[hp.Int("config", 0, len(configs) - 1)], "epochs": epochs}, task=ds.task)
            steps = max(1, math.ceil(ds.n_train / p["batch_size"]))
            return build_model(p, input_shape=ds.input_shape, task=ds.task, n_classes=ds.n_classes, steps_per_epoch=steps)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=configs[hp.get("config")]["batch_size"], **kwargs)

    oracle = replay_oracle([{"config": i} for i in range(len(configs))], "val_accuracy", "max")
    tuner = kt.Tuner(oracle=oracle, hypermodel=Replay(), directory=str(folder), project_name=NAME, overwrite=True)
    tuner.search(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val), epochs=epochs, verbose=0)
    done = sorted(tuner.oracle.trials.values(), key=lambda t: t.hyperparameters.get("config"))
    assert len(done) == len(configs), "keras-tuner did not replay the configurations"
    return [t.metrics.get_last_value("val_accuracy") if t.metrics.exists("val_accuracy") else None for t in done]


def report(results: dict[str, list[dict[str, Any]]], args: Any, *, trials: int, epochs: int, rounds: int,
           total: float) -> dict[str, Any]:
    """The results table; returns {contender: {trials_per_min, vs_unfused, vs_keras_tuner, best, mean}}."""
    def per_min(name: str) -> float:
        return _util.median(60 * r["trials"] / r["wall"] for r in results[name])

    base, kt_rate = per_min(UNFUSED), per_min(KT)
    summary: dict[str, Any] = {}
    rows = []
    for name, runs in results.items():
        rate = per_min(name)
        summary[name] = {"trials_per_min": rate, "vs_unfused": rate / base, "vs_keras_tuner": rate / kt_rate,
                         "best": _util.median(r["best"] for r in runs), "mean": _util.median(r["mean"] for r in runs),
                         "wall": _util.median(r["wall"] for r in runs)}
        s = summary[name]
        rows.append([name, s["wall"], f"{rate:.1f}", f"{s['vs_unfused']:.2f}×", f"{s['vs_keras_tuner']:.2f}×",
                     f"{s['best']:.3f}", f"{s['mean']:.3f}", sum(r["failed"] for r in runs)])
    fastest = max((n for n in results if n.startswith("tunekit --fuse")), key=per_min)
    gain, gain_kt = summary[fastest]["vs_unfused"], summary[fastest]["vs_keras_tuner"]
    met = gain >= 4 and gain_kt >= 8
    lines = _util.header(
        "Fused throughput: the same configurations, fused vs unfused tunekit vs keras-tuner",
        _util.command(NAME, args.quick) + _util.flags(args, "trials", "epochs", "fuse", "repeats", "health", "in_process"),
        [f"{trials} configurations of `studies/digits.py`'s space (its defaults, then Optuna's random sampler, seed 0) "
         f"× {epochs} epochs, each contender in a fresh process, {rounds} interleaved round(s): {total / 60:.1f} min "
         f"in all. tunekit with `health={bool(args.health)}` on both paths. keras-tuner: a `Tuner` "
         "replaying the same configurations through tunekit's model factory (`benchmarks/_kt.py`). Quality: the best "
         "and the mean final val_accuracy over the configurations (a failed trial, e.g. a diverged one, is left "
         "out of the mean and counted in `failed`).",
         f"**Target: ≥ 4× unfused tunekit and ≥ 8× keras-tuner in trials per minute — {'met' if met else 'missed'}: "
         f"{gain:.2f}× and {gain_kt:.2f}×** ({fastest})."],
    )
    lines += _util.table(["contender", "wall s (median)", "trials / min", "vs unfused", "vs keras-tuner",
                          "best val_accuracy", "mean val_accuracy", "failed"], rows)
    _util.write(args.out, NAME, args.quick, lines)
    return summary



if __name__ == "__main__":
    main()
