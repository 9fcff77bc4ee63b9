"""Model-free reports on credit and fraud scores: performance, stability, fairness, splits."""

from domains.finance.reports.fairness_report import fairness_report
from domains.finance.reports.fraud_metrics import (
    average_precision,
    precision_at_k_per_day,
    recall_at_fpr,
)
from domains.finance.reports.out_of_time_split import out_of_time_split
from domains.finance.reports.performance_report import performance_report
from domains.finance.reports.stability_report import stability_report

__all__ = [
    "average_precision",
    "fairness_report",
    "out_of_time_split",
    "performance_report",
    "precision_at_k_per_day",
    "recall_at_fpr",
    "stability_report",
]
