"""Resuming a killed `fit` from its last completed epoch."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.estimators import TabularClassifier
from tests.core.training import resumable_fit

SCRIPT = os.path.join(os.path.dirname(__file__), "resumable_fit.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _saved_epochs(path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            info = json.loads(str(archive["info"]))
        return info["epoch"], info["history"]
    except (OSError, ValueError, KeyError):
        return 0, None


def test_fit_killed_with_sigkill_resumes_at_its_last_epoch(tmp_path):
    checkpoint = tmp_path / "checkpoint-main.npz"
    process = subprocess.Popen([sys.executable, SCRIPT, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 180
        while _saved_epochs(checkpoint)[0] < 2:
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint within 180 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    killed_at, saved_history = _saved_epochs(checkpoint)
    assert 2 <= killed_at < resumable_fit.MAX_EPOCHS

    resumed = resumable_fit.fit_model(tmp_path)
    assert resumed.resumed_from_epoch_ == killed_at
    # Every epoch counted once: the saved epochs, then the rest, and no more.
    assert resumed.n_epochs_ == resumable_fit.MAX_EPOCHS
    assert len(resumed.history_["loss"]) == len(resumed.history_["val_loss"]) == 8
    assert resumed.history_["loss"][:killed_at] == saved_history["loss"]

    uninterrupted = resumable_fit.fit_model()
    _, _, X_test, y_test = resumable_fit.data()
    auc_resumed = roc_auc_score(y_test, resumed.predict_proba(X_test)[:, 1])
    auc_uninterrupted = roc_auc_score(y_test, uninterrupted.predict_proba(X_test)[:, 1])
    assert auc_resumed > auc_uninterrupted - 0.02
    assert min(resumed.history_["val_loss"]) < uninterrupted.history_["val_loss"][0]


def _small_fit(tmp_path, **params):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    options = {"n_members": 1, "hidden_units": (4,), "max_epochs": 3, "random_state": 0}
    return TabularClassifier(**{**options, **params}).fit(X, y, checkpoint_dir=tmp_path), X, y


def test_a_finished_run_is_not_trained_again(tmp_path):
    first, X, _ = _small_fit(tmp_path)
    again, _, _ = _small_fit(tmp_path)
    assert again.resumed_from_epoch_ == first.n_epochs_ == again.n_epochs_
    np.testing.assert_allclose(again.predict_proba(X), first.predict_proba(X), atol=1e-6)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    _small_fit(tmp_path)
    with pytest.raises(ValueError, match="different training run"):
        _small_fit(tmp_path, hidden_units=(5,))


def test_a_corrupt_checkpoint_is_refused(tmp_path):
    (tmp_path / "checkpoint-main.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable training checkpoint"):
        _small_fit(tmp_path)


def test_checkpoint_dir_must_be_a_folder(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        _small_fit(path)
    with pytest.raises(TypeError, match="checkpoint_dir"):
        _small_fit(3)
