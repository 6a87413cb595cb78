"""Every seed tunekit derives from a study's seed: one function, one formula (a leaf module).

A derived seed depends only on the base seed and its salts (a trial number, a worker index, a
parameter name, a number naming the use), so a resumed study, another worker or another
machine derives the same one. The salts of each use are fixed: changing one changes the
suggestions and the training of studies seeded the same way before.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Largest seed + 1 that TensorFlow, Keras and Python's ``random`` all accept as a training seed.
TRAINING_SEED_LIMIT = 2**31 - 1


def _entropy(base: int, salts: tuple[int | str, ...]) -> list[int]:
    return [int(base) & 0xFFFFFFFF, *(zlib.crc32(s.encode()) if isinstance(s, str) else int(s) for s in salts)]


def derive_seed(base: int, *salts: int | str, below: int | None = None, bits: int = 32) -> int:
    """A seed derived from ``base`` and ``salts`` (text salts enter as their CRC-32).

    The value is the first 32-bit word of ``numpy.random.SeedSequence([base, *salts])``,
    its top ``bits`` bits, or taken modulo ``below``.

    Example:
        >>> derive_seed(5, 0, below=TRAINING_SEED_LIMIT)
        16823399
        >>> derive_seed(0, 3, "lr") == derive_seed(0, 3, "lr") != derive_seed(0, 3, "units")
        True
    """
    value = int(np.random.SeedSequence(_entropy(base, salts)).generate_state(1)[0]) >> (32 - bits)
    return value % below if below is not None else value


def derive_rng(base: int, *salts: int | str) -> np.random.Generator:
    """A NumPy generator seeded by ``base`` and ``salts`` (the whole entropy, not one word).

    Example:
        >>> float(derive_rng(0, 1, 0).random()) == float(derive_rng(0, 1, 0).random())
        True
    """
    return np.random.default_rng(np.random.SeedSequence(_entropy(base, salts)))
