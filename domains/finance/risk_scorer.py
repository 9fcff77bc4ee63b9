"""Credit risk scoring: probability of default, scorecard points, reason codes."""

import os

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.data import count_rows, take_rows
from core.estimators import TabularClassifier
from core.estimators.parameter import Parameter
from core.registry import register_task
from domains.finance.scorecard_scaling import (
    scorecard_factor,
    scorecard_offset,
    scorecard_points,
)

# Reference applicants kept at fit time for reason codes.
REFERENCE_ROWS = 32
#: The demo's ensemble members (see `demo`).
DEMO_MEMBERS = 2


@register_task("finance.credit_risk")
class RiskScorer(TabularClassifier):
    """Scores credit applicants: probability of default, points and reason codes.

    A `TabularClassifier` on an applicant table with target 1 = default
    ("bad"). `predict_proba(X)[:, 1]` is the probability of default.

    Points use the industry scaling on the odds of being good:
    `score = offset + factor * ln(odds_good)`, `factor = pdo / ln 2`,
    `offset = base_score - factor * ln(base_odds)`. So an applicant with
    good:bad odds of `base_odds` scores `base_score`, and every `pdo` points
    double the odds.

    Args:
        pdo: points to double the odds (> 0).
        base_score: score at the base odds.
        base_odds: good:bad odds at `base_score` (> 0); 50 means 50 goods per bad.
        monotone_constraints: `{column: +1 | -1}`; +1 means the risk of
            default never decreases as the column grows, -1 never increases.
            Guaranteed by the model's construction: these numeric columns
            enter only through monotone piecewise-linear effects.
        exclude: columns kept out of the model (protected attributes), so the
            same DataFrame can be passed to `fit`, `predict` and the reports.
        **other arguments: as `core.estimators.TabularClassifier`.

    Attributes:
        reference_: preprocessed reference applicants for `reason_codes` (named arrays).
        excluded_columns_: the columns left out.
    """

    explanation_kind = "reason_codes"
    parameter_checks = {
        "pdo": Parameter.finite_number(positive=True),
        "base_odds": Parameter.finite_number(positive=True),
        "base_score": Parameter.finite_number(),
    }

    _target_types = ("binary",)

    def __init__(
        self,
        pdo=20.0,
        base_score=600.0,
        base_odds=50.0,
        monotone_constraints=None,
        exclude=None,
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
        class_weight=None,
        calibration=None,
        min_frequency=5,
        text_columns=None,
        image_columns=None,
        text_backbone="transformer",
        image_backbone="cnn",
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # ----------------------------------------------------------------- fit
    # `fit` is TabularClassifier's: an applicant DataFrame (columns in `exclude`
    # are ignored) or a CSV/Parquet path with `target`; y is 0/1 (or two labels, the
    # larger sorting as "bad").
    def _fit_finished(self, frame):
        """Keeps `REFERENCE_ROWS` random applicants of the training features as `reference_`.

        For a file, `frame` is the bounded random sample of its rows, so the
        reference applicants are still a random draw from the whole file.
        """
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        inputs = self.preprocessor_.transform(frame)
        n_rows = count_rows(inputs)
        rows = rng.choice(n_rows, size=min(REFERENCE_ROWS, n_rows), replace=False)
        self.reference_ = take_rows(inputs, np.sort(rows))

    def _validate_X(self, X, fitting):
        if self.exclude:
            if not isinstance(X, pd.DataFrame):
                raise ValueError(
                    "`exclude` names columns, so X must be a DataFrame. "
                    f"Received: {type(X).__name__}"
                )
            if fitting:
                unknown = [c for c in self.exclude if c not in X.columns]
                if unknown:
                    raise ValueError(f"`exclude` names columns {unknown} that X does not have.")
                self.excluded_columns_ = list(self.exclude)
            X = X.drop(columns=[c for c in self.exclude if c in X.columns])
        return super()._validate_X(X, fitting)

    def _monotone_columns(self):
        constraints = self.monotone_constraints or {}
        if not isinstance(constraints, dict):
            raise ValueError(
                "`monotone_constraints` must be a dict {column: +1 or -1}. "
                f"Received: {type(constraints).__name__}"
            )
        numeric = self.preprocessor_.numeric_columns_
        pairs = []
        for column, sign in constraints.items():
            if column not in self.preprocessor_.feature_names_in_:
                raise ValueError(
                    f"`monotone_constraints` names column {column!r}, which is not a model "
                    f"feature. Features: {self.preprocessor_.feature_names_in_}."
                )
            if column not in numeric:
                raise ValueError(
                    f"`monotone_constraints` column {column!r} is not numeric; monotone "
                    "constraints apply to numeric columns only."
                )
            if sign not in (1, -1):
                raise ValueError(
                    f"`monotone_constraints[{column!r}]` must be +1 or -1. Received: {sign!r}"
                )
            pairs.append((numeric.index(column), int(sign)))
        return pairs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = False
        return tags

    # -------------------------------------------------------------- points
    @property
    def factor_(self):
        """Points per unit of ln(odds_good): `pdo / ln 2`."""
        return scorecard_factor(self.pdo)

    @property
    def offset_(self):
        """Points at odds of 1:1: `base_score - factor * ln(base_odds)`."""
        return scorecard_offset(self.pdo, self.base_score, self.base_odds)

    def points(self, X):
        """Scorecard points: higher is safer.

        Args:
            X: applicant DataFrame.

        Returns:
            float array `(n,)`: `offset + factor * ln((1 - p) / p)`, p the
            probability of default (clipped to [1e-9, 1 - 1e-9]).
        """
        return scorecard_points(
            self.predict_proba(X)[:, 1], self.pdo, self.base_score, self.base_odds
        )

    def reason_codes(self, X, n=4, steps=32):
        """The features that pull each applicant's score down most.

        Points are attributed to the input columns by integrated gradients on
        the points, averaged over paths from each of the reference applicants
        kept at fit time; a column's points lost is minus its attribution. A
        column that lost no points is not a reason, so the trailing reasons
        of a good applicant may be empty (None, with NaN points).

        Args:
            X: applicant DataFrame.
            n: number of reasons per applicant.
            steps: integration steps per path.

        Returns:
            DataFrame, one row per applicant (same index), columns
            `reason_1..reason_n` (column names) and `points_1..points_n`
            (points lost, positive, largest first).
        """
        check_is_fitted(self)
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
        inputs = self.preprocessor_.transform(self._validate_X(X, fitting=False))
        lost = -self._column_attributions(inputs, self.reference_, self._points_of, steps=steps)
        lost = self._attribution_frame(lost, X)
        names = np.asarray(lost.columns, dtype=object)
        order = np.argsort(-lost.to_numpy(), axis=1, kind="stable")[:, :n]
        values = np.take_along_axis(lost.to_numpy(), order, axis=1)
        reasons = np.where(values > 0, names[order], None)
        points = np.where(values > 0, values, np.nan)
        if order.shape[1] < n:  # Fewer columns than reasons asked for.
            pad = n - order.shape[1]
            reasons = np.hstack([reasons, np.full((len(reasons), pad), None, dtype=object)])
            points = np.hstack([points, np.full((len(points), pad), np.nan)])
        columns = {}
        for i in range(n):
            columns[f"reason_{i + 1}"] = reasons[:, i]
        for i in range(n):
            columns[f"points_{i + 1}"] = points[:, i]
        return pd.DataFrame(columns, index=lost.index)

    def _points_of(self, logits):
        """Differentiable `logits -> points`, the members' average probability in between."""
        from keras import ops

        proba = ops.clip(ops.mean(ops.sigmoid(logits), axis=1)[:, 0], 1e-9, 1 - 1e-9)
        return self.offset_ + self.factor_ * ops.log((1.0 - proba) / proba)

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        state = super()._get_fitted_state()
        state["reference"] = {name: rows.tolist() for name, rows in self.reference_.items()}
        state["excluded_columns"] = getattr(self, "excluded_columns_", None)
        return state

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        widths = self.preprocessor_.output_widths_
        self.reference_ = {
            name: np.asarray(rows, dtype=widths[name][1]).reshape(-1, widths[name][0])
            for name, rows in state["reference"].items()
        }
        if state["excluded_columns"] is not None:
            self.excluded_columns_ = state["excluded_columns"]

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on `sample_data/finance/applicants.csv`; used by `keras-domains demo`.

        Returns:
            dict: a row of the demo's summary table.
        """
        from domains.finance.reports import out_of_time_split, performance_report

        frame = pd.read_csv(os.path.join(sample_data, "finance", "applicants.csv"))
        train, test = out_of_time_split(frame, "application_date", test_size=0.25)
        drop = ["applicant_id", "application_date", "default"]
        # Two members, not four: the description's text encoders make each member cost
        # more, and the demo keeps every task inside its five minutes on two cores.
        model = cls(random_state=0, exclude=["sex"], n_members=DEMO_MEMBERS)
        model.fit(train.drop(columns=drop), train["default"])
        path = model.save(os.path.join(out_dir, "finance_credit_risk.kdm"))
        reloaded = cls.load(path)
        X_test = test.drop(columns=drop)
        if not np.allclose(reloaded.points(X_test), model.points(X_test), atol=1e-4):
            raise RuntimeError("the reloaded model scores differently from the saved one")
        reloaded.reason_codes(X_test.head(5))
        report = performance_report(test["default"], reloaded.predict_proba(X_test)[:, 1])
        return {
            "data": "applicants.csv (out of time; 2 members)",
            "train_rows": len(train),
            "test_rows": len(test),
            "metric": f"AUROC (KS {report['ks']:.2f})",
            "value": report["auc"],
            "baseline": "",
        }
