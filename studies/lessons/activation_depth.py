"""Lesson: activation x depth (notes 000, 001, 004). Saturating activations (sigmoid, tanh) stop
learning as hidden layers are added (vanishing gradients); ReLU-family ones keep learning.

Run the whole lesson (every seed, then the verdict and docs/lessons/activation_depth.md):

    tunekit lesson activation_depth

This file is its first study (seed 0) for `tunekit run studies/lessons/activation_depth.py --strategy grid`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("activation_depth")
