"""StudySpec: what a study file declares, and ``load_spec`` to read one."""

from __future__ import annotations

import os
import re
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tunekit._errors import ConfigError
from tunekit.space import Choice, Fixed, Space

#: What ``fixed=`` may hold in a study of the user's own model (``build=`` / ``hypermodel=``):
#: what the runner, not the model, uses.
RUNNER_KEYS = ("batch_size", "epochs")

def metric_direction(metric: str) -> str:
    """``maximize`` for accuracy-like metrics, ``minimize`` for losses and errors."""
    return "maximize" if re.search(r"acc|auc|precision|recall|r2", metric) else "minimize"


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """A study: the data, the search space, the metric and the training budget.

    Example:
        >>> from tunekit import StudySpec, Float, Int, Choice
        >>> spec = StudySpec(
        ...     data="digits",
        ...     space={"n_layers": Int(1, 3), "learning_rate": Float(1e-4, 1e-1, log=True)},
        ...     epochs=5,
        ... )
        >>> spec.direction is None  # not given: the metric decides, once the task is known
        True
        >>> spec.resolved_metric("multiclass")
        ('val_accuracy', 'maximize')
        >>> StudySpec(data="digits", space={"units": Int(16, 64)}, metric="val_loss").direction
        'minimize'

    ``data`` is a built-in data set name (digits, breast_cancer, iris, wine, diabetes, moons,
    circles) or a .csv / .parquet path (relative to the study file) with ``target`` naming
    the label column. ``metric`` defaults to ``val_accuracy`` for classification and
    ``val_rmse`` (in the target's units) for regression; ``direction`` follows the metric unless given. ``fixed``
    holds factory parameters that are not searched. ``epochs`` is the default training
    length when the space does not search ``epochs``.

    Your own Keras model instead of the factory's: ``build=`` a keras-tuner style function
    ``build(hp) -> compiled keras.Model``, or ``hypermodel=`` a ``keras_tuner.HyperModel``
    (its ``fit(hp, model, *args, **kwargs)`` honoured). Its search space is recorded by calling
    ``build`` (``tunekit.hyper.record_space``) unless ``space=`` declares it; ``fixed`` may then
    hold only ``batch_size`` (default 32) and ``epochs``.
    """

    data: Any
    space: Space | Mapping[str, Any] | None = None
    metric: str | None = None
    direction: str | None = None
    epochs: int = 20
    fixed: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None
    task: str | None = None
    val_fraction: float = 0.2
    max_rows: int | None = None
    seed: int = 0
    name: str | None = None
    base_dir: str | None = None
    build: Any = None
    hypermodel: Any = None
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed", dict(self.fixed))
        model = None
        if self.build is not None or self.hypermodel is not None:
            from tunekit.hyper import model_source

            model = model_source(build=self.build, hypermodel=self.hypermodel)
            wrong = sorted(set(self.fixed) - set(RUNNER_KEYS))
            if wrong:
                raise ConfigError(f"StudySpec: with {model.label}, fixed= may hold only {', '.join(RUNNER_KEYS)}; "
                                  f"set {', '.join(wrong)} inside {model.label}")
        object.__setattr__(self, "_model", model)
        if self.space is None and model is None:
            raise ConfigError("StudySpec: declare space= (the model factory's parameters) or build= / hypermodel= "
                              "(your own Keras model, keras-tuner style)")
        if self.space is None:
            from tunekit.hyper import record_space

            space = record_space(model.build, label=model.label)
        else:
            space = self.space if isinstance(self.space, Space) else Space(self.space)
        object.__setattr__(self, "space", space)
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            raise ConfigError(f"StudySpec: epochs must be an integer >= 1, got {self.epochs!r}")
        if self.metric is not None and not re.fullmatch(r"(val_)?[a-z_0-9]+", self.metric):
            raise ConfigError(
                f"StudySpec: metric {self.metric!r} is not a Keras metric name such as val_accuracy or val_loss"
            )
        if self.direction is not None and self.direction not in ("minimize", "maximize"):
            raise ConfigError(f"StudySpec: direction must be 'minimize' or 'maximize', got {self.direction!r}")
        if self.metric is not None and self.direction is None:
            object.__setattr__(self, "direction", metric_direction(self.metric))
        overlap = sorted(set(space.names) & set(self.fixed))
        if overlap:
            raise ConfigError(f"parameter(s) {', '.join(overlap)} are both searched and fixed; keep one")
        self.check_catalog(task=None)

    @property
    def model(self) -> Any:
        """The user's own model (a ``tunekit.hyper.ModelSource``), or None for the model factory."""
        return self._model  # type: ignore[attr-defined]

    def check_catalog(self, *, task: str | None) -> None:
        """ConfigError when a searched or fixed value is not one the model factory accepts.

        Every Choice value, Fixed value and numeric bound is checked (unknown parameter
        names, unknown activation / initializer / optimizer names, a dropout of 1.5, ...);
        losses are checked against ``task`` once the data set is loaded.
        """
        from tunekit.factory import validate_value

        if self.model is not None:  # the user's model reads its own parameters
            for key, value in self.fixed.items():
                validate_value(key, value, task=task)
            return
        for key in self.space.names:
            dim = self.space[key]
            if isinstance(dim, Choice):
                values = list(dim.values)
            elif isinstance(dim, Fixed):
                values = [dim.value]
            else:
                values = [dim.low, dim.high]
            for value in values:
                validate_value(key, value, task=task)
        for key, value in self.fixed.items():
            validate_value(key, value, task=task)

    def resolved_metric(self, task: str) -> tuple[str, str]:
        """(metric, direction) for ``task``, applying the defaults."""
        from tunekit.factory import default_metric

        if self.metric is None:
            return default_metric(task)
        return self.metric, self.direction or metric_direction(self.metric)

    def describe_data(self) -> str:
        """The data source as a string for the study's attributes."""
        return str(self.data) if not hasattr(self.data, "columns") else "<DataFrame>"


def _where(file: Path, exc: BaseException) -> str:
    """`` (at FILE:LINE)``: the study file's line that was running when ``exc`` was raised."""
    import traceback

    target = os.path.realpath(file)
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename) == target]
    return f" (at {file}:{lines[-1]})" if lines and lines[-1] else ""


def load_spec(path: str | os.PathLike[str]) -> StudySpec:
    """Execute a study file and return its ``spec`` (a StudySpec).

    Example:
        >>> spec = load_spec("studies/digits.py")  # doctest: +SKIP
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"study file '{path}' does not exist; pass the path of a .py file that defines spec = StudySpec(...)")
    try:
        if re.search(r"^\s*(import|from)\s+(keras|tensorflow|keras_tuner)\b", file.read_text(errors="replace"), re.M):
            from tunekit._quiet_tf import import_keras_quietly

            import_keras_quietly()  # the study file loads Keras itself: not TensorFlow's start-up lines
        namespace = runpy.run_path(str(file), run_name="tunekit_study")
    except SyntaxError as exc:
        raise ConfigError(f"study file '{path}' line {exc.lineno}: {exc.msg}; fix the syntax error") from exc
    except ConfigError as exc:
        raise ConfigError(f"study file '{path}': {exc}{_where(file, exc)}") from exc
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        hint = ("pip install 'tunekit[keras-tuner]' (keras-tuner and the TensorBoard it imports)"
                if missing in ("keras_tuner", "tensorboard") else f"pip install the package that provides {missing!r}")
        raise ConfigError(f"study file '{path}' imports {missing!r}, which is not installed{_where(file, exc)}; {hint}") from exc
    except Exception as exc:  # the user's module failed while running
        text = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(
            f"study file '{path}' failed while loading: {type(exc).__name__}: {text}{_where(file, exc)}"
        ) from exc
    spec = namespace.get("spec")
    if not isinstance(spec, StudySpec):
        raise ConfigError(f"study file '{path}' defines no StudySpec named 'spec'; add spec = StudySpec(...)")
    changes: dict[str, Any] = {}
    if spec.name is None:
        changes["name"] = file.stem
    if spec.base_dir is None:
        changes["base_dir"] = str(file.resolve().parent)
    if spec.source is None:
        changes["source"] = str(file.resolve())
    if changes:
        from dataclasses import replace

        spec = replace(spec, **changes)
    return spec
