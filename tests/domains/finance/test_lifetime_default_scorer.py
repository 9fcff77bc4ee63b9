"""LifetimeDefaultScorer on the synthetic loan book: PDs, conditional PDs, points, curves."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domains.finance import LifetimeDefaultScorer, RiskScorer

LOANS = Path(__file__).resolve().parents[3] / "sample_data" / "finance" / "loans.csv"
TINY = {"embedding_dim": 4, "hidden_units": (16,), "max_epochs": 30, "random_state": 0}


@pytest.fixture(scope="module")
def loans():
    frame = pd.read_csv(LOANS)
    months, defaulted = frame.pop("months_on_book").to_numpy(), frame.pop("defaulted").to_numpy()
    return frame.drop(columns=["loan_id", "origination"]), months, defaulted


@pytest.fixture(scope="module")
def scorer(loans):
    X, months, defaulted = loans
    return LifetimeDefaultScorer(**TINY).fit(X, time=months, event=defaulted)


def test_the_loan_book_is_censored_by_maturity_prepayment_and_the_snapshot(loans):
    X, months, defaulted = loans
    assert 0.05 < defaulted.mean() < 0.3
    assert (months <= X["term_months"]).all()  # No loan is observed past its maturity.
    assert months.max() <= 48


def test_lifetime_pd_exceeds_the_12_month_pd_and_grows_with_the_term(scorer, loans):
    X, *_ = loans
    pds = scorer.predict_pd(X.head(200))
    assert (pds["pd_lifetime"] >= pds["pd_12m"] - 1e-12).all()
    short = X.head(200)["term_months"] == 12
    np.testing.assert_allclose(pds.loc[short, "pd_lifetime"], pds.loc[short, "pd_12m"])
    one = X.head(1)
    by_term = [scorer.predict_pd(one.assign(term_months=t))["pd_lifetime"].iloc[0]
               for t in (12, 24, 36)]  # fmt: skip
    assert by_term[0] < by_term[1] < by_term[2]


def test_the_pds_are_read_from_the_default_curve(scorer, loans):
    X, *_ = loans
    row = X.head(1).assign(term_months=36)
    curve = scorer.predict_default_curve(row, months=[6, 12, 24, 36])
    pds = scorer.predict_pd(row)
    assert pds["pd_12m"].iloc[0] == pytest.approx(curve[12.0].iloc[0])
    assert pds["pd_lifetime"].iloc[0] == pytest.approx(curve[36.0].iloc[0])
    conditional = scorer.predict_pd(row, months_on_book=12)
    expected = 1 - (1 - curve[24.0].iloc[0]) / (1 - curve[12.0].iloc[0])
    assert conditional["pd_12m"].iloc[0] == pytest.approx(expected)


def test_points_use_the_risk_scorer_scaling(scorer, loans):
    X, *_ = loans
    pds = scorer.predict_pd(X.head(50))
    odds = (1 - pds["pd_12m"]) / pds["pd_12m"]
    expected = 600 - 20 / np.log(2) * np.log(50) + 20 / np.log(2) * np.log(odds)
    np.testing.assert_allclose(pds["points"], expected)
    np.testing.assert_allclose(scorer.points(X.head(50)), pds["points"])
    assert RiskScorer().get_params()["pdo"] == scorer.pdo  # One scaling for both tasks.


def test_terms_past_the_follow_up_are_flagged_not_extrapolated_silently(scorer, loans):
    X, *_ = loans
    rows = X.head(20).assign(term_months=60)
    pds = scorer.predict_pd(rows)
    assert pds["horizon_capped"].all()
    assert not scorer.predict_pd(rows.assign(term_months=36))["horizon_capped"].any()
    with pytest.warns(UserWarning, match="extrapolated flat"):
        curve = scorer.predict_default_curve(rows, months=[scorer.max_time_, 60.0])
    np.testing.assert_allclose(pds["pd_lifetime"], curve.iloc[:, 0])
    np.testing.assert_allclose(curve.iloc[:, 1], curve.iloc[:, 0])


def test_the_12_month_pd_ranks_defaults_within_a_year(scorer, loans):
    from sklearn.metrics import roc_auc_score

    X, months, defaulted = loans
    known = (months >= 12) | (defaulted == 1)
    within = (months <= 12) & (defaulted == 1)
    auc = roc_auc_score(within[known], scorer.predict_pd(X[known])["pd_12m"])
    assert auc > 0.7


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X: X.drop(columns=["term_months"]), "`term_column`='term_months' is not a column"),
        (lambda X: X.assign(term_months=0), "must hold each loan's term in months"),
    ],
)
def test_a_missing_or_bad_term_column_is_named(scorer, loans, change, message):
    X, *_ = loans
    with pytest.raises(ValueError, match=message):
        scorer.predict_pd(change(X.head(5)))


def test_months_on_book_must_be_non_negative(scorer, loans):
    X, *_ = loans
    with pytest.raises(ValueError, match="`months_on_book` must be finite numbers >= 0"):
        scorer.predict_pd(X.head(2), months_on_book=[-1, 3])
