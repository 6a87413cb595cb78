"""tunekit.data: built-ins, files, encoding, scaling, determinism and every error message."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunekit._errors import ConfigError
from tunekit.data import BUILTIN_DATASETS, Dataset, load_data
from tunekit.data._prepare import encode_features

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "studies" / "data" / "wine_cultivars.csv"


def _table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small mixed-type table: numeric, string, bool features and a string target."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10.0, 3.0, n)
    return pd.DataFrame(
        {
            "size": size,
            "count": rng.integers(0, 50, n),
            "color": rng.choice(["red", "green", "blue"], n),
            "flag": rng.random(n) > 0.5,
            "kind": np.where(size > 10.0, "big", "small"),
        }
    )


def _raises(match: str):
    return pytest.raises(ConfigError, match=match)


# --- built-ins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task", "n_classes", "n_features", "rows"),
    [
        ("digits", "multiclass", 10, 64, 1797),
        ("breast_cancer", "binary", 2, 30, 569),
        ("iris", "multiclass", 3, 4, 150),
        ("wine", "multiclass", 3, 13, 178),
        ("diabetes", "regression", None, 10, 442),
        ("moons", "binary", 2, 2, 1000),
        ("circles", "binary", 2, 2, 1000),
    ],
)
def test_builtin(name: str, task: str, n_classes: int | None, n_features: int, rows: int) -> None:
    ds = load_data(name)
    assert isinstance(ds, Dataset)
    assert (ds.name, ds.task, ds.n_classes) == (name, task, n_classes)
    assert ds.input_shape == (n_features,)
    assert ds.n_train + ds.n_val == rows
    assert ds.n_val == math.ceil(0.2 * rows)
    assert ds.x_train.shape == (ds.n_train, n_features) and ds.x_val.shape == (ds.n_val, n_features)
    assert ds.x_train.dtype == np.float32 and ds.x_val.dtype == np.float32
    assert len(ds.feature_names) == n_features
    if n_classes is None:
        assert ds.y_train.dtype == np.float32 and ds.classes is None
        assert ds.target_scale is not None
    else:
        assert ds.y_train.dtype == np.int32 and ds.y_val.dtype == np.int32
        assert len(ds.classes) == n_classes and ds.target_scale is None
        assert set(np.unique(ds.y_train)) == set(range(n_classes))
    assert json.loads(json.dumps(ds.describe()))["task"] == task


def test_builtin_names_listed_and_class_names_kept() -> None:
    assert BUILTIN_DATASETS == (
        "digits", "breast_cancer", "iris", "wine", "diabetes", "moons", "circles"
    )
    assert load_data("breast_cancer").classes == ("malignant", "benign")  # sklearn's order
    assert load_data("iris").classes == ("setosa", "versicolor", "virginica")


def test_generated_builtins_depend_on_seed() -> None:
    a, b = load_data("moons", seed=0), load_data("moons", seed=1)
    assert not np.array_equal(a.x_train, b.x_train)


# --- split and scaling -----------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.9])
def test_val_split_size(fraction: float) -> None:
    ds = load_data("iris", val_fraction=fraction)
    assert ds.n_val == math.ceil(fraction * 150) and ds.n_train == 150 - ds.n_val


def test_stratified_split_keeps_class_shares() -> None:
    ds = load_data("iris", val_fraction=0.2)
    assert np.bincount(ds.y_val).tolist() == [10, 10, 10]


def test_scaling_fitted_on_train_only() -> None:
    ds = load_data(_table(), target="kind")
    numeric = [ds.feature_names.index("size"), ds.feature_names.index("count")]
    train, val = ds.x_train[:, numeric], ds.x_val[:, numeric]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-5)
    assert not np.allclose(val.mean(axis=0), 0.0, atol=1e-5)
    assert not np.allclose(val.std(axis=0), 1.0, atol=1e-5)


def test_constant_feature_column_keeps_std_one() -> None:
    frame = _table().assign(const=7.5)
    ds = load_data(frame, target="kind")
    col = ds.feature_names.index("const")
    assert np.all(ds.x_train[:, col] == 0.0) and np.all(ds.x_val[:, col] == 0.0)


def test_regression_target_standardised_on_train() -> None:
    ds = load_data("diabetes")
    mean, std = ds.target_scale
    assert abs(float(ds.y_train.mean())) < 1e-5 and abs(float(ds.y_train.std()) - 1) < 1e-5
    raw = load_diabetes_target()
    assert 100 < mean < 200 and 50 < std < 100
    restored = np.concatenate([ds.y_train, ds.y_val]) * std + mean
    np.testing.assert_allclose(np.sort(restored), np.sort(raw), rtol=1e-5)


def load_diabetes_target() -> np.ndarray:
    from sklearn.datasets import load_diabetes

    return load_diabetes().target


# --- encoding --------------------------------------------------------------------------


def test_one_hot_of_string_column_and_bool_as_01(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    _table().to_csv(path, index=False)
    ds = load_data(path, target="kind")
    assert ds.feature_names == (
        "size", "count", "color=blue", "color=green", "color=red", "flag"
    )
    onehot = ds.x_train[:, 2:5]
    assert set(np.unique(onehot)) == {0.0, 1.0}
    assert np.all(onehot.sum(axis=1) == 1.0)
    assert set(np.unique(ds.x_train[:, 5])) == {0.0, 1.0}  # bool: 0/1, not standardised
    assert ds.classes == ("big", "small") and ds.task == "binary"


def test_unseen_validation_category_encodes_as_zeros() -> None:
    frame = pd.DataFrame({"c": ["a", "b", "a", "b", "z"], "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    x_train, x_val, names = encode_features(
        frame, np.array([0, 1, 2, 3]), np.array([4, 0]), label="test"
    )
    assert names == ("c=a", "c=b", "v")
    assert x_val[0, :2].tolist() == [0.0, 0.0]  # 'z' was never seen in training
    assert x_val[1, :2].tolist() == [1.0, 0.0]


def test_categorical_column_uses_category_order() -> None:
    frame = _table()
    frame["color"] = pd.Categorical(frame["color"], categories=["red", "green", "blue"])
    ds = load_data(frame, target="kind")
    assert ds.feature_names[2:5] == ("color=red", "color=green", "color=blue")


def test_too_many_string_categories_is_refused() -> None:
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(300)], "y": np.arange(300) % 2})
    with _raises(r"string column 'id' has \d+ distinct values .* drop that column"):
        load_data(frame, target="y")


# --- target and task -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task", "classes"),
    [
        (["no", "yes"] * 10, "binary", ("no", "yes")),
        (["c", "a", "b", "a"] * 5, "multiclass", ("a", "b", "c")),
        ([True, False] * 10, "binary", (False, True)),
        ([3, 1, 2, 1] * 5, "multiclass", (1, 2, 3)),
        ([0, 1] * 10, "binary", (0, 1)),
        (list(range(20)) * 2, "multiclass", tuple(range(20))),
        (list(range(21)) * 2, "regression", None),
        ([0.5, 1.0] * 10, "regression", None),
    ],
)
def test_task_inference(values: list, task: str, classes: tuple | None) -> None:
    frame = pd.DataFrame({"x": np.arange(len(values), dtype=float), "y": values})
    ds = load_data(frame, target="y", val_fraction=0.5)
    assert ds.task == task and ds.classes == classes
    assert ds.n_classes == (None if classes is None else len(classes))


def test_task_override() -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [1, 2, 3, 4] * 10})
    assert load_data(frame, target="y").task == "multiclass"
    reg = load_data(frame, target="y", task="regression")
    assert reg.task == "regression" and reg.y_train.dtype == np.float32
    two = pd.DataFrame({"x": np.arange(40.0), "y": ["a", "b"] * 20})
    assert load_data(two, target="y", task="multiclass").task == "multiclass"
    floats = pd.DataFrame({"x": np.arange(40.0), "y": [0.0, 1.0] * 20})
    ds = load_data(floats, target="y", task="binary")
    assert ds.task == "binary" and ds.classes == (0.0, 1.0)


def test_builtin_target_can_be_overridden() -> None:
    ds = load_data("diabetes", target="bmi")
    assert ds.target == "bmi" and "target" in ds.feature_names and ds.task == "regression"


# --- determinism, files ----------------------------------------------------------------


def test_same_seed_identical_other_seed_differs() -> None:
    frame = _table(100)
    a, b = load_data(frame, target="kind", seed=3), load_data(frame, target="kind", seed=3)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    c = load_data(frame, target="kind", seed=4)
    assert not np.array_equal(a.x_train, c.x_train)


def test_max_rows_subsamples_before_split() -> None:
    a = load_data("digits", max_rows=200, seed=1)
    assert a.n_train + a.n_val == 200 and a.n_val == 40
    b = load_data("digits", max_rows=200, seed=1)
    assert np.array_equal(a.x_train, b.x_train)
    assert load_data("iris", max_rows=10_000).n_train == 120  # more than there is: no-op


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = _table()
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    from_parquet = load_data(tmp_path / "t.parquet", target="kind")
    from_frame = load_data(frame, target="kind")
    from_csv = load_data(str(tmp_path / "t.csv"), target="kind")
    for other in (from_frame, from_csv):
        assert other.feature_names == from_parquet.feature_names
        np.testing.assert_allclose(other.x_train, from_parquet.x_train, rtol=1e-6)
        assert np.array_equal(other.y_val, from_parquet.y_val)
    assert from_parquet.name == str(tmp_path / "t.parquet")


def test_relative_path_resolved_against_base_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _table().to_csv(tmp_path / "data" / "t.csv", index=False)
    ds = load_data("data/t.csv", target="kind", base_dir=tmp_path)
    assert ds.name == "data/t.csv" and ds.n_train == 48


def test_describe_is_json() -> None:
    summary = load_data("iris").describe()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "name": "iris", "task": "multiclass", "target": "target", "rows": 150,
        "train_rows": 120, "val_rows": 30, "features": 4, "n_classes": 3,
        "classes": ["setosa", "versicolor", "virginica"], "target_scale": None,
    }


# --- the shipped example CSV -----------------------------------------------------------


def test_shipped_csv_loads_as_multiclass_with_one_hot() -> None:
    assert SHIPPED.stat().st_size < 50_000
    ds = load_data("data/wine_cultivars.csv", target="cultivar", base_dir=REPO / "studies")
    assert ds.task == "multiclass" and ds.n_classes == 3
    assert ds.classes == ("cultivar_1", "cultivar_2", "cultivar_3")
    assert {"alcohol_level=low", "alcohol_level=medium", "alcohol_level=high"} <= set(
        ds.feature_names
    )
    assert ds.input_shape == (13 + 3,) and ds.n_train + ds.n_val == 178


def test_shipped_csv_matches_readme_snippet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (SHIPPED.parent / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "studies" / "data").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    regenerated = pd.read_csv(tmp_path / "studies" / "data" / "wine_cultivars.csv")
    pd.testing.assert_frame_equal(regenerated, pd.read_csv(SHIPPED))


# --- errors: one line each, naming what is wrong and the fix ---------------------------


def _one_line(exc: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(exc.value)


def test_file_without_target_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"a": [1], "b": [2], "c": [3]}).to_csv(path, index=False)
    with _raises(r"CSV '.*x\.csv' needs target= .*its columns are: a, b, c\. Set target="):
        load_data(path)


def test_wrong_target_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"a": [1], "b": [2], "c": [3]}).to_csv(path, index=False)
    with _raises(
        r"^CSV 'x\.csv' has no column 'price'; its columns are: a, b, c\. "
        r"Set target= to one of them\.$"
    ) as exc:
        load_data("x.csv", target="price", base_dir=tmp_path)
    _one_line(exc)


def test_unknown_name_lists_builtins() -> None:
    with _raises(r"'mnist' is neither a built-in data set \(digits, breast_cancer, .*circles\) "
                 r"nor a file path ending \.csv or \.parquet"):
        load_data("mnist")


def test_missing_file_names_resolved_path(tmp_path: Path) -> None:
    with _raises(rf"CSV 'nope\.csv' not found: {re.escape(str(tmp_path / 'nope.csv'))} does not"):
        load_data("nope.csv", target="y", base_dir=tmp_path)


def test_missing_values_name_columns_and_counts() -> None:
    frame = _table()
    frame.loc[[1, 2, 3], "size"] = np.nan
    frame.loc[5, "color"] = None
    message = r"missing values in 2 column\(s\): size \(3 NaN\), color \(1 NaN\); drop .*impute"
    with _raises(message) as exc:
        load_data(frame, target="kind")
    _one_line(exc)


def test_infinite_values_refused() -> None:
    frame = _table().assign(size=np.inf)
    with _raises(r"infinite values in 1 column\(s\): size \(60 inf\)"):
        load_data(frame, target="kind")


def test_constant_target() -> None:
    frame = _table().assign(kind="big")
    with _raises(r"target 'kind' has a single value 'big' in all 60 rows; choose a target"):
        load_data(frame, target="kind")


def test_too_few_rows() -> None:
    with _raises(r"DataFrame 'dataframe' has 9 rows; at least 10 are needed"):
        load_data(_table(9), target="kind")
    with _raises(r"has 5 rows \(after max_rows=5\); at least 10 .* raise max_rows"):
        load_data("iris", max_rows=5)


def test_split_leaving_too_few_validation_rows() -> None:
    frame = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0)})
    with _raises(r"has 10 rows, and val_fraction=0\.1 leaves 1 validation row\(s\); at least 2"):
        load_data(frame, target="y", val_fraction=0.1)
    with _raises(r"val_fraction=0\.9 leaves 1 training row\(s\)"):
        load_data(frame, target="y", val_fraction=0.9)


def test_single_example_class_under_stratification() -> None:
    frame = pd.DataFrame({"x": np.arange(12.0), "y": ["a"] * 6 + ["b"] * 5 + ["c"]})
    with _raises(r"target 'y': class 'c' has only 1 row, and a stratified split needs at least 2"):
        load_data(frame, target="y")
    frame = pd.DataFrame({"x": np.arange(12.0), "y": ["a"] * 10 + ["b", "c"]})
    with _raises(r"target 'y': 2 classes \('b', 'c'\) have only 1 row"):
        load_data(frame, target="y")


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.95, 1.0, True, "0.2"])
def test_val_fraction_out_of_range(fraction: object) -> None:
    with _raises(r"val_fraction=.* is outside \(0, 0\.9\]"):
        load_data("iris", val_fraction=fraction)


def test_bad_task_and_binary_with_three_classes() -> None:
    with _raises(r"task='classify' is not a task; use one of: binary, multiclass, regression"):
        load_data("iris", task="classify")
    with _raises(r"task 'binary' needs 2 classes, but target 'target' has 3; use task='multic"):
        load_data("iris", task="binary")


def test_non_numeric_target_for_regression() -> None:
    with _raises(r"task 'regression' needs a numeric target, but 'kind' has dtype"):
        load_data(_table(), target="kind", task="regression")


@pytest.mark.parametrize(("seed", "max_rows"), [(-1, None), (1.5, None), (0, 0), (0, 2.5)])
def test_bad_seed_or_max_rows(seed: object, max_rows: object) -> None:
    with _raises(r"(seed|max_rows)=.* is not"):
        load_data("iris", seed=seed, max_rows=max_rows)


def test_empty_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with _raises(r"CSV 'empty\.csv' is empty \(0 bytes"):
        load_data("empty.csv", target="y", base_dir=tmp_path)
    (tmp_path / "blank.csv").write_text("\n\n")
    with _raises(r"CSV 'blank\.csv' is empty \(no columns"):
        load_data("blank.csv", target="y", base_dir=tmp_path)
    (tmp_path / "header.csv").write_text("x,y\n")
    with _raises(r"CSV 'header\.csv' has 0 rows; at least 10"):
        load_data("header.csv", target="y", base_dir=tmp_path)


def test_unparseable_files_give_parser_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,4,5,6\n")
    with _raises(r"CSV 'bad\.csv' could not be read by pandas: .*Expected 2 fields") as exc:
        load_data("bad.csv", target="a", base_dir=tmp_path)
    _one_line(exc)
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet at all")
    with _raises(r"Parquet file 'bad\.parquet' could not be read by pandas: .+; fix or re-") as exc:
        load_data("bad.parquet", target="a", base_dir=tmp_path)
    _one_line(exc)


def test_other_source_problems(tmp_path: Path) -> None:
    with _raises(r"data source 3 is a int; use a built-in name"):
        load_data(3)  # type: ignore[arg-type]
    with _raises(r"has only the target column 'y' and no feature columns"):
        load_data(pd.DataFrame({"y": range(20)}), target="y")
    with _raises(r"duplicate column names: a; rename"):
        load_data(pd.DataFrame([[1, 2, 3]] * 20, columns=["a", "a", "y"]), target="y")
    with _raises(r"column 'when' has dtype datetime64.* convert it to numbers or strings"):
        frame = pd.DataFrame({"when": pd.date_range("2020", periods=20), "y": [0, 1] * 10})
        load_data(frame, target="y")
