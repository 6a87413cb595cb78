"""Digits (multiclass): the full MLP search space on scikit-learn's 8x8 digit images.

    tunekit run studies/digits.py --strategy tpe --trials 50
"""

from tunekit import Choice, Float, Int, PerLayer, StudySpec

spec = StudySpec(
    data="digits",
    metric="val_accuracy",
    space={
        "n_layers": Int(1, 3),
        "units": PerLayer(Int(16, 256, log=True)),
        "activation": Choice(["relu", "elu", "selu", "gelu", "tanh", "sigmoid"]),
        "initializer": Choice(["he_normal", "glorot_uniform", "lecun_normal"]),
        "batch_norm": Choice(["none", "before", "after"]),
        "dropout": Float(0.0, 0.5),
        "optimizer": Choice(["adam", "sgd", "rmsprop"]),
        "momentum": Float(0.0, 0.95, when=("optimizer", "sgd")),
        "nesterov": Choice([False, True], when=("optimizer", "sgd")),
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "schedule": Choice(["constant", "cosine", "exponential"]),
        "batch_size": Choice([32, 64, 128]),
    },
    epochs=15,
)
