"""The regularization lesson's verdict on hand-made trials: each outcome can come out."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tunekit.lessons._regularization import GROUPS, figures, l2_penalty, loss_gap, train_loss, verdict

NORMS = [2.0, 2.0, 2.0]  # per layer, at every probe: squared norms sum to 12
BASE_GAP, BASE_ACC = 0.15, 0.95
SEEDS = 4


def _frame(gap: dict[tuple[str, object], float] | None = None, acc: dict[tuple[str, object], float] | None = None,
           *, jitter: float = 0.002) -> pd.DataFrame:
    """Trials of every study: (knob, value) -> loss gap and val_accuracy (the baseline's when not
    given), each seed moved by ``jitter`` x (seed - 1.5), the same for every setting of a seed
    except the baseline (so the paired differences vary a little)."""
    gap, acc = gap or {}, acc or {}
    rows = []
    for seed in range(SEEDS):
        for knob, values in GROUPS.items():
            for value in values:
                shift = jitter * (seed - 1.5) * (value not in (0.0, "none"))
                g, a = gap.get((knob, value), BASE_GAP) + shift, acc.get((knob, value), BASE_ACC) + shift
                clean = 0.01
                penalty = value * 12 if knob == "l2" else 0.0
                keras_train = clean + (0.04 if knob == "dropout" and value else 0.0) + penalty
                rows.append({"study": f"{knob}/seed{seed}", "seed": seed, "state": "COMPLETE", f"params_{knob}": value,
                             "user_attrs_val_loss": clean + penalty + g, "user_attrs_train_loss": keras_train,
                             "user_attrs_val_accuracy": a, "value": clean + penalty + g,
                             "health_loss": [2.3, 0.5, clean], "health_epochs": [0, 1, 3],
                             "health_weight_norm": [NORMS] * 3, "health_epoch_loss": [1.0, 0.5, keras_train],
                             "curve": [1.0, 0.5, clean + penalty + g]})
    return pd.DataFrame(rows)


def _statuses(v) -> dict[str, str]:
    return {row["claim"]: row["status"] for row in v.evidence}


EVERY = [(k, v) for k, values in GROUPS.items() if k != "batch_norm" for v in values if v != 0.0]


def test_every_regularizer_helping_is_reproduced() -> None:
    v = verdict(_frame({s: 0.10 for s in EVERY}, {s: 0.97 for s in EVERY}))
    assert v.outcome == "reproduced"
    assert len(v.evidence) == 13 and all(row["status"] == "holds" for row in v.evidence)
    assert len({tuple(row) for row in v.evidence}) == 1  # one set of columns: one table
    row = _statuses(v)
    assert row["dropout 0.5 reduces overfitting"] == row["batch norm before and after the activation work alike"]
    assert "dropout 0.5: 0.100 (claim holds)" in v.summary


def test_dropout_helping_while_l1_hurts_is_partly() -> None:
    gap = {s: 0.10 for s in EVERY}
    gap.update({("l1", 1e-4): 0.20, ("l1", 1e-3): 0.25})
    v = verdict(_frame(gap, {s: 0.97 for s in EVERY}))
    assert v.outcome == "partly"
    statuses = _statuses(v)
    assert statuses["dropout 0.2 reduces overfitting"] == "holds"
    assert statuses["l1 0.001 reduces overfitting"] == "contradicted"


def test_no_clear_difference_anywhere_but_l2_is_partly() -> None:
    v = verdict(_frame({("l2", 1e-3): 0.10}, jitter=0.02))
    assert v.outcome == "partly"
    statuses = _statuses(v)
    assert statuses["l2 0.001 reduces overfitting"] == "holds"
    assert statuses["dropout 0.5 reduces overfitting"] == "no clear difference"
    assert statuses["dropout 0.5 helps generalize"] == "no clear difference"


def test_dropout_widening_the_gap_is_not_reproduced() -> None:
    gap = {s: 0.10 for s in EVERY}
    gap.update({("dropout", 0.2): 0.20, ("dropout", 0.5): 0.22})
    v = verdict(_frame(gap, {s: 0.97 for s in EVERY}))
    assert v.outcome == "not reproduced"
    assert _statuses(v)["dropout 0.5 reduces overfitting"] == "contradicted"


def test_batch_norm_placements_far_apart_contradict_the_notes() -> None:
    v = verdict(_frame({s: 0.10 for s in EVERY}, {**{s: 0.97 for s in EVERY}, ("batch_norm", "before"): 0.90}))
    assert _statuses(v)["batch norm before and after the activation work alike"] == "contradicted"
    assert v.outcome == "partly"  # dropout still shrinks the gap: the main claim holds


def test_the_gap_is_measured_with_dropout_off_and_the_l2_penalty_on_both_sides() -> None:
    frame = _frame({("dropout", 0.5): 0.10, ("l2", 1e-3): 0.12}, jitter=0.0)
    by = {(r["study"].split("/")[0], r.get(f"params_{r['study'].split('/')[0]}")): r
          for _, r in frame[frame["seed"] == 0].iterrows()}
    assert loss_gap(by[("dropout", 0.5)]) == pytest.approx(0.10)  # not 0.06, as Keras' dropout-on loss would say
    assert l2_penalty(by[("l2", 1e-3)]) == pytest.approx(0.012)
    assert loss_gap(by[("l2", 1e-3)]) == pytest.approx(0.12)
    assert train_loss(by[("l1", 1e-3)]) == pytest.approx(0.01)  # Keras' training loss for L1
    assert l2_penalty({"params_l2": 0.0}) == 0.0
    assert math.isnan(l2_penalty({"params_l2": 1e-3, "health_weight_norm": None}))
    assert math.isnan(train_loss({"study": "dropout/seed0", "health_loss": None}))
    v = verdict(frame)
    assert any("would read 0.060 at dropout 0.5 against 0.150" in note for note in v.notes)


def test_a_quick_frame_with_one_seed_and_fewer_settings() -> None:
    frame = _frame({s: 0.10 for s in EVERY})
    frame = frame[(frame["seed"] == 0) & ~frame["params_dropout"].isin([0.2]) & ~frame["params_l2"].isin([1e-4])
                  & ~frame["params_l1"].isin([1e-4])]
    v = verdict(frame)
    assert len(v.evidence) == 7 and {row["status"] for row in v.evidence} == {"no clear difference"}
    assert v.outcome == "not reproduced"


def test_figures_write_a_png(tmp_path: Path) -> None:
    (path,) = figures(_frame({s: 0.10 for s in EVERY}, {s: 0.97 for s in EVERY}), tmp_path)
    assert path.name == "regularization.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert path.stat().st_size > 10_000
