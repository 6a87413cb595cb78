"""The TensorBoard sink: one run folder per trial under ``--tensorboard DIR``, the HParams
plugin's configuration at the top.

``DIR/trial-0007/`` holds trial 7's scalars (the per-epoch curves, step = epoch; the final
metrics as ``final/...``) and its hparams (the searched parameters), so TensorBoard's Scalars
tab shows the curves and the HParams tab its table and parallel-coordinates view, as
keras-tuner users know them. ``DIR/`` itself holds the ``hparams_config`` (every parameter's
domain, the ``final/...`` metrics) and ``tunekit.json`` (the study and database the folder
belongs to). A trial is written to ``.trial-0007.partial`` and renamed when complete, so an
existing ``trial-NNNN`` is never written twice.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterable

import optuna

from tunekit._errors import ConfigError
from tunekit.storage._url import mask
from tunekit.tracking._record import TrialRecord

INSTALL = "pip install 'tunekit[tensorboard]'"
MARKER = "tunekit.json"


def check_tensorboard(logdir: Any, *, study: str, database: str) -> Path:
    """``logdir`` checked before anything is written: TensorBoard installed, a folder (or none
    yet) that holds no other study's trials; ConfigError (one line) otherwise."""
    if not isinstance(logdir, (str, Path)) or not str(logdir).strip():
        raise ConfigError(f"--tensorboard needs a folder such as tb/, got {logdir!r}")
    try:
        from tensorboard.plugins.hparams import api  # noqa: F401
    except ImportError:
        raise ConfigError(f"--tensorboard needs TensorBoard, which is not installed; install it with: {INSTALL}") from None
    path = Path(logdir)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--tensorboard {str(path)!r} is a file, not a folder; pass a folder such as tb/")
    marker = path / MARKER
    if marker.is_file():
        try:
            owner = json.loads(marker.read_text())
        except (OSError, ValueError):
            owner = {}
        if (owner.get("study"), owner.get("database")) != (study, mask(database)):
            raise ConfigError(f"--tensorboard {str(path)!r} holds the trials of study {owner.get('study')!r} "
                              f"({owner.get('database')}); pass another folder, e.g. --tensorboard tb/{study}")
    return path


def _run_name(number: int) -> str:
    return f"trial-{number:04d}"


def _hp_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _domain(dist: optuna.distributions.BaseDistribution) -> Any:
    """The HParams domain of an Optuna distribution (None when it has none)."""
    from tensorboard.plugins.hparams import api as hp

    if isinstance(dist, optuna.distributions.IntDistribution):
        return hp.IntInterval(int(dist.low), int(dist.high))
    if isinstance(dist, optuna.distributions.FloatDistribution):
        return hp.RealInterval(float(dist.low), float(dist.high))
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        values = [_hp_value(c) for c in dist.choices]
        if len({type(v) for v in values}) > 1:
            values = [str(v) for v in values]
        return hp.Discrete(values)
    return None


class TensorBoardSink:
    """Writes trial records as TensorBoard event files under ``logdir`` (see the module docstring).

    Example:
        >>> sink = TensorBoardSink(logdir="tb", study="digits", database="sqlite:///tunekit.db")
        >>> sink.describe()
        "TensorBoard folder 'tb'"
    """

    label = "TensorBoard"

    def __init__(self, *, logdir: str | Path, study: str, database: str) -> None:
        self.logdir, self.study, self.database = Path(logdir), study, mask(database)
        self.sent: dict[int, str] = {}
        self._config: tuple[Any, ...] | None = None

    def start(self, attrs: dict[str, Any], *, role: str) -> None:
        """Create the folder and its ``tunekit.json``; read which trials it has; drop partial ones."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        marker = self.logdir / MARKER
        if not marker.exists():
            marker.write_text(json.dumps({"study": self.study, "database": self.database}, indent=1) + "\n")
        for child in self.logdir.iterdir():
            if child.name.startswith(".trial-") and child.name.endswith(".partial"):
                shutil.rmtree(child, ignore_errors=True)
            elif child.is_dir() and child.name.startswith("trial-") and child.name[6:].isdigit():
                self.sent[int(child.name[6:])] = child.name

    def send(self, record: TrialRecord) -> None:
        """Write one trial's run folder (hparams, curves, finals)."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        name = _run_name(record.number)
        partial = self.logdir / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        writer = tf.summary.create_file_writer(str(partial))
        with writer.as_default():
            hp.hparams({k: _hp_value(v) for k, v in record.params.items() if v is not None and k != "seed"},
                       trial_id=f"trial {record.number}")
            for tag, points in record.curves.items():
                for step, value in points:
                    tf.summary.scalar(tag, value, step=step)
            for tag, value in {**record.finals, **record.numbers}.items():
                tf.summary.scalar(tag, value, step=0)
        writer.close()
        partial.rename(self.logdir / name)
        self.sent[record.number] = name

    def write_config(self, trials: Iterable[optuna.trial.FrozenTrial], metric: str, finals: Iterable[str]) -> None:
        """(Re)write the HParams configuration at the top of the folder: every searched
        parameter's domain (from ``trials``' distributions) and the ``final/...`` metrics."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        dists: dict[str, Any] = {}
        for t in trials:
            dists.update(t.distributions)
        names = sorted({f"final/{metric}", *finals})
        key = (tuple(sorted((k, repr(d)) for k, d in dists.items())), tuple(names))
        if key == self._config or not dists:
            return
        for old in self.logdir.glob("events.out.tfevents.*"):
            old.unlink()
        hparams = [hp.HParam(k, _domain(d)) for k, d in sorted(dists.items())]
        metrics = [hp.Metric(n, display_name=n[6:] if n.startswith("final/") else n) for n in names]
        writer = tf.summary.create_file_writer(str(self.logdir))
        with writer.as_default():
            hp.hparams_config(hparams=hparams, metrics=metrics)
        writer.close()
        self._config = key

    def describe(self) -> str:
        return f"TensorBoard folder {str(self.logdir)!r}"
