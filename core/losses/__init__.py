"""Keras losses shared by the tasks."""

from core.losses.ensemble_cross_entropy import EnsembleCrossEntropy
from core.losses.ensemble_loss import EnsembleLoss
from core.losses.ensemble_regression_loss import (
    REGRESSION_LOSSES,
    EnsembleRegressionLoss,
    ordered_quantiles,
)

__all__ = [
    "REGRESSION_LOSSES",
    "EnsembleCrossEntropy",
    "EnsembleLoss",
    "EnsembleRegressionLoss",
    "ordered_quantiles",
]
