"""Trial speed: where a short trial's time goes, and what the runner's speed-ups buy.

Contenders, one reference trial each per round, rounds interleaved in one process:

- ``plain``: a plain ``model.fit`` loop on numpy arrays (clear, seed, build, fit, evaluate)
- ``tunekit, before``: the runner with every speed-up off (``Speedups.none()``): what it did
  before issue 6
- ``+tf.data``, ``+steps_per_execution``, ``+one-batch validation``: one speed-up each
- ``default without one-step validation``: the validation function traced as Keras traces it
  (an epoch loop around the one batch)
- ``default, validation traced`` / ``default, validation eager``: the one-step validation always
  traced, or always eager, whatever the epochs (the default: eager up to 6 epochs); ``--epochs
  40`` shows where tracing it pays
- ``default, training traced`` / ``default, training eager``: the train step always traced, or
  always eager, whatever the trial's steps (the default: eager up to ``EAGER_TRAINING_STEPS``
  optimizer steps in all); ``--batch-size`` and ``--epochs`` set the steps
- ``tunekit`` (default ``Speedups()``): all of the above
- ``tunekit + XLA``: the default plus ``jit_compile``

Every tunekit contender runs through ``study.optimize`` on a SQLite study database, so its
time includes sampling and storage. Reported: median seconds per trial, the ratio to the
plain loop (median of per-round ratios), a breakdown (build, trace, epochs, evaluation,
storage), and the final validation accuracy (mean ± std over rounds: seed noise).

    python -m benchmarks.trial_speed [--quick] [--repeats N] [--epochs N] [--batch-size N] [--no-warm-up]

``--no-warm-up`` (for smoke tests): skip the untimed one-epoch plain trial before the rounds.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import REFERENCE, StorageClock, Timing, plain_trial, timed_runner_class

NAME = "trial_speed"


def contenders(quick: bool) -> dict[str, Any]:
    from tunekit.execution import Speedups

    none = Speedups.none()
    only = dict(prebuild_optimizer=False, freeze_gc=False, tf_data=False, steps_per_execution=1,
                one_batch_validation=False, one_step_validation=False, eager_validation_epochs=0,
                eager_training_steps=0)
    variants = {
        "tunekit, before (no speed-ups)": none,
        "+optimizer built before fit only": Speedups(**dict(only, prebuild_optimizer=True)),
        "+frozen gc only": Speedups(**dict(only, freeze_gc=True)),
        "+tf.data only": Speedups(**dict(only, tf_data=True)),
        "+steps_per_execution only": Speedups(**dict(only, steps_per_execution="epoch")),
        "+one-batch validation only": Speedups(**dict(only, one_batch_validation=True)),
        "default without steps_per_execution": Speedups(steps_per_execution=1),
        "default without one-step validation": Speedups(one_step_validation=False),
        "default, validation traced": Speedups(eager_validation_epochs=0),
        "default, validation eager": Speedups(eager_validation_epochs=10**6),
        "default, training traced": Speedups(eager_training_steps=0),
        "default, training eager": Speedups(eager_training_steps=10**6),
        "tunekit (default)": Speedups(),
        "tunekit default + XLA": Speedups(jit_compile=True),
    }
    if quick:
        variants = {k: v for k, v in variants.items() if k in ("tunekit, before (no speed-ups)", "tunekit (default)")}
    return variants


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Trial speed: plain model.fit vs tunekit's runner",
                            epochs={"type": int, "default": None, "help": "epochs of the reference trial (10)"},
                            batch_size={"type": int, "default": None, "help": "batch size of the reference trial (32)"},
                            no_warm_up=_util.NO_WARM_UP)
    _util.quiet()
    import optuna

    from tunekit import Fixed, StudySpec
    from tunekit.data import load_data

    rounds = args.repeats or (2 if args.quick else 5)
    epochs = args.epochs or REFERENCE["epochs"]
    params = dict(REFERENCE, epochs=epochs, batch_size=args.batch_size or REFERENCE["batch_size"])
    dataset = load_data("digits", seed=0)
    spec = StudySpec(data="digits", space={"units": Fixed(params["units"])},
                     fixed={k: v for k, v in params.items() if k != "units"}, epochs=epochs, name="speed")
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-bench-"))
    TimedRunner = timed_runner_class()
    runs: dict[str, Any] = {"plain model.fit": _gc_state(False, lambda r: plain_trial(dataset, params, seed=1000 + r))}
    for i, (label, speedups) in enumerate(contenders(args.quick).items()):
        storage = optuna.storages.RDBStorage(f"sqlite:///{workdir / f'speed{i}.db'}")
        clock = StorageClock(storage)
        study = optuna.create_study(storage=storage, study_name="speed", direction="maximize")
        runner = TimedRunner(spec=spec, dataset=dataset, metric="val_accuracy", seed=1000, speedups=speedups)
        runner.storage_clock = clock
        runs[label] = _gc_state(speedups.freeze_gc, _tunekit_trial(study, runner, clock))
    if not args.no_warm_up:
        plain_trial(dataset, dict(params, epochs=1), seed=0)  # warm-up: imports, first-time TF set-up
    _util.log(f"{NAME}: {len(runs)} contenders x {rounds} rounds")
    results = _util.interleaved(runs, rounds)
    return report(results, args, params, rounds, dataset.n_train)


def _gc_state(frozen: bool, run):
    """Give each contender its own garbage-collector state: frozen (as after the runner's first
    trial) or not, set up outside the timed part."""
    import gc

    def wrapped(r: int):
        gc.unfreeze()
        if frozen:  # what the runner's first trial does (it leaves a freeze made before it alone)
            gc.collect()
            gc.freeze()
        return run(r)

    return wrapped


def _tunekit_trial(study: Any, runner: Any, clock: StorageClock):
    import time

    from tunekit._errors import TrialError

    def run(r: int) -> Timing:
        stored, start = clock.seconds, time.perf_counter()
        study.optimize(runner, n_trials=1, catch=(TrialError,))
        timing = runner.timings[-1]
        timing.wall = time.perf_counter() - start
        timing.storage = clock.seconds - stored
        return timing

    return run


def report(results: dict[str, list[Timing]], args: Any, params: dict[str, Any], rounds: int,
           n_train: int) -> dict[str, Any]:
    plain = results["plain model.fit"]
    rows, summary = [], {}
    for label, timings in results.items():
        ratios = [p.wall / t.wall for p, t in zip(plain, timings)]  # > 1: faster than plain
        accs = [t.value for t in timings]
        summary[label] = {"median_s": _util.median(t.wall for t in timings), "speedup": _util.median(ratios),
                          "acc_mean": statistics.mean(accs), "acc_std": statistics.pstdev(accs)}
        rows.append([
            label, _util.median(t.wall for t in timings), f"{_util.median(ratios):.2f}× ({_util.spread(ratios)})",
            _util.median(t.build for t in timings), _util.median(t.trace for t in timings),
            _util.median(t.epochs for t in timings), _util.median(t.evaluate for t in timings),
            _util.median(t.storage for t in timings), _util.median(t.other for t in timings),
            f"{statistics.mean(accs):.4f} ± {statistics.pstdev(accs):.4f}",
        ])
    epochs, batch = params["epochs"], params["batch_size"]
    steps = -(-n_train // batch)
    default = summary.get("tunekit (default)", {})
    target = default.get("speedup", float("nan"))
    verdict = "met" if target >= 1.5 else "missed"
    lines = _util.header(
        "Trial speed: the reference trial, plain model.fit vs tunekit's runner",
        _util.command(NAME, args.quick) + _util.flags(args, "epochs", "batch_size", "repeats", "no_warm_up"),
        [f"Reference trial: digits ({n_train:,} train / 360 validation rows), Dense 128 ×2, ReLU, BatchNormalization "
         f"after the activation, Dropout 0.2, Adam 1e-3, batch {batch}, {epochs} epochs: {steps} optimizer steps "
         f"an epoch, {steps * epochs} in all. {rounds} interleaved rounds; each round gives every contender a new seed.",
         f"**Target: tunekit ≥ 1.5× faster than plain model.fit — {verdict}: {target:.2f}×** (median of per-round ratios)."],
    )
    lines += _util.table(
        ["contender", "s / trial (median)", "speed-up vs plain (range)", "build", "trace", "epochs", "final evaluate",
         "storage", "other", "val accuracy (mean ± std)"],
        rows,
    )
    lines += ["", "Columns build … other are median seconds. *trace* = first epoch minus a typical later epoch "
              "(tracing the train and validation functions); *epochs* = all epochs without that; *storage* = time "
              "inside Optuna's storage (SQLite) calls during the trial, including ask/tell and the per-epoch reports; "
              "*other* = the rest (sampling, Python bookkeeping, garbage collection).", "",
              "*XLA*: Keras switches `jit_compile` back off while TensorFlow op determinism is enabled (`keras/src/trainers/trainer.py`, `model_supports_jit`), and tunekit enables it for its same-seed, same-result guarantee; so the XLA row trains exactly like the default row and the gap between the two shows the run-to-run noise. `jit_compile` stays off by default."]
    _util.write(args.out, NAME, args.quick, lines)
    return summary


if __name__ == "__main__":
    main()
