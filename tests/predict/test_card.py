"""The model card: the metric as mean ± sd after `run --confirm`, and cards that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunekit import ConfigError


def test_metric_summary_is_mean_and_sd_when_confirmed() -> None:
    from tunekit.predict._card import metric_text

    assert metric_text("val_accuracy", 0.97, None) == "val_accuracy 0.97"
    confirmed = {"mean": 0.9617, "sd": 0.0041, "n": 3}
    assert metric_text("val_accuracy", 0.97, confirmed) == "val_accuracy 0.9617 ± 0.0041 (3 runs)"


@pytest.mark.parametrize(("text", "message"), [
    (None, "no model card 'best.json' beside the model 'best.keras'; save the model with `tunekit best STUDY"),
    ("{not json", "cannot read the model card 'best.json': "),
    (json.dumps({"study": "s", "params": {}}), "the model card 'best.json' was saved before tunekit kept the encoding"),
    (json.dumps({"inputs": None}), "the model card 'best.json' is of your own build(hp) model"),
])
def test_unusable_cards_are_one_clear_error(tmp_path: Path, text: str | None, message: str) -> None:
    from tunekit.predict import read_card

    if text is not None:
        (tmp_path / "best.json").write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_card("best.keras")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
