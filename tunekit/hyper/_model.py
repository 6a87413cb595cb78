"""The user's own model: a ``build(hp)`` function or a keras-tuner ``HyperModel``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from tunekit._errors import ConfigError
from tunekit.hyper._hp import HyperParameters


def _own_fit(hypermodel: Any) -> bool:
    """Whether ``hypermodel``'s class defines ``fit`` itself (keras-tuner's own just calls ``model.fit``)."""
    for cls in type(hypermodel).__mro__:
        if "fit" in vars(cls):
            return not cls.__module__.startswith("keras_tuner")
    return False


@dataclass(frozen=True)
class ModelSource:
    """Where a trial's model comes from: ``build(hp)``; ``fit(hp, model, ...)`` when the hypermodel
    overrides it (``own_fit``), else the runner calls ``model.fit`` itself."""

    build: Callable[[HyperParameters], Any]
    label: str
    hypermodel: Any = None

    @property
    def own_fit(self) -> bool:
        return self.hypermodel is not None and _own_fit(self.hypermodel)

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """The hypermodel's ``fit`` (keras-tuner's signature)."""
        return self.hypermodel.fit(hp, model, *args, **kwargs)


def model_source(*, build: Any = None, hypermodel: Any = None) -> ModelSource:
    """Check ``build=`` / ``hypermodel=`` as a study file gives them (one of the two).

    >>> model_source(build=lambda hp: None).label
    'build(hp)'
    >>> model_source(build=3)
    Traceback (most recent call last):
    tunekit._errors.ConfigError: StudySpec: build= must be a function build(hp) returning a compiled keras.Model, got 3
    """
    if build is not None and hypermodel is not None:
        raise ConfigError("StudySpec: give build= or hypermodel=, not both")
    if build is not None:
        if not callable(build):
            raise ConfigError(f"StudySpec: build= must be a function build(hp) returning a compiled keras.Model, got {build!r}")
        name = str(getattr(build, "__name__", "build"))
        return ModelSource(build=build, label=f"{name if name.isidentifier() else 'build'}(hp)")
    if isinstance(hypermodel, type):
        raise ConfigError(f"StudySpec: hypermodel= needs an instance, got the class {hypermodel.__name__}; "
                          f"write hypermodel={hypermodel.__name__}()")
    if not callable(getattr(hypermodel, "build", None)):
        raise ConfigError(f"StudySpec: hypermodel= must be a keras_tuner.HyperModel (an object with build(hp)), "
                          f"got {hypermodel!r}")
    return ModelSource(build=hypermodel.build, label=f"{type(hypermodel).__name__}.build(hp)", hypermodel=hypermodel)
