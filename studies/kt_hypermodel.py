"""Unmodified keras-tuner code: a ``kt.HyperModel`` subclass with a small convolutional network
on the 8x8 digits images (a model tunekit's factory cannot build), whose ``fit`` tunes the batch
size, as in keras-tuner's getting-started guide. Needs keras-tuner:
``pip install 'tunekit[keras-tuner]'``.

    tunekit run studies/kt_hypermodel.py --strategy tpe --trials 20
"""

import keras
import keras_tuner as kt

from tunekit import StudySpec


class ConvHyperModel(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Reshape((8, 8, 1))])
        model.add(keras.layers.Conv2D(hp.Int("filters", 8, 32, step=8), 3, activation="relu", padding="same"))
        if hp.Choice("pooling", ["max", "none"]) == "max":
            model.add(keras.layers.MaxPooling2D())
        model.add(keras.layers.Flatten())
        model.add(keras.layers.Dense(hp.Int("units", 32, 128, step=32), activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32, 64]), **kwargs)


spec = StudySpec(data="digits", hypermodel=ConvHyperModel(), epochs=8)
