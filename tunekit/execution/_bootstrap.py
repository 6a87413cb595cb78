"""One worker's set-up, written once: sampler, storage, runner and loop.

``WorkerPlan`` holds everything a worker needs (it is pickled to the worker processes), and
its methods are the only place that builds a worker: ``sampler`` (the strategy's sampler),
``open`` (join the study: storage with heartbeats, lost trials retried, a database outage
waited for), ``runner`` (the objective) and ``work`` (the loop). ``tunekit.study.run`` (one
process), ``tunekit.study.join`` (``tunekit worker``) and the worker processes of
``run(..., workers=N)`` (``tunekit.execution._processes``) all start their workers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import optuna

from tunekit.execution._loop import OnTrial, join_study, work
from tunekit.execution._signals import Interrupts

if TYPE_CHECKING:
    from tunekit._spec import StudySpec
    from tunekit.data import Dataset
    from tunekit.execution._runner import TrialRunner


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs to run trials of one study (pickled to worker processes)."""

    spec: "StudySpec"
    dataset: "Dataset"
    metric: str
    strategy: str
    options: dict[str, Any]
    seed: int
    epochs: int | None
    pruner: optuna.pruners.BasePruner | None
    url: str
    study_name: str
    target: int
    timeout: float | None
    heartbeat: int
    grace_period: int | None
    db_retry: float | None = None
    health: bool = True
    prune_unhealthy: bool = False
    confirm: int = 0
    repeats: int = 2
    fuse: int = 1  # up to this many trials trained as one network (``tunekit.execution._fused``)

    def sampler(self, seed: int | None = None) -> optuna.samplers.BaseSampler:
        """The strategy's sampler, seeded ``seed`` (a worker's own seed) or the study's seed."""
        from tunekit.strategies import make_sampler

        return make_sampler(self.strategy, space=self.spec.space, seed=self.seed if seed is None else seed,
                            options=self.options)

    def open(self, seed: int | None = None) -> tuple[optuna.Study, Any]:
        """Join the existing study as a worker whose sampler is seeded ``seed``: (study, storage).
        A ConfigError names the studies that exist when this one does not."""
        return join_study(self.url, self.study_name, sampler=self.sampler(seed), pruner=self.pruner,
                          heartbeat=self.heartbeat, grace_period=self.grace_period, db_retry=self.db_retry)

    def runner(self) -> "TrialRunner":
        """The objective that trains one trial (TensorFlow imported quietly first)."""
        from tunekit.execution._runner import TrialRunner
        from tunekit.execution._tf import import_keras_quietly

        import_keras_quietly()
        return TrialRunner(spec=self.spec, dataset=self.dataset, metric=self.metric, seed=self.seed,
                           epochs=self.epochs, strategy=self.strategy, health=self.health,
                           prune_unhealthy=self.prune_unhealthy)

    def work(
        self, study: optuna.Study, storage: Any, runner: "TrialRunner | None" = None, *, interrupts: Interrupts,
        on_trial: OnTrial | None = None, keep_going: Callable[[], bool] | None = None,
    ) -> str:
        """Run trials of ``study`` until its budget is reached (``tunekit.execution._loop.work``);
        returns why the loop stopped."""
        kwargs: dict[str, Any] = dict(target=self.target, timeout=self.timeout, on_trial=on_trial,
                                      heartbeat=self.heartbeat, grace_period=self.grace_period,
                                      interrupts=interrupts, keep_going=keep_going, db_retry=self.db_retry,
                                      confirm=(self.confirm, self.repeats) if self.confirm else None)
        if self.fuse > 1 and self.spec.model is None:
            from tunekit.execution._fused import work_fused

            return work_fused(study, storage, runner or self.runner(), fuse=self.fuse, **kwargs)
        return work(study, storage, runner or self.runner(), **kwargs)
