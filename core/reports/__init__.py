"""Reports on fitted models: model cards, survival plots."""

from core.reports.model_card import model_card
from core.reports.survival_model_card import survival_model_card
from core.reports.survival_plots import plot_kaplan_meier_by_risk, plot_survival_curves

__all__ = [
    "model_card",
    "plot_kaplan_meier_by_risk",
    "plot_survival_curves",
    "survival_model_card",
]
