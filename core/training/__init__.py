"""Training engines and options: checkpoints, distribution, mixed precision, DP-SGD."""

from core.training.differential_privacy import DifferentialPrivacy
from core.training.distribution import (
    DISTRIBUTIONS,
    check_distribution,
    distribution_strategy,
    worker_index,
)
from core.training.precision import PRECISIONS, check_precision, float32_outputs, precision_policy
from core.training.step_trainer import StepTrainer
from core.training.training_checkpoint import TrainingCheckpoint

__all__ = [
    "DISTRIBUTIONS",
    "PRECISIONS",
    "DifferentialPrivacy",
    "StepTrainer",
    "TrainingCheckpoint",
    "check_distribution",
    "check_precision",
    "distribution_strategy",
    "float32_outputs",
    "precision_policy",
    "worker_index",
]
