"""Tiny synthetic event tables for the medical sequence tests."""

import numpy as np
import pandas as pd

CUTOFF = "2021-01-01"
#: A `SequenceDiagnosisPredictor` small enough to fit in a second or two on `make_events(40)`.
TINY_SEQUENCE = dict(
    value_column="value", embedding_dim=4, num_layers=1, num_heads=1, intermediate_dim=8,
    lstm_units=2, max_visits=4, max_codes_per_visit=2, min_frequency=1, max_epochs=1,
    random_state=0,
)  # fmt: skip
NOISE = ["A", "B", "C", "D", "E"]


def make_events(n_patients=120, seed=0):
    """Events of `n_patients` (ids 100, 103, ...), in shuffled row order, and their labels.

    A patient is positive (mostly) when code "R" occurs in the 180 days before
    `CUTOFF`; "LAB" carries a value, higher for positives. Every patient also
    has events after the cutoff, which no model may read.
    """
    rng = np.random.default_rng(seed)
    cutoff = pd.Timestamp(CUTOFF)
    rows, labels = [], {}
    for i in range(n_patients):
        pid = 100 + 3 * i
        risky = rng.uniform() < 0.4
        days = np.unique(rng.integers(1, 700, size=rng.integers(2, 7)))
        for day in days:
            for code in rng.choice(NOISE, size=rng.integers(1, 3), replace=False):
                rows.append((pid, cutoff - pd.Timedelta(days=int(day)), str(code), np.nan))
        if risky:
            rows.append((pid, cutoff - pd.Timedelta(days=int(rng.integers(0, 180))), "R", np.nan))
        value = rng.normal(8.0 if risky else 5.0, 1.0)
        rows.append((pid, cutoff - pd.Timedelta(days=int(days[0])), "LAB", value))
        for _ in range(2):  # After the cutoff.
            later = cutoff + pd.Timedelta(days=int(rng.integers(1, 300)))
            rows.append((pid, later, str(rng.choice([*NOISE, "R"])), np.nan))
        labels[pid] = int(risky if rng.uniform() < 0.9 else not risky)
    events = pd.DataFrame(rows, columns=["patient_id", "date", "code", "value"])
    events["date"] = events["date"].dt.strftime("%Y-%m-%d")
    events = events.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    y = pd.Series(labels, name="outcome").sample(frac=1.0, random_state=seed)
    return events, y
