"""A fit traces its train step once: the optimizer is built before Keras traces it."""

import numpy as np
import pandas as pd

from benchmarks.fit_tracing import TraceCounter, timed_fit
from core.estimators import TabularClassifier


def _rows(n=120):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    return X, (X["x"] > 0).astype(int).to_numpy()


def test_a_fit_traces_its_train_step_once_and_twice_with_a_lazy_optimizer():
    X, y = _rows()

    def make():
        return TabularClassifier(max_epochs=2, n_members=2, hidden_units=(4,), random_state=0)

    with TraceCounter() as traces:
        make().fit(X, y)
    assert traces.count == 1
    # The reference the benchmark compares with: Keras' lazy build traces twice.
    _, lazy_traces = timed_fit(make, X, y, lazy=True)
    assert lazy_traces == 2
    _, traces_again = timed_fit(make, X, y, lazy=False)
    assert traces_again == 1
