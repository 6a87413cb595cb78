"""The optimizers lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tunekit.lessons._optimizers import (NOTES, SETTINGS, TARGET, epochs_to_target, figures, settling_epoch, spearman,
                                        studies, verdict)


def _curve(reach: int | None, epochs: int = 200) -> list[float]:
    """A training-loss curve that first reaches ``TARGET`` at epoch ``reach`` (never when None)."""
    if reach is None:
        return [0.5] * epochs
    return [1.0 - (1.0 - TARGET) * min(e, reach) / reach if e < reach else TARGET * 0.9 for e in range(1, epochs + 1)]


def _frame(epochs: dict[str, list[int | None]]) -> pd.DataFrame:
    rows = []
    for setting, per_seed in epochs.items():
        for seed, reach in enumerate(per_seed):
            rows.append({"study": f"{setting}/seed{seed}", "seed": seed, "state": "COMPLETE",
                         "params_optimizer": SETTINGS[setting][0], "value": 0.05, "health_epoch_loss": _curve(reach)})
    return pd.DataFrame(rows)


def _like_notes(shift: int = 0) -> dict[str, list[int | None]]:
    out: dict[str, list[int | None]] = {k: [v + shift + d for d in (0, 1, -1)] for k, v in NOTES.items()}
    out["minibatch_sgd"] = [5, 6, 5]
    return out


def test_the_notes_ranking_is_reproduced() -> None:
    v = verdict(_frame(_like_notes()))
    assert v.outcome == "reproduced"
    assert "Spearman's rank correlation 1.00" in v.summary
    rows = {r["optimizer"]: r for r in v.evidence}
    assert rows["momentum_0.5"]["our epochs (median over seeds)"] == 10
    assert rows["rmsprop"]["our rank"] == rows["rmsprop"]["notes' rank"] == 8
    assert math.isnan(rows["minibatch_sgd"]["notes' epochs (note 003)"])
    assert len({tuple(r) for r in v.evidence}) == 1  # one set of columns: one table
    assert "0 in the opposite order" in v.summary


def test_a_partly_matching_ranking_is_partly() -> None:
    # our measurement on the lesson's problem: momentum fastest, AdaGrad never reaching the target
    v = verdict(_frame({"batch_gd": [36] * 3, "momentum_0.5": [18] * 3, "momentum_0.8": [10] * 3,
                        "momentum_0.9": [8] * 3, "nesterov": [8] * 3, "adagrad": [None] * 3, "rmsprop": [38] * 3,
                        "adam": [45] * 3, "minibatch_sgd": [5] * 3}))
    assert v.outcome == "partly"
    rows = {r["optimizer"]: r for r in v.evidence}
    assert rows["adagrad"]["our range"] == "-, 3 not reached"
    assert math.isnan(rows["adagrad"]["our epochs (median over seeds)"])
    assert rows["adagrad"]["our rank"] == 8  # not reached ranks last
    assert "slowest: adagrad (not within 200 epochs)" in v.summary


def test_a_reversed_ranking_is_not_reproduced() -> None:
    reversed_counts = {k: [200 - v] * 3 for k, v in NOTES.items()}
    v = verdict(_frame(reversed_counts))
    assert v.outcome == "not reproduced"
    assert "0 pairs ordered as in the notes" in v.summary


def test_epochs_to_target_and_spearman() -> None:
    frame = _frame({"adam": [3, None]})
    assert epochs_to_target(frame) == {"adam": {0: 3, 1: None}}
    assert spearman({"a": 1, "b": 2, "c": 3}, {"a": 3, "b": 2, "c": 1}) == -1.0
    assert math.isnan(spearman({"a": 1, "b": 2}, {"a": 1, "b": 2}))  # too few to rank


def test_an_overshoot_counts_for_the_settling_epoch_not_the_first_reach() -> None:
    bounce = [1.0, 0.5, 0.09, 0.05, 0.2, 0.15, 0.08, 0.06] + [0.05] * 192  # momentum: reaches, leaves, returns
    assert settling_epoch(bounce, TARGET) == 7 and settling_epoch([0.5, 0.05, 0.2], TARGET) is None
    frame = _frame({k: [10] * 3 for k in NOTES})
    frame.at[frame.index[frame["study"] == "momentum_0.9/seed0"][0], "health_epoch_loss"] = bounce
    assert epochs_to_target(frame)["momentum_0.9"][0] == 3
    assert epochs_to_target(frame, settled=True)["momentum_0.9"][0] == 7
    rows = {r["optimizer"]: r for r in verdict(frame).evidence}
    assert rows["momentum_0.9"]["our epochs (median over seeds)"] == 10  # median of 3, 10, 10
    assert rows["adam"]["our settling epoch (median)"] == 10


def test_studies_one_per_setting_and_seed() -> None:
    full, quick = studies(False), studies(True)
    assert len(full) == len(SETTINGS) * 5 and len(quick) == 4
    assert {s.key.split("/")[0] for s in full} == set(SETTINGS)
    first = full[0].spec
    assert first.fixed["batch_size"] == 80 and first.fixed["n_layers"] == 0


def test_figures_write_a_png(tmp_path: Path) -> None:
    (path,) = figures(_frame(_like_notes()), tmp_path)
    assert path.name == "optimizers.png" and path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
