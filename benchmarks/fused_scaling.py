"""Where the gain of fusion ends: K fused members against K plain trials, by K and data size.

Generated data (``make_classification``: 24 features, 12 informative, 4 classes; training
rows 1k, 10k, 100k, 300k, plus min(rows / 4, 5,000) validation rows). Member i of every K is
the same configuration: 2 hidden layers of 64 ReLU units (fixed widths, so padding is not
what is measured; see the mixed-widths row), optimizer cycling adam / sgd (momentum 0.9) /
rmsprop, learning rate log-uniform in [1e-4, 1e-1] (its own seed), batch 128 (the demo
space's largest: the fewest steps per epoch, so the unfused trial is as close to
``model.fit`` speed as the demo space lets it be; batch 32, the default, in an extra row).

- fused: ``clear_session`` + one ``fit_fused`` of the K members (trace included);
- unfused: per trial ``clear_session`` + ``build_model`` + ``fit`` (validation each epoch,
  ``training_callbacks``) + ``evaluate``, today's unfused path. An unfused trial's cost
  does not depend on K, so a few trials per size (at least 2) are timed, interleaved with the
  fused runs of that size, and their median time per trial is scaled to member-epochs/s.

Reported: member-epochs per second fused and unfused, their ratio, the load average.

    python -m benchmarks.fused_scaling [--quick] [--sizes 1000,10000] [--ks 1,4,8] [--batch 128] [--no-extras]
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import _util

NAME = "fused_scaling"
SIZES, KS = (1_000, 10_000, 100_000, 300_000), (1, 4, 8, 16, 32, 64)
QUICK_SIZES, QUICK_KS = (500, 3_000), (1, 4, 8)
N_FEATURES, N_CLASSES = 24, 4
OPTIMIZERS = ("adam", "sgd", "rmsprop")

Data = tuple[Any, Any, Any, Any]


def budget(rows: int, quick: bool, n_ks: int) -> tuple[int, int]:
    """(epochs per member, unfused trials timed) for a data size: 2 epochs, an unfused trial
    per K up to 10k rows; 4 trials at 100k; 1 epoch and 3 trials from 300k (the 20-minute cap)."""
    if quick:
        return 1, 2
    if rows >= 300_000:
        return 1, 3
    return (2, 4) if rows >= 100_000 else (2, max(2, n_ks))


def data(rows: int) -> Data:
    """``rows`` training rows and min(rows / 4, 5,000) validation rows of generated data."""
    from sklearn.datasets import make_classification

    n_val = min(max(rows // 4, 50), 5_000)
    x, y = make_classification(n_samples=rows + n_val, n_features=N_FEATURES, n_informative=12, n_redundant=4,
                               n_classes=N_CLASSES, n_clusters_per_class=2, random_state=0)
    x, y = x.astype("float32"), y.astype("int64")
    return x[:rows], y[:rows], x[rows:], y[rows:]


def members(k: int, *, epochs: int, batch_size: int, mixed: bool = False) -> list[dict[str, Any]]:
    """K configurations; member i is the same for every K (its own seeded draw). ``mixed``:
    units per layer log-uniform in 16..256 (the demo space's range) instead of 64."""
    import numpy as np

    out = []
    for i in range(k):
        rng = np.random.default_rng(1000 + i)
        optimizer = OPTIMIZERS[i % len(OPTIMIZERS)]
        p: dict[str, Any] = {"n_layers": 2, "units": 64, "activation": "relu", "initializer": "he_normal",
                             "batch_norm": "none", "dropout": 0.0, "optimizer": optimizer,
                             "learning_rate": float(10 ** rng.uniform(-4, -1)), "batch_size": batch_size,
                             "epochs": epochs}
        if optimizer == "sgd":
            p["momentum"] = 0.9
        if mixed:
            p.update({f"units_{j}": round(2 ** rng.uniform(4, 8)) for j in range(2)})
        out.append(p)
    return out


def unfused_trial(member: dict[str, Any], seed: int, d: Data) -> tuple[float, float]:
    """One plain trial, today's unfused path: (seconds, validation accuracy)."""
    import keras

    from tunekit.factory import build_model, resolve_params, training_callbacks

    xt, yt, xv, yv = d
    start = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    p = resolve_params(member, task="multiclass")
    model = build_model(p, input_shape=(N_FEATURES,), task="multiclass", n_classes=N_CLASSES,
                        steps_per_epoch=math.ceil(len(xt) / p["batch_size"]))
    model.fit(xt, yt, batch_size=p["batch_size"], epochs=p["epochs"], validation_data=(xv, yv), verbose=0,
              callbacks=training_callbacks(p, monitor="val_accuracy", mode="max"))
    acc = float(model.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"])
    return time.perf_counter() - start, acc


def fused_run(batch: Sequence[dict[str, Any]], d: Data, *, split: bool = False) -> tuple[float, list[float], int]:
    """The members trained fused: (seconds, validation accuracies, groups). One group, or with
    ``split`` the groups ``fused_groups`` cuts given the data's sizes (its cost model)."""
    import keras

    from tunekit.factory import fit_fused, fused_groups, resolve_params

    xt, yt, xv, yv = d
    start = time.perf_counter()
    params = [resolve_params(m, task="multiclass") for m in batch]
    groups = (fused_groups(params, n_in=N_FEATURES, n_out=N_CLASSES, n_train=len(xt)) if split
              else [list(range(len(params)))])
    accs = [math.nan] * len(params)
    for group in groups:
        keras.backend.clear_session()
        fit = fit_fused([params[i] for i in group], seeds=list(group), input_shape=(N_FEATURES,), task="multiclass",
                        n_classes=N_CLASSES, x_train=xt, y_train=yt, x_val=xv, y_val=yv, shuffle_seed=0,
                        monitor="val_accuracy", mode="max")
        for i, result in zip(group, fit.members):
            accs[i] = float(result.final["accuracy"])
    return time.perf_counter() - start, accs, len(groups)


def measure(rows: int, ks: Sequence[int], *, epochs: int, n_unfused: int, batch_size: int,
            mixed: bool = False) -> dict[str, Any]:
    """One data size: every K fused once, ``n_unfused`` plain trials spread between them
    (alternately before and after a fused run), members 0, 1, 2, ... (all optimizers)."""
    d = data(rows)
    load = [os.getloadavg()[0]]
    slots = [round(j * (len(ks) - 1) / max(1, n_unfused - 1)) for j in range(n_unfused)] if len(ks) > 1 \
        else [0] * n_unfused
    top = members(max(ks), epochs=epochs, batch_size=batch_size, mixed=mixed)
    fused: dict[int, dict[str, Any]] = {}
    unfused: list[dict[str, Any]] = []

    def plain() -> None:
        i = len(unfused) % len(top)
        seconds, acc = unfused_trial(top[i], i, d)
        unfused.append({"member": i, "seconds": seconds, "acc": acc})

    for j, k in enumerate(ks):
        mine = [s for s, slot in enumerate(slots) if slot == j]
        for s in mine:
            if s % 2 == 0:
                plain()
        seconds, accs, groups = fused_run(top[:k], d, split=mixed)
        fused[k] = {"seconds": seconds, "accs": accs, "groups": groups,
                    "rate": k * epochs / seconds}
        for s in mine:
            if s % 2 == 1:
                plain()
        _util.log(f"  {rows} rows, K={k}: fused {seconds:.1f} s; unfused trials so far "
                  f"{[round(u['seconds'], 1) for u in unfused]}")
    load.append(os.getloadavg()[0])
    per_trial = _util.median([u["seconds"] for u in unfused])
    rate = epochs / per_trial
    for f in fused.values():
        f["ratio"] = f["rate"] / rate
    same = [fused[max(ks)]["accs"][u["member"]] for u in unfused]
    return {"rows": rows, "epochs": epochs, "batch_size": batch_size, "fused": fused, "unfused": unfused,
            "per_trial": per_trial, "unfused_rate": rate, "load": load,
            "acc_unfused": statistics.mean(u["acc"] for u in unfused), "acc_fused_same": statistics.mean(same)}


def short(rows: int) -> str:
    return f"{rows // 1000}k" if rows >= 1000 and rows % 1000 == 0 else str(rows)


def report(results: list[dict[str, Any]], extras: list[tuple[str, dict[str, Any]]], ks: Sequence[int],
           png: str) -> list[str]:
    lines = ["## Throughput: member-epochs per second", "",
             ("ratio = fused / unfused; unfused = epochs / median seconds of the timed plain trials of that size "
             "(not one per member: a plain trial costs the same whatever K is)."), ""]
    rows = [(short(r["rows"]), k, r["epochs"], r["fused"][k]["seconds"], r["fused"][k]["rate"], r["unfused_rate"],
             r["fused"][k]["ratio"]) for r in results for k in ks]
    lines += _util.table(["rows", "K", "epochs", "fused (s)", "fused member-epochs/s", "unfused member-epochs/s",
                          "ratio"], rows)
    lines += ["", "### Ratio by size and K", ""]
    lines += _util.table(["rows", *(f"K={k}" for k in ks)], [(short(r["rows"]), *(r["fused"][k]["ratio"] for k in ks))
                                                             for r in results])
    lines += ["", f"![ratio vs K]({png})", "", "### The unfused trials", ""]
    lines += _util.table(
        ["rows", "epochs", "plain trials timed", "s per trial (median)", "min–max", "val acc of those members",
         f"same members fused (K={max(ks)})", "load average (1 min) start → end"],
        [(short(r["rows"]), r["epochs"], len(r["unfused"]), r["per_trial"], _util.spread([u["seconds"] for u in r["unfused"]]),
          r["acc_unfused"], r["acc_fused_same"], f"{r['load'][0]:.2f} → {r['load'][1]:.2f}") for r in results])
    if extras:
        lines += ["", "## Other settings", ""]
        lines += _util.table(
            ["setting", "rows", "K", "groups", "fused (s)", "fused member-epochs/s", "plain trials timed",
             "unfused member-epochs/s", "ratio", "load average start → end"],
            [(label, short(r["rows"]), k, r["fused"][k]["groups"], r["fused"][k]["seconds"], r["fused"][k]["rate"],
              len(r["unfused"]), r["unfused_rate"], r["fused"][k]["ratio"], f"{r['load'][0]:.2f} → {r['load'][1]:.2f}")
             for label, r in extras for k in r["fused"]])
    lines += ["", *where_it_ends(results, extras)]
    return lines


def where_it_ends(results: list[dict[str, Any]], extras: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The largest size's figures in words: fixed cost per trial, time per step, per row."""
    if len(results) < 2:
        return []
    small, big = results[0], results[-1]
    kmax = max(big["fused"])
    steps = math.ceil(big["rows"] / big["batch_size"]) * big["epochs"]
    fixed = small["per_trial"]
    lines = [f"## At {short(big['rows'])} rows", "",
             (f"- A plain trial takes {big['per_trial']:.3g} s for {big['epochs']} epoch(s) of {steps} steps; "
             f"a whole plain trial at {short(small['rows'])} rows takes {fixed:.3g} s, an upper bound on the fixed "
             f"cost per trial (build, trace, evaluate), so at least "
             f"{100 * max(0.0, 1 - fixed / big['per_trial']):.0f}% of the big trial is its steps: "
             f"{1000 * max(0.0, big['per_trial'] - fixed) / steps:.3g}–{1000 * big['per_trial'] / steps:.3g} ms per "
             f"step of {big['batch_size']} rows."),
             (f"- Fused, K={kmax}: {big['fused'][kmax]['seconds']:.3g} s, {1000 * big['fused'][kmax]['seconds'] / steps:.3g} ms"
             f" per step for all {kmax} members, {1000 * big['fused'][kmax]['seconds'] / steps / kmax:.3g} ms per member "
             f"and step: {big['fused'][kmax]['ratio']:.3g}x the plain trials' member-epochs per second "
             f"(best K: {max(big['fused'], key=lambda k: big['fused'][k]['ratio'])}, "
             f"{max(f['ratio'] for f in big['fused'].values()):.3g}x).")]
    for label, r in ((label, r) for label, r in extras if r["rows"] == big["rows"]):
        for k, f in r["fused"].items():
            st = math.ceil(r["rows"] / r["batch_size"]) * r["epochs"]
            lines.append(f"- {label} ({short(r['rows'])} rows, K={k}): plain {1000 * r['per_trial'] / st:.3g} ms per step, "
                         f"fused {1000 * f['seconds'] / st / k:.3g} ms per member and step: {f['ratio']:.3g}x.")
    return lines


def plot(results: list[dict[str, Any]], ks: Sequence[int], path: Path) -> Path:
    """Ratio vs K (left) and member-epochs/s vs K (right), one line per data size, log axes."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in results:
        label = f"{short(r['rows'])} rows"
        line, = left.plot(ks, [r["fused"][k]["ratio"] for k in ks], "o-", label=label)
        right.plot(ks, [r["fused"][k]["rate"] for k in ks], "o-", color=line.get_color(), label=f"{label}, fused")
        right.plot(ks, [r["unfused_rate"]] * len(ks), "--", color=line.get_color(), label=f"{label}, unfused")
    left.axhline(1.0, color="grey", linewidth=0.8)
    left.set_ylabel("fused / unfused member-epochs per second")
    right.set_ylabel("member-epochs per second")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(ks), [str(k) for k in ks])
        ax.set_xlabel("K (fused members)")
        ax.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    right.legend(fontsize=7, ncol=2)
    left.set_title("speed-up of fusion")
    right.set_title("throughput")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def numbers(text: str | None, default: Sequence[int]) -> list[int]:
    return [int(v) for v in text.split(",")] if text else list(default)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, __doc__.splitlines()[0],
                            sizes={"default": None, "help": "training rows, e.g. 1000,10000"},
                            ks={"default": None, "help": "fused members, e.g. 1,4,8"},
                            batch={"type": int, "default": 128, "help": "batch size (the demo space: 32, 64, 128)"},
                            no_extras={"action": "store_true", "help": "skip the mixed-widths and batch-32 rows"})
    _util.quiet()
    sizes = numbers(args.sizes, QUICK_SIZES if args.quick else SIZES)
    ks = numbers(args.ks, QUICK_KS if args.quick else KS)
    flags = "".join([" --quick" if args.quick else "", f" --sizes {args.sizes}" if args.sizes else "",
                     f" --ks {args.ks}" if args.ks else "", f" --batch {args.batch}" if args.batch != 128 else "",
                     " --no-extras" if args.no_extras else ""])
    suffix = "-quick" if args.quick else ""
    png = f"{NAME}{suffix}.png"
    notes = [(f"Members: 2 x 64 ReLU units (fixed widths: padding is not measured), adam / sgd (momentum 0.9) / "
             f"rmsprop in turn, learning rate log-uniform 1e-4..1e-1, batch {args.batch}; {N_FEATURES} features, "
             f"{N_CLASSES} classes. After a warm-up of both paths (TensorFlow's start-up is not counted).")]
    lines = _util.header("Where the gain of fusion ends: K and data size", f"python -m benchmarks.{NAME}{flags}", notes)
    warm = data(200)
    fused_run(members(2, epochs=1, batch_size=args.batch), warm), unfused_trial(members(1, epochs=1, batch_size=args.batch)[0], 0, warm)
    start = time.perf_counter()
    results = []
    for rows in sizes:
        epochs, n_unfused = budget(rows, args.quick, len(ks))
        results.append(measure(rows, ks, epochs=epochs, n_unfused=n_unfused, batch_size=args.batch))
        _util.log(f"{rows} rows done ({(time.perf_counter() - start) / 60:.1f} min)")
    extras: list[tuple[str, dict[str, Any]]] = []
    if not args.quick and not args.no_extras:
        mid = [s for s in sizes if s <= 10_000]
        if mid:
            extras.append((f"mixed widths 16–256, groups by fused_groups, batch {args.batch}",
                           measure(max(mid), [16], epochs=2, n_unfused=2, batch_size=args.batch, mixed=True)))
        if max(sizes) >= 100_000 and args.batch != 32:
            extras.append(("batch 32 (the demo's default)", measure(max(sizes), [8], epochs=1, n_unfused=2, batch_size=32)))
    lines += report(results, extras, ks, png)
    lines += ["", (f"Total measured time {(time.perf_counter() - start) / 60:.1f} min; load average (1 min) at the end "
              f"{os.getloadavg()[0]:.2f} (other processes share the 2 cores: compare ratios, not seconds).")]
    path = _util.write(args.out, NAME, args.quick, lines)
    plot(results, ks, args.out / png)
    return {"results": results, "extras": extras, "ks": ks, "path": path, "png": args.out / png}


if __name__ == "__main__":
    main()
