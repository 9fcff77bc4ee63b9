"""`max_time=`: a fit stops when its time budget is spent and keeps its best epoch."""

import time

import numpy as np
import pytest

from core.estimators import TabularClassifier
from domains.nlp import TextClassifier


def _table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _options(**extra):
    return {
        "n_members": 1,
        "hidden_units": (64, 64),
        "batch_size": 16,
        "max_epochs": 500,
        "patience": 500,
        "calibration": None,
        "random_state": 0,
        **extra,
    }


@pytest.mark.parametrize("privacy", [None, {"l2_norm_clip": 1.0, "noise_multiplier": 1.0}])
def test_training_stops_soon_after_the_budget_is_spent(privacy):
    X, y = _table()
    if privacy is not None:  # DP-SGD trains in the toolkit's own loop.
        privacy = {**privacy, "delta": 1e-3}
    started = time.perf_counter()
    model = TabularClassifier(**_options(max_time=3.0, privacy=privacy)).fit(X, y)
    elapsed = time.perf_counter() - started
    assert model.stopped_by_time_
    assert model.n_epochs_ < 500
    # Checked after every batch: the overrun is a batch and a validation pass, not an epoch.
    assert elapsed < 3.0 + 15.0
    if privacy is None:  # Noisy DP steps learn slowly; that it stopped is the point there.
        assert model.score(X, y) > 0.6  # It trained, and kept weights worth keeping.


def test_the_best_epoch_is_kept_when_time_runs_out(monkeypatch):
    X, y = _table(600)
    restored = []
    import keras

    original = keras.callbacks.EarlyStopping.on_train_end

    def on_train_end(self, logs=None):
        restored.append(self.best_epoch)
        return original(self, logs)

    monkeypatch.setattr(keras.callbacks.EarlyStopping, "on_train_end", on_train_end)
    model = TabularClassifier(**_options(max_time=2.0, batch_size=32)).fit(X, y)
    assert model.stopped_by_time_
    val_loss = model.history_["val_loss"]
    assert restored == [int(np.argmin(val_loss))]


def test_without_a_budget_nothing_stops_early_for_time():
    X, y = _table(200)
    model = TabularClassifier(**_options(max_epochs=3)).fit(X, y)
    assert not model.stopped_by_time_ and model.n_epochs_ == 3


def test_stopped_by_time_survives_save_and_load(tmp_path):
    X, y = _table(3000)
    model = TabularClassifier(**_options(max_time=1.0)).fit(X, y)
    loaded = TabularClassifier.load(model.save(tmp_path / "m.kdm"))
    assert loaded.stopped_by_time_ is True


def test_every_task_takes_max_time_and_checks_it():
    with pytest.raises(ValueError, match="max_time"):
        TextClassifier(max_time=-1).fit(["a b c", "d e f"] * 4, [0, 1] * 4)
    with pytest.raises(ValueError, match="max_time"):
        TabularClassifier(max_time="soon").fit(*_table(50))
