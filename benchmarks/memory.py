"""Memory: resident memory of one process running many trials, after 10 trials vs after N.

One ``tunekit.run`` (random strategy over the shared space, so architectures keep changing
and every trial builds and traces a new model) on digits with a short epoch budget; the
resident set size (RSS) is read after every trial. keras-tuner has open reports of memory
growing trial after trial (keras-team/keras-tuner issues 395, 873, 1031).

The cause, measured side by side: a plain Keras loop (no tunekit, no Optuna) in two fresh
processes, one as Keras leaves it and one releasing the gradient functions TensorFlow
registers per traced train step (``tunekit.execution._tf.released_custom_gradients``, which the trial
runner applies to every trial).

With ``--runs R`` the trials are split over R repeated ``tunekit.run`` calls in the same
process (a notebook run again and again), each a study of its own in the same database;
RSS is read after every trial, counted over all runs. ``--models 0`` skips the plain loop.

Next to RSS, the C heap in use (glibc's ``mallinfo2``: bytes malloc has handed out and not got
back) tells a real allocation kept per trial from fragmentation (RSS up, heap in use flat).
``--space fixed`` trains one architecture every trial (only the learning rate is searched): the
caches TensorFlow keys by tensor shape (oneDNN's primitives, per layer shape and batch size)
then stop growing after the first trial, so what still grows is what every trial leaves. tunekit runs
TensorFlow without oneDNN unless the environment says ``TF_ENABLE_ONEDNN_OPTS=1`` (which measures it with).

    python -m benchmarks.memory [--quick] [--trials N] [--runs R] [--models N] [--space search|fixed]
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import tunekit_space

NAME = "memory"
FIRST = 10  # growth is counted from the 10th trial: the first ones fill caches that stay
LIMIT_MB = 20.0  # issue 27: < 20 MB over 300 trials, also over repeated runs


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Memory: RSS after 10 trials vs after N in one process",
                            first={"type": int, "default": FIRST, "help": "the trial (and model) growth counts from (10)"},
                            trials={"type": int, "default": None, "help": "trials in the process (default 200)"},
                            epochs={"type": int, "default": 2, "help": "epochs per trial"},
                            runs={"type": int, "default": 1, "help": "repeated tunekit.run calls sharing the trials"},
                            models={"type": int, "default": None, "help": "models per plain-loop process (default 40; 0: none)"},
                            space={"choices": ("search", "fixed"), "default": "search",
                                   "help": "search: the shared space; fixed: one architecture, the learning rate searched"})
    _util.quiet()
    import tunekit
    from tunekit import StudySpec

    n_trials = args.trials or (40 if args.quick else 200)
    first = args.first
    if not 1 <= first < n_trials:
        raise SystemExit(f"--first must be between 1 and --trials - 1, got {first}")
    marks = sorted({first, *range(50, n_trials + 1, 50), n_trials})
    rss: dict[int, float] = {}
    heap: dict[int, float] = {}
    done = {"n": 0}

    def on_trial(study, trial) -> None:
        done["n"] += 1
        if done["n"] in marks:
            rss[done["n"]], heap[done["n"]] = _util.rss_mb(), heap_in_use_mb()
            _util.log(f"{NAME}: {done['n']} trials, RSS {rss[done['n']]:.1f} MB, C heap in use {heap[done['n']]:.1f} MB")

    folder = Path(tempfile.mkdtemp(prefix="tunekit-memory-"))
    spec = StudySpec(data="digits", space=_space(args.space), epochs=args.epochs, name="memory",
                     fixed=_fixed(args.space))
    before = _util.rss_mb()
    runs = max(1, args.runs)
    for r, count in enumerate(_split(n_trials, runs)):
        tunekit.run(spec, strategy="random", n_trials=count, storage=f"sqlite:///{folder / 'study.db'}", seed=r,
                    study_name="memory" if runs == 1 else f"memory-{r}", on_trial=on_trial)
    n_models = (15 if args.quick else 40) if args.models is None else args.models
    loops = {release: _in_fresh_process(release, n_models, first) for release in (False, True)} if n_models > first else {}
    growth = rss[n_trials] - rss[first]
    per_trial_kb = growth * 1024 / max(1, n_trials - first)
    verdict = "met" if growth < LIMIT_MB else "missed"
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip()
    space_note = ("the shared space (benchmarks/_trials.py SEARCH)" if args.space == "search" else
                  "one architecture (benchmarks/_trials.py DEFAULTS; only the learning rate searched)")
    lines = _util.header(
        "Memory: resident memory after many trials in one process",
        _util.command(NAME, args.quick),
        [f"`tunekit.run` with the random strategy over {space_note}, digits, "
         f"{args.epochs} epochs per trial, {n_trials} trials"
         + (f" over {runs} repeated `tunekit.run` calls ({', '.join(map(str, _split(n_trials, runs)))} trials, "
            "a study each)" if runs > 1 else "")
         + f", SQLite storage, one process. RSS before the run: {before:.0f} MB."
         + f" TF_ENABLE_ONEDNN_OPTS={onednn or 'unset'} (a run of the model factory sets 0 unless the environment sets it).",
         f"**Target: RSS after {n_trials} trials − after {first} < {LIMIT_MB:.0f} MB — {verdict}: {growth:+.1f} MB** "
         f"({per_trial_kb:+.0f} kB per trial).",
         *_breakdown(rss, heap, marks, first)],
    )
    lines += _util.table(["trials finished", "RSS (MB)", f"change since {first} trials (MB)", "C heap in use (MB)",
                          "its change (MB)"],
                         [[n, rss[n], rss[n] - rss[first], heap[n], heap[n] - heap[first]] for n in marks if n in rss])
    if not loops:
        _util.write(args.out, _name(runs, args.space), args.quick, lines)
        return {"growth_mb": growth, "rss": rss, "heap": heap, "plain_loop": loops}
    lines += ["", "## Why: a plain Keras loop, side by side", "",
              f"{n_models} models in a fresh process each (`clear_session`; a Dense 32/64/128 + BatchNormalization "
              "MLP; `fit` 1 epoch on digits with validation; `del`; `gc.collect()`). Every traced train step "
              "registers a `CustomGradient-<uid>` function in TensorFlow's global gradient registry "
              "(`ReplicaContext.all_reduce` in the optimizer update uses `tf.custom_gradient`); its closure holds "
              "the traced graph and nothing removes it. The runner removes the entries its trial added "
              "(`tunekit/execution/_tf.py`).", ""]
    lines += _util.table(["plain Keras loop", f"RSS after {first} models (MB)", f"after {n_models} (MB)",
                          "growth per model (MB)", "registry entries left"],
                         [[("entries released after each model" if release else "as Keras leaves it"),
                           r["rss10"], r["rss_end"], r["per_model"], r["left"]] for release, r in loops.items()])
    _util.write(args.out, _name(runs, args.space), args.quick, lines)
    return {"growth_mb": growth, "rss": rss, "heap": heap, "plain_loop": loops}


def _breakdown(rss: dict[int, float], heap: dict[int, float], marks: list[int], first: int = 10) -> list[str]:
    """Of the growth since ``first`` trials, how much is C heap in use (the rest: fragmentation, Python's
    own arenas); and the rate over the run's second half, once shape-keyed caches have warmed up.

    >>> _breakdown({10: 700.0, 50: 708.0, 100: 713.0}, {10: 100.0, 50: 103.0, 100: 104.0}, [10, 50, 100])[1]
    'From 50 to 100 trials: +102 kB per trial (+30.0 MB per 300 trials at that rate).'
    """
    last = max(rss)
    lines = [(f"Of it, C heap in use: {heap[last] - heap[first]:+.1f} MB (the rest: pages the heap holds but does "
              "not use, i.e. fragmentation; Python's own arenas; JIT-compiled kernels).")]
    mid = min((n for n in marks if n >= last / 2 and n > first), default=last)
    if mid < last:
        rate = (rss[last] - rss[mid]) * 1024 / (last - mid)
        lines.append(f"From {mid} to {last} trials: {rate:+.0f} kB per trial ({rate * 300 / 1024:+.1f} MB per 300 trials "
                     "at that rate).")
    return lines


def _name(runs: int, space: str) -> str:
    """The results file's name: ``memory``, ``memory-repeated``, with ``-fixed`` for ``--space fixed``."""
    return NAME + ("" if runs == 1 else "-repeated") + ("" if space == "search" else "-fixed")


def _space(kind: str) -> dict[str, Any]:
    if kind == "search":
        return tunekit_space()
    from tunekit import Float

    return {"learning_rate": Float(1e-4, 3e-2, log=True)}  # values change, tensor shapes do not


def _fixed(kind: str) -> dict[str, Any]:
    from benchmarks._trials import DEFAULTS

    return {} if kind == "search" else {k: v for k, v in DEFAULTS.items() if k != "learning_rate"}


def heap_in_use_mb() -> float:
    """MB of the C heap handed out by malloc and not freed (glibc's ``mallinfo2``); NaN elsewhere."""
    global _mallinfo2
    if _mallinfo2 is None:
        try:
            _mallinfo2 = ctypes.CDLL(None).mallinfo2
            _mallinfo2.restype = _MallInfo2
        except (OSError, AttributeError):  # not glibc >= 2.33
            _mallinfo2 = False
    if _mallinfo2 is False:
        return float("nan")
    info = _mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


_mallinfo2 = None


def _split(n_trials: int, runs: int) -> list[int]:
    """``n_trials`` over ``runs`` calls, the first ones one more when it does not divide.

    >>> _split(300, 4), _split(11, 2)
    ([75, 75, 75, 75], [6, 5])
    """
    return [n_trials // runs + (i < n_trials % runs) for i in range(runs)]


def _in_fresh_process(release: bool, models: int, first: int = 10) -> dict[str, float]:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        out = pool.apply(plain_loop_growth, (release, models, first))
    _util.log(f"{NAME}: plain loop, release={release}: {out}")
    return out


def plain_loop_growth(release: bool, models: int, first: int = 10) -> dict[str, float]:
    """RSS growth per trained model of a plain Keras loop after the ``first`` (run in a fresh process)."""
    import contextlib
    import gc

    from tunekit.execution._tf import _gradient_registry, import_keras_quietly, released_custom_gradients

    import_keras_quietly()
    _util.quiet()
    import keras

    from tunekit.data import load_data

    ds = load_data("digits", seed=0)
    marks: dict[int, float] = {}
    for i in range(models):
        with released_custom_gradients() if release else contextlib.nullcontext():
            keras.backend.clear_session()
            model = keras.Sequential([keras.Input(ds.input_shape), keras.layers.Dense((32, 64, 128)[i % 3], activation="relu"),
                                      keras.layers.BatchNormalization(), keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val), epochs=1, batch_size=32, verbose=0)
            del model
        gc.collect()
        marks[i + 1] = _util.rss_mb()
    left = sum(str(k).startswith("CustomGradient-") for k in (_gradient_registry() or {}))
    return {"rss10": marks[first], "rss_end": marks[models], "per_model": (marks[models] - marks[first]) / (models - first),
            "left": left}


if __name__ == "__main__":
    main()
