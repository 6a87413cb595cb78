"""Lesson: regularization (notes 002, 003). Dropout, L2 and L1 reduce overfitting (the gap between
training and validation loss); batch normalization works before or after the activation.

Run the whole lesson (every knob and seed, then the verdict and docs/lessons/regularization.md):

    tunekit lesson regularization

This file is its first study (the dropout grid, seed 0) for
`tunekit run studies/lessons/regularization.py --strategy grid`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("regularization")
