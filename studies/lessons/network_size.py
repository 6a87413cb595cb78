"""Lesson: network size (notes 003, 000). Too small a network (1 unit per layer) underfits: it
cannot fit even its training data; too big a one (1025 units x 4 layers) overfits: its training
loss falls towards zero while its validation loss climbs back from its minimum.

Run the whole lesson (every seed, then the verdict and docs/lessons/network_size.md):

    tunekit lesson network_size

This file is its first study (seed 0) for `tunekit run studies/lessons/network_size.py --strategy grid`.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("network_size")
