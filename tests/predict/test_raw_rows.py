"""The model's encoding of raw rows is tunekit's training encoding, to float precision; unseen
categories encode as all zeros inside the model (no error); the saved file loads without custom objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.predict._studies import as_inputs, write_houses


@pytest.mark.parametrize("source", ["houses", "digits"])
def test_encoder_gives_the_trials_validation_matrix(tmp_path: Path, source: str) -> None:
    from tunekit.data import load_data
    from tunekit.predict import encode_rows, encoder, fit_encoding, raw_split

    data, target = (str(write_houses(tmp_path)), "band") if source == "houses" else ("digits", None)
    ds = load_data(data, target=target, seed=3, max_rows=300)
    raw = raw_split(data, target=target, seed=3, max_rows=300)
    encoding = fit_encoding(raw.features, raw.train)
    val = raw.features.iloc[raw.val]
    assert np.array_equal(encode_rows(val, encoding), ds.x_val)  # the numpy mirror: exactly
    from_model = encoder(encoding).predict(as_inputs(val[val.columns[::-1]]), verbose=0)
    assert from_model.shape == ds.x_val.shape
    np.testing.assert_allclose(from_model, ds.x_val, atol=2e-6)  # float32 inside the model


def test_unseen_category_is_all_zeros_and_the_saved_wrapper_loads_plainly(tmp_path: Path) -> None:
    import keras
    import pandas as pd

    from tunekit.predict import fit_encoding, wrap_model

    rows = pd.DataFrame({"size": [50.0, 70.0, 90.0], "city": ["north", "south", "north"], "garden": [True, False, True]})
    encoding = fit_encoding(rows, np.arange(3))
    trained = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    wrapped = wrap_model(trained, encoding, task="multiclass")
    wrapped.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")  # no custom_objects
    new = pd.DataFrame({"garden": [False, True], "city": ["atlantis", "south"], "size": [60.0, 70.0]})
    got = loaded.predict(as_inputs(new), verbose=0)
    encoded = np.array([[(60 - 70) / np.std([50, 70, 90]), 0, 0, 0], [0, 0, 1, 1]], dtype=np.float32)
    np.testing.assert_allclose(got, trained.predict(encoded, verbose=0), atol=1e-6)


def test_column_names_tensorflow_refuses_get_unique_serving_names() -> None:
    from tunekit.predict import ColumnEncoding
    from tunekit.predict._wrap import serving_names

    columns = ("od280/od315", "sepal length (cm)", "sepal_length__cm_", "(x)", "size")
    names = serving_names(tuple(ColumnEncoding(name=c, kind="number") for c in columns))
    assert names == {"od280/od315": "od280_od315", "sepal length (cm)": "sepal_length__cm_",
                     "sepal_length__cm_": "sepal_length__cm__2", "(x)": "c_x_", "size": "size"}


def test_odd_column_names_load_without_warnings_and_serve_by_their_serving_names(tmp_path: Path) -> None:
    import warnings

    import keras
    import pandas as pd
    import tensorflow as tf

    from tunekit.predict import fit_encoding, wrap_model
    from tunekit.predict._card import _inputs
    from tunekit.predict._save import save_model

    rows = pd.DataFrame({"od280/od315": [1.0, 2.0, 4.0], "sepal length (cm)": [5.0, 6.0, 7.0], "city": ["a", "b", "a"]})
    encoding = fit_encoding(rows, np.arange(3))
    wrapped = wrap_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]), encoding, task="regression",
                         target_scale=(100.0, 10.0))
    save_model(wrapped, tmp_path / "m.keras")
    save_model(wrapped, tmp_path / "served", "savedmodel", inputs=_inputs(encoding))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = keras.models.load_model(tmp_path / "m.keras").predict(as_inputs(rows), verbose=0)
    # A column name Keras accepts (spaces, brackets) is its input's name; only a '/' one is renamed, and Keras says so.
    assert [str(w.message) for w in caught if "sepal" in str(w.message)] == []
    assert any("'od280/od315'" in str(w.message) for w in caught)
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    got = serve(od280_od315=tf.constant([[1.0], [2.0], [4.0]]), sepal_length__cm_=tf.constant([[5.0], [6.0], [7.0]]),
                city=tf.constant([["a"], ["b"], ["a"]]))
    np.testing.assert_allclose(next(iter(got.values())).numpy(), expected, rtol=1e-6)
