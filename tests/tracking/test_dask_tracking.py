"""With --dask the trials train on the cluster and the process that called ``run`` writes TensorBoard."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunekit
from tests.conftest import TINY_SPEC
from tunekit import StudySpec

pytest.importorskip("tensorboard")


@pytest.mark.slow  # a local Dask cluster, two tiny models
def test_dask_trials_are_written_by_the_calling_process(db_url: str, tmp_path: Path) -> None:
    study = tunekit.run(StudySpec(**TINY_SPEC, name="remote"), strategy="random", n_trials=2, storage=db_url,
                        dask="local:1", tensorboard=str(tmp_path / "tb"))
    assert all(t.user_attrs["worker"].startswith("dask") for t in study.trials)  # trained on the cluster
    assert sorted(p.name for p in (tmp_path / "tb").iterdir() if p.is_dir()) == ["trial-0000", "trial-0001"]
    assert all(any(p.name.startswith("events.out.tfevents.") for p in (tmp_path / "tb" / f"trial-000{n}").iterdir())
               for n in (0, 1))
