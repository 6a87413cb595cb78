"""Memory: resident memory of one process running many trials, after 10 trials vs after N.

One ``tunekit.run`` (random strategy over the shared space, so architectures keep changing
and every trial builds and traces a new model) on digits with a short epoch budget; the
resident set size (RSS) is read after every trial. keras-tuner has open reports of memory
growing trial after trial (keras-team/keras-tuner issues 395, 873, 1031).

    python -m benchmarks.memory [--quick] [--trials N]
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

from benchmarks import _util
from benchmarks._trials import tunekit_space

NAME = "memory"
LIMIT_MB = 100.0


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _util.parse_args(argv, "Memory: RSS after 10 trials vs after N in one process",
                            trials={"type": int, "default": None, "help": "trials in the process (default 200)"},
                            epochs={"type": int, "default": 2, "help": "epochs per trial"})
    _util.quiet()
    import tunekit
    from tunekit import StudySpec

    n_trials = args.trials or (40 if args.quick else 200)
    marks = sorted({10, *range(50, n_trials + 1, 50), n_trials})
    rss: dict[int, float] = {}
    done = {"n": 0}

    def on_trial(study, trial) -> None:
        done["n"] += 1
        if done["n"] in marks:
            rss[done["n"]] = _util.rss_mb()
            _util.log(f"{NAME}: {done['n']} trials, RSS {rss[done['n']]:.1f} MB")

    folder = Path(tempfile.mkdtemp(prefix="tunekit-memory-"))
    spec = StudySpec(data="digits", space=tunekit_space(), epochs=args.epochs, name="memory")
    before = _util.rss_mb()
    tunekit.run(spec, strategy="random", n_trials=n_trials, storage=f"sqlite:///{folder / 'study.db'}", seed=0,
                on_trial=on_trial)
    growth = rss[n_trials] - rss[10]
    per_trial_kb = growth * 1024 / max(1, n_trials - 10)
    verdict = "met" if growth < LIMIT_MB else "missed"
    lines = _util.header(
        "Memory: resident memory after many trials in one process",
        _util.command(NAME, args.quick),
        [f"`tunekit.run` with the random strategy over the shared space (benchmarks/_trials.py SEARCH), digits, "
         f"{args.epochs} epochs per trial, {n_trials} trials, SQLite storage, one process. RSS before the run: "
         f"{before:.0f} MB.",
         f"**Target: RSS after {n_trials} trials − after 10 < {LIMIT_MB:.0f} MB — {verdict}: {growth:+.1f} MB** "
         f"({per_trial_kb:+.0f} kB per trial)."],
    )
    lines += _util.table(["trials finished", "RSS (MB)", "change since 10 trials (MB)"],
                         [[n, rss[n], rss[n] - rss[10]] for n in marks if n in rss])
    _util.write(args.out, NAME, args.quick, lines)
    return {"growth_mb": growth, "rss": rss}


if __name__ == "__main__":
    main()
