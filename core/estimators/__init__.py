"""The scikit-learn compatible estimator base."""

from core.estimators.keras_classifier import KerasClassifier
from core.estimators.keras_estimator import KerasEstimator
from core.estimators.tabular_classifier import TabularClassifier

__all__ = ["KerasClassifier", "KerasEstimator", "TabularClassifier"]
