"""`CosineSchedule`: warm-up, cosine decay to zero, and a horizon that fits a time budget."""

import keras
import numpy as np
import pytest

from core.training import CosineSchedule, StepTrainer


def test_rate_warms_up_then_decays_to_zero_at_the_horizon():
    schedule = CosineSchedule(1e-2, epochs=10, warmup_epochs=1)
    assert schedule.rate(0.0) == pytest.approx(1e-3)
    assert schedule.rate(0.5) == pytest.approx(5.5e-3)
    assert schedule.rate(1.0) == pytest.approx(1e-2)
    assert schedule.rate(5.5) == pytest.approx(5e-3)  # Half-way through the decay.
    assert schedule.rate(10.0) == pytest.approx(0.0, abs=1e-12)
    decay = [schedule.rate(t) for t in np.linspace(1.0, 10.0, 50)]
    assert np.all(np.diff(decay) < 0)


def test_the_horizon_shrinks_to_the_epochs_that_fit_before_the_deadline(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("core.training.cosine_schedule.time.monotonic", lambda: clock[0])
    schedule = CosineSchedule(1e-2, epochs=40, deadline=110.0)
    schedule.set_model(_tiny_model())
    schedule.model.stop_training = False
    schedule.on_epoch_begin(0)
    clock[0] += 2.0  # An epoch takes 2 s: 8 s left hold 4 more.
    schedule.on_epoch_end(0)
    assert schedule.horizon == 5
    schedule.on_epoch_begin(1)
    clock[0] += 1.0  # Faster after the first epoch (tracing): 7 s left hold 7 more, but
    schedule.on_epoch_end(1)  # the horizon never grows back once the rate has fallen.
    assert schedule.horizon == 5
    assert schedule.rate(5.0) == pytest.approx(0.0, abs=1e-12)
    assert not schedule.model.stop_training
    clock[0] += 100.0  # Past the deadline: the horizon never drops below the epochs done.
    schedule.on_epoch_begin(2)
    schedule.on_epoch_end(2)
    assert schedule.horizon == 3
    assert schedule.model.stop_training  # The schedule is spent: training ends.


def test_the_pace_after_the_first_batch_sets_the_horizon(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("core.training.cosine_schedule.time.monotonic", lambda: clock[0])
    schedule = CosineSchedule(1e-2, epochs=40, deadline=100.0)
    schedule.set_model(_tiny_model())
    schedule.params = {"steps": 5}
    schedule.on_train_begin()
    schedule.on_epoch_begin(0)
    for batch, seconds in enumerate((8.0, 1.0, 1.0, 1.0, 1.0)):  # Batch 0 traces the graph.
        schedule.on_train_batch_begin(batch)
        clock[0] += seconds
        schedule.on_train_batch_end(batch)
    schedule.on_epoch_end(0)
    # 12 s spent; at 5 s an epoch, the 88 s left hold 17 more.
    assert schedule.horizon == 18


def test_without_a_deadline_the_horizon_stays():
    schedule = CosineSchedule(1e-2, epochs=7)
    schedule.on_epoch_begin(0)
    schedule.on_epoch_end(0)
    assert schedule.horizon == 7


class _RecordRate(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.AdamW(1e-2), loss="mse")
    return model


def _rows():
    """40 rows of 3 features and their sums: 4 batches of 10."""
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    return X, X.sum(axis=1, keepdims=True)


def _expected_rates(schedule, epochs, steps=4):
    return [
        schedule.rate(epoch + batch / steps) for epoch in range(epochs) for batch in range(steps)
    ]


def test_keras_fit_follows_the_schedule_batch_by_batch():
    X, y = _rows()
    model = _tiny_model()
    recorder = _RecordRate()
    schedule = CosineSchedule(1e-2, epochs=4)
    model.fit(X, y, batch_size=10, epochs=4, callbacks=[schedule, recorder], verbose=0)
    np.testing.assert_allclose(recorder.rates, _expected_rates(schedule, 4), rtol=1e-5)
    assert recorder.rates[0] == pytest.approx(1e-3)
    assert recorder.rates[-1] < 1e-3


def test_the_step_trainer_calls_the_schedule_before_every_batch():
    X, y = _rows()
    model = _tiny_model()
    recorder = _RecordRate()
    schedule = CosineSchedule(1e-2, epochs=2)
    trainer = StepTrainer(model, keras.losses.MeanSquaredError(), keras.optimizers.AdamW(1e-2))
    trainer.fit(X, y, None, None, 2, 10, callbacks=[schedule, recorder])
    np.testing.assert_allclose(recorder.rates, _expected_rates(schedule, 2), rtol=1e-5)
