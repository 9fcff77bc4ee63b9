"""Metrics for reports."""

from core.metrics.calibration_metrics import calibration_bins, expected_calibration_error
from core.metrics.clinical_report import binary_report, multiclass_report
from core.metrics.kaplan_meier import censoring_survival, kaplan_meier, kaplan_meier_at
from core.metrics.regression_report import regression_report
from core.metrics.subgroup_report import subgroup_report
from core.metrics.survival_metrics import (
    brier_scores,
    calibration_at_time,
    harrell_c,
    integrated_brier_score,
    time_dependent_auc,
    uno_c,
)
from core.metrics.survival_target import check_survival_target

__all__ = [
    "binary_report",
    "brier_scores",
    "calibration_at_time",
    "calibration_bins",
    "censoring_survival",
    "check_survival_target",
    "expected_calibration_error",
    "harrell_c",
    "integrated_brier_score",
    "kaplan_meier",
    "kaplan_meier_at",
    "multiclass_report",
    "regression_report",
    "subgroup_report",
    "time_dependent_auc",
    "uno_c",
]
