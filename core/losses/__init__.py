"""Keras losses shared by the tasks."""

from core.losses.ensemble_cross_entropy import EnsembleCrossEntropy

__all__ = ["EnsembleCrossEntropy"]
