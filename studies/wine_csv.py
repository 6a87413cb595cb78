"""A CSV shipped in the repo (multiclass): a string target and a string feature column.

    tunekit run studies/wine_csv.py --strategy random --trials 20
"""

from tunekit import Choice, Float, Int, StudySpec

spec = StudySpec(
    data="data/wine_cultivars.csv",  # relative to this file
    target="cultivar",
    space={
        "n_layers": Int(1, 2),
        "units": Int(8, 64, log=True),
        "activation": Choice(["relu", "tanh", "elu"]),
        "dropout": Float(0.0, 0.4),
        "learning_rate": Float(1e-3, 3e-2, log=True),
    },
    fixed={"batch_size": 16},
    epochs=30,
)
