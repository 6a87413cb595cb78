"""Breast cancer (binary): regularisation, loss choice and early stopping.

    tunekit run studies/breast_cancer.py --strategy random --trials 30
"""

from tunekit import Choice, Float, Int, StudySpec

spec = StudySpec(
    data="breast_cancer",
    space={
        "n_layers": Int(1, 3),
        "units": Int(8, 128, log=True),
        "shape": Choice(["constant", "funnel"]),
        "activation": Choice(["relu", "leaky_relu", "prelu", "swish", "tanh"]),
        "dropout": Float(0.0, 0.5),
        "l1": Float(1e-6, 1e-2, log=True),
        "l2": Float(1e-6, 1e-2, log=True),
        "loss": Choice(["bce", "hinge"]),
        "optimizer": Choice(["adam", "adamw", "nadam"]),
        "learning_rate": Float(1e-4, 3e-2, log=True),
    },
    fixed={"patience": 5, "batch_size": 32},
    epochs=40,
)
