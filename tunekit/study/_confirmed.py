"""The confirmed best as users see it: the trial to trust, mean +/- sd, n, the noise level, and
whether the single-run best was a lucky draw (``run --confirm K``; the rules in ``tunekit._confirm``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._confirm import CONFIRMED_ATTR, Confirmed, config_key, confirmation_plan, confirmed_best, noise_sd
from tunekit._errors import ConfigError
from tunekit._records import CONFIRMS, WARM_START


def _maximize(study: optuna.Study) -> bool:
    return study.direction == optuna.study.StudyDirection.MAXIMIZE


def confirmations_missing(study: optuna.Study, confirm: int, repeats: int) -> bool:
    """Whether ``run --confirm`` still has confirmation trials to queue or finish."""
    if not confirm:
        return False
    trials = study.get_trials(deepcopy=False)
    if confirmation_plan(trials, k=confirm, repeats=repeats, maximize=_maximize(study)):
        return True
    return any(CONFIRMS in t.user_attrs and t.state in (TrialState.WAITING, TrialState.RUNNING) for t in trials)


def check_confirm(confirm: Any, repeats: Any, n_trials: int) -> None:
    """Refuse ``confirm`` / ``repeats`` out of range (one line)."""
    for name, value, low in (("confirm", confirm, 0), ("repeats", repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"--{name} must be an integer >= {low}, got {value!r}")
    if confirm > n_trials:
        raise ConfigError(f"--confirm {confirm} asks for more configurations than --trials {n_trials} can give; "
                          f"use --confirm {max(1, min(3, n_trials))}")


@dataclass(frozen=True)
class BestView:
    """The best trial to show and, when the study was confirmed, its configuration's runs, the
    noise level and the single-run best it replaced (None when that is the same configuration)."""

    trial: FrozenTrial
    confirmed: Confirmed | None = None
    noise: float | None = None
    lucky: Confirmed | FrozenTrial | None = None


def best_view(study: optuna.Study, trials: list[FrozenTrial] | None = None) -> BestView:
    """What ``best``, the summary, the report and the frames call the study's best: the confirmed
    configuration with the best mean when confirmations ran, else Optuna's best trial (ValueError
    when no trial completed, as ``study.best_trial``)."""
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    maximize = _maximize(study)
    chosen = confirmed_best(trials, maximize=maximize)
    if chosen is None:
        return BestView(trial=study.best_trial)
    single = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
              and not t.user_attrs.get(WARM_START)]
    top = sorted(single, key=lambda t: ((-t.value if maximize else t.value), t.number))[0]
    lucky: Any = None
    if config_key(top.params) != config_key(chosen.trial.params):
        runs = [t.value for t in single if config_key(t.params) == config_key(top.params)]
        lucky = Confirmed(trial=top, values=tuple(runs)) if len(runs) > 1 else top
    return BestView(trial=chosen.trial, confirmed=chosen, noise=noise_sd(trials), lucky=lucky)


def lucky_line(view: BestView, fmt: Any) -> str | None:
    """``trial 41's 0.981 was a lucky draw: its mean over 3 runs is 0.962`` (or: it was run once;
    the confirmed best's mean is ...), None when the single-run best is the confirmed one."""
    if view.lucky is None or view.confirmed is None:
        return None
    if isinstance(view.lucky, Confirmed):
        return (f"trial {view.lucky.trial.number}'s {fmt(view.lucky.trial.value)} was a lucky draw: its mean over "
                f"{view.lucky.n} runs is {fmt(view.lucky.mean)}")
    return (f"trial {view.lucky.number}'s {fmt(view.lucky.value)} is a single run, not confirmed; the confirmed "
            f"best's mean over {view.confirmed.n} runs is {fmt(view.confirmed.mean)}")


def confirmed_attr(view: BestView) -> dict[str, Any] | None:
    """The study attribute ``confirmed_best`` (the dashboard shows study attributes)."""
    if view.confirmed is None:
        return None
    c = view.confirmed
    return {"trial": c.trial.number, "mean": c.mean, "sd": c.sd, "n": c.n, "noise_sd": view.noise,
            "params": c.trial.params}


def record_confirmed(study: optuna.Study) -> None:
    """Write the confirmed best on the study (when confirmations ran and it changed)."""
    try:
        attr = confirmed_attr(best_view(study))
    except ValueError:  # nothing completed
        return
    if attr is not None and study.user_attrs.get(CONFIRMED_ATTR) != json.loads(json.dumps(attr, default=str)):
        study.set_user_attr(CONFIRMED_ATTR, json.loads(json.dumps(attr, default=str)))
