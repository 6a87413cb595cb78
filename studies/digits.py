"""Digits (multiclass): the full MLP search space on scikit-learn's 8x8 digit images.

The ``default=`` values are the notes' usual starting point (two layers of 128 ReLU units
with He initialization, BatchNormalization, Dropout 0.2, Adam at 1e-3, batch 32): a new
study's first trial tries them, then the strategy searches.
"""

from tunekit import Choice, Float, Int, PerLayer, StudySpec

spec = StudySpec(
    data="digits",  # or "my.csv" with target="label"
    metric="val_accuracy",
    space={
        "n_layers": Int(1, 3, default=2),
        "units": PerLayer(Int(16, 256, log=True, default=128)),  # units_0, units_1.. per layer
        "activation": Choice(["relu", "elu", "selu", "gelu", "tanh", "sigmoid"], default="relu"),
        "initializer": Choice(["he_normal", "glorot_uniform", "lecun_normal"], default="he_normal"),
        "batch_norm": Choice(["none", "before", "after"], default="after"),
        "dropout": Float(0.0, 0.5, default=0.2),
        "optimizer": Choice(["adam", "sgd", "rmsprop"], default="adam"),
        "momentum": Float(0.0, 0.95, when=("optimizer", "sgd")),  # only for SGD
        "nesterov": Choice([False, True], when=("optimizer", "sgd")),
        "learning_rate": Float(1e-4, 1e-1, log=True, default=1e-3),
        "schedule": Choice(["constant", "cosine", "exponential"], default="constant"),
        "batch_size": Choice([32, 64, 128], default=32),
    },
    epochs=15,  # every trial's; a study keeps its epochs when resumed
)
