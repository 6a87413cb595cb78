"""Metropolis-Hastings search over the mixed space, its chains kept in the study's storage.

The chain walks the unit box of ``tunekit.space._unit``: a proposal moves every numeric
dimension by a Gaussian step (reflected at the box's faces) whose size adapts toward a
target acceptance rate, and resamples each categorical with some probability. A proposal
is accepted with probability ``min(1, exp(-delta / T))``, ``delta`` being how much worse it
is in the study's direction; the temperature ``T`` is relative to the spread of the values
of the first random trials, so one setting fits a loss of 0.01 and one of 100. A chain that
has not improved on its best for ``patience`` proposals restarts from the study's best trial.

Nothing lives only in memory. Every proposal records, as trial system attributes, its
chain id, the trial it proposed from, the temperature and step size, and (when it ends)
whether it was accepted; at each suggestion the chain is replayed from the finished trials
in storage. The draws of trial ``n`` are seeded by ``(seed, n)``, so a resumed study makes
the suggestion an uninterrupted run would have made, and several workers sharing a study
each run their own chain (a new proposal takes the lowest chain id no running trial holds).
The study user attribute ``mh_acceptance`` holds each chain's acceptance rate.

Batches (K trials asked before any is told, as a fused group is): parallel chains. Each
pending trial holds one chain, so a batch of K runs K chains side by side, one proposal each;
a chain's next proposal waits until its own last proposal is told and branches from the
chain's last accepted state, so the acceptance rule of every chain stays the sequential one.
Chain ``c`` starts from the ``c``-th best startup trial (modulo their number).
"""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from tunekit._seeds import derive_rng
from tunekit.space._unit import decode, encode, is_numeric
from tunekit.strategies._chain_trials import outcomes, running_best, spread
from tunekit.strategies._random import TrialSeededRandomSampler

if TYPE_CHECKING:
    from tunekit.space import Space

_PREFIX = "tunekit:mh:"
CHAIN_KEY = _PREFIX + "chain"
FROM_KEY = _PREFIX + "from"
TEMPERATURE_KEY = _PREFIX + "temperature"
STEP_KEY = _PREFIX + "step"
ACCEPTED_KEY = _PREFIX + "accepted"
ACCEPTANCE_ATTR = "mh_acceptance"

_ADAPT_RATE = 0.2  # Robbins-Monro gain of log(step) toward the target acceptance rate
_MIN_STEP, _MAX_STEP = 0.01, 0.5
_ATTEMPTS = 24  # tries at a proposal that is new to the study before taking a repeated one


@dataclass
class ChainState:
    """A chain as replayed from storage (``current``/``best`` are trials of the study)."""

    chain: int
    step: float
    current: FrozenTrial | None = None
    best: FrozenTrial | None = None
    proposals: int = 0
    accepted: int = 0
    since_improvement: int = 0
    since_restart: int = 0  # proposals since the chain started or last restarted
    restarts: int = 0
    decisions: dict[int, bool] = field(default_factory=dict)


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items(), key=lambda kv: kv[0]))


def _reflect(u: float) -> float:
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


class MetropolisSampler(BaseSampler):
    """Metropolis-Hastings at a fixed temperature (see the module docstring).

    Args:
        space: the study's search space (its distributions and conditions).
        seed: seed of every draw; ``None`` picks one at random (not resumable then).
        temperature: ``T`` as a fraction of the spread (interquartile range) of the values
            of the first ``n_startup_trials`` trials.
        n_startup_trials: random trials before the chains start; chain ``c`` starts from
            the ``c``-th best of them.
        step: initial standard deviation of a numeric step in the unit box; each numeric
            dimension moves with probability ``2 / (number of numeric dimensions)``.
        target_accept: acceptance rate the step size adapts toward.
        p_categorical: probability of resampling each categorical in a proposal.
        patience: proposals without improving the chain's best before it restarts from
            the study's best trial.

    Example:
        >>> from tunekit.space import Space, Float
        >>> sampler = MetropolisSampler(space=Space({"x": Float(-1.0, 1.0)}), seed=0)
    """

    def __init__(
        self,
        *,
        space: "Space | None" = None,
        seed: int | None = None,
        temperature: float = 0.01,
        n_startup_trials: int = 10,
        step: float = 0.4,
        target_accept: float = 0.3,
        p_categorical: float = 0.2,
        patience: int = 30,
    ) -> None:
        _check_range("temperature", temperature, 0.0, math.inf, low_open=True)
        _check_range("step", step, 0.0, 1.0, low_open=True)
        _check_range("target_accept", target_accept, 0.0, 1.0, low_open=True, high_open=True)
        _check_range("p_categorical", p_categorical, 0.0, 1.0)
        if not isinstance(n_startup_trials, int) or n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be an int >= 1, got {n_startup_trials!r}")
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        self._space = space
        self._dists = dict(space.distributions()) if space is not None else None
        self._seed = seed if seed is not None else secrets.randbits(32)
        self._temperature = float(temperature)
        self._n_startup = n_startup_trials
        self._step0 = float(step)
        self._target = float(target_accept)
        self._p_cat = float(p_categorical)
        self._patience = patience
        self._random = TrialSeededRandomSampler(seed=self._seed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ temperature

    def temperature(self, state: ChainState, scale: float) -> float:
        """The temperature of the next proposal of ``state`` (fixed here; cooled by anneal)."""
        return self._temperature * scale

    # ------------------------------------------------------------------ Optuna interface

    def reseed_rng(self) -> None:  # draws are seeded per trial; nothing to reseed
        pass

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._dists is not None:
            return dict(self._dists)
        dists: dict[str, BaseDistribution] = {}
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            for name, dist in t.distributions.items():
                dists.setdefault(name, dist)
        return dists

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space or trial.number < self._n_startup:
            return {}
        self._raise_error_if_multi_objective(study)
        with self._lock:
            trials = study.get_trials(deepcopy=False)
            chain = self._claim_chain(trials, trial.number)
            storage, tid = study._storage, trial._trial_id
            storage.set_trial_system_attr(tid, CHAIN_KEY, chain)
        state = self.replay(study, trials, chain, before=trial.number)
        scale = spread(trials, self._n_startup)
        storage.set_trial_system_attr(tid, TEMPERATURE_KEY, self.temperature(state, scale))
        storage.set_trial_system_attr(tid, STEP_KEY, state.step)
        if state.current is None:  # no finished point to start from yet: a random one
            storage.set_trial_system_attr(tid, FROM_KEY, None)
            return {}
        storage.set_trial_system_attr(tid, FROM_KEY, state.current.number)
        return self._propose(state, trial.number, search_space, trials)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: list[float] | None
    ) -> None:
        chain = trial.system_attrs.get(CHAIN_KEY)
        if chain is None:
            return
        ended = {trial.number: (state, values)}
        trials = study.get_trials(deepcopy=False)
        replayed = self.replay(study, trials, chain, ended=ended)
        study._storage.set_trial_system_attr(trial._trial_id, ACCEPTED_KEY, replayed.decisions.get(trial.number, False))
        chains = sorted({t.system_attrs[CHAIN_KEY] for t in trials if t.system_attrs.get(CHAIN_KEY) is not None})
        summary = {}
        for c in chains:
            s = replayed if c == chain else self.replay(study, trials, c, ended=ended)
            summary[str(c)] = {
                "proposals": s.proposals,
                "accepted": s.accepted,
                "rate": round(s.accepted / s.proposals, 4) if s.proposals else None,
                "restarts": s.restarts,
            }
        study.set_user_attr(ACCEPTANCE_ATTR, summary)

    # ------------------------------------------------------------------ chains

    def _claim_chain(self, trials: list[FrozenTrial], number: int) -> int:
        """The lowest chain id no other running trial holds: derived from storage alone, so a
        batch of K trials asked before any is told runs chains 0..K-1, one pending proposal
        each, and a resumed study claims what an uninterrupted one would have claimed."""
        busy = {
            t.system_attrs.get(CHAIN_KEY)
            for t in trials
            if t.state == TrialState.RUNNING and t.number != number
        }
        chain = 0
        while chain in busy:
            chain += 1
        return chain

    def replay(
        self,
        study: optuna.Study,
        trials: list[FrozenTrial],
        chain: int,
        *,
        before: int | None = None,
        ended: dict[int, tuple[TrialState, list[float] | None]] | None = None,
    ) -> ChainState:
        """Rebuild chain ``chain`` from the finished trials (numbered below ``before``).

        ``ended`` gives the state and values of trials that are ending right now (their
        storage state is still RUNNING inside ``after_trial``).
        """
        results = outcomes(trials, study.direction, ended or {})
        scored = {number: score for number, (_, score) in results.items()}
        state = ChainState(chain=chain, step=self._step0)
        # chain c starts from the c-th best startup trial
        startup = sorted(
            (s, t.number, t) for t in trials
            if t.number < self._n_startup and (s := scored[t.number]) is not None
        )
        if startup:
            state.current = state.best = startup[chain % len(startup)][2]
        best_so_far = running_best(trials, scored)
        for t in sorted(trials, key=lambda t: t.number):
            if t.system_attrs.get(CHAIN_KEY) != chain or (before is not None and t.number >= before):
                continue
            done, score = results[t.number]
            if not done:
                continue
            if state.current is None:
                if score is not None:
                    state.current = state.best = t
                    state.decisions[t.number] = True
                continue
            self._advance(state, t, score, scored, best_so_far)
        return state

    def _accepts(self, t: FrozenTrial, score: float | None, current_score: float) -> bool:
        """Whether the chain moves to trial ``t`` (Metropolis rule at the trial's temperature)."""
        if score is None:
            return False
        delta = score - current_score
        if delta <= 0:
            return True
        temp = t.system_attrs.get(TEMPERATURE_KEY)
        return bool(temp) and bool(derive_rng(self._seed, t.number, 1).random() < math.exp(-delta / temp))

    def _advance(self, state: ChainState, t: FrozenTrial, score: float | None, scored: dict[int, float | None],
                 best_so_far: dict[int, FrozenTrial]) -> None:
        """Take the chain's proposal ``t`` into ``state``: decision, step size, best, restart."""
        accept = self._accepts(t, score, scored[state.current.number])
        state.decisions[t.number] = accept
        state.proposals += 1
        state.since_restart += 1
        state.accepted += int(accept)
        state.step = float(np.clip(state.step * math.exp(_ADAPT_RATE * (accept - self._target)), _MIN_STEP, _MAX_STEP))
        if accept:
            state.current = t
        if score is not None and score < scored[state.best.number]:
            state.best, state.since_improvement = t, 0
        else:
            state.since_improvement += 1
        if state.since_improvement >= self._patience:
            restart = best_so_far.get(t.number)
            if restart is not None:
                state.current = restart
            state.step, state.since_improvement, state.since_restart = self._step0, 0, 0
            state.restarts += 1

    # ------------------------------------------------------------------ proposals

    def _propose(
        self, state: ChainState, number: int, search_space: dict[str, BaseDistribution], trials: list[FrozenTrial]
    ) -> dict[str, Any]:
        rng = derive_rng(self._seed, number, 0)
        x = state.current.params
        here = _key(self._active(x))
        seen = {_key(t.params) for t in trials if t.params}
        # each numeric dimension moves with probability 2 / (number of them): two on average
        p_move = min(1.0, 2.0 / max(1, sum(is_numeric(d) for d in search_space.values())))
        proposal: dict[str, Any] = {}
        for attempt in range(_ATTEMPTS):
            step = state.step * 1.3**attempt  # widen the kernel until the proposal is new
            p_cat = 1.0 - (1.0 - self._p_cat) * 0.85**attempt
            proposal = {}
            for name, dist in search_space.items():
                if name not in x or not _contains(dist, x[name]):  # inactive: random fallback
                    proposal[name] = _uniform(dist, rng)
                elif is_numeric(dist):
                    if rng.random() < p_move:
                        proposal[name] = decode(dist, _reflect(encode(dist, x[name]) + step * rng.standard_normal()))
                    else:
                        proposal[name] = x[name]
                elif rng.random() < p_cat and len(dist.choices) > 1:
                    index = int(encode(dist, x[name]))
                    other = int(rng.integers(len(dist.choices) - 1))
                    proposal[name] = dist.choices[other + (other >= index)]
                else:
                    proposal[name] = x[name]
            key = _key(self._active(proposal))
            if key != here and key not in seen:
                break
        return proposal

    def _active(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters of ``params`` that the space's conditions leave active."""
        if self._space is None:
            return params
        from tunekit.space import Fixed

        full: dict[str, Any] = {}
        out: dict[str, Any] = {}
        for name in self._space.names:
            dim = self._space[name]
            if dim.when is not None and not dim.when.holds(full):
                continue
            if isinstance(dim, Fixed):
                full[name] = dim.value
            elif name in params:
                full[name] = out[name] = params[name]
        return out


def _contains(dist: BaseDistribution, value: Any) -> bool:
    try:
        return dist._contains(dist.to_internal_repr(value))
    except ValueError:
        return False


def _uniform(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    return decode(dist, float(rng.random()))


def _check_range(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    """ValueError (a ConfigError through the registry) unless ``value`` is a number in range."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be a number in {lo}, {hi}, got {value!r}")
