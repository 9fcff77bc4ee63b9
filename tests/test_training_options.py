"""The shared training options on every task: mixed precision, checkpoints, DP-SGD."""

import numpy as np
import pytest

from core.registry import get_task
from tests.test_robustness import (
    FRAUD_TINY,
    GENERATOR_TINY,
    IMAGE_TINY,
    SEQUENCE_TINY,
    TEXT_TINY,
    events,
    pictures,
    reviews,
    transactions,
)

# The tabular tasks are covered by tests/core/training (precision, resume, DP-SGD attack).
CASES = {
    "finance.fraud": (FRAUD_TINY, transactions),
    "medical.sequence": (SEQUENCE_TINY, events),
    "vision.image_classification": (IMAGE_TINY, pictures),
    "nlp.text": (TEXT_TINY, reviews),
    "nlp.generation": (GENERATOR_TINY, lambda: (reviews()[0] * 2, None)),
}


def _fit(task, checkpoint_dir=None, **options):
    params, data = CASES[task]
    X, y = data()
    model = get_task(task)(**{**params, "max_epochs": 2, **options})
    args = (X,) if y is None else (X, y)
    return model.fit(*args, checkpoint_dir=checkpoint_dir), X


@pytest.mark.parametrize("task", CASES)
def test_every_task_trains_in_mixed_precision_and_resumes(task, tmp_path):
    model, X = _fit(task, tmp_path, precision="mixed_bfloat16")
    compute_dtypes = {layer.compute_dtype for layer in model.model_._flatten_layers()}
    assert "bfloat16" in compute_dtypes
    assert all(output.dtype == "float32" for output in model.model_.outputs)
    assert list(tmp_path.glob("checkpoint-*.npz"))
    again, _ = _fit(task, tmp_path, precision="mixed_bfloat16")
    assert again.resumed_from_epoch_ == model.n_epochs_
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("task", CASES)
def test_every_task_trains_with_dp_sgd(task):
    privacy = {"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "delta": 1e-3}
    model, _ = _fit(task, privacy=privacy, batch_size=4, validation_fraction=0.0)
    spent = model.privacy_spent_
    assert spent["steps"] > 0 and 0 < spent["epsilon"] < np.inf
