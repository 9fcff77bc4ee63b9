"""One resumable training run: `python resumable_fit.py CHECKPOINT_DIR`.

The resume test starts this, kills it with SIGKILL mid-training, and runs
`fit_model` again in its own process with the same folder.
"""

import os
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

MAX_EPOCHS = 8


def data():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    logit = X["x0"] - X["x1"] + 0.5 * X["x2"] * X["x3"]
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    return X.iloc[:2000], y.iloc[:2000], X.iloc[2000:], y.iloc[2000:]


def fit_model(checkpoint_dir=None):
    from core.estimators import TabularClassifier

    X, y, _, _ = data()
    model = TabularClassifier(
        n_members=1,
        hidden_units=(32,),
        batch_size=8,
        max_epochs=MAX_EPOCHS,
        patience=MAX_EPOCHS,
        random_state=0,
    )
    return model.fit(X, y, checkpoint_dir=checkpoint_dir)


if __name__ == "__main__":
    fit_model(sys.argv[1])
