"""Per-trial overhead: the same configurations as a plain loop, through tunekit, through keras-tuner.

Contenders, each running the whole list of configurations once per round (rounds interleaved
in one process, the order rotating):

- ``plain loop``: for each configuration clear the session, seed, build, ``fit`` on arrays,
  ``evaluate`` (no storage, no tuner)
- ``tunekit``: ``tunekit.run`` replaying the list (enqueued trials) into a new SQLite study
  database: sampling, per-epoch reports, user attributes, and the runner's speed-ups
- ``tunekit, speed-ups off``: the same with ``TUNEKIT_SPEEDUPS=none`` (plain ``model.fit`` on
  arrays inside tunekit): what the bookkeeping alone costs
- ``keras-tuner``: a RandomSearch tuner whose oracle replays the list, over the same model
  factory (keras-tuner's own per-epoch checkpoints and JSON trial files included)

Reported: each contender's time relative to the plain loop (median of the per-round ratios,
with the range).

    python -m benchmarks.overhead [--quick] [--repeats N] [--configs N] [--epochs N] [--no-warm-up]

``--no-warm-up`` (for smoke tests): skip the untimed one-configuration plain loop before the rounds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import configurations, plain_loop, tunekit_space

NAME = "overhead"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Per-trial overhead: plain loop vs tunekit (SQLite) vs keras-tuner",
                            configs={"type": int, "default": None, "help": "configurations per round"},
                            epochs={"type": int, "default": None, "help": "epochs per configuration"},
                            no_warm_up=_util.NO_WARM_UP)
    _util.quiet()
    from tunekit.data import load_data

    n_configs = args.configs or (2 if args.quick else 15)
    epochs = args.epochs or (3 if args.quick else 10)
    rounds = args.repeats or (2 if args.quick else 4)
    configs = configurations(n_configs, seed=0)
    dataset = load_data("digits", seed=0)
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-overhead-"))
    runs = {
        "plain loop": _unfrozen(lambda r: plain_loop(dataset, configs, epochs, seed=100 * r)),
        "tunekit (SQLite)": _unfrozen(lambda r: _tunekit(configs, epochs, workdir / f"tk{r}.db", speedups=True)),
        "tunekit (SQLite), speed-ups off": _unfrozen(
            lambda r: _tunekit(configs, epochs, workdir / f"tkoff{r}.db", speedups=False)),
        "keras-tuner": _unfrozen(lambda r: _keras_tuner(dataset, configs, epochs, workdir / f"kt{r}")),
    }
    if not args.no_warm_up:
        plain_loop(dataset, configs[:1], 1, seed=0)  # warm-up outside the measurement
    _util.log(f"{NAME}: {len(runs)} contenders x {rounds} rounds x {n_configs} configurations x {epochs} epochs")
    times = _util.interleaved({k: _timed(v) for k, v in runs.items()}, rounds)
    shutil.rmtree(workdir, ignore_errors=True)
    return report(times, args, n_configs, epochs, rounds)


def _unfrozen(run):
    """Each contender starts with the garbage collector as a fresh process has it (not frozen):
    tunekit's runner freezes it in its first trial, inside the timed part, as it would in a run."""
    import gc

    def wrapped(r: int):
        gc.unfreeze()
        return run(r)

    return wrapped


def _timed(run):
    def timed(r: int) -> float:
        start = time.perf_counter()
        run(r)
        return time.perf_counter() - start

    return timed


def _tunekit(configs: list[dict[str, Any]], epochs: int, db: Path, *, speedups: bool) -> None:
    import optuna

    import tunekit
    from tunekit import StudySpec

    url = f"sqlite:///{db}"
    spec = StudySpec(data="digits", space=tunekit_space(), epochs=epochs, name="overhead")
    queued = optuna.create_study(storage=url, study_name="overhead", direction="maximize")
    for cfg in configs:
        queued.enqueue_trial(cfg)
    previous = os.environ.get("TUNEKIT_SPEEDUPS")
    os.environ["TUNEKIT_SPEEDUPS"] = "default" if speedups else "none"
    try:
        study = tunekit.run(spec, strategy="random", n_trials=len(configs), storage=url, seed=0)
    finally:
        if previous is None:
            os.environ.pop("TUNEKIT_SPEEDUPS", None)
        else:
            os.environ["TUNEKIT_SPEEDUPS"] = previous
    assert [t.params for t in study.trials] == configs, "tunekit did not replay the configurations"


def _keras_tuner(dataset: Any, configs: list[dict[str, Any]], epochs: int, folder: Path) -> None:
    import keras_tuner as kt

    from benchmarks._kt import ensure_tensorboard_importable, hypermodel, replay_oracle

    ensure_tensorboard_importable()

    tuner = kt.Tuner(oracle=replay_oracle(configs, "val_accuracy", "max"), hypermodel=hypermodel(dataset, epochs),
                     directory=str(folder), project_name="overhead", overwrite=True)
    tuner.search(dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
                 epochs=epochs, verbose=0)
    assert len(tuner.oracle.trials) == len(configs), "keras-tuner did not replay the configurations"


def report(times: dict[str, list[float]], args: Any, n_configs: int, epochs: int, rounds: int) -> dict[str, Any]:
    plain = times["plain loop"]
    rows, summary = [], {}
    for label, values in times.items():
        ratios = [v / p for v, p in zip(values, plain)]
        summary[label] = _util.median(ratios)
        rows.append([label, _util.median(values), _util.median(values) / n_configs,
                     f"{_util.median(ratios):.3f}×", _util.spread(ratios)])
    ratio = summary["tunekit (SQLite)"]
    off = summary["tunekit (SQLite), speed-ups off"]
    lines = _util.header(
        "Per-trial overhead: the same configurations, plain loop vs tunekit vs keras-tuner",
        _util.command(NAME, args.quick) + _util.flags(args, "repeats", "configs", "epochs", "no_warm_up"),
        [f"{n_configs} configurations (digits MLPs drawn once from the shared space, benchmarks/_trials.py SEARCH) "
         f"× {epochs} epochs, whole list per contender per round, {rounds} interleaved rounds, one process.",
         f"**Target: tunekit ≤ 1.05× the plain loop — {'met' if ratio <= 1.05 else 'missed'}: {ratio:.3f}×** "
         f"(with its speed-ups, the default). Bookkeeping alone (speed-ups off): {off:.3f}×."],
    )
    lines += _util.table(["contender", "s / round (median)", "s / trial", "ratio to plain loop (median)",
                          "ratio range"], rows)
    _util.write(args.out, NAME, args.quick, lines)
    return summary


if __name__ == "__main__":
    main()
