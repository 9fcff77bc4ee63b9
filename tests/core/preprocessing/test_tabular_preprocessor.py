import json

import numpy as np
import pandas as pd
import pytest

from core.preprocessing.tabular_preprocessor import TabularPreprocessor

CITIES = ["paris"] * 5 + ["rome"] * 3 + ["oslo"] * 3 + ["lima"] + [None] * 2


def _frame(n=14, seed=0):
    """A mixed table: float with gaps, int, strings with gaps, bool and a pandas category."""
    rng = np.random.default_rng(seed)
    age = rng.normal(50.0, 12.0, n)
    age[[i for i in (1, 4) if i < n]] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "visits": rng.integers(0, 20, n),
            "city": pd.Series((CITIES * (n // len(CITIES) + 1))[:n], dtype=object),
            "smoker": rng.integers(0, 2, n).astype(bool),
            "grade": pd.Categorical(rng.choice(["low", "high"], n)),
        }
    )


def packed(arrays):
    """Named arrays side by side: `[values | missing indicators | codes]`, for comparisons."""
    blocks = [
        arrays[name].astype(np.float32) for name in ("numeric", "categorical") if name in arrays
    ]
    return np.hstack(blocks)


def _encoded(pre, X):
    """`pre.transform(X)` as one matrix `[values | missing indicators | codes]`."""
    return packed(pre.transform(X))


def _expected_numeric(column, fit_column, clip):
    """Median imputation and median/IQR scaling, computed with pandas' own statistics."""
    fit_column = pd.Series(fit_column, dtype="float64")
    median = fit_column.median()
    iqr = fit_column.quantile(0.75) - fit_column.quantile(0.25)
    scaled = (np.asarray(column, dtype=np.float64) - median) / iqr
    return np.clip(np.nan_to_num(scaled, nan=0.0), -clip, clip)


# ------------------------------------------------------------------ typing
def test_column_typing_and_output_layout():
    df = _frame()
    df["nullable_int"] = pd.array([1, None] * 7, dtype="Int64")
    df["text"] = pd.array(["x", "y"] * 7, dtype="string")
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    assert pre.numeric_columns_ == ["age", "visits", "nullable_int"]
    assert pre.categorical_columns_ == ["city", "smoker", "grade", "text"]
    assert pre.feature_names_in_ == list(df.columns)
    arrays = pre.transform(df)
    # Named arrays: numbers as floats beside their missing indicators, codes as integers.
    assert {name: (a.shape, a.dtype) for name, a in arrays.items()} == {
        "numeric": ((14, 6), np.float32),
        "categorical": ((14, 4), np.int32),
    }
    assert pre.output_widths_ == {"numeric": (6, "float32"), "categorical": (4, "int32")}
    out = packed(arrays)
    assert out.dtype == np.float32
    assert out.shape == (14, 10)
    assert sorted(pre.vocabularies_[1]) == ["False", "True"]


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_a_kind_without_columns_has_no_array(kind):
    df = _frame()[["age"]] if kind == "numeric" else _frame()[["city"]]
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    assert list(pre.transform(df)) == [kind] == list(pre.output_widths_) == list(pre.baseline())
    # The single-row path and the large path agree on that too.
    assert list(pre.transform_values([[df.iloc[0, 0]]], list(df.columns))) == [kind]


# ----------------------------------------------------------------- numbers
def test_median_imputation_and_robust_scaling():
    df = _frame()
    pre = TabularPreprocessor().fit(df)
    out = _encoded(pre, df)
    age = df["age"].to_numpy()
    present = age[~np.isnan(age)]
    assert pre.medians_[0] == pytest.approx(np.median(present))
    assert pre.scales_[0] == pytest.approx(np.subtract(*np.percentile(present, [75, 25])))
    np.testing.assert_allclose(out[:, 0], _expected_numeric(age, age, 5.0), atol=1e-5)
    visits = df["visits"].to_numpy()
    np.testing.assert_allclose(out[:, 1], _expected_numeric(visits, visits, 5.0), atol=1e-5)
    # Imputed entries are the median, i.e. exactly 0 after scaling.
    assert out[1, 0] == 0.0 and out[4, 0] == 0.0


def test_new_data_uses_fit_statistics():
    fit = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 100.0]})
    pre = TabularPreprocessor().fit(fit)
    new = pd.DataFrame({"x": [2.0, 3.0, 5.0, np.nan]})
    # median 3, IQR 4 - 2 = 2 (the outlier does not move them).
    np.testing.assert_allclose(_encoded(pre, new)[:, 0], [-0.5, 0.0, 1.0, 0.0], atol=1e-6)


def test_constant_column_does_not_divide_by_zero():
    pre = TabularPreprocessor().fit(pd.DataFrame({"x": [7.0] * 6}))
    out = _encoded(pre, pd.DataFrame({"x": [7.0, 8.0, np.nan]}))
    assert np.isfinite(out).all()
    assert out[0, 0] == 0.0 and out[2, 0] == 0.0 and out[1, 0] > 0.0


def test_all_missing_numeric_column():
    pre = TabularPreprocessor().fit(pd.DataFrame({"x": [np.nan, np.nan, np.nan]}))
    out = _encoded(pre, pd.DataFrame({"x": [np.nan, 2.0]}))
    np.testing.assert_array_equal(out, [[0.0, 1.0], [2.0, 0.0]])


def test_clipping():
    fit = pd.DataFrame({"x": np.arange(10, dtype=float)})  # median 4.5, IQR 4.5
    pre = TabularPreprocessor(clip=2.0).fit(fit)
    out = _encoded(pre, pd.DataFrame({"x": [1e9, -1e9, 4.5 + 4.5 * 1.5, 4.5 - 4.5 * 2.5]}))
    np.testing.assert_allclose(out[:, 0], [2.0, -2.0, 1.5, -2.0], atol=1e-6)


def test_missing_indicator_only_for_columns_missing_at_fit():
    fit = pd.DataFrame({"gappy": [1.0, np.nan, 3.0, 4.0], "full": [1.0, 2.0, 3.0, 4.0]})
    pre = TabularPreprocessor().fit(fit)
    assert pre.missing_seen_ == [True, False]
    out = _encoded(pre, pd.DataFrame({"gappy": [np.nan, 2.0], "full": [np.nan, np.nan]}))
    # columns: gappy, full, gappy_missing, full_missing
    np.testing.assert_array_equal(out[:, 2], [1.0, 0.0])
    np.testing.assert_array_equal(out[:, 3], [0.0, 0.0])
    # The unseen gap in "full" is still imputed with the median.
    np.testing.assert_array_equal(out[:, 1], [0.0, 0.0])


# -------------------------------------------------------------- categories
def test_vocabulary_ordered_by_frequency_with_reserved_codes():
    df = pd.DataFrame({"city": pd.Series(CITIES, dtype=object)})
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    # paris 5; oslo 3 and rome 3 (ties broken by the category itself); lima 1.
    assert pre.vocabularies_ == [["paris", "oslo", "rome", "lima"]]
    assert pre.cardinalities_ == [6]
    new = pd.DataFrame({"city": ["paris", "oslo", "rome", "lima", None, np.nan, "tokyo"]})
    np.testing.assert_array_equal(_encoded(pre, new)[:, 0], [2, 3, 4, 5, 0, 0, 1])


def test_rare_categories_are_folded_into_unknown():
    df = pd.DataFrame({"city": pd.Series(CITIES, dtype=object)})
    pre = TabularPreprocessor(min_frequency=3).fit(df)
    assert pre.vocabularies_ == [["paris", "oslo", "rome"]]
    codes = _encoded(pre, pd.DataFrame({"city": ["lima", "paris", None]}))[:, 0]
    np.testing.assert_array_equal(codes, [1, 2, 0])


def test_max_categories_keeps_the_most_frequent():
    df = pd.DataFrame({"city": pd.Series(CITIES, dtype=object)})
    pre = TabularPreprocessor(min_frequency=1, max_categories=2).fit(df)
    assert pre.vocabularies_ == [["paris", "oslo"]]
    codes = _encoded(pre, pd.DataFrame({"city": ["rome", "lima", "paris", "oslo"]}))[:, 0]
    np.testing.assert_array_equal(codes, [1, 1, 2, 3])


def test_unseen_category_maps_to_unknown_without_error():
    pre = TabularPreprocessor(min_frequency=1).fit(_frame())
    new = _frame(n=3)
    new["city"] = ["atlantis", "paris", "mars"]
    new["grade"] = pd.Categorical(["medium", "low", "high"])
    out = _encoded(pre, new)
    city = 2 * 2 + 0
    grade = 2 * 2 + 2
    np.testing.assert_array_equal(out[:, city], [1, 2, 1])
    assert out[0, grade] == 1 and out[1, grade] >= 2 and out[2, grade] >= 2


def test_booleans_are_categories():
    df = pd.DataFrame({"flag": [True] * 3 + [False] * 2})
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    assert pre.numeric_columns_ == [] and pre.vocabularies_ == [["True", "False"]]
    new = pd.DataFrame({"flag": pd.Series([False, None, True], dtype=object)})
    np.testing.assert_array_equal(_encoded(pre, new)[:, 0], [3, 0, 2])


def test_large_and_small_inputs_encode_categories_the_same_way():
    rng = np.random.default_rng(1)
    pool = np.array(["a", "b", "c", "d", "rare", None, 3, 3.0, True], dtype=object)
    weights = [0.2, 0.2, 0.15, 0.15, 0.02, 0.1, 0.06, 0.06, 0.06]
    values = pool[rng.choice(len(pool), 300, p=weights)]
    df = pd.DataFrame({"mixed": pd.Series(values, dtype=object)}, index=rng.permutation(300))
    df["cat"] = pd.Categorical(rng.choice(["x", "y", "z"], 300))
    df.loc[df.index[::7], "cat"] = np.nan
    pre = TabularPreprocessor(min_frequency=10).fit(df.iloc[:200])
    big = _encoded(pre, df)  # > 64 rows
    assert len(df) > 64
    chunks = [_encoded(pre, df.iloc[i : i + 30]) for i in range(0, len(df), 30)]  # <= 64 rows
    np.testing.assert_array_equal(big, np.concatenate(chunks))
    # Both paths really produced known, unknown and missing codes.
    assert {0.0, 1.0, 2.0} <= set(np.unique(big[:, 0]))


# ------------------------------------------------------------ column handling
def test_column_order_is_irrelevant_and_extra_columns_are_ignored():
    df = _frame()
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    shuffled = df[list(reversed(df.columns))].assign(extra=np.arange(len(df)), other="zzz")
    np.testing.assert_array_equal(_encoded(pre, shuffled), _encoded(pre, df))


def test_missing_columns_are_named():
    pre = TabularPreprocessor().fit(_frame())
    with pytest.raises(ValueError, match=r"city.*smoker|smoker.*city"):
        _encoded(pre, _frame().drop(columns=["city", "smoker"]))


def test_non_numeric_string_in_numeric_column_names_the_column():
    pre = TabularPreprocessor().fit(_frame())
    new = _frame(n=3)
    new["age"] = pd.Series(["51", "forty", None], dtype=object)
    with pytest.raises(ValueError, match=r"'age'.*forty"):
        _encoded(pre, new)


def test_numeric_strings_in_object_column_are_accepted():
    pre = TabularPreprocessor().fit(_frame())
    as_numbers = _frame(n=3)
    as_numbers["age"] = [51.5, np.nan, 40.0]
    as_strings = as_numbers.copy()
    as_strings["age"] = pd.Series(["51.5", None, "40"], dtype=object)
    np.testing.assert_array_equal(_encoded(pre, as_strings), _encoded(pre, as_numbers))


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_are_rejected(bad):
    df = pd.DataFrame({"x": [1.0, bad, 3.0], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"'x'.*infinite"):
        TabularPreprocessor().fit(df)
    pre = TabularPreprocessor().fit(df.assign(x=[1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"\['x'\].*infinite"):
        _encoded(pre, df)
    with pytest.raises(ValueError, match="infinite"):
        _encoded(pre, df.assign(x=pd.Series(["1", str(bad), None], dtype=object)))


def test_empty_and_non_dataframe_inputs():
    with pytest.raises(ValueError, match="empty"):
        TabularPreprocessor().fit(pd.DataFrame({"x": pd.Series([], dtype=float)}))
    with pytest.raises(ValueError, match="no columns"):
        TabularPreprocessor().fit(pd.DataFrame(index=range(3)))
    with pytest.raises(TypeError, match=r"DataFrame.*ndarray"):
        TabularPreprocessor().fit(np.zeros((3, 2)))
    pre = TabularPreprocessor().fit(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    with pytest.raises(TypeError, match=r"DataFrame.*dict"):
        _encoded(pre, {"x": [1.0], "c": ["a"]})
    empty = _encoded(pre, pd.DataFrame({"x": pd.Series([], dtype=float), "c": []}))
    assert empty.shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"min_frequency": 0}, "min_frequency"),
        ({"min_frequency": 2.5}, "min_frequency"),
        ({"min_frequency": "5"}, "min_frequency"),
        ({"max_categories": 0}, "max_categories"),
        ({"max_categories": -3}, "max_categories"),
        ({"clip": 0.0}, "clip"),
        ({"clip": -1.0}, "clip"),
        ({"clip": float("nan")}, "clip"),
    ],
)
def test_bad_constructor_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        TabularPreprocessor(**kwargs)


def test_non_string_column_names():
    df = pd.DataFrame({0: [1.0, 2.0, 3.0], 1: ["a", "b", "a"]})
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    expected = TabularPreprocessor(min_frequency=1).fit(df.rename(columns=str))
    np.testing.assert_array_equal(_encoded(pre, df), _encoded(expected, df.rename(columns=str)))


# ------------------------------------------------------------------- state
def test_state_is_json_and_round_trips():
    df = _frame(n=30)
    pre = TabularPreprocessor(min_frequency=2, max_categories=3, clip=3.0).fit(df)
    state = json.loads(json.dumps(pre.get_state()))
    restored = TabularPreprocessor.from_state(state)
    assert (restored.min_frequency, restored.max_categories, restored.clip) == (2, 3, 3.0)
    new = _frame(n=80, seed=5)
    new.loc[3, "city"] = "unseen"
    np.testing.assert_array_equal(_encoded(restored, new), _encoded(pre, new))
    np.testing.assert_array_equal(packed(restored.baseline()), packed(pre.baseline()))
    assert restored.input_schema() == pre.input_schema()


def test_baseline_is_a_typical_fully_observed_row():
    df = _frame()
    df["all_rare"] = [f"id{i}" for i in range(len(df))]
    pre = TabularPreprocessor(min_frequency=2).fit(df)
    named = pre.baseline()
    assert named["categorical"].dtype == np.int32 and named["numeric"].dtype == np.float32
    base = packed(named)[0]
    assert base.shape == (len(pre.numeric_columns_) * 2 + len(pre.categorical_columns_),)
    typical = pd.DataFrame(
        {
            "age": [df["age"].median()],
            "visits": [df["visits"].median()],
            "city": [df["city"].mode()[0]],
            "smoker": [df["smoker"].mode()[0]],
            "grade": [df["grade"].mode()[0]],
            "all_rare": ["id0"],  # every category is rare, so the reference is "unknown"
        }
    )
    np.testing.assert_allclose(base, _encoded(pre, typical)[0], atol=1e-6)
    np.testing.assert_array_equal(base[-4:], [2, 2, 2, 1])


def test_duplicate_and_complex_columns_are_named():
    df = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    duplicated = pd.concat([df, df[["x"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicate column names \['x'\]"):
        TabularPreprocessor().fit(duplicated)
    pre = TabularPreprocessor().fit(df)
    with pytest.raises(ValueError, match=r"duplicate column names \['x'\]"):
        _encoded(pre, duplicated)
    with pytest.raises(ValueError, match=r"\['z'\].*complex"):
        TabularPreprocessor().fit(df.assign(z=[1j, 2.0]))
    with pytest.raises(ValueError, match=r"'x'.*complex"):
        _encoded(pre, df.assign(x=pd.Series([1j, 2.0], dtype=object)))


@pytest.mark.parametrize("n_rows", [2, 40])  # The single-row path and the full one.
def test_dates_and_odd_objects_in_a_numeric_column_are_refused(n_rows):
    pre = TabularPreprocessor().fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    dates = pd.DataFrame({"x": pd.to_datetime(["2020-01-01"] * n_rows)})
    with pytest.raises(ValueError, match=r"'x' was numeric.*datetime64"):
        _encoded(pre, dates)
    with pytest.raises(ValueError, match=r"'x' was numeric.*non-numeric.*\\x80"):
        _encoded(pre, pd.DataFrame({"x": pd.Series([b"\x80"] * n_rows, dtype=object)}))
    with pytest.raises(ValueError, match=r"\['x'\].*infinite"):
        _encoded(pre, pd.DataFrame({"x": pd.Series([10**400] * n_rows, dtype=object)}))


def test_numbers_near_float64_limits():
    spread = pd.DataFrame({"x": [1e308, -1e308] * 2})
    with pytest.raises(ValueError, match=r"'x' holds numbers too large to scale \(up to 1e\+308"):
        TabularPreprocessor().fit(spread)
    # At transform, a huge number saturates at the clip instead of overflowing.
    pre = TabularPreprocessor(clip=5.0).fit(pd.DataFrame({"x": [0.0, 1e-300, 2e-300]}))
    with np.errstate(all="raise"):
        out = _encoded(pre, pd.DataFrame({"x": [1e308, -1e308]}))
    np.testing.assert_array_equal(out[:, 0], [5.0, -5.0])


def test_validate_reads_tables_as_scikit_learn_does():
    named = pd.DataFrame({"age": [30.0, 40.0, 50.0], "city": ["a", "b", "a"]})
    pre = TabularPreprocessor(min_frequency=1)
    frame = pre.validate(named, reset=True)
    pre.fit(frame)
    assert pre.named_input_ and pre.input_kind == "table"
    # A fitted adapter reads an array by position, under the fitted names.
    positional = pre.validate(np.array([[35.0, "b"]], dtype=object))
    assert list(positional.columns) == ["age", "city"]
    with pytest.raises(ValueError, match=r"X has 3 features, but Churn is expecting 2 features"):
        pre.validate(np.zeros((1, 3)), owner="Churn")
    with pytest.raises(ValueError, match="a minimum of 2 is required to train"):
        TabularPreprocessor().validate(named.head(1), reset=True)
    # Trained on positions: a named frame is read by position too.
    unnamed = TabularPreprocessor(min_frequency=1)
    unnamed.fit(unnamed.validate(np.array([[1.0, 2.0], [3.0, 4.0]]), reset=True))
    assert not unnamed.named_input_
    renamed = unnamed.validate(pd.DataFrame({"p": [5.0], "q": [6.0]}))
    assert list(renamed.columns) == ["x0", "x1"]
    restored = TabularPreprocessor.from_state(unnamed.get_state())
    assert restored.named_input_ is False
