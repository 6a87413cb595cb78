"""Where a fused batch's time goes: per group, building, tracing, the first epoch, later epochs.

The demo space's configurations (``benchmarks.fused.configurations``: its defaults, then
random draws, seed 0) are split into groups as ``tunekit run --fuse`` splits a batch
(``fused_groups`` with the data's sizes), and each group is timed phase by phase on digits:

- ``build``: the stacked variables and the members' initial weights (``GroupTrainer``);
- ``trace``: Python building the epoch's graph (``get_concrete_function``);
- ``first``: the first epoch's call, which includes TensorFlow's graph optimisation and kernel
  set-up; ``first - epoch`` is that set-up;
- ``epoch``: a later epoch (the steady cost); ``eval``: the validation function's first call
  (its trace included) and ``nodes`` the epoch graph's node count.

``--run`` instead times what a user waits for, as ``benchmarks.fused`` times its contenders (study
creation and queueing included): ``tunekit.run(spec, n_trials=N, fuse=K)`` over
the same configurations queued on a SQLite study, in this process. ``--root DIR`` imports
tunekit from another checkout (``DIR/tunekit``), so two versions can be compared side by
side, interleaved, with this file (run it as ``python benchmarks/fused_phases.py``)::

    for r in 1 2; do for c in /old/checkout /new/checkout; do
        python benchmarks/fused_phases.py --run --root $c --trials 64 --epochs 5 --fuse 32; done; done

``--grappler-once`` times the phases as a run trains a group (``trial_process_state``), with
TensorFlow's graph optimiser making one pass over each function instead of two (its default;
without the option the phases are timed with the default, so the two can be compared side by side).

``--floor`` sets each group's later epoch beside the arithmetic it holds: the same epoch as bare
``einsum`` layers (ReLU, a sum of squares as the loss, plain SGD) at the group's padded shapes,
the padded and the members' own GFLOP (about 6 flops per weight and row), and the machine's
``matmul`` GFLOPS: how far the fused step is from its arithmetic, and what the rest is.

``--xla`` trains each group twice, compiled by XLA and traced (``GroupTrainer(jit=...)``), and
says whether ``jit="auto"`` compiles it (``tunekit.factory._fused_cost.xla_pays``: by the count
of steps after the first epoch); ``--rows N`` uses generated data of N training rows instead
of digits.

    python -m benchmarks.fused_phases [--quick] [--trials N] [--epochs N] [--run [--fuse K]] [--root DIR]
                                      [--xla [--rows N]] [--floor] [--grappler-once]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 configurations, 2 epochs")
    parser.add_argument("--trials", type=int, default=None, help="configurations (32; quick 8)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per configuration (5; quick 2)")
    parser.add_argument("--run", action="store_true", help="time tunekit.run(fuse=K) instead of the phases")
    parser.add_argument("--fuse", type=int, default=32, help="K for --run (32)")
    parser.add_argument("--root", type=Path, default=None, help="import tunekit from this checkout")
    parser.add_argument("--xla", action="store_true", help="each group trained with and without XLA instead")
    parser.add_argument("--grappler-once", action="store_true", help="phases with one Grappler pass per function "
                        "(as a run trains), not the default two")
    parser.add_argument("--floor", action="store_true", help="each group's later epoch beside its bare arithmetic")
    parser.add_argument("--rows", type=int, default=None, help="--xla: generated data of this many training rows "
                        "(64 features, 10 classes) instead of digits")
    return parser.parse_args(list(argv) if argv is not None else None)


def _digits_groups(configs: list[dict[str, Any]], epochs: int) -> Iterator[tuple[list[Any], Any]]:
    """Each group of the configurations on digits, as ``run --fuse`` splits them: (its members'
    resolved parameters, a function that builds its ``GroupTrainer``)."""
    import numpy as np

    from tunekit.data import load_data
    from tunekit.factory import _fused, resolve_params
    from tunekit.factory._fused_train import GroupTrainer

    ds = load_data("digits")
    params = [resolve_params({**c, "epochs": epochs}, task=ds.task) for c in configs]
    for group in _fused.fused_groups(params, n_in=int(np.prod(ds.input_shape)), n_out=int(ds.n_classes),
                                     n_train=len(ds.x_train)):
        members = [params[i] for i in group]
        yield members, lambda members=members, group=group: GroupTrainer(
            members, list(group), input_shape=ds.input_shape, task=ds.task, n_classes=ds.n_classes,
            data=(ds.x_train, ds.y_train, ds.x_val, ds.y_val), monitor="val_accuracy", mode="max")


def phases(configs: list[dict[str, Any]], epochs: int) -> list[dict[str, float]]:
    """One row per group: its size and the seconds of each phase."""
    import tensorflow as tf

    from tunekit.factory._fused_train import epoch_order

    rows = []
    for members, build in _digits_groups(configs, epochs):
        t0 = time.perf_counter()
        trainer = build()
        t1 = time.perf_counter()
        order = tf.constant(epoch_order(0, 0, trainer.n_train))
        lr = trainer._lr_table([True] * len(members))
        graph = trainer._epoch_fn.get_concrete_function(order, lr).graph
        t2 = time.perf_counter()
        trainer._epoch_fn(order, lr)[0].numpy()
        t3 = time.perf_counter()
        trainer._epoch_fn(order, lr)[0].numpy()
        t4 = time.perf_counter()
        trainer._eval_fn()[0].numpy()
        t5 = time.perf_counter()
        nodes = len(graph.as_graph_def().node) + sum(len(f.node_def) for f in graph.as_graph_def().library.function)
        rows.append({"members": len(members), "batch": int(members[0]["batch_size"]), "build": t1 - t0,
                     "trace": t2 - t1, "first": t3 - t2, "epoch": t4 - t3, "eval": t5 - t4, "nodes": nodes})
    return rows


def xla(configs: list[dict[str, Any]], epochs: int, rows: int | None) -> list[dict[str, Any]]:
    """One row per group: ``GroupTrainer.run`` with XLA (``jit=True``) and without, each timed
    whole (build, compile or trace, every epoch), and whether ``jit="auto"`` compiles."""
    import numpy as np

    from tunekit.data import load_data
    from tunekit.factory import _fused, resolve_params
    from tunekit.factory._fused_cost import xla_pays
    from tunekit.factory._fused_train import GroupTrainer

    if rows is None:
        ds = load_data("digits")
        data, n_in, n_out = (ds.x_train, ds.y_train, ds.x_val, ds.y_val), int(np.prod(ds.input_shape)), int(ds.n_classes)
    else:
        from sklearn.datasets import make_classification

        x, y = make_classification(n_samples=rows + 2_000, n_features=64, n_informative=20, n_classes=10, random_state=0)
        x = x.astype(np.float32)
        data, n_in, n_out = (x[:rows], y[:rows], x[rows:], y[rows:]), 64, 10
    params = [resolve_params({**c, "epochs": epochs}, task="multiclass") for c in configs]
    out = []
    for group in _fused.fused_groups(params, n_in=n_in, n_out=n_out, n_train=len(data[0])):
        members = [params[i] for i in group]
        seconds = {}
        for jit in (True, False):
            start = time.perf_counter()
            GroupTrainer(members, list(group), input_shape=(n_in,), task="multiclass", n_classes=n_out, data=data,
                         monitor="val_accuracy", mode="max", jit=jit).run(0, None)
            seconds[jit] = time.perf_counter() - start
        steps = -(-len(data[0]) // int(members[0]["batch_size"]))
        out.append({"members": len(members), "batch": int(members[0]["batch_size"]), "xla": seconds[True],
                    "traced": seconds[False], "later_steps": steps * (epochs - 1), "auto": xla_pays(steps, epochs)})
    return out


def _matmul_gflops() -> float:
    """The machine's float32 ``matmul`` speed (1024 x 1024, best of 20 calls in a graph)."""
    import tensorflow as tf

    a = tf.random.normal([1024, 1024])
    f = tf.function(lambda a: tf.matmul(a, a))
    f(a).numpy()
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        f(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * 1024**3 / best / 1e9


def floor(configs: list[dict[str, Any]], epochs: int) -> tuple[float, list[dict[str, Any]]]:
    """(matmul GFLOPS, one row per group): a later epoch of the group, the same epoch as bare
    ``einsum`` layers at its padded shapes, its padded and its members' own GFLOP per epoch."""
    import tensorflow as tf

    from tunekit.factory._catalog import layer_units
    from tunekit.factory._fused_train import epoch_order

    rows = []
    for members, build in _digits_groups(configs, epochs):
        trainer = build()
        n, n_in, n_out = trainer.n_train, trainer.n_in, trainer.n_out
        flops = lambda fans, k=1: 6 * n * k * sum(a * b for a, b in zip(fans, fans[1:]))  # noqa: E731
        order, lr = tf.constant(epoch_order(0, 0, n)), trainer._lr_table([True] * len(members))
        k, batch, fans = len(members), trainer.batch, [n_in, *trainer.net.widths, n_out]
        weights = [tf.Variable(tf.random.normal([k, a, b]) * 0.05) for a, b in zip(fans, fans[1:])]
        x = trainer.x_train

        def bare(order: tf.Tensor) -> tf.Tensor:
            def body(s: tf.Tensor) -> tuple[tf.Tensor]:
                xb = tf.gather(x, order[s * batch:(s + 1) * batch])
                with tf.GradientTape() as tape:
                    h = tf.broadcast_to(xb, tf.stack([k, tf.shape(xb)[0], n_in]))
                    for w in weights[:-1]:
                        h = tf.nn.relu(tf.einsum("kbi,kio->kbo", h, w))
                    out = tf.einsum("kbi,kio->kbo", h, weights[-1])
                    loss = tf.reduce_sum(out * out)
                for w, g in zip(weights, tape.gradient(loss, weights)):
                    w.assign_sub(1e-6 * g)
                return (s + 1,)
            return tf.while_loop(lambda s: s < trainer.steps, body, (tf.constant(0),))[0]

        bare_fn = tf.function(bare, autograph=False)
        seconds = {}
        for name, call in (("epoch", lambda: trainer._epoch_fn(order, lr)[0]), ("bare", lambda: bare_fn(order))):
            call().numpy(), call().numpy()  # traced and set up: a later epoch is timed
            start = time.perf_counter()
            call().numpy()
            seconds[name] = time.perf_counter() - start
        own = sum(flops([n_in, *layer_units(p), n_out]) for p in members)
        rows.append({"members": k, "batch": batch, "widths": trainer.net.widths, **seconds,
                     "padded": flops(fans, k) / 1e9, "own": own / 1e9})
    return _matmul_gflops(), rows


def timed_run(configs: list[dict[str, Any]], epochs: int, fuse: int) -> float:
    """Seconds of ``tunekit.run`` over the queued configurations (``benchmarks.fused``'s contender)."""
    from benchmarks.fused import _tunekit

    folder = Path(tempfile.mkdtemp(prefix="tunekit-phases-"))
    start = time.perf_counter()
    _tunekit(configs, epochs, folder, fuse, False)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    if args.root is not None:
        sys.path.insert(0, str(args.root.resolve()))
    sys.path.insert(1, str(HERE.parent))
    from benchmarks import _util
    from benchmarks.fused import configurations

    _util.quiet()
    n, epochs = args.trials or (8 if args.quick else 32), args.epochs or (2 if args.quick else 5)
    configs = configurations(n)
    import tunekit

    where = Path(tunekit.__file__).resolve().parent.parent
    if args.run:
        seconds = timed_run(configs, epochs, args.fuse)
        print(f"tunekit from {where}: {n} configurations x {epochs} epochs, fuse={args.fuse}: {seconds:.2f} s")
        return 0
    if args.floor:
        gflops, rows = floor(configs, epochs)
        print(f"tunekit from {where}: {n} configurations, {len(rows)} groups; matmul {gflops:.0f} GFLOPS")
        print("\n".join(_util.table(["members", "batch", "widths", "later epoch s", "bare einsum epoch s",
                                     "padded GFLOP", "own GFLOP", "own at matmul speed s"],
                                    [[r["members"], r["batch"], "-".join(map(str, r["widths"])), f"{r['epoch']:.3f}",
                                      f"{r['bare']:.3f}", f"{r['padded']:.2f}", f"{r['own']:.2f}",
                                      f"{r['own'] / gflops:.3f}"] for r in rows])))
        total = {k: sum(r[k] for r in rows) for k in ("epoch", "bare", "padded", "own")}
        print(f"sum: later epoch {total['epoch']:.2f} s, bare einsum {total['bare']:.2f} s "
              f"({total['epoch'] / total['bare']:.1f}x), padded {total['padded']:.1f} GFLOP, own {total['own']:.1f} "
              f"GFLOP ({total['own'] / gflops:.3f} s at matmul speed)")
        return 0
    if args.xla:
        rows = xla(configs, epochs, args.rows)
        data = "digits" if args.rows is None else f"{args.rows} generated rows"
        print(f"tunekit from {where}: {n} configurations x {epochs} epochs on {data}, {len(rows)} groups")
        print("\n".join(_util.table(["members", "batch", "steps after epoch 1", "XLA s", "traced s", "traced / XLA",
                                     "auto compiles"],
                                    [[r["members"], r["batch"], r["later_steps"], f"{r['xla']:.2f}",
                                      f"{r['traced']:.2f}", f"{r['traced'] / r['xla']:.2f}x",
                                      "yes" if r["auto"] else "no"] for r in rows])))
        auto = sum(r["xla"] if r["auto"] else r["traced"] for r in rows)
        traced = sum(r["traced"] for r in rows)
        print(f"sum: XLA {sum(r['xla'] for r in rows):.1f} s, traced {traced:.1f} s, auto {auto:.1f} s "
              f"(traced / auto {traced / auto:.2f}x)")
        return 0
    from tunekit.execution._tf import grappler_once

    with grappler_once() if args.grappler_once else contextlib.nullcontext():
        rows = phases(configs, epochs)
    once = ", one Grappler pass" if args.grappler_once else ""
    print(f"tunekit from {where}: {n} configurations x {epochs} epochs, {len(rows)} groups{once}")
    print("\n".join(_util.table(["members", "batch", "build s", "trace s", "first epoch s", "later epoch s",
                                 "eval s", "nodes"],
                                [[r["members"], r["batch"], *(f"{r[k]:.2f}" for k in ("build", "trace", "first", "epoch",
                                                                                      "eval")), r["nodes"]]
                                 for r in rows])))
    total = {k: sum(r[k] for r in rows) for k in ("build", "trace", "first", "epoch", "eval")}
    print("sum: " + ", ".join(f"{k} {v:.2f} s" for k, v in total.items())
          + f"; set-up of the first call {total['first'] - total['epoch']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
