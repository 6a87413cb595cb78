"""Optuna's GPSampler (Gaussian-process Bayesian optimization), made resumable.

It needs PyTorch, the optional extra ``gp`` (``pip install 'tunekit[gp]'``); importing this
module without it raises ``ImportError``, which ``make_sampler`` turns into a ConfigError
naming the extra.

Three changes to Optuna's sampler. Two so that a resumed study (or a second worker) makes the
suggestion an uninterrupted run would have made: its random state is reseeded from
``(seed, trial number)`` before each suggestion, and the kernel parameters it would carry
over in memory from the previous fit are dropped (each fit starts from the prior). The
first ``n_startup_trials`` trials and the parameters outside the intersection search space
(conditional ones) come from tunekit's per-trial seeded random sampler. The third is speed: Optuna
runs each fit inside ``torch.device("cpu")`` (against a global CUDA default), a torch function mode
through which every tensor operation then passes in Python; where the default device is the CPU
anyway, that mode is lifted for the fit (``_cpu_without_device_mode``). Same tensors on the same
device, the same suggestions; ``benchmarks/sampler_cost.py --strategies gp`` measures it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
from typing import Any, Iterator

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import GPSampler
from optuna.trial import FrozenTrial
from threadpoolctl import threadpool_limits

from tunekit._seeds import derive_seed
from tunekit.strategies._private import has_private
from tunekit.strategies._random import TrialSeededRandomSampler

# The optional dependency: fail here, at import, when it is missing. Optuna imports torch itself
# when the sampler first fits; a check, not an import, keeps loading this module cheap (``pytest
# --doctest-modules`` loads it in every test worker: importing torch costs 1.4 s).
if importlib.util.find_spec("torch") is None:
    raise ImportError("No module named 'torch'", name="torch")


class GPStrategySampler(GPSampler):
    """Optuna's GPSampler, seeded per trial and stateless between suggestions.

    Args:
        seed: seed of the random trials and of each suggestion's acquisition search.
        n_startup_trials: random trials before the Gaussian process is used.
        deterministic_objective: model the objective as noise-free.

    Example:
        >>> sampler = GPStrategySampler(seed=0, n_startup_trials=10)
    """

    def __init__(
        self, *, seed: int | None = None, n_startup_trials: int = 10, deterministic_objective: bool = False
    ) -> None:
        if not isinstance(n_startup_trials, int) or isinstance(n_startup_trials, bool) or n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be an int >= 1, got {n_startup_trials!r}")
        if not isinstance(deterministic_objective, bool):
            raise ValueError(f"deterministic_objective must be true or false, got {deterministic_objective!r}")
        self._tunekit_seed = seed if seed is not None else secrets.randbits(32)
        kwargs: dict[str, Any] = {"deterministic_objective": True} if deterministic_objective else {}
        super().__init__(
            seed=self._tunekit_seed,
            independent_sampler=TrialSeededRandomSampler(seed=self._tunekit_seed),
            n_startup_trials=n_startup_trials,
            warn_independent_sampling=False,
            **kwargs,
        )

    def reseed_rng(self) -> None:  # draws are seeded per trial; nothing to reseed
        pass

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if has_private(self, "_rng", "resumable GP suggestions"):
            self._rng.rng.seed(derive_seed(self._tunekit_seed, trial.number, 11))
        for cache in ("_gprs_cache_list", "_constraints_gprs_cache_list"):  # each fit starts from the prior
            if has_private(self, cache, "resumable GP suggestions (kernel carried over in memory)"):
                setattr(self, cache, None)
        # BLAS on one thread: Optuna limits PyTorch's threads, but OpenBLAS is already loaded by
        # then and its threads fight PyTorch's for the cores (10x slower on a busy 2-core machine)
        with threadpool_limits(limits=1):
            return super().sample_relative(study, trial, search_space)

    def _sample_relative_impl(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # called by Optuna's sample_relative inside ``torch.device("cpu")``; where Optuna renames
        # it, nothing calls this and the suggestions are only slower
        with _cpu_without_device_mode():
            return super()._sample_relative_impl(*args, **kwargs)


@contextlib.contextmanager
def _cpu_without_device_mode() -> Iterator[None]:
    """Lift the innermost torch function mode while inside it when that mode is a
    ``torch.device("cpu")`` over no other device mode: tensors are then made on the CPU by
    torch's own default, without each operation passing through the mode's Python hook (about
    half of a GP fit's time on a small study). Anything else (a CUDA default set by the user, a
    torch without these names) is left as it is."""
    try:
        import torch
        from torch.overrides import _get_current_function_mode_stack, _pop_mode_temporarily
        from torch.utils._device import DeviceContext
    except ImportError:
        yield
        return
    stack = _get_current_function_mode_stack()
    top_is_cpu = bool(stack) and isinstance(stack[-1], DeviceContext) and torch.device(stack[-1].device).type == "cpu"
    if not top_is_cpu or any(isinstance(mode, DeviceContext) for mode in stack[:-1]):
        yield
        return
    with _pop_mode_temporarily():
        yield
