"""Your own Keras model, keras-tuner style: a ``build(hp)`` function, as keras-tuner's
getting-started guide writes it (only the data set changed: scikit-learn's 8x8 digits).

    tunekit run studies/kt_build.py --strategy tpe --trials 20

``build`` is called once per conditional scope before the first trial to record the search
space (``num_layers``, ``units_0``, ``activation``, ``dropout``, ``lr``); ``units_1`` and
``units_2`` are met in the first trial with more layers and join the space then (a note says so).
"""

import keras

from tunekit import StudySpec


def build(hp):
    model = keras.Sequential([keras.Input((64,))])  # digits: 8x8 images, flattened
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(units=hp.Int(f"units_{i}", min_value=32, max_value=256, step=32),
                                     activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


spec = StudySpec(data="digits", build=build, epochs=10)
