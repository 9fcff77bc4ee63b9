"""Reports on fitted models: model cards, survival curves by risk group."""

from core.reports.model_card import model_card
from core.reports.survival_plots import plot_kaplan_meier_by_risk

__all__ = ["model_card", "plot_kaplan_meier_by_risk"]
