"""After ``run --warm-start``, a best shown is marked when it is a copied (e.g. keras-tuner) trial,
next to the best this study trained itself (issue 27, item 10)."""

from __future__ import annotations

import json

import optuna
import pytest

from tests.conftest import invoke, stored_study
from tunekit._records import WARM_START
from tunekit.space import Int, Space
from tunekit.study._text import best_lines, best_report, run_summary, trial_line

MARK = "[warm start: copied from study 'old', trained and scored by keras-tuner on its own split]"


def _study(db_url: str, own: list[float], warm: float = 0.97) -> optuna.Study:
    copied = {"user_attrs": {WARM_START: "old", "warm_start_trial": 2, "kt_trial_id": "02", "val_accuracy": warm},
              "params": {"units": 16}, "value": warm}
    mine = [{"params": {"units": 8 * (i + 1)}, "value": v, "user_attrs": {"val_accuracy": v}}
            for i, v in enumerate(own)]
    return stored_study(db_url, "mine", Space({"units": Int(8, 64, step=8)}), [copied, *mine])


def test_a_copied_best_is_marked_and_the_best_trained_here_named(db_url: str) -> None:
    study = _study(db_url, [0.90, 0.93])
    lines = list(run_summary(study, db_url))
    assert lines[1].startswith("best val_accuracy = 0.9700") and lines[1].endswith(f"(trial 0) {MARK}"), lines
    assert lines[2] == "best trained in this study: 0.9300 (trial 2)"
    assert trial_line(study, study.trials[1], 3.0).endswith("(best 0.9700 (trial 0, warm start); 3s elapsed)")
    report = best_report(study)
    assert report["trained_best"] == {"trial": 2, "value": 0.93}
    text = best_lines(report, study.user_attrs)
    assert text[0].endswith(MARK) and text[1] == "best trained in this study: 0.9300 (trial 2)"
    shown = invoke("best", "mine", "--storage", db_url, "--json")
    assert shown.exit_code == 0 and json.loads(shown.output)["trained_best"]["trial"] == 2


def test_a_best_trained_here_is_shown_as_before(db_url: str) -> None:
    study = _study(db_url, [0.90, 0.99])
    lines = list(run_summary(study, db_url))
    assert lines[1].endswith("(trial 2)") and "warm start" not in "\n".join(lines)
    assert "trained_best" not in best_report(study)
    assert trial_line(study, study.trials[1], 3.0).endswith("(best 0.9900; 3s elapsed)")


def test_no_trial_trained_here_yet_says_so(db_url: str) -> None:
    study = _study(db_url, [])
    lines = list(run_summary(study, db_url))
    assert lines[2] == "best trained in this study: none yet (every complete trial was copied)"
