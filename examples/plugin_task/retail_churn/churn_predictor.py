"""Customer churn: who is likely to leave, and how much revenue leaves with them."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.estimators import TabularClassifier


class ChurnPredictor(TabularClassifier):
    """Predicts whether a customer churns, from one row per customer.

    The parts: a table in (numbers, categories, missing values), the MLP
    backbone over feature tokens, a binary target (the larger label, such as
    1 or True, means churned), cross-fitted ensemble members and a
    temperature calibration map, since `retention_list` multiplies the
    probabilities by money. Everything else is the template's:
    `fit`, `predict_proba`, `predict_set`, `report`, `explain`, `save`/`load`,
    `export`, serving and the command line.

    The domain extra, `retention_list`, ranks customers by the revenue a
    retention team stands to lose, with the reasons behind each risk.

    Args:
        embedding_dim, hidden_units, dropout, n_members, learning_rate,
        weight_decay, batch_size, max_epochs, patience, validation_fraction,
        class_weight, calibration, min_frequency, random_state, verbose: as
        `core.estimators.TabularClassifier`.
    """

    # The entry point registers the class under this name; set here too, so that a
    # model saved after a direct import still names its task (for the CLI and server).
    task_name = "retail.churn"
    # Fixed parts, not parameters: the MLP is the strongest backbone on small tables.
    backbone, num_layers, num_heads = "mlp", 2, 2
    _target_types = ("binary",)

    def __init__(
        self,
        embedding_dim=8,
        hidden_units=(64, 32),
        dropout=0.2,
        n_members=4,
        learning_rate=1e-3,
        weight_decay=1e-2,
        batch_size="auto",
        max_epochs=200,
        patience=15,
        validation_fraction=0.15,
        class_weight=None,
        calibration="temperature",
        min_frequency=5,
        random_state=None,
        verbose=0,
    ):
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.n_members = n_members
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.calibration = calibration
        self.min_frequency = min_frequency
        self.random_state = random_state
        self.verbose = verbose

    def retention_list(self, X, revenue, budget=None, n_reasons=3):
        """Customers ranked by revenue at risk, P(churn) x revenue, largest first.

        Args:
            X: customer table, as for `predict_proba`.
            revenue: what each customer brings over the horizon the labels
                cover (e.g. twelve monthly charges), one number per row of X.
            budget: how many customers the team can contact; None keeps all.
            n_reasons: reasons per customer: the columns that raise the
                churn probability most, by `explain`.

        Returns:
            DataFrame indexed as X, `revenue_at_risk` descending, with columns
            `probability`, `revenue`, `revenue_at_risk` and `reason_1..` (None
            where fewer columns raise the risk).
        """
        check_is_fitted(self)
        for name, value in (("budget", budget), ("n_reasons", n_reasons)):
            if name == "budget" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        X = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        revenue = np.asarray(revenue, dtype=np.float64)
        if revenue.shape != (len(X),) or not np.isfinite(revenue).all():
            raise ValueError(
                f"`revenue` must hold one finite number per row of X ({len(X)} rows). "
                f"Received shape {revenue.shape}, {int((~np.isfinite(revenue)).sum())} not finite."
            )
        proba = self.predict_proba(X)[:, 1]
        at_risk = proba * revenue
        order = np.argsort(-at_risk, kind="stable")[:budget]
        attributions = self.explain(X.iloc[order])
        values = attributions.to_numpy()
        names = np.asarray(attributions.columns, dtype=object)
        top = np.argsort(-values, axis=1, kind="stable")[:, :n_reasons]
        reasons = np.where(np.take_along_axis(values, top, axis=1) > 0, names[top], None)
        ranked = pd.DataFrame(
            {
                "probability": proba[order],
                "revenue": revenue[order],
                "revenue_at_risk": at_risk[order],
            },
            index=attributions.index,
        )
        columns = [f"reason_{i + 1}" for i in range(reasons.shape[1])]
        reasons = pd.DataFrame(reasons, ranked.index, columns, dtype=object)  # None stays None.
        return pd.concat([ranked, reasons], axis=1)
