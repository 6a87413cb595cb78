"""Lesson: optimizers (notes 001, 003). Batch gradient descent, momentum, Nesterov, AdaGrad, RMSprop
and Adam on note 003's toy problem (a straight line on 100 rows): epochs to a training-loss target,
ranked beside the notes' own counts.

Run the whole lesson (every optimizer and seed, then the verdict and docs/lessons/optimizers.md):

    tunekit lesson optimizers

This file is its first study (batch gradient descent, seed 0) for
`tunekit run studies/lessons/optimizers.py --strategy grid --trials 1`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("optimizers")
