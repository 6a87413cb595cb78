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
    """

    data: Any
    space: Space | Mapping[str, Any]
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

    def __post_init__(self) -> None:
        space = self.space if isinstance(self.space, Space) else Space(self.space)
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "fixed", dict(self.fixed))
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

    def check_catalog(self, *, task: str | None) -> None:
        """ConfigError when a searched or fixed value is not one the model factory accepts.

        Every Choice value, Fixed value and numeric bound is checked (unknown parameter
        names, unknown activation / initializer / optimizer names, a dropout of 1.5, ...);
        losses are checked against ``task`` once the data set is loaded.
        """
        from tunekit.factory import validate_value

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
        namespace = runpy.run_path(str(file), run_name="tunekit_study")
    except SyntaxError as exc:
        raise ConfigError(f"study file '{path}' line {exc.lineno}: {exc.msg}; fix the syntax error") from exc
    except ConfigError as exc:
        raise ConfigError(f"study file '{path}': {exc}{_where(file, exc)}") from exc
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
    if changes:
        from dataclasses import replace

        spec = replace(spec, **changes)
    return spec
