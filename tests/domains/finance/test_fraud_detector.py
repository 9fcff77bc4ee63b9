"""FraudDetector: history matters, no leakage, unsorted rows, files, explanations, errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from domains.finance import FraudDetector

TRANSACTIONS = Path(__file__).resolve().parents[3] / "sample_data" / "finance" / "transactions.csv"
SMALL = dict(encoder_units=16, embedding_dim=4, hidden_units=(16,), patience=4, learning_rate=5e-3)


def small(**params):
    return FraudDetector(**{**SMALL, "max_epochs": 20, "random_state": 0, **params})


@pytest.fixture(scope="module")
def transactions():
    frame = pd.read_csv(TRANSACTIONS).drop(columns=["transaction_id"])
    accounts = sorted(frame["account_id"].unique())[:100]
    frame = frame[frame["account_id"].isin(accounts)]
    y = frame.pop("is_fraud")
    times = pd.to_datetime(frame["timestamp"])
    train = times < times.quantile(0.7)
    return frame, y, train


@pytest.fixture(scope="module")
def detector(transactions):
    frame, y, train = transactions
    return small(window=8, calibration="temperature").fit(frame[train], y[train])


def test_history_beats_the_same_model_without_it(detector, transactions):
    frame, y, train = transactions
    test = ~train
    with_history = detector.predict_proba(frame[test], history=frame[train])[:, 1]
    without = small(window=0).fit(frame[train], y[train])
    alone = without.predict_proba(frame[test], history=frame[train])[:, 1]
    ap_history = average_precision_score(y[test], with_history)
    ap_alone = average_precision_score(y[test], alone)
    assert ap_history > ap_alone + 0.1, (ap_history, ap_alone)


def test_rows_arrive_unsorted_and_come_back_in_input_order(detector, transactions):
    frame, _, train = transactions
    rows = frame[train].iloc[:300]
    shuffled = rows.sample(frac=1.0, random_state=1)
    np.testing.assert_allclose(
        detector.predict_proba(shuffled),
        pd.DataFrame(detector.predict_proba(rows), index=rows.index).loc[shuffled.index],
        atol=1e-6,
    )


def test_future_transactions_never_change_a_score(detector, transactions):
    frame, _, train = transactions
    rows = frame[train].iloc[:200]
    account = rows["account_id"].iloc[0]
    last = pd.to_datetime(rows["timestamp"]).max()
    future = (
        rows[rows["account_id"] == account]
        .head(3)
        .assign(timestamp=(last + pd.Timedelta(days=1)).isoformat(), amount=9999.0)
    )
    before = detector.predict_proba(rows)
    after = detector.predict_proba(pd.concat([rows, future]))[: len(rows)]
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_history_argument_is_context_only(detector, transactions):
    frame, _, train = transactions
    past, today = frame[train].iloc[:400], frame[train].iloc[400:450]
    together = detector.predict_proba(pd.concat([past, today]))[len(past) :]
    np.testing.assert_allclose(detector.predict_proba(today, history=past), together, atol=1e-6)
    assert detector.predict_proba(today, history=past).shape == (50, 2)


def test_history_window_reaches_back(detector, transactions):
    frame, _, train = transactions
    rows = frame[train]
    account_rows = rows[rows["account_id"] == rows["account_id"].iloc[0]]
    inputs = detector._transform(account_rows)
    assert inputs["categorical"].dtype == np.int32 and inputs["present"].dtype == bool
    assert inputs["numeric"].shape[:2] == inputs["present"].shape == (len(account_rows), 9)
    present = inputs["present"][:, :-1]  # History slots; the current transaction is last.
    order = np.argsort(pd.to_datetime(account_rows["timestamp"]).to_numpy(), kind="stable")
    # The k-th transaction of an account has min(k, window) predecessors.
    np.testing.assert_array_equal(present[order].sum(axis=1), np.minimum(np.arange(len(order)), 8))
    # Its last history slot holds the transaction just before it, columns and codes alike.
    for name in ("numeric", "categorical"):
        np.testing.assert_array_equal(inputs[name][order[1:], -2], inputs[name][order[:-1], -1])


def test_save_load_and_report(detector, transactions, tmp_path):
    frame, y, train = transactions
    path = detector.save(tmp_path / "fraud.kdm")
    loaded = FraudDetector.load(path)
    test = ~train
    np.testing.assert_allclose(
        loaded.predict_proba(frame[test], history=frame[train]),
        detector.predict_proba(frame[test], history=frame[train]),
        atol=1e-6,
    )
    report = loaded.report(frame[test], y[test], k=5, history=frame[train])
    assert set(report) == {
        "n",
        "fraud_rate",
        "auprc",
        "roc_auc",
        "precision_at_k_per_day",
        "recall_at_fpr",
        "calibration",
    }
    assert report["n"] == int(test.sum()) and 0.0 <= report["auprc"] <= 1.0


def test_calibrated_on_the_latest_rows_with_conformal_sets(detector, transactions):
    frame, y, train = transactions
    # Balanced class weights inflate fraud probabilities; the fitted temperature
    # maps them back to rates, so calibration must have changed something.
    report = detector.report(frame[~train], y[~train], history=frame[train])
    calibration = report["calibration"]
    assert calibration["method"] == "temperature"
    assert calibration["brier_after"] < calibration["brier_before"]
    sets = detector.predict_set(frame[~train], alpha=0.1, history=frame[train])
    assert sets.shape == (int((~train).sum()), 2)
    covered = sets[np.arange(len(sets)), np.searchsorted(detector.classes_, y[~train])]
    assert covered.mean() >= 0.85


def test_explain_splits_the_score_between_columns_and_history(detector, transactions):
    frame, _, train = transactions
    rows = frame[train].iloc[100:106]
    attributions = detector.explain(rows, steps=64)
    assert list(attributions.columns) == [*detector.feature_columns_, "history"]
    assert list(attributions.index) == list(rows.index)
    own = detector._member_proba(detector._logits(rows))  # Explanations: the model's own proba.
    gap = own[:, 1] - np.asarray(attributions.attrs["baseline"])
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=5e-3)


def test_class_weight_is_balanced_by_default():
    assert FraudDetector().class_weight == "balanced"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f: f.drop(columns=["account_id"]), "account_id"),
        (lambda f: f.drop(columns=["timestamp"]), "timestamp"),
        (
            lambda f: f.assign(timestamp="not a date"),
            "'timestamp' of `X` has 50 values that could not be parsed as dates",
        ),
        (lambda f: f.assign(timestamp=None), "'timestamp' of `X` has 50 missing times"),
        (lambda f: f.assign(timestamp="3000-01-01"), r"'timestamp' of `X` has dates \['3000"),
        (lambda f: f.assign(timestamp=1e308), r"'timestamp' of `X` has numeric times \[1e\+308\]"),
        (
            lambda f: f.assign(timestamp=pd.Series([1, "2024-01-01"] * 25, dtype=object).values),
            r"'timestamp' of `X` mixes numbers \['1'\]",
        ),
        (lambda f: f.assign(amount="12 EUR"), r"'amount' .* not numbers: \['12 EUR'\]"),
        (lambda f: f.assign(amount=True), r"'amount' .* holds bool values"),
        (lambda f: pd.concat([f, f[["amount"]]], axis=1), r"duplicate column names \['amount'\]"),
    ],
)
def test_bad_transactions_name_the_column(transactions, change, match):
    frame, y, _ = transactions
    with pytest.raises(ValueError, match=match):
        small(max_epochs=1).fit(change(frame.head(50)), y.head(50))


def test_bad_history_is_named(detector, transactions):
    frame, _, train = transactions
    with pytest.raises(TypeError, match="`history` to be a transactions DataFrame"):
        detector.predict_proba(frame[~train].head(5), history=frame[train].to_numpy())
    with pytest.raises(ValueError, match=r"'timestamp' of `history` has .* could not be parsed"):
        detector.predict_proba(frame[~train].head(5), history=frame[train].assign(timestamp="?"))


def test_a_file_saved_before_the_renames_and_the_adapter_loads(detector, transactions, tmp_path):
    from core.persistence.model_archive import read_archive, write_archive

    model_bytes, state, metadata = read_archive(detector.save(tmp_path / "new.kdm"))
    params = state["params"]
    params["encoder"], params["units"] = params.pop("backbone"), params.pop("encoder_units")
    adapter = state["fitted"]["preprocessor"]  # Before the adapter: the features' state alone.
    state["fitted"]["preprocessor"] = adapter["features"]
    state["fitted"]["feature_columns"] = adapter["feature_columns"]
    old = tmp_path / "old.kdm"
    write_archive(old, model_bytes, state, metadata)
    loaded = FraudDetector.load(old)
    assert (loaded.backbone, loaded.encoder_units) == (detector.backbone, detector.encoder_units)
    frame, _, train = transactions
    np.testing.assert_allclose(
        loaded.predict_proba(frame[~train].head(20), history=frame[train]),
        detector.predict_proba(frame[~train].head(20), history=frame[train]),
        atol=1e-6,
    )


def test_bad_settings():
    frame = pd.DataFrame({"account_id": ["a", "b"], "timestamp": [0, 1], "amount": [1.0, 2.0]})
    with pytest.raises(ValueError, match="backbone"):
        small(backbone="gru").fit(frame, [0, 1])
    with pytest.raises(ValueError, match="window"):
        small(window=-1).fit(frame, [0, 1])
