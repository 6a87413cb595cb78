"""``tunekit health`` on a study holding a diverged trial: no layer to blame, figures that are nan."""

from __future__ import annotations

import pytest

from tests.conftest import invoke

pytestmark = pytest.mark.slow


def test_a_diverged_trial_is_listed_and_its_nan_figures_shown(db_url: str) -> None:
    import tunekit
    from tunekit import Choice, StudySpec

    spec = StudySpec(data="iris", space={"learning_rate": Choice([1e-2, 1e4])},
                     fixed={"n_layers": 2, "units": 8, "optimizer": "sgd"}, epochs=2)
    study = tunekit.run(spec, strategy="grid", n_trials=2, storage=db_url, study_name="d")
    diverged = [t for t in study.trials if t.params["learning_rate"] == 1e4][0]
    assert diverged.user_attrs["health"] == "exploding" and diverged.user_attrs["health_layer"] is None

    result = invoke("health", "d", "--storage", db_url)
    assert result.exit_code == 0, result.output
    row = [line for line in result.output.splitlines() if line.split()[:1] == [str(diverged.number)]]
    assert row and row[0].split()[1:4] == ["fail", "exploding", "-"], result.output

    result = invoke("health", "d", "--storage", db_url, "--trial", str(diverged.number))
    assert result.exit_code == 0, result.output
    assert "nan" in result.output and "diagnosis: exploding" in result.output
