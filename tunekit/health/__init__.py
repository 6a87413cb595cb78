"""Training health: why a network does not train.

``HealthProbe`` (a Keras callback the trial runner adds to every trial unless ``health=False``)
measures each Dense layer at the start of training and after epochs 1, 4, 16, ... and the last
(log-spaced); ``diagnose`` turns those figures, judged against a constant predictor's loss, into
one of ``DIAGNOSES`` with the layer that triggered it and a sentence;
``health_attrs``/``read_health`` store them on a trial and read them back.

Example:
    >>> from tunekit.health import DIAGNOSES
    >>> DIAGNOSES[-1]
    'ok'
"""

from tunekit.health._rules import DIAGNOSES, PRUNABLE, THRESHOLDS, Diagnosis, HealthSeries, diagnose

__all__ = ["DIAGNOSES", "PRUNABLE", "THRESHOLDS", "Diagnosis", "HealthSeries", "diagnose"]
