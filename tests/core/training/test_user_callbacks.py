"""`fit(X, y, callbacks=[...])`: user callbacks pass through every training scheme."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.utils.validation import check_is_fitted

from core.cli import main
from core.estimators import TabularClassifier, TabularRegressor
from domains.finance import FraudDetector
from domains.vision import ImageClassifier

SMALL = dict(hidden_units=(8,), embedding_dim=4, max_epochs=3, patience=10, random_state=0)


class Recording(keras.callbacks.Callback):
    """Records the calls a training run makes and the keys of each epoch's logs."""

    def __init__(self):
        super().__init__()
        self.calls, self.keys, self.logs = [], [], []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append("epoch_end")
        self.keys.append(set(logs))
        self.logs.append(dict(logs))

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


class Failing(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("the logging server is down")


def one_run(n_epochs):
    return ["train_begin"] + ["epoch_end"] * n_epochs + ["train_end"]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(240, 3)), columns=["a", "b", "c"])
    X["group"] = rng.choice(["x", "y"], 240)
    y = (X["a"] - X["b"] + rng.normal(scale=0.5, size=240) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("n_members", [2, 1], ids=["cross-fitted members", "holdout"])
def test_a_classifier_calls_them_with_loss_val_loss_and_val_auc(table, n_members):
    X, y = table
    recording = Recording()
    options = {**SMALL, "max_epochs": 15}
    model = TabularClassifier(n_members=n_members, **options).fit(X, y, callbacks=[recording])
    assert recording.calls == one_run(model.n_epochs_)
    assert all({"loss", "val_loss", "val_auc"} <= keys for keys in recording.keys)
    assert 0.7 < recording.logs[-1]["val_auc"] <= 1.0  # a + noise - b: easy to rank
    assert recording.model is not None
    assert model._user_callbacks == []  # Not kept: a fitted model pickles without them.


def test_the_held_out_metric_is_the_one_of_each_rows_held_out_member(table):
    X, _ = table
    target = 3.0 * X["a"] + np.random.default_rng(1).normal(size=len(X))
    recording = Recording()
    # One epoch: the fitted model is the one the metric scored.
    model = TabularRegressor(n_members=2, **{**SMALL, "max_epochs": 1})
    model.fit(X, target, callbacks=recording)
    values = model.held_out_values_[..., 0]  # (rows, targets): the point prediction
    rmse = np.sqrt(np.mean((values - model.held_out_truth_) ** 2))
    assert recording.logs[0]["val_rmse"] == pytest.approx(rmse, rel=1e-5)
    assert model.history_["val_rmse"] == [recording.logs[0]["val_rmse"]]


def test_the_out_of_time_scheme_calls_them():
    frame = pd.read_csv("sample_data/finance/transactions.csv").drop(columns=["transaction_id"])
    frame = frame[frame["account_id"].isin(sorted(frame["account_id"].unique())[:60])]
    y = frame.pop("is_fraud")
    recording = Recording()
    model = FraudDetector(encoder_units=8, embedding_dim=4, hidden_units=(8,), max_epochs=2,
                          random_state=0)  # fmt: skip
    model.fit(frame, y, callbacks=[recording])
    assert recording.calls == one_run(model.n_epochs_)
    assert all({"loss", "val_loss"} <= keys for keys in recording.keys)


def test_head_then_fine_tune_runs_them_once_per_stage(tmp_path):
    digits = load_digits()
    keep = digits.target < 2
    X, y = digits.images[keep][:120] / 16.0, digits.target[keep][:120]
    options = dict(widths=(8, 16), batch_size=32, image_size=(16, 16), random_state=0)
    source = ImageClassifier(max_epochs=1, **options).fit(X, y)
    path = source.save(tmp_path / "source.kdm")
    recording = Recording()
    tuned = ImageClassifier(start_from=str(path), head_epochs=1, max_epochs=1, **options)
    tuned.fit(X, y, callbacks=[recording])
    assert recording.calls == one_run(1) + one_run(1)  # the head, then the whole model
    # The head trains a set number of epochs (no early stopping, nothing held out).
    head, whole = recording.keys
    assert head == {"loss"} and {"loss", "val_loss", "val_auc"} <= whole


def test_dp_sgd_calls_them_from_its_own_loop(table):
    X, y = table
    recording = Recording()
    privacy = {"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "delta": 1e-3}
    model = TabularClassifier(n_members=1, privacy=privacy, **{**SMALL, "max_epochs": 2})
    model.fit(X, y, callbacks=[recording])
    assert recording.calls == one_run(2)
    assert all({"loss", "val_loss", "val_auc"} <= keys for keys in recording.keys)


def test_keras_loggers_write_their_files(table, tmp_path):
    X, y = table
    csv = tmp_path / "log.csv"
    TabularClassifier(n_members=1, **SMALL).fit(X, y, callbacks=[keras.callbacks.CSVLogger(csv)])
    log = pd.read_csv(csv)
    assert {"epoch", "loss", "val_loss", "val_auc"} <= set(log.columns) and len(log) == 3


def test_a_failing_callback_stops_the_fit_with_its_error_and_leaves_nothing_half_done(
    table, tmp_path
):
    X, y = table
    model = TabularClassifier(n_members=1, **SMALL).fit(X, y)  # Fitted before: a refit fails.
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(RuntimeError, match="the logging server is down"):
        model.fit(X, y, checkpoint_dir=checkpoints, callbacks=[Failing()])
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(model)  # No half-trained model left to predict with.
    leftovers = [n for _, _, files in os.walk(checkpoints) for n in files if "tmp" in n]
    assert leftovers == []


@pytest.mark.parametrize(
    "callbacks, received",
    [("tensorboard", "a str"), ([keras.callbacks.History(), print], "builtin_function")],
)
def test_callbacks_that_are_not_keras_callbacks_are_refused(table, callbacks, received):
    X, y = table
    with pytest.raises(ValueError, match=f"`callbacks` must be a list.*{received}"):
        TabularClassifier(**SMALL).fit(X, y, callbacks=callbacks)


def test_the_command_line_writes_tensorboard_logs(table, tmp_path, capsys):
    X, y = table
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    logs = tmp_path / "tb"
    argv = ["train", "tabular.classification", "--data", str(tmp_path / "train.csv"),
            "--target", "label", "--out", str(tmp_path / "m.kdm"), "--tensorboard", str(logs),
            "--set", "max_epochs=2", "--set", "n_members=1"]  # fmt: skip
    assert main(argv) == 0
    events = [n for _, _, files in os.walk(logs) for n in files if "tfevents" in n]
    assert len(events) >= 2  # train and validation writers
    assert {"train", "validation"} <= set(os.listdir(logs))


def test_tensorboard_without_its_extra_names_the_install(table, tmp_path, capsys, monkeypatch):
    import importlib.util

    X, y = table
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else find_spec(name, *a),
    )
    data, out = str(tmp_path / "train.csv"), str(tmp_path / "m.kdm")
    argv = ["train", "tabular.classification", "--data", data, "--target", "label", "--out", out,
            "--tensorboard", "tb"]  # fmt: skip
    assert main(argv) != 0
    assert 'pip install "keras-domains[tensorboard]"' in capsys.readouterr().err
    assert not (tmp_path / "m.kdm").exists()
