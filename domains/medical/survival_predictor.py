"""Survival after diagnosis from a patient table, with censoring."""

import os

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.demo_baselines import logistic_regression_baseline
from core.estimators import TabularSurvival
from core.metrics import kaplan_meier_at
from core.metrics.survival_target import check_survival_target
from core.registry import register_task

# Predicted risk groups of the clinical report: low, intermediate, high.
RISK_GROUPS = ("low", "intermediate", "high")


@register_task("medical.survival")
class SurvivalPredictor(TabularSurvival):
    """Predicts each patient's survival curve from one row per patient.

    Takes the patient table as it comes (numbers, categories, missing labs)
    and a follow-up time and event flag per patient: death, relapse or any
    event, right-censored when follow-up ended first. The default model is
    DeepSurv (`model="cox"`), the better ranker on the real cohorts measured;
    `model="piecewise_hazard"` gives a piecewise-constant hazard over learned
    time intervals, so that a treatment whose benefit appears only after
    months, or a marker whose effect fades, is not forced into one hazard
    ratio (its curves may cross; a Cox model's cannot).

    `report` gives what a clinical prediction paper reports: Harrell's and
    Uno's concordance, time-dependent AUC, the integrated Brier score,
    calibration at a time by risk decile, and observed against predicted
    survival in low, intermediate and high predicted-risk groups.
    `explain` gives, per patient and column, what moved the probability of
    the event by a horizon. `model_card` writes all of it with figures.

    All arguments are those of `core.estimators.TabularSurvival`.

    Example:
    >>> surv = SurvivalPredictor(random_state=0).fit(patients, time=days, event=died)
    >>> surv.predict_survival_function(new, times=[365, 730, 1825])
    >>> surv.predict_median_time(new)
    """

    def report(self, X, y=None, time=None, event=None, times=None):
        """Discrimination, calibration and risk groups on held-out patients.

        Args:
            X: patient table (held-out patients).
            y, time, event: their observed follow-up, as for `fit`.
            times: evaluation times (default: the 10th to 80th percentiles of
                the observed times).

        Returns:
            The dict of `TabularSurvival.report`, plus `risk_groups`: for
            thirds of predicted risk (low, intermediate, high), `n`, `events`,
            and the observed (Kaplan-Meier) and mean predicted survival at
            each of `times`.
        """
        time, event = check_survival_target(time, event, y)
        report = super().report(X, time=time, event=event, times=times)
        times = np.asarray(list(report["auc_at"]), dtype=np.float64)
        risk = self.predict_risk(X)
        predicted = self.predict_survival_function(X, times).to_numpy()
        ranks = np.argsort(np.argsort(risk, kind="stable"))
        groups = np.minimum(ranks * len(RISK_GROUPS) // len(risk), len(RISK_GROUPS) - 1)
        report["risk_groups"] = []
        for g, name in enumerate(RISK_GROUPS):
            rows = groups == g
            observed = kaplan_meier_at(time[rows], event[rows], times)
            report["risk_groups"].append(
                {
                    "group": name,
                    "n": int(rows.sum()),
                    "events": int(event[rows].sum()),
                    "observed": dict(zip(times.tolist(), observed.tolist(), strict=True)),
                    "predicted": dict(
                        zip(times.tolist(), predicted[rows].mean(axis=0).tolist(), strict=True)
                    ),
                }
            )
        return report

    def model_card(self, X, path, y=None, time=None, event=None, intended_use=None):
        """Writes a Markdown model card with two figures (see `core.reports.survival_model_card`).

        Returns:
            `path`, as given.
        """
        from core.reports import survival_model_card

        check_is_fitted(self)
        return survival_model_card(
            self, X, path, y=y, time=time, event=event, intended_use=intended_use
        )

    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on `sample_data/medical/cohort.csv`; used by `keras-domains demo`.

        The baseline is what a clinician without a survival library fits: a
        logistic regression of death within one year, scored by the same
        concordance index.

        Args:
            sample_data: the sample data folder.
            out_dir: folder for the saved model.

        Returns:
            dict: a row of the demo's summary table.
        """
        from sklearn.model_selection import train_test_split

        from core.metrics import harrell_c

        frame = pd.read_csv(os.path.join(sample_data, "medical", "cohort.csv"))
        days, died = frame.pop("days").to_numpy(), frame.pop("died").to_numpy()
        frame = frame.drop(columns=["patient_id"])
        train, test = train_test_split(
            np.arange(len(frame)), test_size=0.25, stratify=died, random_state=0
        )
        model = cls(random_state=0).fit(frame.iloc[train], time=days[train], event=died[train])
        path = model.save(os.path.join(out_dir, "medical_survival.kdm"))
        reloaded = cls.load(path)
        X_test = frame.iloc[test]
        if not np.allclose(reloaded.predict_risk(X_test), model.predict_risk(X_test), rtol=1e-6):
            raise RuntimeError("the reloaded model predicts differently from the saved one")
        report = reloaded.report(X_test, time=days[test], event=died[test])
        reloaded.explain(X_test.head(5), horizon=365)
        # Deaths within a year, among the patients whose status at a year is known.
        known = (days[train] > 365) | (died[train] == 1)
        rows = train[known]
        baseline = logistic_regression_baseline(frame.iloc[rows], (days[rows] <= 365).astype(int))
        baseline_risk = baseline.predict_proba(X_test)[:, 1]
        return {
            "data": "cohort.csv",
            "train_rows": len(train),
            "test_rows": len(test),
            "metric": "Harrell's C (baseline: 1-year logistic regression)",
            "value": report["harrell_c"],
            "baseline": harrell_c(days[test], died[test], baseline_risk),
        }
