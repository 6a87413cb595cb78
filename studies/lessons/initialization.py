"""Lesson: weight initialization (notes 002, 003). A constant initialization keeps every unit of a
layer identical; He initialization suits ReLU and Glorot suits tanh.

Run the whole lesson (every seed, then the verdict and docs/lessons/initialization.md):

    tunekit lesson initialization

This file is its first study (seed 0) for `tunekit run studies/lessons/initialization.py --strategy grid`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("initialization")
