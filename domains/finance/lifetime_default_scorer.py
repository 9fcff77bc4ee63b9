"""Lifetime default curves: 12-month and lifetime probability of default per loan."""

import os
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.demo_baselines import logistic_regression_baseline
from core.estimators import TabularSurvival
from core.estimators.keras_survival import ExtrapolationWarning
from core.estimators.parameter import Parameter
from core.registry import register_task
from domains.finance.scorecard_scaling import scorecard_points

# The horizon of the 12-month PD (IFRS 9 stage 1), in months.
TWELVE_MONTHS = 12.0


@register_task("finance.lifetime_default")
class LifetimeDefaultScorer(TabularSurvival):
    """Default curves per loan from a survival model of months on book (IFRS 9, CECL).

    Trained on loan-level data with censoring: loans that were repaid,
    prepaid or are still running at the snapshot count up to the months
    they were observed, not as good loans forever (which a classifier of
    "defaulted" would assume). Time is in months on book.

    - `predict_pd(X)`: the 12-month PD (IFRS 9 stage 1), the lifetime PD
      over each loan's remaining term (stage 2, CECL) and the scorecard
      points of the 12-month PD. For loans already on the book, pass
      `months_on_book`: the PDs are then conditional on having survived so far.
    - `predict_default_curve(X, months)`: cumulative PD by month.
    - Points use `RiskScorer`'s scaling (`pdo`, `base_score`, `base_odds`).

    Args:
        term_column: column of X with each loan's contractual term in
            months (also a model input); the lifetime PD runs to its end.
        pdo, base_score, base_odds: the points scaling (see `RiskScorer`).
        model: `"piecewise_hazard"` (default here): defaults follow a
            seasoning curve and a score's effect fades as a loan ages, so one
            hazard ratio per column for the whole life of a loan (`"cox"`) is
            the wrong shape for lifetime curves; on the shipped loan book the
            two rank alike (Harrell's C 0.745 and 0.744, 5-fold).
        n_intervals and the other arguments: as `core.estimators.TabularSurvival`.

    Example:
    >>> scorer = LifetimeDefaultScorer(random_state=0).fit(
    ...     loans, time=loans.pop("months_on_book"), event=loans.pop("defaulted"))
    >>> scorer.predict_pd(applications)  # pd_12m, pd_lifetime, points
    """

    parameter_checks = {
        "pdo": Parameter.finite_number(positive=True),
        "base_odds": Parameter.finite_number(positive=True),
        "base_score": Parameter.finite_number(),
        "term_column": Parameter("a column name (str)", lambda v: isinstance(v, str) and bool(v)),
    }

    def __init__(
        self,
        term_column="term_months",
        pdo=20.0,
        base_score=600.0,
        base_odds=50.0,
        model="piecewise_hazard",
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

    def _validate_X(self, X, fitting):
        frame = super()._validate_X(X, fitting)
        if self.term_column not in frame.columns:
            raise ValueError(
                f"`term_column`={self.term_column!r} is not a column of X; the lifetime PD "
                f"runs to the end of each loan's term. Columns: {list(frame.columns)[:20]}."
            )
        terms = pd.to_numeric(frame[self.term_column], errors="coerce").to_numpy(np.float64)
        if not (np.isfinite(terms) & (terms > 0)).all():
            raise ValueError(
                f"Column {self.term_column!r} (`term_column`) must hold each loan's term in "
                f"months, > 0; {int((~(np.isfinite(terms) & (terms > 0))).sum())} values are "
                "missing, not numbers or <= 0."
            )
        return frame

    def predict_default_curve(self, X, months=None):
        """Cumulative probability of default by each of `months` on book.

        Args:
            X: loan DataFrame.
            months: months on book (default: 1 to the longest training follow-up).

        Returns:
            DataFrame: one row per loan, one column per month.
        """
        check_is_fitted(self)
        if months is None:
            months = np.arange(1, int(self.max_time_) + 1, dtype=np.float64)
        return 1.0 - self.predict_survival_function(X, months)

    def predict_pd(self, X, months_on_book=None):
        """12-month PD, lifetime PD to the end of the term, and points of the 12-month PD.

        Args:
            X: loan DataFrame (with `term_column`).
            months_on_book: None for new loans; else months each loan has been
                on the book without default (a number, or one per row), and
                the PDs are conditional on that.

        Returns:
            DataFrame (X's index) with `pd_12m`, `pd_lifetime`, `points`, and
            `horizon_capped`: True where the remaining term runs past the
            longest training follow-up, whose survival is then held flat
            (the lifetime PD is a lower bound there).
        """
        check_is_fitted(self)
        frame = self._validate_X(X, fitting=False)
        n = len(frame)
        start = np.zeros(n) if months_on_book is None else np.asarray(months_on_book, float)
        start = np.broadcast_to(start, (n,)).astype(np.float64)
        if not (np.isfinite(start) & (start >= 0)).all():
            raise ValueError("`months_on_book` must be finite numbers >= 0, one per loan.")
        term = frame[self.term_column].to_numpy(np.float64)
        end_12m = np.minimum(start + TWELVE_MONTHS, np.maximum(term, start))
        end_life = np.maximum(term, start)
        points = np.unique(np.concatenate([start, end_12m, end_life]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            survival = self.predict_survival_function(X, np.minimum(points, self.max_time_))
        curve = survival.to_numpy()
        at = {name: np.searchsorted(points, values) for name, values in
              (("start", start), ("12m", end_12m), ("life", end_life))}  # fmt: skip
        rows = np.arange(n)
        alive = np.maximum(curve[rows, at["start"]], 1e-300)
        pd_12m = 1.0 - curve[rows, at["12m"]] / alive
        pd_life = 1.0 - curve[rows, at["life"]] / alive
        return pd.DataFrame(
            {
                "pd_12m": pd_12m,
                "pd_lifetime": pd_life,
                "points": scorecard_points(pd_12m, self.pdo, self.base_score, self.base_odds),
                "horizon_capped": end_life > self.max_time_,
            },
            index=self.output_index(X),
        )

    def points(self, X):
        """Scorecard points of the 12-month PD at origination: higher is safer."""
        return self.predict_pd(X)["points"].to_numpy()

    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on `sample_data/finance/loans.csv`; used by `keras-domains demo`.

        The baseline is the usual shortcut: a logistic regression of default
        within 12 months on the loans observed for 12 months (or that
        defaulted), scored by the same concordance index.

        Returns:
            dict: a row of the demo's summary table.
        """
        from sklearn.model_selection import train_test_split

        from core.metrics import harrell_c

        frame = pd.read_csv(os.path.join(sample_data, "finance", "loans.csv"))
        months, defaulted = frame.pop("months_on_book").to_numpy(), frame.pop("defaulted")
        defaulted = defaulted.to_numpy()
        frame = frame.drop(columns=["loan_id", "origination"])
        train, test = train_test_split(
            np.arange(len(frame)), test_size=0.25, stratify=defaulted, random_state=0
        )
        model = cls(random_state=0).fit(
            frame.iloc[train], time=months[train], event=defaulted[train]
        )
        path = model.save(os.path.join(out_dir, "finance_lifetime_default.kdm"))
        reloaded = cls.load(path)
        X_test = frame.iloc[test]
        expected = model.predict_pd(X_test).to_numpy(float)
        if not np.allclose(reloaded.predict_pd(X_test).to_numpy(float), expected, rtol=1e-6):
            raise RuntimeError("the reloaded model predicts differently from the saved one")
        report = reloaded.report(X_test, time=months[test], event=defaulted[test])
        known = (months[train] >= TWELVE_MONTHS) | (defaulted[train] == 1)
        rows = train[known]
        baseline = logistic_regression_baseline(
            frame.iloc[rows],
            ((months[rows] <= TWELVE_MONTHS) & (defaulted[rows] == 1)).astype(int),
        )
        return {
            "data": "loans.csv",
            "train_rows": len(train),
            "test_rows": len(test),
            "metric": "Harrell's C (baseline: 12-month logistic regression)",
            "value": report["harrell_c"],
            "baseline": harrell_c(
                months[test], defaulted[test], baseline.predict_proba(X_test)[:, 1]
            ),
        }
