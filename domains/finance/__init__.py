"""Finance domain: credit risk scoring, fraud detection, and reports on any scores."""

from domains.finance.fraud_detector import FraudDetector
from domains.finance.lifetime_default_scorer import LifetimeDefaultScorer
from domains.finance.reports import (
    average_precision,
    fairness_report,
    out_of_time_split,
    performance_report,
    precision_at_k_per_day,
    recall_at_fpr,
    stability_report,
)
from domains.finance.risk_scorer import RiskScorer

__all__ = [
    "FraudDetector",
    "LifetimeDefaultScorer",
    "RiskScorer",
    "average_precision",
    "fairness_report",
    "out_of_time_split",
    "performance_report",
    "precision_at_k_per_day",
    "recall_at_fpr",
    "stability_report",
]
