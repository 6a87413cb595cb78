"""keras-tuner's ``hp`` for your own Keras model: ``StudySpec(build=...)`` / ``hypermodel=``.

A study file may declare ``build`` (a function ``build(hp) -> compiled keras.Model``) or
``hypermodel`` (a ``keras_tuner.HyperModel``, its ``fit`` honoured) instead of ``space``.
``build`` receives a ``HyperParameters`` that answers keras-tuner's calls; its declarations
are recorded as a tunekit ``Space`` (``record_space``), so every strategy, the study database,
the dashboard and the reports work as for the model factory.

Example:
    >>> def build(hp):
    ...     hp.Int("units", 16, 64, step=16)
    ...     hp.Float("lr", 1e-4, 1e-2, sampling="log")
    >>> record_space(build)
    Space({
        'units': Int(16, 64, step=16),
        'lr': Float(0.0001, 0.01, log=True),
    })
"""

from __future__ import annotations

from tunekit.hyper._hp import HyperParameters
from tunekit.hyper._model import ModelSource, model_source
from tunekit.hyper._record import record_space

__all__ = ["HyperParameters", "ModelSource", "model_source", "record_space"]
