"""Metrics for reports."""

from core.metrics.calibration_metrics import calibration_bins, expected_calibration_error
from core.metrics.clinical_report import binary_report, multiclass_report
from core.metrics.subgroup_report import subgroup_report

__all__ = [
    "binary_report",
    "calibration_bins",
    "expected_calibration_error",
    "multiclass_report",
    "subgroup_report",
]
