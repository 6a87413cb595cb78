"""Issue 12, defect 7: a program (a notebook) that calls ``tunekit.run`` gets its process back as it
was: the garbage collector, op determinism, logging levels, fd 2 and the random generators. What
stays is the list documented in ``tunekit/execution/_tf.py`` (``PROCESS_STATE_KEPT``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import gc, json, logging, os, random, sys
import optuna  # its own import sets its logger level (not tunekit's doing)
import numpy as np

def state():
    st = os.fstat(2)
    return {
        "freeze_count": gc.get_freeze_count(),
        "gc_enabled": gc.isenabled(),
        "fd2": [st.st_dev, st.st_ino],
        "levels": {name: logging.getLogger(name).level for name in ("tensorflow", "absl", "optuna", "")},
    }

def generators():
    return [hash(random.getstate()), int(np.random.get_state()[2]) + int(np.random.get_state()[1].sum())]

before = state()
import tunekit
from tunekit import Int, StudySpec

spec = StudySpec(data="iris", space={"units": Int(4, 8)}, fixed={"n_layers": 1}, epochs=1)
study = tunekit.run(spec, strategy="random", n_trials=1, storage=sys.argv[1], seed=3)
from tensorflow.python.framework import config

after = state()
after["determinism"] = bool(config.is_op_determinism_enabled())
# importing TensorFlow itself draws from Python's generator: compare around a second run
drawn = generators()
study = tunekit.run(spec, strategy="random", n_trials=2, storage=sys.argv[1], seed=3)
after["generators"] = [drawn, generators()]
after["states"] = [t.state.name for t in study.trials]
from tunekit.execution._tf import PROCESS_STATE_KEPT
after["kept"] = sorted(PROCESS_STATE_KEPT)
from tensorflow.python.util import _pywrap_util_port
after["onednn"] = [os.environ.get("TF_ENABLE_ONEDNN_OPTS"), bool(_pywrap_util_port.IsMklEnabled())]
print(json.dumps({"before": before, "after": after}))
"""


@pytest.mark.slow
def test_a_run_from_python_leaves_the_process_as_it_found_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TUNEKIT_STORAGE",
                                                            "TF_ENABLE_ONEDNN_OPTS")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'g.db'}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = result["before"], result["after"]
    assert after["states"] == ["COMPLETE", "COMPLETE"]
    assert after["freeze_count"] == before["freeze_count"] == 0
    assert after["gc_enabled"] is True
    assert after["determinism"] is False
    assert after["fd2"] == before["fd2"]
    assert after["levels"] == before["levels"]
    assert after["generators"][1] == after["generators"][0]  # Python's and NumPy's random generators
    # what does stay is named, with its reason, in one place
    assert after["kept"] == ["TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "keras.backend.clear_session",
                             "tensorflow global seed"]
    assert after["onednn"] == ["0", False]  # issue 27 item 26: oneDNN's per-shape caches grew a long search


def _build(hp):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 4, 8)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_the_onednn_default_is_for_the_factory_and_yields_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """oneDNN is off only for the model factory's Dense networks, where it is no faster (benchmarks/onednn.py);
    a study of your own model keeps it, and so does a user who sets TF_ENABLE_ONEDNN_OPTS."""
    from tunekit._quiet_tf import tf_environment_defaults
    from tunekit._spec import StudySpec
    from tunekit.space import Int

    factory = StudySpec(data="iris", space={"units": Int(4, 8)}, epochs=1)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # as before TensorFlow's first import
    tf_environment_defaults(factory)
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"  # the user's setting stays
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    tf_environment_defaults(factory)
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    tf_environment_defaults(StudySpec(data="iris", build=_build, epochs=1))
    assert "TF_ENABLE_ONEDNN_OPTS" not in os.environ  # your own build(hp) may hold convolutions: oneDNN stays on
    monkeypatch.setitem(sys.modules, "tensorflow", object())  # loaded: too late to change, nothing set
    tf_environment_defaults(factory)
    assert "TF_ENABLE_ONEDNN_OPTS" not in os.environ


def test_the_kept_process_state_is_documented_in_the_design() -> None:
    from tunekit.execution._tf import PROCESS_STATE_KEPT

    design = (Path(__file__).resolve().parents[2] / "docs" / "DESIGN.md").read_text()
    for name, why in PROCESS_STATE_KEPT.items():
        assert f"`{name}`" in design, name
        assert why and why.endswith("."), name


def test_tensorflow_can_still_turn_op_determinism_off() -> None:
    """``trial_process_state`` reads two private TensorFlow names; a release that moves them fails here."""
    from tunekit.execution._tf import _determinism_switches, trial_process_state

    import tensorflow as tf

    enabled, disable = _determinism_switches()
    was = enabled()  # an earlier test in this process (a benchmark smoke run) may have left it on
    disable()
    try:
        assert not enabled()
        with trial_process_state():
            assert enabled()
        assert not enabled()
    finally:
        if was:
            tf.config.experimental.enable_op_determinism()


def test_a_trial_s_functions_get_one_grappler_pass_and_the_thread_is_left_as_it_was() -> None:
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
    from tensorflow.python.eager import context

    from tunekit.execution._tf import trial_process_state

    def iterations() -> int:
        config = config_pb2.ConfigProto()
        config.ParseFromString(context.context().function_call_options.config_proto_serialized)
        return config.graph_options.rewrite_options.meta_optimizer_iterations

    before = context.context().function_call_options
    with pytest.raises(RuntimeError, match="inside"):
        with trial_process_state():
            assert iterations() == rewriter_config_pb2.RewriterConfig.ONE
            raise RuntimeError("inside")
    assert context.context().function_call_options is before
    assert iterations() != rewriter_config_pb2.RewriterConfig.ONE
