"""A deep survival model for raw tables: numbers, categories and missing values in."""

from core.estimators.keras_survival import KerasSurvival
from core.estimators.table_input import TableInput


class TabularSurvival(TableInput, KerasSurvival):
    """Time-to-event model for a pandas DataFrame of mixed columns, with censoring.

    The table part is `TabularClassifier`'s (each column a learned feature
    token; an ensemble of heads, each a linear path plus an MLP or a
    feature-token transformer); the target part is `KerasSurvival`'s.

    Example:
        >>> model = TabularSurvival(random_state=0).fit(patients, time=days, event=died)
        >>> model.predict_survival_function(new, times=[365, 730, 1825])

    Args:
        model: `"cox"` (default; DeepSurv, proportional hazards) or
            `"piecewise_hazard"` (no proportional-hazards assumption); see
            `KerasSurvival`. The default is the measured better ranker: within
            0.01 concordance of the better of Cox PH and a random survival
            forest on all four cohorts of `benchmarks/survival_quality.py`,
            where the piecewise model fell 0.017 short on GBSG2.
        n_intervals: hazard intervals of the piecewise model, cut at quantiles
            of the event times; `"auto"`: one per 20 events, 4 to 32.
        backbone, embedding_dim, hidden_units, num_layers, num_heads, dropout,
            n_members, learning_rate, weight_decay, batch_size, max_epochs,
            patience, max_time, validation_fraction, min_frequency: as for
            `TabularClassifier`. Several members are cross-fitted, so early
            stopping watches every row out of fold.
        precision, jit_compile, distribution, privacy: training options shared
            by every task; see `KerasEstimator`.
        random_state: integer seed; two fits with the same seed give the same model.
        verbose: 1 shows a progress bar per epoch.
    """

    task_name = "tabular.survival"

    def __init__(
        self,
        model="cox",
        n_intervals="auto",
        backbone="mlp",
        embedding_dim=8,
        hidden_units=(64, 32),
        num_layers=2,
        num_heads=2,
        dropout=0.2,
        n_members="auto",
        learning_rate=1e-3,
        weight_decay=1e-2,
        batch_size="auto",
        max_epochs=300,
        patience=15,
        max_time=None,
        validation_fraction=0.15,
        min_frequency=5,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    def _outputs(self, X, **context):
        return self._table_outputs(X, **context)

    def explain(self, X, horizon=None, steps=64):
        """Per-row, per-column attributions of the probability of the event by `horizon`.

        Integrated gradients from a reference row (see `TableInput.explain`):
        a row's attributions add up to its event probability by `horizon`
        minus the reference row's.

        Args:
            X: raw input, as for `predict`.
            horizon: the time the probability is of (default: the median of
                `time_grid_`).
            steps: integration steps.

        Returns:
            DataFrame with one row per input row and one column per input
            column, in probability units; `attrs["baseline"]` holds the
            reference row's probability.
        """
        return super().explain(X, target=horizon, steps=steps)
