"""The notes' lesson as a grid: activation x initializer on a 6-layer net.

Sigmoid and tanh train with Glorot (Xavier) initialization; ReLU wants He. With every
weight initialised to one, all units of a layer compute the same thing and stay equal
(the symmetry problem), so the net cannot do better than a much smaller one.

    tunekit run studies/activation_init.py --strategy grid --trials 12
"""

from tunekit import Choice, StudySpec

spec = StudySpec(
    data="digits",
    space={
        "activation": Choice(["sigmoid", "tanh", "relu"]),
        "initializer": Choice(["glorot_uniform", "he_normal", "random_normal", "ones"]),
    },
    fixed={"n_layers": 6, "units": 64, "optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32, "init_stddev": 1.0},
    epochs=10,
)
