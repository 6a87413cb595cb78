"""``run --warm-start NAME``: another study's finished trials seed this study's strategy.

The complete trials of study NAME in the same database (an imported keras-tuner search, an
earlier tunekit study) whose parameters fit this study's space are copied into it once, marked
with ``warm_start`` = NAME. They do not count toward ``--trials`` (this study did not run them)
and they are trials like any other to the strategies that learn from the finished trials (tpe,
skopt, gp): the search starts where the old one got to. Everything is checked before the study
is touched; a resumed run copies nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

from tunekit._errors import ConfigError
from tunekit._records import FAIL_REASON, WARM_START
from tunekit.storage._storage import study_names

#: The strategies that learn from finished trials, so a warm start changes what they suggest.
LEARNS_FROM_TRIALS = ("tpe", "skopt", "gp")


@dataclass(frozen=True)
class WarmStart:
    """The trials to copy from ``source`` and what the user is told about them."""

    source: str
    trials: list[FrozenTrial]
    note: str


def _problem(params: dict[str, Any], space: Any) -> str | None:
    """Why ``params`` cannot be a trial of ``space`` (a value outside its dimension), or None."""
    for name, value in params.items():
        if name in space and not space[name].contains(value):
            return f"{name}={value!r} outside {space[name]._repr(False)}"
    return None


def _copy(trial: FrozenTrial, space: Any, source: str) -> FrozenTrial:
    """``trial`` as a warm-start trial: the space's distributions for the parameters it declares
    (Fixed ones left out, as a trial of this study stores them), the source's for the others."""
    dists = space.distributions()
    params = {n: v for n, v in trial.params.items() if n in dists or n not in space}
    distributions = {n: dists.get(n, trial.distributions[n]) for n in params}
    attrs = {k: v for k, v in trial.user_attrs.items() if k != FAIL_REASON}
    return create_trial(value=trial.value, params=params, distributions=distributions,
                        user_attrs={**attrs, WARM_START: source, "warm_start_trial": trial.number},
                        intermediate_values=dict(trial.intermediate_values))


def _final_rounds(trials: list[FrozenTrial]) -> tuple[list[FrozenTrial], str]:
    """The imported keras-tuner trials trained for the most epochs (Hyperband's final rounds: a 2-epoch
    score is not comparable with a 6-epoch one), and a note on the others; all when they agree."""
    epochs = [t.user_attrs.get("epochs_run") for t in trials]
    most = max((e for e in epochs if isinstance(e, int)), default=None)
    early = [t for t, e in zip(trials, epochs) if isinstance(e, int) and e < most]
    if not early:
        return trials, ""
    return ([t for t in trials if t not in early],
            f"; {len(early)} trained for fewer epochs than the {most} of keras-tuner's final rounds left out")


def plan_warm_start(rdb: Any, source: str, *, study_name: str, space: Any, metric: str, direction: str,
                    strategy: str) -> WarmStart:
    """Read and check study ``source`` for a warm start of ``study_name``; nothing is written.

    ConfigError when it does not exist, is the study itself, or was scored on another metric or
    direction, or when none of its trials fits the space."""
    names = study_names(rdb)
    if source == study_name:
        raise ConfigError(f"--warm-start {source!r} names the study being run; name another study (tunekit studies)")
    if source not in names:
        raise ConfigError(f"--warm-start: no study named {source!r} in this database; its studies: "
                          f"{', '.join(sorted(names)) or 'none'}")
    old = optuna.load_study(study_name=source, storage=rdb)
    old_metric = old.user_attrs.get("metric")
    if old_metric is not None and old_metric != metric:
        raise ConfigError(f"--warm-start: study {source!r} was scored on {old_metric}, this study on {metric}; "
                          "warm-start from a study of the same metric (or set metric= in the study file)")
    if old.direction.name.lower() != direction:
        raise ConfigError(f"--warm-start: study {source!r} is to {old.direction.name.lower()}, this one to {direction}")
    done = [t for t in old.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if not t.user_attrs.get(WARM_START)]
    done, early = _final_rounds(done) if old.user_attrs.get("source") == "keras-tuner" else (done, "")
    copies, left_out = [], []
    for trial in done:
        problem = _problem(trial.params, space)
        if problem is None:
            copies.append(_copy(trial, space, source))
        else:
            left_out.append(f"trial {trial.number}: {problem}")
    if not copies:
        why = f" ({left_out[0]})" if left_out else ""
        raise ConfigError(f"--warm-start: no complete trial of study {source!r} fits this study's space{why}")
    learns = "" if strategy in LEARNS_FROM_TRIALS else (
        f"; strategy {strategy!r} does not learn from finished trials ({', '.join(LEARNS_FROM_TRIALS)} do)")
    skipped = f"; {len(left_out)} left out ({left_out[0]}{', ...' if len(left_out) > 1 else ''})" if left_out else ""
    note = (f"warm start: {len(copies)} complete trials of {source!r} copied into this study to seed the strategy "
            f"(not counted toward --trials){early}{skipped}{learns}")
    return WarmStart(source=source, trials=copies, note=note)


def add_warm_start(study: optuna.Study, plan: WarmStart) -> str | None:
    """Copy ``plan``'s trials into ``study`` unless an earlier run did; the note to print, or None."""
    if any(t.user_attrs.get(WARM_START) == plan.source for t in study.get_trials(deepcopy=False)):
        return None
    study.add_trials(plan.trials)
    return plan.note
