"""Training engines and options: checkpoints, distribution, mixed precision, DP-SGD."""

from core.training.cosine_schedule import CosineSchedule
from core.training.differential_privacy import DifferentialPrivacy
from core.training.distribution import (
    DISTRIBUTIONS,
    check_distribution,
    distribution_strategy,
    worker_index,
)
from core.training.held_out_metric import HeldOutMetric
from core.training.precision import PRECISIONS, check_precision, float32_outputs, precision_policy
from core.training.step_trainer import StepTrainer
from core.training.time_budget import TimeBudget
from core.training.training_checkpoint import TrainingCheckpoint
from core.training.weak_privacy_warning import WEAK_PRIVACY_EPSILON, WeakPrivacyWarning

__all__ = [
    "DISTRIBUTIONS",
    "PRECISIONS",
    "WEAK_PRIVACY_EPSILON",
    "CosineSchedule",
    "DifferentialPrivacy",
    "HeldOutMetric",
    "StepTrainer",
    "TimeBudget",
    "TrainingCheckpoint",
    "WeakPrivacyWarning",
    "check_distribution",
    "check_precision",
    "distribution_strategy",
    "float32_outputs",
    "precision_policy",
    "worker_index",
]
