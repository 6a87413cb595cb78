"""A study file that fails while it runs (issue 11, item 14): the error names FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import invoke, one_error_line
from tunekit import ConfigError
from tunekit._spec import load_spec


def test_name_error_gives_file_and_line(tmp_path: Path) -> None:
    study = tmp_path / "typo.py"
    study.write_text("from tunekit import StudySpec, Int\n\nspec = StudySpec(data=irsi, space={'units': Int(4, 8)})\n")
    line = one_error_line(invoke("run", str(study)))
    assert line == (f"error: study file '{study}' failed while loading: NameError: name 'irsi' is not defined "
                    f"(at {study}:3)"), line


def test_error_raised_deeper_points_at_the_study_file_line(tmp_path: Path) -> None:
    study = tmp_path / "deep.py"
    study.write_text("import json\nimport pandas as pd\n\n\ndf = pd.read_csv('no-such-file.csv')\n")
    with pytest.raises(ConfigError, match=r"failed while loading: FileNotFoundError: .*no-such-file\.csv") as info:
        load_spec(study)
    assert str(info.value).endswith(f"(at {study}:5)")
    assert "\n" not in str(info.value)


def test_invalid_spec_in_the_file_gives_its_line(tmp_path: Path) -> None:
    study = tmp_path / "zero.py"
    study.write_text("from tunekit import StudySpec\nx = 1\nspec = StudySpec(\n    data='iris', space={}, epochs=0)\n")
    with pytest.raises(ConfigError, match=r"epochs must be an integer >= 1, got 0") as info:
        load_spec(study)
    assert str(info.value).endswith(f"(at {study}:3)"), str(info.value)


def test_multi_line_exception_message_stays_one_line(tmp_path: Path) -> None:
    study = tmp_path / "multi.py"
    study.write_text("raise ValueError('first line\\nsecond line')\n")
    line = one_error_line(invoke("run", str(study)))
    assert line.endswith(f"ValueError: first line (at {study}:1)"), line
