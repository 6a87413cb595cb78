"""Trials written as TensorBoard event files and read back with TensorBoard's own reader."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import optuna
import pytest
from optuna.trial import TrialState

import tunekit
from tests.conftest import TINY_SPEC, invoke, one_error_line, stored_study

if TYPE_CHECKING:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytest.importorskip("tensorboard")  # its reader is imported where used: 0.3 s at collection in each test worker

SPACE = tunekit.Space(TINY_SPEC["space"])
PARAMS = {"units": 8, "learning_rate": 0.01, "activation": "tanh"}


def _read(folder: Path) -> "EventAccumulator":
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def _scalar(acc: "EventAccumulator", tag: str) -> list[tuple[int, float]]:
    import tensorflow as tf

    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]


def _session(acc: "EventAccumulator"):  # type: ignore[no-untyped-def]
    """A trial's hparams as the HParams plugin reads them."""
    from tensorboard.plugins.hparams import metadata as hp_metadata

    raw = acc.PluginTagToContent(hp_metadata.PLUGIN_NAME)[hp_metadata.SESSION_START_INFO_TAG]
    return hp_metadata.parse_session_start_info_plugin_data(raw)


def _experiment(acc: "EventAccumulator"):  # type: ignore[no-untyped-def]
    """The HParams configuration (every parameter's domain, the metrics)."""
    from tensorboard.plugins.hparams import metadata as hp_metadata

    return hp_metadata.parse_experiment_plugin_data(acc.PluginTagToContent(hp_metadata.PLUGIN_NAME)[hp_metadata.EXPERIMENT_TAG])


def test_each_trial_gets_curves_finals_and_hparams(db_url: str, tmp_path: Path) -> None:
    stored_study(db_url, "tb", SPACE, [
        dict(params=PARAMS, value=0.9, intermediate_values={0: 0.8, 1: 0.9},
             user_attrs={"val_accuracy": 0.9, "val_loss": 0.25, "health_series": {"epoch_loss": [1.0, 0.5]}}),
        dict(params={**PARAMS, "units": 4}, state=TrialState.FAIL, value=None, user_attrs={"fail_reason": "nan"}),
    ])
    result = invoke("export", "tb", "--storage", db_url, "--to", "tensorboard", str(tmp_path / "tb"))
    assert result.exit_code == 0 and result.output.startswith("sent 2 trials to TensorBoard"), result.output
    top = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert top[1:] == ["trial-0000", "trial-0001", "tunekit.json"] and top[0].startswith("events.out.tfevents.")
    trial = _read(tmp_path / "tb" / "trial-0000")
    steps, values = zip(*_scalar(trial, "val_accuracy"))
    assert steps == (0, 1) and values == pytest.approx((0.8, 0.9))
    assert _scalar(trial, "loss") == [(0, 1.0), (1, 0.5)]
    assert _scalar(trial, "final/val_loss") == [(0, 0.25)]
    session = _session(trial)
    assert dict(session.hparams)["units"].number_value == 8
    assert dict(session.hparams)["activation"].string_value == "tanh"
    failed = _read(tmp_path / "tb" / "trial-0001")
    assert "val_accuracy" not in failed.Tags()["tensors"]  # a trial with no curve has none
    config = _experiment(_read(tmp_path / "tb"))
    infos = {h.name: h for h in config.hparam_infos}
    assert sorted(infos) == ["activation", "learning_rate", "units"]
    assert list(infos["activation"].domain_discrete.values) and infos["units"].domain_interval.max_value == 32
    assert "final/val_accuracy" in [m.name.tag for m in config.metric_infos]


def test_a_trial_folder_is_written_once(db_url: str, tmp_path: Path) -> None:
    study = stored_study(db_url, "once", SPACE, [dict(params=PARAMS, value=0.5, intermediate_values={0: 0.5})])
    invoke("export", "once", "--storage", db_url, "--to", "tensorboard", "tb")
    first = sorted(p.name for p in Path("tb/trial-0000").iterdir())
    study.add_trial(optuna.trial.create_trial(params=PARAMS, distributions=SPACE.distributions(), value=0.6))
    again = invoke("export", "once", "--storage", db_url, "--to", "tensorboard", "tb")
    assert again.output.startswith("sent 1 trials") and "1 were there already" in again.output
    assert sorted(p.name for p in Path("tb/trial-0000").iterdir()) == first
    assert not [p for p in Path("tb").iterdir() if p.name.endswith(".partial")]


def test_a_folder_of_another_study_is_refused(db_url: str, tmp_path: Path) -> None:
    stored_study(db_url, "one", SPACE, [dict(params=PARAMS, value=0.5)])
    stored_study(db_url, "two", SPACE, [dict(params=PARAMS, value=0.5)])
    assert invoke("export", "one", "--storage", db_url, "--to", "tensorboard", "tb").exit_code == 0
    line = one_error_line(invoke("export", "two", "--storage", db_url, "--to", "tensorboard", "tb"))
    assert "holds the trials of study 'one'" in line and "--tensorboard tb/two" in line
    assert sorted(p.name for p in Path("tb").iterdir() if p.is_dir()) == ["trial-0000"]  # nothing of study two
