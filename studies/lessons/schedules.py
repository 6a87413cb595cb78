"""Learning-rate lesson (note 002). Too large a learning rate overshoots, too small converges
slowly; learning-rate schedules (step, exponential, cosine, time, plateau, warm-up) against a
constant rate.

Run the whole lesson (every seed, then the verdict and docs/lessons/schedules.md):

    tunekit lesson schedules

This file is its first study (the constant rates, seed 0) for
`tunekit run studies/lessons/schedules.py --strategy grid`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("schedules")
