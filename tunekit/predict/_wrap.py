"""A trained model wrapped so that it takes raw rows: one named input per data column, tunekit's
encoding inside (built-in Keras layers only, so plain ``keras.models.load_model`` loads it).

Numbers: ``Normalization`` with the training mean and variance. Bools: 0/1 as they come.
Strings: ``StringLookup`` one-hot with an out-of-vocabulary slot, which is then cropped off, so an
unseen category encodes as all zeros, as in training. The blocks are concatenated in tunekit's
feature order, then the trained model (layer ``trained_model``). Binary: ``[P(classes[0]),
P(classes[1])]``; multiclass: one probability per class; regression: the value in target units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunekit.predict._encoding import BOOL, STRING, ColumnEncoding

if TYPE_CHECKING:
    import keras

TRAINED = "trained_model"


def _safe(name: str) -> str:
    """A column name as a Keras / TensorFlow name: letters, digits, '_', '-', '.'; others become '_'."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_-.") else "_" for ch in name)
    return safe if safe[:1].isalnum() or safe[:1] == "." else f"c{safe}"


def serving_names(encoding: tuple[ColumnEncoding, ...]) -> dict[str, str]:
    """Column name -> the name of its model input (a SavedModel's serving signature argument):
    the column name where TensorFlow accepts it, else with the other characters as '_' (unique)."""
    names: dict[str, str] = {}
    for col in encoding:
        base = name = _safe(col.name)
        n = 1
        while name in names.values():
            n += 1
            name = f"{base}_{n}"
        names[col.name] = name
    return names


def _keras_names(encoding: tuple[ColumnEncoding, ...]) -> dict[str, str]:
    """Column name -> its ``keras.Input`` name: the column name itself, unless it holds a '/' (which
    Keras refuses): then its TensorFlow-safe name, made unique among the columns."""
    taken = {col.name for col in encoding}
    names: dict[str, str] = {}
    for col in encoding:
        name = col.name
        if "/" in name:
            base = name = _safe(name)
            n = 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
        names[col.name] = name
    return names


def serving_signature(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SavedModel's ``input_signature`` from the card's ``inputs``: one ``(None, 1)`` float32 or
    string tensor per column, keyed by column name, named by its ``serving_name``."""
    import tensorflow as tf

    return [{c["name"]: tf.TensorSpec((None, 1), tf.string if c["type"] == STRING else tf.float32,
                                      name=c["serving_name"]) for c in inputs}]


def raw_inputs(encoding: tuple[ColumnEncoding, ...]) -> tuple[dict[str, Any], Any]:
    """``(inputs by column name, encoded matrix)``: the symbolic preprocessing graph."""
    import keras

    inputs: dict[str, Any] = {}
    blocks = []
    safe = serving_names(encoding)
    names = _keras_names(encoding)
    for i, col in enumerate(encoding):
        tag = f"{i}_{safe[col.name]}"
        if col.kind == STRING:
            x = inputs[col.name] = keras.Input(shape=(1,), dtype="string", name=names[col.name])
            n = len(col.categories)
            hot = keras.layers.StringLookup(vocabulary=list(col.categories), num_oov_indices=1, output_mode="one_hot",
                                            name=f"lookup_{tag}")(x)
            hot = keras.layers.Reshape((n + 1, 1), name=f"slots_{tag}")(hot)
            hot = keras.layers.Cropping1D((1, 0), name=f"drop_unseen_{tag}")(hot)  # slot 0 is the unseen category
            blocks.append(keras.layers.Reshape((n,), name=f"onehot_{tag}")(hot))
        elif col.kind == BOOL:
            blocks.append(inputs.setdefault(col.name, keras.Input(shape=(1,), dtype="float32", name=names[col.name])))
        else:
            x = inputs[col.name] = keras.Input(shape=(1,), dtype="float32", name=names[col.name])
            blocks.append(keras.layers.Normalization(mean=col.mean, variance=col.std**2, name=f"standardise_{tag}")(x))
    encoded = blocks[0] if len(blocks) == 1 else keras.layers.Concatenate(name="encoded")(blocks)
    return inputs, encoded


def encoder(encoding: tuple[ColumnEncoding, ...]) -> keras.Model:
    """A model from raw columns to tunekit's encoded matrix (what a trial trained on)."""
    inputs, encoded = raw_inputs(encoding)
    return _model(inputs, encoded, "encoder")


def _model(inputs: dict[str, Any], outputs: Any, name: str) -> keras.Model:
    """``keras.Model`` keyed by column names; Keras warns when a key is not its input's (TensorFlow-safe) name."""
    import warnings

    import keras

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return keras.Model(inputs, outputs, name=name)


def wrap_model(model: keras.Model, encoding: tuple[ColumnEncoding, ...], *, task: str,
               target_scale: tuple[float, float] | None = None, name: str = "raw_rows") -> keras.Model:
    """``model`` (trained on tunekit's encoded matrix) behind raw, named column inputs.

    Example:
        >>> wrapped = wrap_model(model, fit_encoding(features, train), task="binary")  # doctest: +SKIP
        >>> wrapped.predict({"size": np.array([50.0]), "color": np.array(["red"], dtype=object)})  # doctest: +SKIP
    """
    import keras

    inputs, encoded = raw_inputs(encoding)
    model.name = TRAINED
    out = model(encoded)
    if task == "binary":
        other = keras.layers.Rescaling(scale=-1.0, offset=1.0, name="first_class")(out)  # P(classes[0]) = 1 - p
        out = keras.layers.Concatenate(name="probabilities")([other, out])
    elif task == "multiclass":
        out = keras.layers.Identity(name="probabilities")(out)
    elif target_scale is not None:
        mean, std = target_scale
        out = keras.layers.Rescaling(scale=float(std), offset=float(mean), name="target_units")(out)
    return _model(inputs, out, name)
