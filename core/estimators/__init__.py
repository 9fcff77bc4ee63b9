"""The scikit-learn compatible estimator base."""

from core.estimators.keras_classifier import KerasClassifier
from core.estimators.keras_estimator import KerasEstimator
from core.estimators.keras_regressor import KerasRegressor
from core.estimators.keras_survival import KerasSurvival
from core.estimators.tabular_classifier import TabularClassifier
from core.estimators.tabular_regressor import TabularRegressor
from core.estimators.tabular_survival import TabularSurvival
from core.estimators.wide_and_deep_classifier import WideAndDeepClassifier

__all__ = [
    "KerasClassifier",
    "KerasEstimator",
    "KerasRegressor",
    "KerasSurvival",
    "TabularClassifier",
    "TabularRegressor",
    "TabularSurvival",
    "WideAndDeepClassifier",
]
