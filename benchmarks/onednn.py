"""oneDNN on or off: the speed and results of a study, and of a small convolution, side by side.

tunekit turns TensorFlow's oneDNN kernels off (``TF_ENABLE_ONEDNN_OPTS=0``) for runs of the model
factory, because their per-shape caches grow the memory of a long search
(``benchmarks/memory.py``). This measures what that costs: each contender in a fresh process
(the setting is read once per process), rounds interleaved, medians.

- ``study``: ``tunekit.run`` of ``studies/digits.py``, random strategy, 16 trials, 5 epochs, seed 3
  (``--fuse 1``), and the same with ``--fuse 16``; seconds for the run, and its best val_accuracy.
- ``conv``: a plain Keras convolutional net on digits' 8x8 images (two Conv2D of 32 filters, 3
  epochs, batch 32), what a ``build(hp)`` study may train; seconds for ``fit``. tunekit leaves
  oneDNN on for studies of your own model.

    python -m benchmarks.onednn [--quick] [--repeats R]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import _util

NAME = "onednn"
ROOT = Path(__file__).resolve().parent.parent

STUDY = r"""
import json, sys, tempfile, time
import tunekit
spec = tunekit.load_spec("studies/digits.py")
trials, epochs, fuse = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
study = tunekit.run(spec, strategy="random", n_trials=trials, epochs=epochs, seed=3, fuse=fuse,
                    storage=f"sqlite:///{tempfile.mkdtemp()}/s.db")
print(json.dumps({"seconds": time.perf_counter() - start, "best": study.best_value}))
"""

CONV = r"""
import json, sys, time
import keras, numpy as np
from sklearn.datasets import load_digits
x, y = load_digits(return_X_y=True)
x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
epochs = int(sys.argv[1])
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
                          keras.layers.Conv2D(32, 3, activation="relu", padding="same"), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
history = model.fit(x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=epochs, batch_size=32, verbose=0)
print(json.dumps({"seconds": time.perf_counter() - start, "best": max(history.history["val_accuracy"])}))
"""


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "oneDNN on or off: a study's speed and results, and a small convolution")
    _util.quiet()
    rounds = args.repeats or (1 if args.quick else 3)
    trials, epochs = (4, 1) if args.quick else (16, 5)
    workloads = {"study, --fuse 1": (STUDY, [trials, epochs, 1]), "study, --fuse 16": (STUDY, [trials, epochs, 16]),
                 "conv (plain Keras)": (CONV, [1 if args.quick else 3])}
    contenders = {(work, onednn): (lambda r, w=work, o=onednn: _fresh(*workloads[w], onednn=o))
                  for work in workloads for onednn in ("0", "1")}
    results = _util.interleaved(contenders, rounds)
    rows, summary = [], {}
    for work in workloads:
        off, on = ([x["seconds"] for x in results[(work, o)]] for o in ("0", "1"))
        best_off, best_on = (results[(work, o)][0]["best"] for o in ("0", "1"))
        summary[work] = {"off": _util.median(off), "on": _util.median(on), "best_off": best_off, "best_on": best_on}
        rows.append([work, _util.median(off), _util.spread(off), _util.median(on), _util.spread(on),
                     f"{_util.median(off) / _util.median(on):.2f}×", f"{best_off:.4f} / {best_on:.4f}"])
    lines = _util.header(
        "oneDNN on or off: a study's speed and results, and a small convolution",
        _util.command(NAME, args.quick),
        [(f"Each contender in a fresh process, {rounds} interleaved round(s), medians. The study: `tunekit.run` of "
          f"studies/digits.py, random strategy, {trials} trials, {epochs} epochs, seed 3. The conv: two Conv2D(32, 3) "
          "on digits' 8x8 images, batch 32, `fit` timed. A time ratio above 1 means oneDNN off is slower.")])
    lines += _util.table(["workload", "oneDNN off (s)", "range", "oneDNN on (s)", "range", "off / on",
                          "best val_accuracy off / on (round 1)"], rows)
    _util.write(args.out, NAME, args.quick, lines)
    return summary


def _fresh(script: str, argv: list[int], *, onednn: str) -> dict[str, float]:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("TUNEKIT_STORAGE", None)
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-c", script, *map(str, argv)], check=False, cwd=ROOT, env={**env, "TMPDIR": folder},
                              capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{NAME}: a contender failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    _util.log(f"{NAME}: oneDNN {'on' if onednn == '1' else 'off'} {script is CONV and 'conv' or 'study'} {argv}: "
              f"{result['seconds']:.1f} s")
    return result


if __name__ == "__main__":
    main()
