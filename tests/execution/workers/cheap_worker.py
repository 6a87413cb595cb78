"""A worker process with a cheap objective: tunekit's real worker loop, storage, study lock,
heartbeat and signal handling, without Keras (fast enough for hundreds of trials).

    python cheap_worker.py URL STUDY TARGET [--grid] [--sleep SECONDS] [--grace-period SECONDS]

Heartbeat every second; a trial whose worker has not beaten for the grace period (`--grace-period`,
3 s unless given) is stale.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("study")
    parser.add_argument("target", type=int)
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--grace-period", type=int, default=3)
    args = parser.parse_args(argv)

    import optuna

    from tunekit.execution import Interrupts, join_study, work
    from tunekit.space import Choice, Space
    from tunekit.strategies._grid import GridStrategySampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = Space({"a": Choice([1, 2, 3, 4]), "b": Choice(["x", "y", "z"])})
    sampler = GridStrategySampler(space=space, seed=0) if args.grid else optuna.samplers.RandomSampler()
    study, storage = join_study(args.url, args.study, sampler=sampler, pruner=None, heartbeat=1, grace_period=args.grace_period)

    def objective(trial: optuna.Trial) -> float:
        params = space.sample(trial)
        if args.sleep:
            time.sleep(args.sleep)
        return float(params["a"]) + len(params["b"])

    try:
        with Interrupts() as interrupts:
            print(work(study, storage, objective, target=args.target, heartbeat=1, grace_period=args.grace_period, interrupts=interrupts), flush=True)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
