"""The sequence model against a bag-of-codes baseline on the shipped synthetic events."""

import pytest

from core.demo import find_sample_data
from domains.medical import SequenceDiagnosisPredictor


# A real-size check; benchmarks/medical_sequences.py measures it on more splits.
@pytest.mark.slow
def test_demo_beats_logistic_regression_on_code_counts(tmp_path):
    # One fit of the demo's small configuration on the 1,500 shipped patients: heart
    # failure within a year, held-out patients, against LR on each patient's code counts.
    row = SequenceDiagnosisPredictor.demo(find_sample_data(), tmp_path)
    assert row["metric"].startswith("AUROC") and row["test_rows"] > 300
    assert row["value"] > row["baseline"] + 0.02
    assert (tmp_path / "medical_sequence.kdm").exists()
