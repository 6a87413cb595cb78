"""Issue 11 item 8: the plots read the study's stored space (log axes, categories, integer ticks),
colour trials with a colour bar, and keep the best trial's colour apart from the others.

The figures are inspected as objects (plotly figure dicts, matplotlib axes), not as pixels.
"""

from __future__ import annotations

import json

import matplotlib.colors as mcolors
import optuna
import pytest

from tests.conftest import invoke, stored_study
from tunekit.report import PNG_PLOTS, read_study
from tunekit.report._plotly import sections
from tunekit.space import Choice, Float, Int, PerLayer, Space

SPACE = Space({
    "n_layers": Int(1, 2),
    "units": PerLayer(Int(4, 64, log=True)),
    "learning_rate": Float(1e-4, 1e-1, log=True),
    "batch_size": Choice([16, 64, 32]),
    "activation": Choice(["relu", "tanh"]),
})
# learning rates within one decade: a guess from the values alone would draw them on a linear axis
TRIALS = [
    ({"n_layers": 1, "units_0": 8, "learning_rate": 0.002, "batch_size": 16, "activation": "relu"}, 0.95),
    ({"n_layers": 2, "units_0": 16, "units_1": 4, "learning_rate": 0.005, "batch_size": 32, "activation": "tanh"}, 0.70),
    ({"n_layers": 1, "units_0": 32, "learning_rate": 0.01, "batch_size": 64, "activation": "relu"}, 0.80),
    ({"n_layers": 2, "units_0": 4, "units_1": 64, "learning_rate": 0.02, "batch_size": 16, "activation": "tanh"}, 0.60),
    ({"n_layers": 1, "units_0": 64, "learning_rate": 0.008, "batch_size": 32, "activation": "relu"}, 0.85),
]


@pytest.fixture
def study(db_url: str) -> optuna.Study:
    """'plots': 5 complete trials of SPACE in a real SQLite file; trial 0 is the best."""
    trials = [dict(params=params, value=value, intermediate_values={0: value - 0.2, 1: value - 0.05, 2: value})
              for params, value in TRIALS]
    return stored_study(db_url, "plots", SPACE, trials, data="iris", task="multiclass", fixed=json.dumps({}),
                        dataset=json.dumps({"name": "iris", "rows": 150}))


def _axis(fig, name: str):
    [ax] = [a for a in fig.axes if a.get_xlabel() == name]
    return ax


def _integer_ticks(ax) -> bool:
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    return len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def test_png_slice_reads_the_space(study: optuna.Study) -> None:
    fig = PNG_PLOTS["slice"](read_study(study))
    assert _axis(fig, "learning_rate").get_xscale() == "log"
    assert _axis(fig, "units_0").get_xscale() == "log"
    batch = _axis(fig, "batch_size")
    assert batch.get_xscale() == "linear"
    assert [t.get_text() for t in batch.get_xticklabels()] == ["16", "64", "32"]  # the Choice's own order
    assert [t.get_text() for t in _axis(fig, "activation").get_xticklabels()] == ["relu", "tanh"]
    assert _integer_ticks(_axis(fig, "n_layers"))


def test_png_slice_has_a_colour_bar_of_trial_numbers(study: optuna.Study) -> None:
    fig = PNG_PLOTS["slice"](read_study(study))
    bars = [a for a in fig.axes if a.get_ylabel() == "trial"]
    assert len(bars) == 1
    lo, hi = bars[0].get_ylim()
    ticks = [t for t in bars[0].get_yticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_png_trial_and_epoch_axes_have_integer_ticks(study: optuna.Study) -> None:
    facts = read_study(study)
    assert _integer_ticks(PNG_PLOTS["history"](facts).axes[0])
    assert _integer_ticks(_axis(PNG_PLOTS["curves"](facts), "epoch"))


def test_png_curves_best_colour_differs_from_every_other_line(study: optuna.Study) -> None:
    ax = _axis(PNG_PLOTS["curves"](read_study(study)), "epoch")
    best = [line for line in ax.get_lines() if "best" in str(line.get_label())]
    others = [line for line in ax.get_lines() if line not in best]
    assert len(best) == 1 and len(others) == 4
    best_rgb = mcolors.to_rgb(best[0].get_color())
    for line in others:
        distance = sum((a - b) ** 2 for a, b in zip(best_rgb, mcolors.to_rgb(line.get_color()))) ** 0.5
        assert distance > 0.3, (best[0].get_color(), line.get_color())


def _plotly(study: optuna.Study) -> dict[str, dict]:
    return {s.key: s.figure.to_dict() for s in sections(read_study(study)) if s.figure is not None}


def test_plotly_slice_log_category_and_colour_bar(study: optuna.Study) -> None:
    fig = _plotly(study)["slice"]
    by_title = {v["title"]["text"]: v for k, v in fig["layout"].items() if k.startswith("xaxis")}
    assert by_title["learning_rate"]["type"] == "log"
    assert by_title["batch_size"]["type"] == "category"
    bars = [t["marker"] for t in fig["data"] if t["marker"].get("showscale")]
    assert len(bars) == 1
    assert bars[0]["colorbar"].get("dtick") == 1  # trial numbers, not 0.5 steps
    scales = {json.dumps(t["marker"]["colorscale"]) for t in fig["data"]}
    assert len(scales) == 1 and "#440154" in scales.pop().lower()  # viridis, not light blues on white


def test_plotly_trial_and_epoch_axes_have_integer_ticks(study: optuna.Study) -> None:
    figs = _plotly(study)
    assert figs["history"]["layout"]["xaxis"].get("dtick") == 1
    assert figs["curves"]["layout"]["xaxis"].get("dtick") == 1


def test_plotly_curves_best_colour_differs_from_the_others(study: optuna.Study) -> None:
    traces = _plotly(study)["curves"]["data"]
    best = [t["line"]["color"] for t in traces if "(best)" in t["name"]]
    others = {t["line"]["color"] for t in traces if "(best)" not in t["name"]}
    assert len(best) == 1 and best[0] not in others and len(others) == 4  # one colour per trial


def test_report_png_files_are_written(study: optuna.Study, db_url: str, tmp_path) -> None:
    result = invoke("report", "plots", "--storage", db_url, "-o", str(tmp_path / "r.html"), "--png", str(tmp_path / "png"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["curves.png", "history.png", "importances.png", "slice.png"]


def test_plotly_slice_categories_in_the_spaces_order_without_quotes(study: optuna.Study) -> None:
    fig = _plotly(study)["slice"]
    axes = {v["title"]["text"]: (k.replace("xaxis", "x"), v) for k, v in fig["layout"].items() if k.startswith("xaxis")}
    anchor, activation = axes["activation"]
    assert activation["categoryarray"] == ["relu", "tanh"]
    assert axes["batch_size"][1]["categoryarray"] == ["16", "64", "32"]
    [trace] = [t for t in fig["data"] if t.get("xaxis", "x") == anchor]
    assert set(trace["x"]) == {"relu", "tanh"}
