"""A training process for the distribution tests: `python distributed_worker.py MODE OUT`.

MODE is "mirrored" (two logical CPU devices in one process) or "multi_worker"
(TF_CONFIG set by the test). The process trains a tiny TabularClassifier on a
fixed table and writes its weights, history and predictions to OUT (.npz).
"""

import json
import os
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def main(mode, out):
    import tensorflow as tf

    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    from core.training import distribution_strategy

    # Collective operations must be set up before any other TensorFlow work.
    strategy = distribution_strategy(mode)

    import keras
    import numpy as np
    import pandas as pd

    from core.estimators import TabularClassifier

    class Recording(keras.callbacks.Callback):
        """What a user's callback sees: the calls and each epoch's log keys."""

        calls, keys = [], []

        def on_train_begin(self, logs=None):
            self.calls.append("train_begin")

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append("epoch_end")
            self.keys.append(sorted(logs))

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
    X["group"] = rng.choice(["x", "y", "z"], size=400)
    y = (X["a"] + X["b"] - X["c"] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    model = TabularClassifier(
        distribution=mode,
        n_members=1,
        hidden_units=(8,),
        embedding_dim=4,
        batch_size=32,
        max_epochs=8,
        learning_rate=1e-2,
        patience=2,
        class_weight="balanced",
        random_state=0,
    ).fit(X, y, callbacks=[Recording()])
    proba = model.predict_proba(X)
    np.savez(
        out,
        replicas=strategy.num_replicas_in_sync,
        history=json.dumps(model.history_),
        calls=json.dumps(Recording.calls),
        keys=json.dumps(Recording.keys),
        accuracy=float(((proba[:, 1] > 0.5) == y).mean()),
        proba=proba,
        **{f"w{i}": w for i, w in enumerate(model.model_.get_weights())},
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
