"""Diabetes (regression): losses, learning-rate schedules and gradient clipping.

The target is standardised for training, so val_loss is in standard deviations of disease
progression; val_mae, val_rmse and val_mse are reported in the target's own units.

    tunekit run studies/diabetes.py --strategy tpe --trials 40
"""

from tunekit import Choice, Float, Int, StudySpec

spec = StudySpec(
    data="diabetes",
    metric="val_mae",
    space={
        "n_layers": Int(1, 3),
        "units": Int(8, 128, log=True),
        "activation": Choice(["relu", "elu", "selu", "softplus"]),
        "loss": Choice(["mse", "mae", "huber"]),
        "optimizer": Choice(["adam", "rmsprop", "sgd", "adagrad", "adadelta"]),
        "momentum": Float(0.0, 0.95, when=("optimizer", "sgd")),
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "schedule": Choice(["constant", "step", "exponential", "cosine", "time", "plateau", "warmup"]),
        "clipnorm": Choice([None, 1.0, 5.0]),
        "batch_size": Choice([16, 32, 64]),
    },
    fixed={"patience": 8},
    epochs=60,
)
