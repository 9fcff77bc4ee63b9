import numpy as np
import pandas as pd
import pytest

from domains.medical import make_prediction_task, patient_split

EVENTS = pd.DataFrame(
    [
        # patient, date, code
        (1, "2020-05-01", "I10"),
        (1, "2021-03-01", "I50.9"),  # outcome inside the horizon
        (2, "2020-02-01", "E11"),
        (2, "2021-01-01", "I50"),  # at the cutoff: prior, not outcome
        (3, "2020-12-31", "J06"),
        (3, "2022-01-01", "I50"),  # exactly cutoff + 365 days: inside
        (4, "2020-01-01", "J06"),
        (4, "2022-01-02", "I50"),  # one day too late
        (5, "2021-02-01", "I50"),  # no history before the cutoff
        (6, "2019-01-01", "I5"),  # not a prefix match of I50
        (6, "2021-06-01", "I501"),
    ],
    columns=["patient_id", "date", "code"],
)


def test_labels_history_and_prediction_time():
    history, y, cutoff = make_prediction_task(EVENTS, "I50", 365, "2021-01-01")
    assert y.index.name == "patient_id" and y.name == "I50"
    assert y.to_dict() == {1: 1, 3: 1, 4: 0, 6: 1}  # 2 has prior I50, 5 has no history.
    assert (pd.to_datetime(history["date"]) <= pd.Timestamp("2021-01-01")).all()
    assert sorted(history["patient_id"].unique()) == [1, 3, 4, 6]
    assert list(history.columns) == list(EVENTS.columns)
    assert (cutoff == pd.Timestamp("2021-01-01")).all() and cutoff.index.equals(y.index)


def test_prefix_exact_lists_and_keeping_prior_cases():
    exact = make_prediction_task(EVENTS, "I50", 365, "2021-01-01", prefix=False).y
    assert exact.to_dict() == {1: 0, 3: 1, 4: 0, 6: 0}
    several = make_prediction_task(EVENTS, ["I50.9", "I501"], 365, "2021-01-01", prefix=False)
    assert several.y.to_dict() == {1: 1, 2: 0, 3: 0, 4: 0, 6: 1}
    assert several.y.name == "I50.9_I501"
    kept = make_prediction_task(EVENTS, "I50", 365, "2021-01-01", exclude_prior=False).y
    assert kept.to_dict() == {1: 1, 2: 0, 3: 1, 4: 0, 6: 1}


def test_per_patient_cutoffs_and_numeric_times():
    cutoffs = pd.Series(pd.to_datetime(["2021-01-01", "2020-06-01"]), index=[1, 4])
    task = make_prediction_task(EVENTS, "I50", 500, cutoffs)
    assert task.y.to_dict() == {1: 1, 4: 0}  # 4's I50 is 580 days after its cutoff.
    days = EVENTS.assign(date=(pd.to_datetime(EVENTS["date"]) - pd.Timestamp("2020-01-01")).dt.days)
    numeric = make_prediction_task(days, "I50", 365, 366)  # 2021-01-01 is day 366.
    assert numeric.y.to_dict() == {1: 1, 3: 1, 4: 0, 6: 1}
    assert (numeric.prediction_time == 366).all()


def test_bad_task_arguments():
    with pytest.raises(ValueError, match="`prediction_time` is required"):
        make_prediction_task(EVENTS, "I50", 365, None)
    with pytest.raises(ValueError, match="`horizon_days` must be a positive number"):
        make_prediction_task(EVENTS, "I50", 0, "2021-01-01")
    with pytest.raises(ValueError, match="`code` must be a non-empty string"):
        make_prediction_task(EVENTS, [], 365, "2021-01-01")
    with pytest.raises(ValueError, match=r"no column 'day' \(`time_column`\)"):
        make_prediction_task(EVENTS, "I50", 365, "2021-01-01", time_column="day")


# ------------------------------------------------------------ patient split
def _cohort(n=60, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n) * 7, rng.integers(1, 5, size=n))
    events = pd.DataFrame({"patient_id": ids, "date": "2020-01-01", "code": "A"})
    y = pd.Series((np.arange(n) % 4 == 0).astype(int), index=np.arange(n) * 7)
    return events.sample(frac=1.0, random_state=seed), y.sample(frac=1.0, random_state=seed)


def test_patient_split_keeps_each_patient_on_one_side():
    events, y = _cohort()
    X_train, X_test, y_train, y_test = patient_split(events, y, test_size=0.25, random_state=0)
    train, test = set(X_train["patient_id"]), set(X_test["patient_id"])
    assert not train & test and train | test == set(y.index)
    assert len(X_train) + len(X_test) == len(events)
    assert set(y_train.index) == train and set(y_test.index) == test
    assert y_train.index.is_monotonic_increasing
    assert len(y_test) == 15 and y_test.sum() == 4  # Stratified: 1 in 4 positive.
    groups = pd.Series(y.index % 2, index=y.index)
    X_train, X_test = patient_split(events, test_size=0.5, random_state=1, stratify=groups)
    assert (X_test["patient_id"].unique() % 2).mean() == pytest.approx(0.5)


def test_patient_split_raises_when_a_patient_would_be_on_both_sides(monkeypatch):
    import sklearn.model_selection

    events, y = _cohort()
    monkeypatch.setattr(
        sklearn.model_selection, "train_test_split", lambda ids, **kwargs: (ids[:40], ids[30:])
    )
    with pytest.raises(RuntimeError, match="in both sets"):
        patient_split(events, y)


def test_patient_split_bad_input():
    events, y = _cohort()
    with pytest.raises(ValueError, match=r"no label for 1 patient\(s\)"):
        patient_split(events, y.iloc[1:])
    with pytest.raises(ValueError, match="no column 'pid'"):
        patient_split(events, patient_column="pid")
    with pytest.raises(ValueError, match="stratify=True needs `y`"):
        patient_split(events, stratify=True)
