"""From a study's best trial to predictions on new raw rows.

The saved model takes the data's own columns by name (tunekit's encoding is inside it, built
from the training split) and returns class probabilities or the target in its units; its model
card (``best.json``) lists the inputs, the classes, the metric and the versions.

>>> from tunekit.predict import FORMATS
>>> FORMATS
('keras', 'savedmodel', 'onnx')
"""

from __future__ import annotations

from tunekit.predict._card import card_path as model_card_path
from tunekit.predict._card import read_card
from tunekit.predict._encoding import (
    ColumnEncoding,
    encode_rows,
    fit_encoding,
    raw_split,
)
from tunekit.predict._predict import Predictor, check_predictions_output, check_rows_file, load_predictor, predict_file
from tunekit.predict._save import FORMATS, check_model_path
from tunekit.predict._wrap import encoder, wrap_model

__all__ = [
    "FORMATS", "ColumnEncoding", "Predictor", "check_model_path", "check_predictions_output", "check_rows_file", "encode_rows", "encoder", "fit_encoding",
    "load_predictor", "model_card_path", "predict_file", "raw_split", "read_card", "wrap_model",
]
