"""Keras losses shared by the tasks."""

from core.losses.ensemble_cross_entropy import EnsembleCrossEntropy
from core.losses.ensemble_loss import EnsembleLoss
from core.losses.ensemble_regression_loss import (
    REGRESSION_LOSSES,
    EnsembleRegressionLoss,
    ordered_quantiles,
)
from core.losses.survival_losses import (
    CoxPartialLikelihood,
    PiecewiseHazardLoss,
    interval_hazards,
)

__all__ = [
    "REGRESSION_LOSSES",
    "CoxPartialLikelihood",
    "EnsembleCrossEntropy",
    "EnsembleLoss",
    "EnsembleRegressionLoss",
    "PiecewiseHazardLoss",
    "interval_hazards",
    "ordered_quantiles",
]
