"""Health cost: what the training-health instruments (issue 13) add to the reference trial.

Contenders, one reference trial each per round (digits, 2 × 128 ReLU + BatchNormalization +
Dropout, Adam, batch 32, 10 epochs), rounds interleaved in one process, order rotating:

- ``no health``: ``TrialRunner(health=False)``, what ``--no-health`` runs
- ``health (as shipped)``: ``TrialRunner(health=True)``, the default: ``HealthProbe`` probes at
  the start and after the epochs of ``probe_epochs(epochs)`` (1, 4, 16, ... and the last: 4
  probes in 10 epochs), its forward pass by each layer's ``call``, and ``record_health`` writes
  four trial attributes at the end
- ``health, one probe (the last epoch)``: the same with a single probe, after the last epoch (the
  fewest a diagnosis can be made from): what probing fewer batches can save

Both run through ``study.optimize`` on their own SQLite study, so a trial's time includes
sampling and storage; the same trial number gives the same training seed in both, and the probe
must not change training (checked: the final val_accuracy of each round is the same with and
without it). The time inside the instruments is taken by a thin timing subclass of
``HealthProbe`` (installed for the benchmark's trials only; it wraps the shipped methods and
changes nothing they do): ``_forward`` (the forward and backward pass on the probe batch: layers,
GradientTape, activations to numpy), the rest of ``_probe`` (the figures: ``np.asarray`` of
kernels, norms, dead/saturated shares, symmetry), the rest of the callback (the diagnosis after
every epoch, the layout at the start, the epoch's loss), and ``record_health`` (the storage writes).

Reported: the cost = median over rounds of (trial with health / trial without) − 1, with its
range and every round's value, in wall time (the issue's measure) and in the process's CPU time;
the instruments' own time per trial and its share of the trial without health; probes per trial
and milliseconds per probe (the first, on a fresh model, and the later ones).

    python -m benchmarks.health_cost [--quick] [--repeats N] [--epochs N] [--no-warm-up]

``--no-warm-up`` (for smoke tests): skip the untimed warm-up trial per contender, so the first
round also pays the imports and TensorFlow's first-time set-up (the results file says so).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from benchmarks import _util
from benchmarks._trials import reference_spec

NAME = "health_cost"
#: The issue's bound: the instruments cost at most 5% of the reference trial's time.
TARGET = 0.05
BASELINE = "no health"
SHIPPED = "health (as shipped)"
LAST_ONLY = "health, one probe (the last epoch)"
#: contender -> ``TrialRunner(health=...)``
CONTENDERS = {BASELINE: False, SHIPPED: True, LAST_ONLY: True}
#: contender -> its probe schedule when not the shipped ``probe_epochs``: the fewest probes a
#: diagnosis can be made from, to show what probing fewer batches saves.
SCHEDULES: dict[str, Callable[[int], list[int]]] = {LAST_ONLY: lambda epochs: [epochs]}
PARTS = ("forward", "figures", "diagnose", "storage")
#: Rounds by default: 2 contenders of about 2 s a trial, 21 rounds, about 2 minutes on 2 shared cores.
ROUNDS = 21


class Clock:
    """Seconds spent in the instruments during one trial, by part, and each probe's (epoch, seconds)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.seconds = {part: 0.0 for part in PARTS}
        self.probes: list[tuple[int, float]] = []

    @property
    def probe_total(self) -> float:
        return sum(s for _, s in self.probes)


def probe_class(clock: Clock) -> type:
    """``HealthProbe`` with a stopwatch around its callback hooks, ``_probe`` and ``_forward``."""
    from tunekit.health._probe import HealthProbe

    class TimedProbe(HealthProbe):
        def _timed(self, hook: Callable[..., None], *args: Any) -> None:
            start, probed = time.perf_counter(), clock.probe_total
            hook(*args)
            clock.seconds["diagnose"] += (time.perf_counter() - start) - (clock.probe_total - probed)

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self._timed(super().on_train_begin, logs)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._timed(super().on_epoch_end, epoch, logs)

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self._timed(super().on_train_end, logs)

        def _probe(self, epoch: int) -> None:
            start, forward = time.perf_counter(), clock.seconds["forward"]
            super()._probe(epoch)
            elapsed = time.perf_counter() - start
            clock.probes.append((epoch, elapsed))
            clock.seconds["figures"] += elapsed - (clock.seconds["forward"] - forward)

        def _forward(self):
            start = time.perf_counter()
            out = super()._forward()
            clock.seconds["forward"] += time.perf_counter() - start
            return out

    return TimedProbe


@contextlib.contextmanager
def instruments(clock: Clock, schedule: Callable[[int], list[int]] | None = None) -> Iterator[None]:
    """Install the timed probe and a timed ``record_health`` for one trial (and ``schedule`` as
    ``probe_epochs`` when given); restore tunekit's own after."""
    import tunekit.execution._runner as runner_module
    import tunekit.health._probe as probe_module

    probe, record, epochs_of = probe_module.HealthProbe, runner_module.record_health, probe_module.probe_epochs

    def timed_record(trial: Any, found: Any) -> None:
        start = time.perf_counter()
        try:
            record(trial, found)
        finally:
            clock.seconds["storage"] += time.perf_counter() - start

    probe_module.HealthProbe = probe_class(clock)  # tunekit.execution._health imports it per trial
    runner_module.record_health = timed_record
    probe_module.probe_epochs = schedule or epochs_of
    try:
        yield
    finally:
        probe_module.HealthProbe, runner_module.record_health, probe_module.probe_epochs = probe, record, epochs_of


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Health cost: the reference trial with and without the health instruments",
                            epochs={"type": int, "default": None, "help": "epochs of the reference trial (10)"},
                            no_warm_up=_util.NO_WARM_UP)
    _util.quiet()
    import optuna

    from tunekit._errors import TrialError
    from tunekit.execution import TrialRunner

    rounds = args.repeats or (2 if args.quick else ROUNDS)
    params, dataset, spec = reference_spec(args.epochs, "health-cost")
    epochs = params["epochs"]
    workdir = Path(tempfile.mkdtemp(prefix="tunekit-health-cost-"))
    clock = Clock()

    def contender(i: int, name: str) -> Callable[[int], dict[str, Any]]:
        study = optuna.create_study(storage=f"sqlite:///{workdir / f'cost{i}.db'}", study_name="cost",
                                    direction="maximize", pruner=optuna.pruners.NopPruner())  # every trial runs all epochs
        runner = TrialRunner(spec=spec, dataset=dataset, metric="val_accuracy", seed=1000, health=CONTENDERS[name])

        def run(r: int) -> dict[str, Any]:
            clock.reset()
            with instruments(clock, SCHEDULES.get(name)):
                start, cpu = time.perf_counter(), time.process_time()
                study.optimize(runner, n_trials=1, catch=(TrialError,))
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            trial = study.trials[-1]
            return {"wall": wall, "cpu": cpu, "value": trial.value, "state": trial.state.name,
                    "probes": list(clock.probes), "seconds": dict(clock.seconds)}

        return run

    runs = {name: contender(i, name) for i, name in enumerate(CONTENDERS)}
    for run in ([] if args.no_warm_up else runs.values()):  # warm-up, untimed: imports, first-time TF set-up,
        run(-1)  # the runner's gc freeze
    _util.log(f"{NAME}: {len(runs)} contenders x {rounds} rounds, {epochs} epochs")
    results = _util.interleaved(runs, rounds)
    return report(results, args, epochs, rounds)


def report(results: dict[str, list[dict[str, Any]]], args: Any, epochs: int, rounds: int) -> dict[str, Any]:
    base = results[BASELINE]
    summary: dict[str, Any] = {}
    rows = []
    for name, runs in results.items():
        costs = [t["wall"] / b["wall"] - 1 for b, t in zip(base, runs)]
        cpu_costs = [t["cpu"] / b["cpu"] - 1 for b, t in zip(base, runs)]
        probes = [len(t["probes"]) for t in runs]
        first = [t["probes"][0][1] for t in runs if t["probes"]]
        later = [s for t in runs for _, s in t["probes"][1:]]
        instruments = [sum(t["seconds"].values()) for t in runs]
        same = all(t["value"] == b["value"] and t["state"] == b["state"] == "COMPLETE" for b, t in zip(base, runs))
        facts = summary[name] = {
            "cost": _util.median(costs), "costs": costs, "cpu_cost": _util.median(cpu_costs), "cpu_costs": cpu_costs,
            "median_s": _util.median(t["wall"] for t in runs), "probes_per_trial": _util.median(probes),
            "probe_counts": probes, "probed_epochs": [[e for e, _ in t["probes"]] for t in runs],
            "first_probe_ms": 1e3 * _util.median(first), "later_probe_ms": 1e3 * _util.median(later),
            "probe_ms": 1e3 * sum(first + later) / len(first + later) if first else float("nan"),
            "instruments_ms": 1e3 * _util.median(instruments),
            "shares": [s / b["wall"] for b, s in zip(base, instruments)],
            "parts_ms": {p: 1e3 * _util.median(t["seconds"][p] for t in runs) for p in PARTS},
            "extra_ms": 1e3 * _util.median(t["wall"] - b["wall"] for b, t in zip(base, runs)),
            "same_accuracy": same, "values": [t["value"] for t in runs]}
        facts["share"] = _util.median(facts["shares"])
        rows.append([name, facts["median_s"], _util.signed(facts["cost"]), _util.signed_range(costs),
                     _util.signed(facts["cpu_cost"]), _util.signed_range(cpu_costs), f"{facts['probes_per_trial']:g}",
                     facts["first_probe_ms"], facts["later_probe_ms"], facts["probe_ms"], "yes" if same else "NO"])
    shipped = summary[SHIPPED]
    cost = shipped["cost"]
    verdict = "met" if cost <= TARGET else "missed"
    probed = shipped["probed_epochs"][0] if shipped["probed_epochs"] else []
    lines = _util.header(
        "Health cost: the reference trial with and without the training-health instruments",
        _util.command(NAME, args.quick) + _util.flags(args, "repeats", "epochs", "no_warm_up"),
        [f"Reference trial: digits (1,437 train / 360 validation rows), Dense 128 ×2, ReLU, BatchNormalization after "
         f"the activation, Dropout 0.2, Adam 1e-3, batch 32, {epochs} epochs, through `study.optimize` on SQLite "
         f"(`TrialRunner(health=...)`; `health=False` is what `--no-health` runs). {rounds} interleaved rounds, "
         + ("order rotating, without a warm-up (`--no-warm-up`: the first round pays the imports and TensorFlow's "
            "first-time set-up)" if args.no_warm_up else
            "order rotating, after one untimed warm-up trial per contender") + "; the same trial number trains with the same "
         "seed in both contenders (val_accuracy per round: " + ", ".join(_util.fmt(v) for v in summary[BASELINE]["values"])
         + "). The probe as shipped: at the start and after epochs " + ", ".join(str(e) for e in probed[1:])
         + f" (`probe_epochs({epochs})`), forward pass by `layer.call`.",
         f"**Target: health instruments cost ≤ 5% of the reference trial — {verdict}: {100 * cost:+.1f}%** "
         f"(wall time, median of the per-round ratios, range {_util.signed_range(shipped['costs'], ' to ')}); "
         f"time inside the instruments {shipped['instruments_ms']:.0f} ms per trial, "
         f"{100 * shipped['share']:.1f}% of the trial without them (median, range "
         f"{100 * min(shipped['shares']):.1f}% to {100 * max(shipped['shares']):.1f}%); "
         f"{shipped['probes_per_trial']:g} probes per trial, {shipped['first_probe_ms']:.1f} ms for the first, "
         f"{shipped['later_probe_ms']:.1f} ms for each later one (medians). In this process's CPU time: "
         f"{_util.signed(shipped['cpu_cost'])} (range {_util.signed_range(shipped['cpu_costs'], ' to ')}).",
         f"With one probe only (after the last epoch): {_util.signed(summary[LAST_ONLY]['cost'])} wall, "
         f"{_util.signed(summary[LAST_ONLY]['cpu_cost'])} CPU time (medians): most of the cost comes with the first "
         "probe of a trial, so probing fewer batches saves little.",
         "Per round, wall: " + ", ".join(_util.signed(c) for c in shipped["costs"]) + "; CPU time: "
         + ", ".join(_util.signed(c) for c in shipped["cpu_costs"]) + ".",
         "Wall time is the issue's measure; on a shared machine it also holds the waits for the cores, so the "
         "process's CPU time (all its threads) is shown next to it, and the time inside the instruments, measured "
         "within the health trial itself rather than as the difference of two trials (it still holds any wait for "
         "the cores during a probe, and leaves out the callback's presence in `fit`)."],
    )
    lines += _util.table(["contender", "s / trial (median)", "cost vs no health (median)", "cost range",
                          "CPU-time cost (median)", "CPU-time cost range", "probes / trial",
                          "ms, first probe (median)", "ms / later probe (median)", "ms / probe (mean)",
                          "same val_accuracy every round, all complete"], rows)
    lines += ["", "## Where the extra time goes (median ms per trial)", ""]
    lines += _util.table(["contender", "extra wall vs no health", "instruments (sum)",
                          "instruments, share of the trial without", *PARTS],
                         [[name, f["extra_ms"], f["instruments_ms"], f"{100 * f['share']:.1f}%",
                           *(f["parts_ms"][p] for p in PARTS)] for name, f in summary.items() if name != BASELINE])
    lines += ["", "*forward*: the probe's forward and backward pass on its batch of 256 training rows (each layer's "
              "`call`, eager, under GradientTape; activations to numpy); *figures*: the rest of each probe "
              "(`np.asarray` of kernels and biases, norms, update ratios, dead/saturated shares, symmetry, rounding); "
              "*diagnose*: the rest of the callback (the rules after every epoch, the layer layout at the start, "
              "each epoch's training loss); *storage*: `record_health`, the four trial attributes written once at "
              "the end of the trial. Each part is the median over rounds, so the parts need not add up to the "
              "median sum. *extra wall* also holds what the parts do not: the callback's presence in `fit` and "
              "run-to-run noise (the shared machine's load moves it by tens of ms either way)."]
    _util.write(args.out, NAME, args.quick, lines)
    return summary


if __name__ == "__main__":
    main()
