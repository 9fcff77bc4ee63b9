import json

import numpy as np
import pandas as pd
import pytest

from core.preprocessing import EventSequenceEncoder
from core.preprocessing.event_sequence_encoder import MASK_ID, SUMMARY_FEATURES, UNKNOWN_ID


def _events():
    """Three patients; times are days before each one's reference time."""
    rows = [
        # patient, days before, code, value
        ("p1", 900.0, "A", np.nan),
        ("p1", 400.0, "A", np.nan),
        ("p1", 400.0, "B", np.nan),
        ("p1", 400.0, "LAB", 10.0),
        ("p1", 30.0, "A", np.nan),
        ("p1", 30.0, "rare", np.nan),
        ("p1", 0.0, "LAB", 14.0),
        ("p2", 10.0, "B", np.nan),
        ("p2", 10.0, "LAB", 6.0),
        ("p2", 5.0, "A", np.nan),
        ("p3", 200.0, "B", np.nan),
        ("p3", 200.0, "A", np.nan),
    ]
    frame = pd.DataFrame(rows, columns=["patient", "days", "code", "value"])
    # Input order must not matter.
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def _fit(frame, **kwargs):
    params = {"min_frequency": 2, **kwargs}
    encoder = EventSequenceEncoder(**params)
    return encoder.fit(frame["patient"], frame["days"], frame["code"], frame["value"])


def _transform(encoder, frame, **kwargs):
    return encoder.transform(
        frame["patient"], frame["days"], frame["code"], frame["value"], **kwargs
    )


def test_vocabulary_is_frequent_codes_first_and_rare_codes_are_unknown():
    encoder = _fit(_events())
    assert encoder.vocabulary_ == ["A", "B", "LAB"]  # 5, 3 and 3 events; "rare" has 1.
    assert encoder.code_names()[:3] == ["[PAD]", "[UNK]", "[MASK]"]
    assert encoder.vocabulary_size == 6
    codes = _transform(encoder, _events()).codes
    assert UNKNOWN_ID in codes and MASK_ID not in codes


def test_visits_are_oldest_first_and_the_most_recent_are_kept():
    encoder = _fit(_events(), max_visits=3)
    assert encoder.num_visits_ == 3 and encoder.num_codes_ == 3
    seqs = _transform(encoder, _events())
    assert seqs.entities.tolist() == ["p1", "p2", "p3"]
    a, b, lab, unk = 3, 4, 5, UNKNOWN_ID
    # p1 has 4 visits (900, 400, 30, 0 days before); the oldest is dropped.
    np.testing.assert_array_equal(seqs.codes[0], [[a, b, lab], [a, unk, 0], [lab, 0, 0]])
    np.testing.assert_array_equal(seqs.times[0], [[400, 500], [30, 370], [0, 30]])
    np.testing.assert_array_equal(seqs.codes[1], [[b, lab, 0], [a, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(seqs.times[1], [[10, 0], [5, 5], [0, 0]])
    np.testing.assert_array_equal(seqs.codes[2, 0], [a, b, 0])


def test_max_codes_per_visit_keeps_the_most_frequent_codes():
    encoder = _fit(_events(), max_codes_per_visit=2)
    codes = _transform(encoder, _events()).codes
    assert encoder.num_codes_ == 2
    np.testing.assert_array_equal(codes[0, 1], [3, 4])  # A and B of the 400-day visit; LAB dropped.


def test_values_are_standardized_per_code_and_clipped():
    encoder = _fit(_events(), clip=1.0)
    median, scale = encoder.value_stats_["LAB"]
    assert median == 10.0 and scale == pytest.approx((12.0 - 8.0) / 1.349)
    seqs = _transform(encoder, _events())
    assert seqs.values[0, 3, 0] == pytest.approx(min((14.0 - 10.0) / scale, 1.0))
    assert seqs.values[1, 0, 1] == pytest.approx(-1.0)  # (6 - 10) / 2.97, clipped to -1.
    assert np.count_nonzero(seqs.values) == 2  # Codes without values stay at 0.


def test_wide_features_are_log_counts_recent_counts_last_values_and_summaries():
    frame = _events()
    encoder = _fit(frame, recent_days=100.0)
    seqs = _transform(encoder, frame)
    names = encoder.wide_feature_names()
    assert len(names) == encoder.num_wide_features
    features = [
        {names[i]: v for i, v in zip(ids, values, strict=True) if v != 0}
        for ids, values in zip(seqs.wide_ids, seqs.wide_values, strict=True)
    ]
    p1 = features[0]
    assert p1["count:A"] == pytest.approx(np.log1p(3))
    assert p1["count:[UNK]"] == pytest.approx(np.log1p(1))
    assert p1["recent_count:A"] == pytest.approx(np.log1p(1))  # Only the one 30 days before.
    assert "recent_count:B" not in p1
    scale = encoder.value_stats_["LAB"][1]
    assert p1["last_value:LAB"] == pytest.approx((14.0 - 10.0) / scale)
    # Two values, 400 days apart: the trend is their slope in standardized units per year.
    assert p1["value_trend:LAB"] == pytest.approx((14.0 - 10.0) / scale / (400 / 365.25))
    assert "value_trend:LAB" not in features[1]  # p2 has a single value.
    assert p1[SUMMARY_FEATURES[0]] == pytest.approx(np.log1p(7))  # events
    assert p1[SUMMARY_FEATURES[1]] == pytest.approx(np.log1p(4))  # visits
    assert SUMMARY_FEATURES[2] not in p1  # 0 days since the last event
    assert p1[SUMMARY_FEATURES[3]] == pytest.approx(np.log1p(900))  # span
    assert features[2][SUMMARY_FEATURES[2]] == pytest.approx(np.log1p(200))


def test_entity_order_gives_empty_rows_to_entities_without_events():
    encoder = _fit(_events())
    seqs = _transform(encoder, _events(), entity_order=["p3", "nobody", "p1", "p2"])
    assert seqs.entities.tolist() == ["p3", "nobody", "p1", "p2"]
    reference = _transform(encoder, _events())
    np.testing.assert_array_equal(seqs.codes[0], reference.codes[2])
    assert not seqs.codes[1].any() and not seqs.wide_values[1].any() and not seqs.times[1].any()
    with pytest.raises(ValueError, match="not in `entity_order`"):
        _transform(encoder, _events(), entity_order=["p1"])


def test_events_bookkeeping_points_at_each_events_slot():
    frame = _events()
    encoder = _fit(frame, max_visits=3)
    seqs = _transform(encoder, frame, return_events=True)
    events = seqs.events
    for i in range(len(frame)):
        if events["visit"][i] < 0:
            assert frame["patient"][i] == "p1" and frame["days"][i] == 900.0  # The dropped visit.
            continue
        slot = (events["row"][i], events["visit"][i], events["position"][i])
        assert seqs.codes[slot] == events["code_id"][i]
        assert seqs.times[slot[0], slot[1], 0] == frame["days"][i]
    # The last value of each patient's lab: p1's 0 days before, p2's only one.
    labs = frame[frame["code"] == "LAB"]
    last = labs.index[labs["days"].isin([0.0]) | (labs["patient"] == "p2")]
    assert np.flatnonzero(events["last_value"]).tolist() == sorted(last)
    assert np.flatnonzero(events["valued"]).tolist() == sorted(labs.index)
    shares = encoder.event_shares(events)
    names = encoder.wide_feature_names()
    first = frame.index[frame["code"] == "LAB"][0]
    assert {names[ids[first]] for ids, members in shares if members[first]} == {
        "count:LAB",
        *(["recent_count:LAB"] if frame["days"][first] <= 365 else []),
        *(["last_value:LAB"] if first in last else []),
        "value_trend:LAB",
        *SUMMARY_FEATURES,
    }


def test_arrays_are_the_named_model_inputs_with_integer_ids():
    encoder = _fit(_events())
    seqs = _transform(encoder, _events())
    arrays = seqs.arrays()
    assert {name: a.dtype for name, a in arrays.items()} == {
        "codes": np.int32,
        "values": np.float32,
        "times": np.float32,
        "wide_ids": np.int32,
        "wide_values": np.float32,
    }
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, getattr(seqs, name))
    assert list(seqs.arrays(wide=False)) == ["codes", "values", "times"]


def test_state_is_json_and_round_trips():
    encoder = _fit(_events(), max_visits=2, recent_days=50.0)
    state = json.loads(json.dumps(encoder.get_state()))
    revived = EventSequenceEncoder.from_state(state)
    revived_arrays = _transform(revived, _events()).arrays()
    for name, array in _transform(encoder, _events()).arrays().items():
        np.testing.assert_array_equal(revived_arrays[name], array)


def test_without_values_and_with_unseen_codes():
    frame = _events()
    encoder = EventSequenceEncoder(min_frequency=1).fit(
        frame["patient"], frame["days"], frame["code"]
    )
    assert not encoder.use_values_ and encoder.value_stats_ == {}
    new = frame.assign(code=frame["code"].replace({"A": "never seen"}))
    seqs = encoder.transform(new["patient"], new["days"], new["code"])
    assert seqs.values is None and UNKNOWN_ID in seqs.codes
    assert list(seqs.arrays()) == ["codes", "times", "wide_ids", "wide_values"]


def test_bad_input_is_named():
    frame = _events()
    with pytest.raises(ValueError, match="`days_before` must be finite and >= 0"):
        EventSequenceEncoder().fit(frame["patient"], -frame["days"], frame["code"])
    with pytest.raises(ValueError, match="equal length"):
        EventSequenceEncoder().fit(frame["patient"], frame["days"][:3], frame["code"])
    with pytest.raises(ValueError, match="`max_visits` must be a positive integer"):
        EventSequenceEncoder(max_visits=0)


def test_too_many_codes_for_int32_ids_are_refused(monkeypatch):
    # Wide feature ids (4 per code) reach the model as int32.
    import core.preprocessing.event_sequence_encoder as module

    frame = _events()
    n_codes = frame["code"].nunique()
    limit = 4 * (module.RESERVED_IDS + n_codes) + len(SUMMARY_FEATURES)
    monkeypatch.setattr(module, "MAX_ID", limit)
    EventSequenceEncoder(min_frequency=1).fit(frame["patient"], frame["days"], frame["code"])
    monkeypatch.setattr(module, "MAX_ID", limit - 1)
    with pytest.raises(ValueError, match=r"distinct codes .* Raise `min_frequency`"):
        EventSequenceEncoder(min_frequency=1).fit(frame["patient"], frame["days"], frame["code"])
