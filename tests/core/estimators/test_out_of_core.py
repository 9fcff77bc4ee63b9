"""Tabular tasks fitted and predicted from CSV and Parquet files, streamed in bounded chunks."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import core.data.table_source as table_source_module
import core.estimators.tabular_classifier as tabular_module
from core.data import TableSource, shuffled_batches
from core.estimators import TabularClassifier
from core.preprocessing import TabularPreprocessor

SMALL = dict(
    hidden_units=(16,),
    n_members=1,
    batch_size=128,
    max_epochs=4,
    learning_rate=5e-3,
    random_state=0,
)
N_ROWS = 3000


def patients(n, seed):
    """A small patient table whose label depends on numbers, a category and missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(50.0, 10.0, n),
            "lab": rng.lognormal(0.0, 0.5, n),
            "smoker": rng.choice(["yes", "no", "former"], n),
            "site": rng.choice(list("ABCDEFG"), n),
        }
    )
    logit = (
        0.08 * (frame["age"] - 50.0)
        + 1.5 * np.log(frame["lab"])
        + 1.0 * (frame["smoker"] == "yes")
        - 0.4
    )
    frame.loc[rng.random(n) < 0.1, "lab"] = np.nan
    frame.loc[rng.random(n) < 0.05, "smoker"] = None
    frame["label"] = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    frame = patients(N_ROWS, seed=0)
    frame.to_csv(folder / "train.csv", index=False)
    frame.to_parquet(folder / "train.parquet", index=False, row_group_size=1000)
    parts = folder / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, N_ROWS, 1000)):
        frame.iloc[start : start + 1000].to_parquet(parts / f"part-{i}.parquet", index=False)
    test = patients(1000, seed=1)
    test.to_parquet(folder / "test.parquet", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return {
        "frame": frame,
        "test": test,
        "csv": str(folder / "train.csv"),
        "parquet": str(folder / "train.parquet"),
        "folder": str(parts),
        "test_parquet": str(folder / "test.parquet"),
        "test_csv": str(folder / "test.csv"),
        "dir": folder,
    }


@pytest.fixture(scope="module")
def frame_model(files):
    # `target` with a DataFrame takes the label column out of X.
    return TabularClassifier(**SMALL).fit(files["frame"], target="label")


@pytest.fixture(scope="module")
def parquet_model(files):
    return TabularClassifier(**SMALL).fit(files["parquet"], target="label")


def _auc(model, test):
    return roc_auc_score(test["label"], model.predict_proba(test.drop(columns="label"))[:, 1])


def test_file_fit_matches_the_dataframe_fit(files, frame_model, parquet_model):
    # The sample covers all 3,000 rows, so the preprocessing is the same.
    assert parquet_model.preprocessor_.get_state() == frame_model.preprocessor_.get_state()
    assert list(parquet_model.feature_names_in_) == ["age", "lab", "smoker", "site"]
    assert parquet_model.n_features_in_ == 4
    np.testing.assert_array_equal(parquet_model.classes_, frame_model.classes_)
    frame_auc, file_auc = _auc(frame_model, files["test"]), _auc(parquet_model, files["test"])
    assert frame_auc > 0.7 and abs(file_auc - frame_auc) < 0.03
    X_test = files["test"].drop(columns="label")
    p_frame = frame_model.predict_proba(X_test)[:, 1]
    p_file = parquet_model.predict_proba(X_test)[:, 1]
    assert np.corrcoef(p_frame, p_file)[0, 1] > 0.95
    assert np.abs(p_frame - p_file).mean() < 0.06
    # Early stopping watched the held-out rows: about 15% of the file.
    assert 300 < len(parquet_model.conformal_scores_) < 600


@pytest.mark.parametrize("kind", ["csv", "folder"])
def test_csv_and_parquet_folder_fit_like_one_parquet_file(files, parquet_model, kind):
    model = TabularClassifier(**SMALL).fit(files[kind], target="label")
    state, expected = model.preprocessor_.get_state(), parquet_model.preprocessor_.get_state()
    np.testing.assert_allclose(state.pop("medians"), expected.pop("medians"))
    np.testing.assert_allclose(state.pop("scales"), expected.pop("scales"))
    assert state == expected
    assert abs(_auc(model, files["test"]) - _auc(parquet_model, files["test"])) < 0.03


@pytest.mark.parametrize("test_file", ["test_parquet", "test_csv"])
def test_predict_from_a_path_equals_predict_from_the_dataframe(files, parquet_model, test_file):
    X_test = files["test"].drop(columns="label")  # The files keep the label column: ignored.
    np.testing.assert_allclose(
        parquet_model.predict_proba(files[test_file]),
        parquet_model.predict_proba(X_test),
        atol=1e-6,
    )
    np.testing.assert_array_equal(
        parquet_model.predict(files[test_file]), parquet_model.predict(X_test)
    )


def test_predict_from_a_path_is_chunked_and_in_order(files, parquet_model, monkeypatch):
    monkeypatch.setattr(table_source_module, "CHUNK_ROWS", 97)
    X_test = files["test"].drop(columns="label")
    np.testing.assert_allclose(
        parquet_model.predict_proba(files["test_csv"]),
        parquet_model.predict_proba(X_test),
        atol=1e-6,
    )


def test_risk_scorer_fits_from_a_path(files, tmp_path):
    from domains.finance import RiskScorer

    frame = files["frame"].rename(columns={"label": "default"})
    frame.to_parquet(tmp_path / "loans.parquet", index=False)
    params = dict(SMALL, n_members=2, max_epochs=2, class_weight="balanced")
    model = RiskScorer(exclude=["site"], calibration="temperature", **params)
    model.fit(tmp_path / "loans.parquet", target="default")
    assert list(model.feature_names_in_) == ["age", "lab", "smoker"]
    widths = model.preprocessor_.output_widths_
    assert {name: rows.shape for name, rows in model.reference_.items()} == {
        name: (32, width) for name, (width, _) in widths.items()
    }
    assert model.calibrator_ is not None
    X_test = files["test"].drop(columns="label")
    np.testing.assert_allclose(model.points(files["test_parquet"]), model.points(X_test))


def test_a_checkpoint_from_another_file_is_refused(files, tmp_path):
    params = dict(SMALL, max_epochs=1)
    TabularClassifier(**params).fit(files["parquet"], target="label", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different training run"):
        TabularClassifier(**params).fit(files["csv"], target="label", checkpoint_dir=tmp_path)


# ------------------------------------------------------------------ streaming
def _spy_chunks(monkeypatch):
    """Records the length of every chunk any TableSource yields."""
    lengths = []
    chunks = TableSource.chunks

    def spy(self, *args, **kwargs):
        for chunk in chunks(self, *args, **kwargs):
            lengths.append(len(chunk))
            yield chunk

    monkeypatch.setattr(TableSource, "chunks", spy)
    return lengths


def _spy_rows(monkeypatch, cls, method):
    """Records the rows of every DataFrame passed to `cls.method`."""
    rows = []
    original = getattr(cls, method)

    def spy(self, X, *args, **kwargs):
        rows.append(len(X))
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(cls, method, spy)
    return rows


def test_fit_streams_the_file_in_bounded_chunks(files, monkeypatch):
    monkeypatch.setattr(table_source_module, "CHUNK_ROWS", 250)
    monkeypatch.setattr(tabular_module, "STREAM_SAMPLE_ROWS", 1000)
    monkeypatch.setattr(tabular_module, "STREAM_VALIDATION_ROWS", 120)
    monkeypatch.setattr(tabular_module, "STREAM_SHUFFLE_ROWS", 300)
    chunk_rows = _spy_chunks(monkeypatch)
    transformed = _spy_rows(monkeypatch, TabularPreprocessor, "transform")
    fitted = _spy_rows(monkeypatch, TabularPreprocessor, "fit")
    frame = files["frame"].assign(label=files["frame"]["smoker"].fillna("unknown"))
    frame.drop(columns="smoker").to_csv(files["dir"] / "multiclass.csv", index=False)
    params = dict(SMALL, max_epochs=2)
    model = TabularClassifier(**params).fit(files["dir"] / "multiclass.csv", target="label")
    assert model.target_type_ == "multiclass" and len(model.classes_) == 4
    # The scan and two epochs each read the 3,000 rows in chunks of at most 250.
    assert max(chunk_rows) <= 250
    assert sum(chunk_rows) == 3 * N_ROWS and len(chunk_rows) >= 3 * N_ROWS // 250
    # Preprocessing saw a bounded sample; nothing transformed more than one chunk at once.
    assert fitted == [1000]
    assert max(transformed) <= 250
    # The hold-out is capped (its scores are kept for conformal sets).
    assert len(model.conformal_scores_) == 120


def test_shuffled_batches_hold_only_a_chunk_and_the_buffer():
    rng = np.random.default_rng(0)
    chunk, buffer, batch = 100, 150, 32
    in_flight, peak = [0], [0]

    def chunks():
        for start in range(0, 2000, chunk):
            in_flight[0] += chunk
            peak[0] = max(peak[0], in_flight[0])
            yield (np.arange(start, start + chunk),)

    seen = []
    for (rows,) in shuffled_batches(chunks(), batch, buffer, rng):
        assert len(rows) <= batch
        in_flight[0] -= len(rows)
        seen.extend(rows.tolist())
    assert peak[0] <= buffer + batch + chunk
    assert sorted(seen) == list(range(2000)) and seen != sorted(seen)


def test_scan_draws_bounded_samples_and_a_stable_holdout(files):
    source = TableSource(files["parquet"], chunk_rows=300)
    scan = source.scan("label", sample_rows=500, holdout_fraction=0.2, holdout_rows=100, seed=3)
    assert scan.n_rows == N_ROWS and sum(scan.label_counts.values()) == N_ROWS
    assert len(scan.sample) == 500 and scan.sample.index.is_monotonic_increasing
    assert 1000 < scan.sample.index.to_numpy().mean() < 2000  # Spread over the whole file.
    assert len(scan.holdout) == 100
    # The same rows are held out on every pass, whatever the chunking.
    for chunk_rows in (300, 1234):
        held = [
            chunk.index[scan.holdout_mask(chunk.index)]
            for chunk in TableSource(files["parquet"], chunk_rows=chunk_rows).chunks()
        ]
        np.testing.assert_array_equal(np.concatenate(held), scan.holdout.index)
    again = source.scan("label", sample_rows=500, holdout_fraction=0.2, holdout_rows=100, seed=3)
    pd.testing.assert_frame_equal(again.sample, scan.sample)
    other = source.scan("label", sample_rows=500, seed=4)
    assert not other.sample.index.equals(scan.sample.index)


# --------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*nowhere\.parquet"):
        TabularClassifier(**SMALL).fit(tmp_path / "nowhere.parquet", target="label")


def test_unknown_extension(tmp_path):
    (tmp_path / "table.txt").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"\.csv or \.parquet.*'\.txt'"):
        TabularClassifier(**SMALL).fit(str(tmp_path / "table.txt"), target="b")


def test_folder_without_parquet_files(tmp_path):
    with pytest.raises(ValueError, match=r"must hold \.parquet files.*has none"):
        TabularClassifier(**SMALL).fit(tmp_path, target="label")


def test_target_not_a_column(files):
    with pytest.raises(ValueError, match=r"`target`='outcome' is not a column.*'age'"):
        TabularClassifier(**SMALL).fit(files["parquet"], target="outcome")


def test_target_required_with_a_path(files):
    with pytest.raises(ValueError, match="`target` must name the label column"):
        TabularClassifier(**SMALL).fit(files["csv"])


def test_y_with_a_path(files):
    with pytest.raises(ValueError, match="`y` must be None when X is a file path"):
        TabularClassifier(**SMALL).fit(files["csv"], files["frame"]["label"], target="label")


def test_options_that_need_the_rows_in_memory(files):
    weights = np.ones(N_ROWS)
    with pytest.raises(ValueError, match="`sample_weight` is not supported when X is a file"):
        TabularClassifier(**SMALL).fit(files["csv"], sample_weight=weights, target="label")
    privacy = {"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "delta": 1e-5}
    with pytest.raises(ValueError, match="`privacy` accounts for every training row"):
        TabularClassifier(privacy=privacy, **SMALL).fit(files["csv"], target="label")


def test_y_and_target_with_a_dataframe(files):
    frame = files["frame"]
    with pytest.raises(ValueError, match="either as `y` or as the column named by `target`"):
        TabularClassifier(**SMALL).fit(frame, frame["label"], target="label")
    with pytest.raises(ValueError, match="`target`='outcome' is not a column of X"):
        TabularClassifier(**SMALL).fit(frame, target="outcome")


def test_missing_labels_in_the_file(files, tmp_path):
    frame = files["frame"].astype({"label": float})
    frame.loc[[3, 7], "label"] = np.nan
    frame.to_parquet(tmp_path / "gaps.parquet", index=False)
    with pytest.raises(ValueError, match="`target` column 'label' has 2 missing values"):
        TabularClassifier(**SMALL).fit(tmp_path / "gaps.parquet", target="label")


def test_predict_from_a_file_without_a_feature_column(files, parquet_model, tmp_path):
    files["test"].drop(columns="site").to_csv(tmp_path / "no_site.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks columns \['site'\]"):
        parquet_model.predict_proba(tmp_path / "no_site.csv")
    with pytest.raises(TypeError, match="pass a DataFrame here"):
        parquet_model.explain(files["test_csv"])


def test_parquet_without_pyarrow_names_the_extra(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r'pip install "keras-domains\[parquet\]"'):
        TableSource(files["parquet"])
    assert TableSource(files["csv"]).columns[-1] == "label"  # CSV needs no pyarrow.
